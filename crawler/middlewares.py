"""Downloader middlewares: SSRF guard, size caps, Retry-After, RFC 9309 robots, conditional GET."""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request, signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from crawler.context import count_drop, get_context
from crawler.normalize.dates import parse_retry_after
from crawler.normalize.urls import host_of, is_private_address, registered_domain_matches

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

HTTP_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class Blocked(IgnoreRequest):
    """A request refused by policy; already counted under ``cityfeeds/dropped/<reason>``.

    Spider errbacks recognise it and do not count the loss a second time.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotFetched(IgnoreRequest):
    """A request refused because its run decided to stop; counted under
    ``cityfeeds/not_fetched/<reason>`` (not a drop: the next run fetches it).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _not_fetched(crawler: Crawler, request: Request, reason: str) -> NotFetched:
    assert crawler.stats is not None
    crawler.stats.inc_value(f"cityfeeds/not_fetched/{reason}")
    recorder = getattr(crawler, "cityfeeds_recorder", None)
    if recorder is not None:
        recorder.sent(request)  # counted here, not again as left in the scheduler
    return NotFetched(reason, f"not fetched ({reason}): {request.url}")


def drain_download_queues(crawler: Crawler, reason: str, *, host: str | None = None) -> int:
    """Fail the requests waiting in download slots (of ``host``, or all) as not fetched.

    Requests queued in a slot (for DOWNLOAD_DELAY or a free connection) have passed every
    ``process_request`` already and would still go out after the run decided to stop. Returns
    how many were taken out.
    """
    engine = crawler.engine
    if engine is None:
        return 0
    drained = 0
    for slot in engine.downloader.slots.values():
        waiting = [
            entry
            for entry in slot.queue
            if host is None or urlparse_cached(entry[0]).hostname == host
        ]
        for entry in waiting:
            slot.queue.remove(entry)
            queued_request, deferred = entry
            deferred.errback(_not_fetched(crawler, queued_request, reason))
            drained += 1
    return drained


def _block(
    crawler: Crawler, reason: str, url: str, why: str, *, level: int = logging.WARNING
) -> Blocked:
    count_drop(crawler, reason, f"{url}: {why}", level=level)
    return Blocked(reason, f"{reason}: {url}: {why}")


# -- SSRF and redirects ----------------------------------------------------------------------


