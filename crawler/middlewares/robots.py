"""robots.txt per RFC 9309 (unreachable means disallow all), with Crawl-delay on the host's slot."""

# Not a subclass of Scrapy's RobotsTxtMiddleware (checked against Scrapy 2.19): what this one
# changes (fetching robots.txt without retries, treating 5xx/429 and network errors as
# "unreachable" instead of allow-all, applying Crawl-delay) lives in that class's private parts
# (``_parsers``, ``_parse_robots``, ``_robots_error``, ``_stats``), which an override would have
# to reach into. Only public pieces are used instead: the ROBOTSTXT_* settings, the
# ``scrapy.robotstxt.RobotParser`` interface (``crawl_delay`` since 2.18), ``build_from_crawler``,
# ``engine.download_async`` and the ``robots_parsed`` signal, sent as Scrapy sends it.
# What still touches the downloader's internals is the Crawl-delay: Scrapy has no public call
# to set one host's delay at run time, so ``downloader.per_slot_settings`` (for slots created
# later) and ``downloader.slots`` (for an existing one; AutoThrottle adjusts it there too) are set.

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any, Union

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet.defer import Deferred

from crawler.failures import error_key
from crawler.middlewares.policy import block
from crawler.middlewares.size_cap import DECODED_MAXSIZE
from crawler.robots_txt import ROBOTS_TXT_MAX_BYTES, robots_txt_prefix

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

#: Request meta of ``check_url``'s requests: the rendered page that made the request.
META_REQUESTED_BY = "cityfeeds_requested_by"
#: Request meta of the robots.txt requests this middleware makes.
META_ROBOTS = "cityfeeds_robots"


class _DisallowAll:
    """A robots parser that forbids everything (robots.txt unreachable, RFC 9309 §2.3.1.4)."""

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False

    def crawl_delay(self, user_agent: str | bytes) -> float | None:
        return None


class _AllowAll(_DisallowAll):
    """A robots parser that allows everything (robots.txt unavailable: 4xx, RFC 9309 §2.3.1.3)."""

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return True


#: What a host's robots.txt came to: parsed rules, or a stand-in that allows or forbids all.
Rules = Union["RobotParser", _DisallowAll]


