"""The spider of a distributed worker: NewsSpider serving every source from the shared queue."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet import task

from crawler.config import ConfigError, SourceSpec
from crawler.context import RUN_STATS, count_drop, get_context
from crawler.discovery import Link
from crawler.distributed.run_counts import RunCounts
from crawler.distributed.scheduler import REDIS_DOWN
from crawler.distributed.settings import (
    CLAIMED_META,
    DEFAULT_POLL_INTERVAL,
    RUN_FLUSH_SECONDS,
    RUN_META,
    SOURCE_META,
    WORKER_RUN_NAME,
)
from crawler.models import ArticleItem, run_of_meta
from crawler.normalize.url_patterns import UrlPattern, compile_url_pattern
from crawler.normalize.urls import host_of, registered_domain_matches
from crawler.run_states import kept_causes
from crawler.spiders.news import NewsSpider
from crawler.spiders.responses import gone_status

logger = logging.getLogger(__name__)

#: How long a worker trusts its per-source state (known URLs, page cap) before reloading it.
SOURCE_STATE_TTL = 60.0


@dataclass
class _SourceState:
    spec: SourceSpec
    pattern: UrlPattern | None
    max_pages: int
    known: set[str]
    loaded_at: float
    article_requests: int = 0
    sitemaps_seen: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _WorkerPolicy:
    """The policy SafetyMiddleware reads from ``spider.spec`` outside callbacks."""

    allow_private: bool


#: NewsSpider's counters of the article links its documents gave, and of their 304s.
_LINKS, _NOT_MODIFIED = "cityfeeds/article_links", "cityfeeds/not_modified"


class DistributedNewsSpider(NewsSpider):
    """NewsSpider serving every configured source from the shared Redis queue.

    Requests name their source in ``meta[SOURCE_META]``; each callback runs NewsSpider's code
    with that source's state in place, and tags the requests it yields with the same source.
    """

    extracts_in_workers = False  # parse_article runs parse_article_inline

    name = "news-distributed"
    # Discovery documents are fetched in full every cycle, never answered 304: a worker killed
    # with kill -9 loses the article requests it had taken (and its unwritten batch), and a
    # validator another worker saved for the feed would hide their links until the feed
    # changes; read again, they are queued again once the duplicate filter forgets them.
    unconditional = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        scrapy.Spider.__init__(self, *args, **kwargs)
        self.source_name = WORKER_RUN_NAME
        self.article_requests = 0
        self.requested = None  # the shared filter counts a link listed twice once (see there)
        self.sitemaps_seen: set[str] = set()
        self.discovery_ok = 0
        self.discovery_failed = 0
        self.exit_when_idle = 0.0
        self._states: dict[str, _SourceState] = {}
        self._idle_since: float | None = None
        self._run_counts = RunCounts()
        self._run_timer: Any = None
        self._serving_run: int | None = None  # the scheduled run of the callback running
        self._seen: Any = None  # the shared duplicate filter (DUPEFILTER_CLASS)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> DistributedNewsSpider:
        # Skip NewsSpider.from_crawler: it binds the spider to one source.
        spider: DistributedNewsSpider = super(NewsSpider, cls).from_crawler(
            crawler, *args, **kwargs
        )
        config = get_context(crawler).config
        spider.config = config
        spider.max_listing_pages = config.crawl.max_listing_pages
        spider.refresh = timedelta(hours=config.crawl.refresh_hours)
        # OffsiteMiddleware reads this once: the union; each source's own check runs per link.
        spider.allowed_domains = sorted({d for s in config.sources for d in s.allowed_domains})
        # Outside callbacks ``spec`` is this neutral policy; SafetyMiddleware asks
        # ``policy_for(request)`` for each request's own source.
        spider.policy = _WorkerPolicy(allow_private=False)
        spider.spec = spider.policy
        spider.exit_when_idle = crawler.settings.getfloat("CITYFEEDS_EXIT_WHEN_IDLE", 0.0)
        # The scheduler's filter, asked here too: see _article_request.
        spider._seen = build_from_crawler(
            load_object(crawler.settings["DUPEFILTER_CLASS"]), crawler
        )
        crawler.signals.connect(spider._on_opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> Any:
        # Nothing of its own: start requests arrive through the queue (`cityfeeds enqueue`).
        return
        yield  # pragma: no cover - makes this an async generator

    def _on_opened(self, spider: scrapy.Spider) -> None:
        # Scrapy re-polls an empty scheduler only on its 5 s engine heartbeat; a shared queue
        # fills from other machines, so poll faster. (Private attribute, read when the engine
        # starts processing, which is right after spider_opened.)
        interval = self.crawler.settings.getfloat("CITYFEEDS_POLL_INTERVAL", DEFAULT_POLL_INTERVAL)
        self.crawler.engine._SLOT_HEARTBEAT_INTERVAL = interval
        # A worker may run for weeks: the runs it serves show their figures as it goes.
        every = self.crawler.settings.getfloat("CITYFEEDS_RUN_FLUSH_SECONDS", RUN_FLUSH_SECONDS)
        self._run_timer = task.LoopingCall(self.flush_run_counts)
        self._run_timer.start(every, now=False)

    def flush_run_counts(self, *, closing: bool = False) -> None:
        """Add what became of each scheduled run's pages since the last call to its row.

        Called every ``CITYFEEDS_RUN_FLUSH_SECONDS`` and, when the worker stops, by
        ``RunRecorder`` before it closes the store. A failure is logged and retried next time.
        """
        if closing and self._run_timer is not None and self._run_timer.running:
            self._run_timer.stop()
        assert self.crawler.stats is not None
        settings = self.crawler.settings
        limits = (settings.getfloat("DOWNLOAD_TIMEOUT"), settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            self._run_counts.flush(
                self.crawler.stats.get_stats(), get_context(self.crawler).store, limits=limits
            )
        except Exception:
            logger.exception("could not add the workers' figures to their runs; retrying later")

    def _on_idle(self, spider: scrapy.Spider) -> None:
        """Keep waiting for work (service), or stop after ``exit_when_idle`` idle seconds (cron)."""
        if self.exit_when_idle <= 0:
            raise DontCloseSpider
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.exit_when_idle:
            raise DontCloseSpider
        logger.info("worker idle for %.1fs: exiting", now - self._idle_since)

    def policy_for(self, request: scrapy.Request) -> tuple[bool, list[str]]:
        """(allow_private, allowed domains) of the source that queued ``request``.

        Requests Scrapy makes itself (robots.txt) carry no source: they get the policy of the
        sources whose domains cover their host, and the strictest one when none does.
        """
        name = request.meta.get(SOURCE_META)
        if name:
            try:
                spec = self.config.source(name)
            except ConfigError:
                return False, []
            return spec.allow_private, list(spec.allowed_domains)
        host = host_of(request.url)
        owners = [
            s for s in self.config.sources if registered_domain_matches(host, s.allowed_domains)
        ]
        domains = sorted({d for s in owners for d in s.allowed_domains})
        return bool(owners) and all(s.allow_private for s in owners), domains

    def serves(self, request: scrapy.Request) -> bool:
        """Whether this worker's config has the source that queued ``request`` (one without a
        source is the worker's own)."""
        name = request.meta.get(SOURCE_META)
        return not name or any(s.name == name for s in self.config.sources)

    # -- per-source state ----------------------------------------------------------------

    def _state(self, source: str) -> _SourceState:
        now = time.monotonic()
        state = self._states.get(source)
        if state is None or now - state.loaded_at > SOURCE_STATE_TTL:
            ctx = get_context(self.crawler)
            spec = self.config.source(source)
            known = ctx.store.known_urls(source, first_seen_before=ctx.clock() - self.refresh)
            state = _SourceState(
                spec=spec,
                pattern=compile_url_pattern(spec.article_pattern) if spec.article_pattern else None,
                max_pages=spec.max_pages_per_run or self.config.crawl.max_pages_per_run,
                known=known,
                loaded_at=now,
            )
            self._states[source] = state
        return state

    # Why the source's state is swapped onto ``self`` rather than passed along: NewsSpider's
    # callbacks read their source from ``self`` (``spec``, ``pattern``, ``known``, ``max_pages``,
    # ``article_requests``, ``sitemaps_seen``, ``now``, ``source_name``), so a state object
    # looked up per request would mean threading it through every NewsSpider method. That is
    # the SourceProfile / process_page rework of NewsSpider (issue 14); until it lands, the swap
    # stays confined to ``_run``, which runs a callback to completion (no await inside it, hence
    # ``parse_article_inline``) and restores the neutral worker policy afterwards.
    @contextmanager
    def _serving(self, source: str) -> Iterator[None]:
        state = self._state(source)
        self.source_name, self.spec, self.pattern = source, state.spec, state.pattern
        self.max_pages, self.known = state.max_pages, state.known
        self.article_requests, self.sitemaps_seen = state.article_requests, state.sitemaps_seen
        self.now = get_context(self.crawler).clock()
        try:
            yield
        finally:
            state.article_requests = self.article_requests
            self.source_name, self.spec = WORKER_RUN_NAME, self.policy

    def _run(self, request: scrapy.Request, method: Any, arg: Any) -> list[Any]:
        self._idle_since = None
        source = request.meta.get(SOURCE_META)
        try:
            self._state(source)
        except ConfigError:
            # Enqueued by a newer config than this worker's (RedisScheduler drops such requests
            # before they are fetched; this is the same count for one that got past it).
            count_drop(
                self.crawler,
                "unknown_source",
                f"{request.url}: source {source!r} is not in this worker's config",
                request=request,
            )
            return []
        run_id = run_of_meta(request.meta)
        read, not_read = self.discovery_ok, self.discovery_failed
        assert self.crawler.stats is not None
        stats = self.crawler.stats
        links, unchanged = stats.get_value(_LINKS, 0), stats.get_value(_NOT_MODIFIED, 0)
        with self._serving(source):
            self._serving_run = run_id
            try:
                # Drain the generator inside the block: the spider holds this source's state
                # only here.
                out = list(method(arg) or ())
            finally:
                self._serving_run = None
        # Each discovery document ends read or not read in one callback: its run counts it, so
        # a run whose every queued document failed is failed, as a crawl run is (docs/runs.md).
        if self.discovery_ok > read:
            self._count_run(request, "discovery_ok", self.discovery_ok - read)
            # The article links its documents gave and their 304s, and that this worker
            # counted them, so the run is judged as a crawl run is ("found no article link").
            self._count_run(request, RunCounts.LINKS_COUNTED, self.discovery_ok - read)
            if (found := stats.get_value(_LINKS, 0) - links) > 0:
                self._count_run(request, "article_links", found)
            if (answered := stats.get_value(_NOT_MODIFIED, 0) - unchanged) > 0:
                self._count_run(request, "not_modified", answered)
        if self.discovery_failed > not_read:
            self._count_run(request, "discovery_failed", self.discovery_failed - not_read)
        for r in out:
            if isinstance(r, scrapy.Request):
                r.meta.setdefault(SOURCE_META, source)
                if run_id is not None:
                    r.meta.setdefault(RUN_META, run_id)
            elif isinstance(r, ArticleItem) and run_id is not None:
                r.run_id = run_id
        return out

    def _count_run(self, request: scrapy.Request, figure: str, count: int = 1) -> None:
        run_id = run_of_meta(request.meta)
        if run_id is not None:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"{RUN_STATS}{run_id}/{figure}", count)

    def _keep_cause(self, cause: dict[str, Any]) -> None:
        """Keep a discovery failure's cause in the worker's stats and in its scheduled run's
        (``<run>/causes``: the distinct ones, :func:`crawler.run_states.kept_causes`), which
        names it."""
        super()._keep_cause(cause)
        if self._serving_run is None:
            return
        assert self.crawler.stats is not None
        key = f"{RUN_STATS}{self._serving_run}/{RunCounts.CAUSES}"
        self.crawler.stats.set_value(
            key, kept_causes(self.crawler.stats.get_value(key) or [], cause)
        )

    # -- the page cap ---------------------------------------------------------------------

    def _article_request(
        self, link: Link, *, check_pattern: bool, rank: int = 0
    ) -> Iterator[scrapy.Request]:
        """NewsSpider's article request, unless the shared filter says the page was fetched
        this cycle (by any worker): such a link is no page of this run, so it does not count
        against the source's page cap, as a local crawl does not count a stored article.

        The filter is asked here, not only by the scheduler: counted when yielded, the links
        a cycle's feed and newest sitemap entries repeat used up the cap every cycle, and the
        older links (the pages of a killed worker among them) were skipped for good.
        """
        stats = self.crawler.stats
        assert stats is not None
        capped = stats.get_value("cityfeeds/skipped/page_cap", 0)
        for request in super()._article_request(link, check_pattern=check_pattern, rank=rank):
            request.meta[SOURCE_META] = self.source_name  # the filter's key names the source
            try:
                fetched = self._seen is not None and self._seen.request_seen(request)
            except REDIS_DOWN:
                yield request  # the scheduler asks again and waits out the outage
                continue
            if fetched:
                self.article_requests -= 1
                stats.inc_value("cityfeeds/skipped/fetched_this_cycle")
                continue
            request.meta[CLAIMED_META] = True
            yield request
        run_id = self._serving_run
        if run_id is not None and stats.get_value("cityfeeds/skipped/page_cap", 0) > capped:
            # The source's run says it was capped, as a local crawl's run does.
            stats.inc_value(f"{RUN_STATS}{run_id}/skipped/page_cap")

    # -- callbacks: NewsSpider's, run in the request's source ------------------------------

    def parse_feed(self, response: Any) -> list[Any]:
        return self._run(response.request, super().parse_feed, response)

    def parse_sitemap(self, response: Any) -> list[Any]:
        return self._run(response.request, super().parse_sitemap, response)

    def parse_listing(self, response: Any) -> list[Any]:
        return self._run(response.request, super().parse_listing, response)

    def parse_article(self, response: Any) -> list[Any]:
        self._count_run(response.request, "pages")
        # In-process: the per-source state swapped in by _run cannot span an await.
        return self._run(response.request, super().parse_article_inline, response)

    def discovery_error(self, failure: Any) -> list[Any]:
        self._count_run(failure.request, "errors")
        return self._run(failure.request, super().discovery_error, failure)

    def article_error(self, failure: Any) -> list[Any]:
        if gone_status(failure) is None:  # a page gone for good is a drop, not an error
            self._count_run(failure.request, "errors")
        return self._run(failure.request, super().article_error, failure)