class _SourcePolicy:
    """What a request's source allows: its domains and whether private addresses are fine.

    A spider serving one source answers for all its requests; a distributed worker serves
    every source, so it looks the source up from the request (``policy_for``).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    def _rules(self, request: Request) -> tuple[bool, list[str]]:
        spider = self.crawler.spider
        lookup = getattr(spider, "policy_for", None)
        if lookup is not None:
            allow_private, domains = lookup(request)
            return bool(allow_private), list(domains)
        spec = getattr(spider, "spec", None)
        return (
            bool(getattr(spec, "allow_private", False)),
            list(getattr(spider, "allowed_domains", None) or []),
        )

    async def private_reason(self, url: str, request: Request) -> str | None:
        """Why ``url`` points at a private address (None if public or allowed)."""
        if self._rules(request)[0]:
            return None
        host = host_of(url)
        if is_private_address(host):
            return f"private address {host}"
        ip = await _resolve(host)
        if ip is not None and is_private_address(ip):
            return f"{host} resolves to private address {ip}"
        return None

    async def redirect_reason(self, target: str, request: Request) -> str | None:
        """Why a redirect of ``request`` to ``target`` must not be followed (None if it may)."""
        scheme = urlsplit(target).scheme.lower()
        if scheme not in HTTP_SCHEMES:
            return f"scheme {scheme or '?'!r} not allowed"
        domains = self._rules(request)[1]
        if not registered_domain_matches(host_of(target), domains):
            return f"host {host_of(target)} outside allowed domains {domains}"
        return await self.private_reason(target, request)


async def _resolve(host: str) -> str | None:
    """The IPv4 address of ``host`` through the reactor's (Scrapy's caching) resolver.

    Scrapy's resolver caches the answer, so the connection that follows normally uses the
    address checked here. A failed lookup returns None: the download itself then fails with a
    clear DNS error instead of being reported as blocked.
    """
    from twisted.internet import reactor

    try:
        return str(await maybe_deferred_to_future(reactor.resolve(host)))  # type: ignore[attr-defined,arg-type]
    except Exception:
        return None


class SafetyMiddleware:
    """Only http(s); no request and no redirect hop to private, loopback or link-local addresses.

    Runs first among the request-side middlewares. Direct requests are counted as
    ``blocked_private``/``blocked_scheme``; any hop of a redirect chain (3xx or meta refresh)
    that leaves the source's allowed domains or reaches a private address as
    ``blocked_redirect``. Sources with ``allow_private = true`` (tests, the demo, intranet
    sites) skip the address check but keep the scheme and domain rules.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.policy = _SourcePolicy(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        scheme = urlparse_cached(request).scheme
        if scheme not in HTTP_SCHEMES:
            raise _block(
                self.crawler, "blocked_scheme", request.url, f"scheme {scheme!r} not allowed"
            )
        if request.meta.get("redirect_urls"):
            why = await self.policy.redirect_reason(request.url, request)
            if why:
                raise _block(self.crawler, "blocked_redirect", request.url, why)
            return None
        why = await self.policy.private_reason(request.url, request)
        if why:
            raise _block(self.crawler, "blocked_private", request.url, why)
        return None


class RedirectGuardMiddleware:
    """Check a 3xx ``Location`` before Scrapy's RedirectMiddleware builds the next request.

    Scrapy silently hands back a redirect to ``file:``/``data:`` as a 3xx response and follows
    ``dont_filter`` requests to any host; here both are refused and counted as
    ``blocked_redirect`` (GHSA-23j4-mw76-5v7h).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.policy = _SourcePolicy(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuardMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in REDIRECT_STATUSES or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        raw = location.decode("latin-1").strip()
        if raw.startswith("//"):
            raw = urlparse_cached(request).scheme + ":" + raw
        target = urljoin(request.url, raw)
        why = await self.policy.redirect_reason(target, request)
        if why:
            raise _block(
                self.crawler, "blocked_redirect", target, f"{why} (redirected from {request.url})"
            )
        return response


# -- size caps -------------------------------------------------------------------------------


class SizeCapMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, plus a ``too_large`` count for every response over DOWNLOAD_MAXSIZE.

    Scrapy drops such responses with at most a log line (scrapy#6616): bodies too large
    after decompression (gzip/brotli bombs) raise IgnoreRequest in HttpCompressionMiddleware,
    and raw bodies over the limit are cancelled by the download handler. Both are counted
    here so the run's ``dropped`` shows them.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler=crawler)
        self.crawler = crawler
        # Bytes received per request: a body streamed past the limit is cancelled with an
        # empty CancelledError, and this is the only way to tell it from other cancellations.
        self.received: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SizeCapMiddleware:
        return cls(crawler)

    def _bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        self.received[request] = self.received.get(request, 0) + len(data)

    def process_response(  # type: ignore[override]  # no spider argument since Scrapy 2.14
        self, request: Request, response: Response
    ) -> Request | Response:
        self.received.pop(request, None)
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if isinstance(exc, Blocked):
                raise
            raise _block(
                self.crawler, "too_large", request.url, f"after decompression: {exc}"
            ) from None

    def process_exception(self, request: Request, exception: Exception) -> None:
        received = self.received.pop(request, 0)
        if not isinstance(exception, DownloadCancelledError):
            return None
        limit = request.meta.get("download_maxsize", self._max_size)
        if "max size" in str(exception):
            raise _block(self.crawler, "too_large", request.url, str(exception))
        if limit and received > limit:
            raise _block(
                self.crawler,
                "too_large",
                request.url,
                f"body over {limit} bytes ({received} received)",
            )
        return None


# -- Retry-After -----------------------------------------------------------------------------


class RetryAfterMiddleware:
    """Honour ``Retry-After`` on 429/503 without ever blocking the reactor (scrapy#3849).

    A short wait (up to ``CITYFEEDS_RETRY_AFTER_MAX_WAIT`` seconds) is spent in the reactor
    (``deferLater``) before RetryMiddleware retries, and the host's download slot is slowed to
    match. A longer one stops the source's run at once (close reason ``retry_after``): the run
    is recorded as ``deferred`` with ``retry_after`` seconds in its stats, which the scheduler
    uses as the earliest next attempt. From that moment no request leaves for the host: those
    already queued in its download slot, and any that arrive later, are refused and counted as
    ``not_fetched/retry_after`` (discovered again next run).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("CITYFEEDS_RETRY_AFTER_MAX_WAIT", 10.0)
        self.max_retry_times = crawler.settings.getint("RETRY_TIMES")
        self.closing = False
        self.stopped_hosts: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if self.stopped_hosts and urlparse_cached(request).hostname in self.stopped_hosts:
            raise _not_fetched(self.crawler, request, "retry_after")
        return None

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in (429, 503):
            return response
        header = response.headers.get(b"Retry-After")
        if not header:
            return response
        stats = self.crawler.stats
        assert stats is not None
        seconds = parse_retry_after(
            header.decode("latin-1", "replace"), get_context(self.crawler).clock()
        )
        if seconds is None:
            return response
        stats.set_value("cityfeeds/last_status", response.status)
        retries = request.meta.get("retry_times", 0)
        if seconds <= self.max_wait:
            if retries < request.meta.get("max_retry_times", self.max_retry_times):
                self._slow_slot(request, seconds)
                logger.info(
                    "HTTP %s from %s: waiting %.1fs (Retry-After) before retrying",
                    response.status,
                    request.url,
                    seconds,
                )
                await _sleep(seconds)
            return response
        # Too long to wait inside this run: stop the source and let the scheduler back off.
        previous = stats.get_value("cityfeeds/retry_after") or 0
        stats.set_value("cityfeeds/retry_after", int(max(previous, seconds)))
        request.meta["dont_retry"] = True
        self._stop_host(urlparse_cached(request).hostname or "")
        if not self.closing:
            self.closing = True
            logger.warning(
                "HTTP %s from %s with Retry-After %ss: stopping this run, retried later",
                response.status,
                request.url,
                int(seconds),
            )
            assert self.crawler.engine is not None
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="retry_after"))
        return response

    def _stop_host(self, host: str) -> None:
        """Refuse every request for ``host`` from now on, starting with those already queued.

        Requests waiting in a download slot (for DOWNLOAD_DELAY or a free connection) have
        passed ``process_request`` already; they are taken out of the queue and failed here.
        """
        self.stopped_hosts.add(host)
        drain_download_queues(self.crawler, "retry_after", host=host)

    def _slow_slot(self, request: Request, seconds: float) -> None:
        engine = self.crawler.engine
        slot_key = request.meta.get("download_slot")
        if engine is None or slot_key is None:
            return
        slot = engine.downloader.slots.get(slot_key)
        if slot is not None:
            slot.delay = max(slot.delay, seconds)


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))  # type: ignore[arg-type]