class PoliteRobotsTxtMiddleware:
    """robots.txt per RFC 9309, with ``Crawl-delay`` applied to the host's download slot.

    Replaces Scrapy's RobotsTxtMiddleware (same settings: ROBOTSTXT_OBEY, ROBOTSTXT_PARSER,
    ROBOTSTXT_USER_AGENT; same ``robotstxt/*`` stats and ``robots_parsed`` signal). Scrapy
    treats a robots.txt it cannot fetch as allow-all (scrapy#2443). Here: 2xx is parsed; 4xx
    means no rules (allow all); 5xx, 429, a timeout or a connection/DNS error means
    "unreachable": disallow everything for this run (``robots_unavailable``), and try again
    next run. Requests refused by the rules are counted as ``robots_disallowed``; the requests
    a rendered page makes to the crawled site are checked too (``check_url``). See
    docs/politeness.md.
    """

    DOWNLOAD_PRIORITY = 1000

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        self.crawler = crawler
        self.default_useragent: str = crawler.settings["USER_AGENT"]
        self.robotstxt_useragent: str | None = crawler.settings["ROBOTSTXT_USER_AGENT"]
        self.parser_class: type[RobotParser] = load_object(crawler.settings["ROBOTSTXT_PARSER"])
        # Fails now, not at the first request, if the parser's dependencies are missing.
        build_from_crawler(self.parser_class, crawler, b"")
        self.max_crawl_delay = crawler.settings.getfloat("CITYFEEDS_MAX_CRAWL_DELAY", 60.0)
        # Per netloc: its rules, or the Deferred that fires with them while robots.txt loads.
        self.parsers: dict[str, Rules | Deferred[Rules]] = {}
        self.crawl_delays: dict[str, float] = {}
        self.unreachable: dict[str, str] = {}
        # Per netloc whose robots.txt was unreachable: why, as a run's ``cause`` (its URL and
        # HTTP status or error key), given to the requests refused for it.
        self.causes: dict[str, dict[str, Any]] = {}
        # Bytes of each robots.txt download so far: past ROBOTS_TXT_MAX_BYTES it is stopped.
        self.received: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PoliteRobotsTxtMiddleware:
        mw = cls(crawler)
        # A rendered page's own requests never reach the downloader: its guard asks here.
        crawler.cityfeeds_robots = mw  # type: ignore[attr-defined]
        return mw

    async def process_request(self, request: Request) -> None:
        if not request.meta.get("dont_obey_robotstxt") and not request.url.startswith(
            ("data:", "file:")
        ):
            self.check(await self.robot_parser(request), request)
        host = urlparse_cached(request).hostname or ""
        if host in self.crawl_delays:
            # AutoThrottle would lower the delay below what the site asked for.
            request.meta["autothrottle_dont_adjust_delay"] = True

    async def check_url(self, url: str, *, requested_by: str) -> None:
        """Raise Blocked (counted) if robots.txt forbids ``url`` to the crawl's user agent.

        For requests made outside the downloader: those of a page rendered in the browser
        (``requested_by`` is its URL; crawler.browser). The host's robots.txt is fetched on
        first use, as for the crawl's own requests.
        """
        request = Request(url, meta={META_REQUESTED_BY: requested_by})
        self.check(await self.robot_parser(request), request)

    def check(self, rp: Rules, request: Request) -> None:
        """Raise Blocked if ``rp`` forbids ``request`` (counted by the reason it was refused)."""
        if request.meta.get("dont_obey_robotstxt"):
            return
        useragent = self.robotstxt_useragent or request.headers.get(
            b"User-Agent", self.default_useragent
        )
        assert useragent is not None
        if rp.allowed(request.url, useragent):
            return
        netloc = urlparse_cached(request).netloc
        page = request.meta.get(META_REQUESTED_BY)
        by = f" (requested by the page {page})" if page else ""
        if netloc in self.unreachable:
            # Warned once per host in _settle; each blocked request is only counted.
            refused = block(
                self.crawler,
                "robots_unavailable",
                request.url,
                self.unreachable[netloc] + by,
                level=logging.INFO,
                request=request,
            )
            # The request's own robots.txt is why it failed (docs/runs.md: ``cause``).
            refused.cause = self.causes.get(netloc)
            raise refused
        self._stats_inc("robotstxt/forbidden")
        raise block(
            self.crawler,
            "robots_disallowed",
            request.url,
            "forbidden by robots.txt" + by,
            level=logging.INFO,
            request=request,
        )

    async def robot_parser(self, request: Request) -> Rules:
        """The rules of ``request``'s host, fetching its robots.txt on first use."""
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self.parsers:
            self.parsers[netloc] = Deferred()
            robotsreq = Request(
                f"{url.scheme}://{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                # Not retried: a host that left robots.txt unanswered for DOWNLOAD_TIMEOUT (or
                # refused it) is given up on after that one wait, not after RETRY_TIMES more.
                # No size limit on the transfer (a declared size over DOWNLOAD_MAXSIZE would
                # cancel it unread): _bytes_received stops it once ROBOTS_TXT_MAX_BYTES are in,
                # and decompression keeps the crawl's limit.
                meta={
                    "dont_obey_robotstxt": True,
                    "dont_retry": True,
                    META_ROBOTS: True,
                    "download_maxsize": 0,
                    "download_warnsize": 0,
                    DECODED_MAXSIZE: self.crawler.settings.getint("DOWNLOAD_MAXSIZE"),
                },
                callback=NO_CALLBACK,
            )
            assert self.crawler.engine is not None
            try:
                resp = await self.crawler.engine.download_async(robotsreq)
            except Exception as exc:
                why = f"robots.txt unreachable ({type(exc).__name__}: {exc})"
                self.causes[netloc] = {"url": robotsreq.url, "error": error_key(exc)}
                self._settle(netloc, _DisallowAll(), why)
            else:
                await self._parse_robots(resp, netloc, request)
            self._stats_inc("robotstxt/request_count")
        parser = self.parsers[netloc]
        if isinstance(parser, Deferred):
            # Every request that arrived while robots.txt was loading waits for it, then reads
            # the settled rules: the Deferred's own result is not passed on to a second waiter
            # (asFuture's callback returns None), which Scrapy 2.19's RobotsTxtMiddleware takes
            # for "no rules" and lets through.
            await maybe_deferred_to_future(parser)
            parser = self.parsers[netloc]
            assert not isinstance(parser, Deferred)
        return parser

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        self._stats_inc("robotstxt/response_count")
        self._stats_inc(f"robotstxt/response_status_count/{response.status}")
        if response.status >= 500 or response.status == 429:
            self.causes[netloc] = {
                "url": response.url,
                "error": "robots_unavailable",
                "status": response.status,
            }
            self._settle(netloc, _DisallowAll(), f"robots.txt unreachable (HTTP {response.status})")
            return
        if 400 <= response.status < 500:
            self._settle(netloc, _AllowAll(), None)
            return
        if response.status >= 300:
            # Redirects were followed (up to REDIRECT_MAX_TIMES); a 3xx left over means a loop
            # or a refused hop: RFC 9309 treats this like an unavailable file.
            self._settle(netloc, _AllowAll(), None)
            return
        body, cut = robots_txt_prefix(response.body)
        if cut or "download_stopped" in response.flags:
            self._stats_inc("cityfeeds/robots_truncated")
            logger.warning(
                "[%s] robots.txt of %s is over %d KiB: its first %d bytes are obeyed, the rest "
                "ignored (RFC 9309 §2.5)",
                getattr(self.crawler.spider, "source_name", "?"),
                netloc,
                ROBOTS_TXT_MAX_BYTES // 1024,
                len(body),
            )
        rp = build_from_crawler(self.parser_class, self.crawler, body)
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=rp, request=request
        )
        self._settle(netloc, rp, None)
        self._apply_crawl_delay(rp, request)

    def _bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        if not request.meta.get(META_ROBOTS):
            return
        received = self.received[request] = self.received.get(request, 0) + len(data)
        if received > ROBOTS_TXT_MAX_BYTES:
            # What came so far is the response (flag ``download_stopped``): enough to parse.
            raise StopDownload(fail=False)

    def _settle(self, netloc: str, parser: Rules, unreachable: str | None) -> None:
        if unreachable:
            self.unreachable[netloc] = unreachable
            self.crawler.stats.set_value("cityfeeds/robots_unavailable", unreachable)  # type: ignore[union-attr]
            logger.warning(
                "[%s] %s: nothing is fetched from %s this run (RFC 9309)",
                getattr(self.crawler.spider, "source_name", "?"),
                unreachable,
                netloc,
            )
        pending = self.parsers.get(netloc)
        self.parsers[netloc] = parser
        if isinstance(pending, Deferred):
            pending.callback(parser)

    def _stats_inc(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    def _apply_crawl_delay(self, rp: RobotParser, request: Request) -> None:
        useragent = self.robotstxt_useragent or self.default_useragent
        try:
            delay = rp.crawl_delay(useragent)
        except Exception:  # a third-party parser whose crawl_delay fails
            return
        if not delay:
            return
        delay = min(float(delay), self.max_crawl_delay)
        host = urlparse_cached(request).hostname or ""
        self.crawl_delays[host] = delay
        self.crawler.stats.set_value("cityfeeds/crawl_delay", delay)  # type: ignore[union-attr]
        downloader = self.crawler.engine.downloader  # type: ignore[union-attr]
        slot_key = host
        settings = downloader.per_slot_settings.setdefault(slot_key, {})
        settings["delay"] = max(float(settings.get("delay", 0)), delay)
        settings["jitter"] = 0.0  # a random factor below 1 would break the site's minimum
        slot = downloader.slots.get(slot_key)
        if slot is not None:
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0
        logger.info(
            "[%s] robots.txt Crawl-delay %.1fs for %s",
            getattr(self.crawler.spider, "source_name", "?"),
            delay,
            host,
        )
