"""NewsSpider: the one generic spider; a source definition from cityfeeds.toml drives it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES
from twisted.python.failure import Failure

from crawler.config import Config, ConfigError, SourceSpec, load_config
from crawler.context import count_drop, get_context
from crawler.crawl_settings import (
    POLITENESS_KEYS,
    drop_disabled_components,
    politeness_settings,
)
from crawler.discovery import (
    MAX_SITEMAP_BYTES,
    DiscoveryError,
    Feed,
    Link,
    Sitemap,
    UnsafeXMLError,
    page_links,
    parse_feed,
    parse_sitemap,
)
from crawler.discovery.notes import no_links_note, no_match_note, no_next_page_note
from crawler.middlewares.policy import Blocked, NotFetched
from crawler.normalize.url_patterns import UrlPattern, compile_url_pattern
from crawler.normalize.urls import host_of, registered_domain_matches, url_identity
from crawler.run_states import kept_causes
from crawler.spiders.article_pages import ArticlePages
from crawler.spiders.rechecks import RecheckQueue
from crawler.spiders.responses import (
    cause_of,
    content_type,
    failure_text,
    gone_status,
    is_html,
    note_retry_after,
)

MAX_SITEMAP_DEPTH = 3
#: Notes a run keeps about its discovery documents (``stats.notes``, said in its message).
MAX_NOTES = 5
#: Request priorities: discovery documents first, then new articles (newest first: 9, 8, ...).
DISCOVERY_PRIORITY = 10
NEW_ARTICLE_PRIORITY = 9
#: Re-checks asked for at a time when the spider is idle (the budget is checked between).
RECHECK_BATCH = 4
# update_settings fills in settings up to the project's priority, never a command line's.
OVERRIDABLE = SETTINGS_PRIORITIES["project"]


class NewsSpider(ArticlePages, scrapy.Spider):
    """Crawl one configured source: discover article links, then process each article page.

    Discovery (feeds, sitemaps, listings) is here; the article pages are handled by
    :class:`~crawler.spiders.article_pages.ArticlePages`.

    Run it with ``cityfeeds crawl NAME`` or ``scrapy crawl news -a source=NAME``; one source
    per spider (``cityfeeds crawl`` with no name crawls every enabled source).
    """

    name = "news"
    #: Recent articles to re-check after the new ones (None: fetched with them, as workers do).
    rechecks: RecheckQueue | None = None
    #: Discovery documents without conditional headers (the last run hit its page cap).
    unconditional = False
    links_seen = 0  # article links the discovery documents gave this run
    _recent_queued = False
    #: The source's ``article_pattern``, compiled (set by from_crawler; None: every link).
    pattern: UrlPattern | None = None
    #: URL keys of articles first seen within the refresh window (set by start()).
    recent: frozenset[str] | set[str] = frozenset()

    def __init__(self, source: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source_name = source or ""  # checked against the config in from_crawler
        self.article_requests = 0
        # URL keys of the articles requested this run: a link both the feed and the sitemap
        # list is one page against the cap, not two (Scrapy's filter drops the second request).
        # None in a distributed worker, whose shared filter tells it per cycle.
        self.requested: set[str] | None = set()
        self.sitemaps_seen: set[str] = set()
        self.discovery_ok = 0
        self.discovery_failed = 0
        self.extracting = 0  # pages in the extraction pool now (an interrupt counts them)

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        drop_disabled_components(settings)
        if all((settings.getpriority(key) or 0) > OVERRIDABLE for key in POLITENESS_KEYS):
            return  # set from the loaded config already (crawler.runner): no second reading
        config = load_config(settings.get("CITYFEEDS_CONFIG") or None)
        for key, value in politeness_settings(config).items():
            if settings.getpriority(key) is None or settings.getpriority(key) <= OVERRIDABLE:
                settings.set(key, value, priority="spider")

    @staticmethod
    def configured_source(config: Config, source: str | None) -> SourceSpec:
        """The source ``-a source=NAME`` names; ConfigError naming the configured ones if it
        is missing, empty or unknown (``crawler.commands.crawl`` says it in one line)."""
        if not source:
            known = ", ".join(s.name for s in config.sources) or "(none)"
            raise ConfigError(
                "the news spider crawls one source: scrapy crawl news -a source=NAME "
                f"(configured: {known}); `cityfeeds crawl` crawls every enabled one"
            )
        return config.source(source)

    @classmethod
    def check_arguments(cls, settings: Any, arguments: dict[str, str]) -> None:
        """Raise ConfigError if ``arguments`` (``-a`` options) name no configured source."""
        cls.configured_source(
            load_config(settings.get("CITYFEEDS_CONFIG") or None), arguments.get("source")
        )

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        """The spider of ``source``; ``config`` is the crawl's loaded configuration, if any."""
        config: Config | None = kwargs.pop("config", None)
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        ctx = get_context(crawler, config)
        spider.spec = cls.configured_source(ctx.config, spider.source_name)
        ctx.source = spider.spec
        spider.allowed_domains = list(spider.spec.allowed_domains)
        spider.max_pages = spider.spec.max_pages_per_run or ctx.config.crawl.max_pages_per_run
        spider.max_listing_pages = ctx.config.crawl.max_listing_pages
        spider.pattern = (
            compile_url_pattern(spider.spec.article_pattern)
            if spider.spec.article_pattern
            else None
        )
        spider.refresh = timedelta(hours=ctx.config.crawl.refresh_hours)
        spider.rechecks = RecheckQueue(
            limit=ctx.config.crawl.recheck_per_run, seconds=ctx.config.crawl.recheck_seconds
        )
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    # -- discovery -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        ctx = get_context(self.crawler)
        self.now = ctx.clock()
        # Incremental: articles stored before the refresh window are not fetched again;
        # those within it are re-checked after the new ones (spider_idle).
        self.known = ctx.store.known_urls(
            self.source_name, first_seen_before=self.now - self.refresh
        )
        self.recent = ctx.store.known_urls(
            self.source_name, first_seen_since=self.now - self.refresh
        )
        runs = ctx.store.recent_runs(self.source_name, limit=5)
        if self.rechecks is not None:
            self.rechecks.cursor = _previous_cursor(runs)
        # The last run left links for later (its page cap): a 304 for an unchanged feed would
        # hide them until the feed changes, so the documents are fetched in full this time.
        self.unconditional = _capped(runs)
        # Counted from 0, so a run that found none says so (the run recorder, `status`).
        self.crawler.stats.set_value("cityfeeds/article_links", 0)
        for request in self.discovery_requests():
            yield request

    def discovery_requests(self) -> list[scrapy.Request]:
        """The feed, sitemap and listing requests that start a crawl of this source.

        Needs only ``self.spec``, so ``cityfeeds enqueue`` builds the same requests for workers.
        """
        spec: SourceSpec = self.spec
        requests = [
            self._discovery_request(url, self.parse_feed, kind="feed") for url in spec.feeds
        ]
        for url in spec.sitemaps:
            self.sitemaps_seen.add(url)
            requests.append(
                self._discovery_request(url, self.parse_sitemap, kind="sitemap", depth=0)
            )
        for i, listing in enumerate(spec.listings):
            requests.append(
                self._discovery_request(
                    listing.url, self.parse_listing, kind="listing", listing=i, page=1
                )
            )
        if not (spec.feeds or spec.sitemaps or spec.listings):
            requests.append(
                self._discovery_request(
                    spec.url, self.parse_listing, kind="listing", listing=None, page=1
                )
            )
        return requests

    def _discovery_request(
        self, url: str, callback: Any, *, kind: str, **meta: Any
    ) -> scrapy.Request:
        if kind == "sitemap":
            # The sitemap protocol allows 50 MB, and big sites use it: under the article pages'
            # max_response_bytes, a 10.8 MB sitemap failed the whole source. Scrapy applies the
            # key to the download and to its decompression (gzip bombs stop there).
            meta["download_maxsize"] = MAX_SITEMAP_BYTES
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.discovery_error,
            dont_filter=True,
            priority=DISCOVERY_PRIORITY,
            meta={
                "cityfeeds_kind": kind,
                "cityfeeds_conditional": not self.unconditional,
                "handle_httpstatus_list": [304],
                **meta,
            },
        )

    def _not_modified(self, response: Response) -> bool:
        if response.status == 304:
            self.discovery_ok += 1
            self.crawler.stats.inc_value("cityfeeds/not_modified")
            return True
        return False

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """Article links of an RSS/Atom feed (a 304 costs no parsing)."""
        if self._not_modified(response):
            return
        try:
            feed = parse_feed(
                response.body,
                response.url,
                tz=self.spec.timezone,
                now=self.now,
                content_type=content_type(response),
            )
        except (UnsafeXMLError, DiscoveryError) as exc:
            self._bad_document(response, "feed", exc)
            return
        if feed.recovered and not feed.links:
            # Broken beyond repair: nothing whole was left to read.
            self._bad_document(response, "feed", DiscoveryError("not well-formed, no entry read"))
            return
        self.discovery_ok += 1
        self._count_reading(response, "feed", feed)
        self.crawler.stats.inc_value("cityfeeds/discovered/feed", len(feed.links))
        for rank, link in enumerate(_newest_first(feed.links)):
            yield from self._article_request(link, check_pattern=False, rank=rank)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Links of a sitemap; nested sitemap indexes followed to a bounded depth, once each."""
        if self._not_modified(response):
            return
        try:
            sitemap = parse_sitemap(
                response.body,
                response.url,
                tz=self.spec.timezone,
                now=self.now,
                content_type=content_type(response),
            )
        except (UnsafeXMLError, DiscoveryError) as exc:
            self._bad_document(response, "sitemap", exc)
            return
        self.discovery_ok += 1
        self._count_reading(response, "sitemap", sitemap)
        if sitemap.sitemaps:
            # An index is read in full every run: its child sitemaps change while it does not
            # (each child gets its own conditional GET).
            self._forget_validators(response)
        depth = response.meta.get("depth", 0)
        for url in sitemap.sitemaps:
            if url in self.sitemaps_seen or self._offsite(url, "sitemap"):
                continue
            if depth + 1 > MAX_SITEMAP_DEPTH:
                count_drop(self.crawler, "sitemap_depth", url, level=20)
                continue
            self.sitemaps_seen.add(url)
            yield self._discovery_request(url, self.parse_sitemap, kind="sitemap", depth=depth + 1)
        # Newest first, so a page cap keeps the freshest articles.
        links = _newest_first(sitemap.links)
        self.crawler.stats.inc_value("cityfeeds/discovered/sitemap", len(links))
        if (
            self.pattern is not None
            and links
            and not any(self.pattern.search(lk.url) for lk in links)
        ):
            urls = [lk.url for lk in sitemap.links]
            self._note(no_match_note("sitemap", urls, self.pattern, "article_pattern"))
        for rank, link in enumerate(links):
            yield from self._article_request(link, check_pattern=True, rank=rank)

    def _count_reading(self, response: Response, kind: str, doc: Feed | Sitemap) -> None:
        """Count what reading a feed or sitemap lost: entries without a link, bad bytes, bad XML."""
        stats = self.crawler.stats
        if doc.skipped:
            stats.inc_value(f"cityfeeds/skipped/{kind}_entry_no_link", doc.skipped)
        if doc.invalid_bytes:
            stats.inc_value("cityfeeds/invalid_bytes", doc.invalid_bytes)
        if doc.recovered:
            # Not well-formed (often truncated): what was whole is kept, the rest may be lost.
            stats.inc_value(f"cityfeeds/recovered/{kind}")
            self.logger.warning(
                "[%s] %s is not well-formed XML (kept what was whole): %s",
                self.source_name,
                kind,
                response.url,
            )

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """Article links of an HTML listing page, then its next page up to the pagination cap."""
        if self._not_modified(response):
            return
        index = response.meta.get("listing")
        listing = self.spec.listings[index] if index is not None else None
        pattern = (
            compile_url_pattern(listing.link_pattern)
            if listing and listing.link_pattern
            else self.pattern
        )
        if not is_html(response):
            self._bad_document(response, "listing", ValueError("not an HTML page"))
            return
        self.discovery_ok += 1
        every = page_links(response.text, response.url)
        links = [url for url in every if pattern.search(url)] if pattern is not None else every
        if not every:
            self._note(no_links_note(response.url, rendered=bool(self.spec.render)))
        elif pattern is not None and not links:
            setting = "link_pattern" if listing and listing.link_pattern else "article_pattern"
            self._note(no_match_note("listing", every, pattern, setting))
        self.crawler.stats.inc_value("cityfeeds/discovered/listing", len(links))
        for rank, url in enumerate(links):
            yield from self._article_request(
                Link(url=url), check_pattern=pattern is None, rank=rank
            )
        page = response.meta.get("page", 1)
        cap = (
            listing.max_pages if listing and listing.max_pages else None
        ) or self.max_listing_pages
        if self.article_requests >= self.max_pages:
            # The run's page cap is reached: no article of a further page could be fetched now
            # (and an endless listing ends here, D7); the next run reads on from its start.
            return
        if listing and listing.next_page and page < cap:
            next_url = self._next_page_url(listing.next_page, response, page + 1)
            if next_url is None and page == 1:
                # A selector that matches nothing reads one page and says nothing else.
                self._note(no_next_page_note(response.url))
            if next_url and not self._offsite(next_url, "listing page"):
                # A listing's next page is the same listing, not a link deeper into the site:
                # at depth_limit 3, pages 4 and 5 and their articles were dropped unsaid.
                yield self._discovery_request(
                    next_url,
                    self.parse_listing,
                    kind="listing",
                    listing=index,
                    page=page + 1,
                    depth_reset=True,
                )

    def _offsite(self, url: str, kind: str) -> bool:
        """Whether a discovery document a document links to is outside the source's domains:
        skipped as ``skipped/offsite``, like an off-site feed entry, and logged.

        Discovery requests bypass Scrapy's offsite filter (``dont_filter``), so without this the
        robots.txt of the other host would be asked for, refused by that filter and taken for an
        unreachable robots.txt: a discovery error for a document that was never the source's.
        """
        if registered_domain_matches(host_of(url), self.allowed_domains):
            return False
        self.crawler.stats.inc_value("cityfeeds/skipped/offsite")
        self.logger.info(
            "[%s] skipped (offsite) %s outside %s: %s",
            self.source_name,
            kind,
            ", ".join(self.allowed_domains),
            url,
        )
        return True

    @staticmethod
    def _next_page_url(rule: str, response: Response, page: int) -> str | None:
        if "{page}" in rule:
            return rule.replace("{page}", str(page))
        if rule.startswith("xpath:"):
            href = response.xpath(rule.removeprefix("xpath:")).get()
        else:
            href = response.css(rule.removeprefix("css:")).attrib.get("href")
        return response.urljoin(href) if href else None

    def _article_request(
        self, link: Link, *, check_pattern: bool, rank: int = 0
    ) -> Iterator[scrapy.Request]:
        """The request of an article link, unless skipped; ``rank`` 0 is the document's newest.

        A recent article (first seen within the refresh window) is queued for a re-check
        instead, asked for once every new article has been fetched (:meth:`spider_idle`).
        """
        stats = self.crawler.stats
        if not registered_domain_matches(host_of(link.url), self.allowed_domains):
            stats.inc_value("cityfeeds/skipped/offsite")
            return
        if check_pattern and self.pattern is not None and not self.pattern.search(link.url):
            stats.inc_value("cityfeeds/skipped/not_article")
            return
        self.links_seen += 1
        stats.inc_value("cityfeeds/article_links")
        key = url_identity(link.url)
        if self.requested is not None and key in self.requested:
            return
        if key in self.known:
            stats.inc_value("cityfeeds/requests_avoided")
            return
        if self.rechecks is not None and key in self.recent:
            if not self.rechecks.pending:
                self.warm_pool()  # re-checks follow: workers ready by then
            self.rechecks.add(key, link)
            stats.set_value("cityfeeds/rechecks_deferred", self.rechecks.deferred)
            return
        if self.article_requests >= self.max_pages:
            stats.inc_value("cityfeeds/skipped/page_cap")
            return
        if not self.article_requests:
            self.warm_pool()  # its workers start while the page downloads
        self.article_requests += 1
        if self.requested is not None:
            self.requested.add(key)
        yield self._fetch_article(link, priority=NEW_ARTICLE_PRIORITY - rank)

    def _fetch_article(self, link: Link, *, priority: int = 0) -> scrapy.Request:
        return scrapy.Request(
            link.url,
            callback=self.parse_article,
            errback=self.article_error,
            priority=priority,
            meta={"cityfeeds_kind": "article", "cityfeeds_link": link},
        )

    def spider_idle(self) -> None:
        """Every new article is fetched: re-check a few recent ones while the budget lasts."""
        queue = self.rechecks
        if queue is not None and not self.links_seen and not self._recent_queued:
            # Every document answered 304 (unchanged): the recent articles it lists are the
            # stored ones, and an edit of a page leaves the feed as it was.
            self._recent_queued = True
            self._queue_stored_recent(queue)
        if queue is None or not queue.pending or self.crawler.engine is None:
            return
        room = max(0, self.max_pages - self.article_requests)
        links = queue.take(min(RECHECK_BATCH, room), get_context(self.crawler).clock())
        stats = self.crawler.stats
        stats.set_value("cityfeeds/rechecks_deferred", queue.deferred)
        if not links:
            return  # budget spent: the rest waits for the next runs
        self.article_requests += len(links)
        stats.inc_value("cityfeeds/rechecks", len(links))
        stats.set_value("cityfeeds/recheck_cursor", queue.next_cursor)
        for link in links:
            self.crawler.engine.crawl(self._fetch_article(link))
        raise DontCloseSpider

    def _queue_stored_recent(self, queue: RecheckQueue) -> None:
        if not self.crawler.stats.get_value("cityfeeds/not_modified"):
            return  # no document was read at all (errors): nothing says the list is unchanged
        store = get_context(self.crawler).store
        for key, url in store.recent_urls(
            self.source_name, first_seen_since=self.now - self.refresh
        ).items():
            queue.add(key, Link(url))
        if queue.pending:
            self.warm_pool()

    # -- errors ----------------------------------------------------------------------------

    def _bad_document(self, response: Response, kind: str, exc: Exception) -> None:
        self.discovery_failed += 1
        # Read in full again next run, and reported again until it is mended.
        self._forget_validators(response)
        reason = "unsafe_xml" if isinstance(exc, UnsafeXMLError) else f"bad_{kind}"
        count_drop(self.crawler, reason, f"{response.url}: {exc}", request=response.request)
        self.crawler.stats.inc_value("cityfeeds/source_errors")
        self._keep_cause({"url": response.url, "error": reason})

    def _forget_validators(self, response: Response) -> None:
        conditional = getattr(self.crawler, "cityfeeds_conditional", None)
        if conditional is not None:
            conditional.forget(response.url)

    def _note(self, note: str) -> None:
        """Keep what a discovery document said about itself (no failure: the crawl goes on)
        for the run's message (``stats.notes``, the first :data:`MAX_NOTES` distinct ones)."""
        stats = self.crawler.stats
        notes = list(stats.get_value("cityfeeds/notes") or [])
        if note not in notes and len(notes) < MAX_NOTES:
            stats.set_value("cityfeeds/notes", [*notes, note])
        self.logger.warning("[%s] %s", self.source_name, note)

    def _keep_cause(self, cause: dict[str, Any]) -> None:
        """Keep a discovery failure's cause: the run records the first (``stats.cause``) and
        the distinct ones (:func:`crawler.run_states.kept_causes`, ``stats.causes``), for its
        message."""
        stats = self.crawler.stats
        if stats.get_value("cityfeeds/cause") is None:
            stats.set_value("cityfeeds/cause", cause)
        stats.set_value(
            "cityfeeds/causes", kept_causes(stats.get_value("cityfeeds/causes") or [], cause)
        )

    def discovery_error(self, failure: Failure) -> None:
        """A feed/sitemap/listing could not be fetched: counted; the run may still succeed."""
        if isinstance(failure.value, NotFetched):
            return  # the run stopped before this request left: counted as not fetched
        self.discovery_failed += 1
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("cityfeeds/errors/discovery")
        own_limit = int(request.meta.get("download_maxsize") or 0)
        self._keep_cause(cause_of(failure, request.url, max_bytes=own_limit))
        # Kept as the run's cause: the run's one line (the supervising service's or the
        # crawl summary) names it, so this is a detail, not a second warning.
        self.logger.info(
            "[%s] cannot fetch %s: %s",
            self.source_name,
            request.url,
            self._failure_text(failure, request),
        )
        note_retry_after(self.crawler.stats, failure)

    def article_error(self, failure: Failure) -> None:
        """An article page could not be fetched: counted and logged, never silently lost."""
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, NotFetched):
            return  # the run stopped before this request left: counted as not fetched
        status = gone_status(failure)
        if status is not None:
            # Gone for good: a drop with its reason, not a loss to fetch again (docs/runs.md).
            count_drop(
                self.crawler,
                "not_found",
                f"HTTP {status}: {request.url}",
                level=logging.INFO,
                request=request,
            )
            return
        self.crawler.stats.inc_value("cityfeeds/errors/article")
        if not isinstance(failure.value, Blocked):  # a policy block is counted where it happened
            count_drop(
                self.crawler,
                "fetch_error",
                f"{self._failure_text(failure, request)}: {request.url}",
                request=request,
            )
        note_retry_after(self.crawler.stats, failure)

    def _failure_text(self, failure: Failure, request: scrapy.Request) -> str:
        """``failure`` in a few words, with this crawl's request timeout and the request's size
        limit."""
        return failure_text(
            failure,
            timeout=self.settings.getfloat("DOWNLOAD_TIMEOUT"),
            max_bytes=self._max_bytes(request),
        )

    def _max_bytes(self, request: scrapy.Request) -> int:
        """The size limit of ``request``: its own (a sitemap's), else the crawl's."""
        return int(request.meta.get("download_maxsize") or self.settings.getint("DOWNLOAD_MAXSIZE"))


def _newest_first(links: list[Link]) -> list[Link]:
    """Links with the newest publication first; undated ones after, in document order."""
    return sorted(links, key=lambda lk: -lk.published.timestamp() if lk.published else float("inf"))


def _capped(runs: list[dict[str, Any]]) -> bool:
    """Whether the last finished run skipped article links for its page cap (runs newest first)."""
    for run in runs:
        if run.get("status") != "running":
            return bool((run.get("stats") or {}).get("skipped/page_cap"))
    return False


def _previous_cursor(runs: list[dict[str, Any]]) -> str | None:
    """Where the last run that re-checked anything stopped (runs newest first)."""
    for run in runs:
        cursor = (run.get("stats") or {}).get("recheck_cursor")
        if cursor:
            return str(cursor)
    return None