# -- robots.txt ------------------------------------------------------------------------------


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


class PoliteRobotsTxtMiddleware(RobotsTxtMiddleware):
    """robots.txt per RFC 9309, with ``Crawl-delay`` applied to the host's download slot.

    Scrapy treats a robots.txt it cannot fetch as allow-all (scrapy#2443). Here: 2xx is parsed;
    4xx means no rules (allow all); 5xx, a timeout or a connection/DNS error means "unreachable":
    disallow everything for this run (``robots_unavailable``), and try again next run. Requests
    refused by the rules are counted as ``robots_disallowed``. See docs/politeness.md.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_crawl_delay = crawler.settings.getfloat("CITYFEEDS_MAX_CRAWL_DELAY", 60.0)
        self.crawl_delays: dict[str, float] = {}
        self.unreachable: dict[str, str] = {}

    async def process_request(self, request: Request) -> None:  # type: ignore[override]
        await super().process_request(request)
        host = urlparse_cached(request).hostname or ""
        if host in self.crawl_delays:
            # AutoThrottle would lower the delay below what the site asked for.
            request.meta["autothrottle_dont_adjust_delay"] = True

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if rp is None or request.meta.get("dont_obey_robotstxt"):
            return
        useragent = self._robotstxt_useragent or request.headers.get(
            b"User-Agent", self._default_useragent
        )
        assert useragent is not None
        if rp.allowed(request.url, useragent):
            return
        netloc = urlparse_cached(request).netloc
        if netloc in self.unreachable:
            # Warned once per host in _settle; each blocked request is only counted.
            raise _block(
                self.crawler,
                "robots_unavailable",
                request.url,
                self.unreachable[netloc],
                level=logging.INFO,
            )
        self._stats.inc_value("robotstxt/forbidden")
        raise _block(
            self.crawler,
            "robots_disallowed",
            request.url,
            "forbidden by robots.txt",
            level=logging.INFO,
        )

    async def robot_parser(self, request: Request) -> RobotParser | None:
        from scrapy.http.request import NO_CALLBACK
        from twisted.internet.defer import Deferred

        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robotsreq = Request(
                f"{url.scheme}://{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                # Not retried: a host that left robots.txt unanswered for DOWNLOAD_TIMEOUT (or
                # refused it) is given up on after that one wait, not after RETRY_TIMES more.
                meta={"dont_obey_robotstxt": True, "dont_retry": True},
                callback=NO_CALLBACK,
            )
            assert self.crawler.engine is not None
            try:
                resp = await self.crawler.engine.download_async(robotsreq)
            except Exception as exc:
                why = f"robots.txt unreachable ({type(exc).__name__}: {exc})"
                self._settle(netloc, _DisallowAll(), why)
            else:
                await self._parse_robots(resp, netloc, request)
            self._stats.inc_value("robotstxt/request_count")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status < 200 or response.status >= 300:
            # Scrapy's own _parse_robots (below, for 2xx) counts the response itself.
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        if response.status >= 500 or response.status == 429:
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
        await super()._parse_robots(response, netloc, request)
        rp = self._parsers[netloc]
        self._apply_crawl_delay(rp, netloc, request)  # type: ignore[arg-type]

    def _settle(self, netloc: str, parser: Any, unreachable: str | None) -> None:
        from twisted.internet.defer import Deferred

        if unreachable:
            self.unreachable[netloc] = unreachable
            self.crawler.stats.set_value("cityfeeds/robots_unavailable", unreachable)  # type: ignore[union-attr]
            logger.warning(
                "[%s] %s: nothing is fetched from %s this run (RFC 9309)",
                getattr(self.crawler.spider, "source_name", "?"),
                unreachable,
                netloc,
            )
        pending = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if isinstance(pending, Deferred):
            pending.callback(parser)

    def _apply_crawl_delay(self, rp: RobotParser | None, netloc: str, request: Request) -> None:
        if rp is None:
            return
        useragent = self._robotstxt_useragent or self._default_useragent
        try:
            delay = rp.crawl_delay(useragent)
        except Exception:  # a parser without crawl-delay support
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


# -- conditional GET -------------------------------------------------------------------------


class ConditionalGetMiddleware:
    """Send ``If-None-Match``/``If-Modified-Since`` for discovery URLs; remember new validators.

    Validators are saved only when the run ends well (see ``RunRecorder``): if article fetches
    failed, the next run must see the feed again rather than a 304 that hides the lost links.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pending: dict[str, tuple[str | None, str | None]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        mw = cls(crawler)
        crawler.cityfeeds_conditional = mw  # type: ignore[attr-defined]
        return mw

    def process_request(self, request: Request) -> None:
        if not request.meta.get("cityfeeds_conditional"):
            return None
        etag, last_modified = get_context(self.crawler).store.get_validators(request.url)
        if etag:
            request.headers.setdefault(b"If-None-Match", etag.encode("latin-1", "replace"))
        if last_modified:
            request.headers.setdefault(
                b"If-Modified-Since", last_modified.encode("latin-1", "replace")
            )
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("cityfeeds_conditional") and response.status == 200:
            etag = response.headers.get(b"ETag")
            last_modified = response.headers.get(b"Last-Modified")
            if etag or last_modified:
                self.pending[request.url] = (
                    etag.decode("latin-1") if etag else None,
                    last_modified.decode("latin-1") if last_modified else None,
                )
        return response

    def commit(self) -> None:
        """Store the validators seen in this run (called when the run succeeded)."""
        ctx = get_context(self.crawler)
        for url, (etag, last_modified) in self.pending.items():
            ctx.store.set_validators(url, etag, last_modified, now=ctx.clock())
        self.pending.clear()

    def process_exception(self, request: Request, exception: Exception) -> Any:
        return None
