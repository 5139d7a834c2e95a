"""Distributed crawling on Redis: shared scrapy-redis queue, TTL duplicate filter, one spider.

``cityfeeds enqueue`` pushes each source's discovery requests (feeds, sitemaps, listings) into
the shared queue; ``cityfeeds worker`` processes on any number of machines pop requests from it,
push the article requests they discover back into it, and store into one database (PostgreSQL).
Every request carries its source name in ``meta``, so one worker serves every source.

Library: scrapy-redis 0.9.1 for the scheduler and queue. On Scrapy 2.19 it needs two small
adjustments, made here rather than by patching it: its scheduler passes ``spider=`` to the stats
collector (deprecated since Scrapy 2.14, one warning per request), and its ``RedisSpider`` feeds
start URLs through ``start_requests`` (removed in 2.16) — so workers do not use ``RedisSpider``;
``enqueue`` writes fully-formed requests straight into the scheduler's queue instead.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.dupefilters import BaseDupeFilter
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.connection import get_redis, get_redis_from_settings
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.config import Config, ConfigError, SourceSpec
from crawler.context import RUN_STATS, get_context
from crawler.items import ArticleItem
from crawler.normalize.urls import host_of, registered_domain_matches, url_identity
from crawler.spiders.news import NewsSpider

logger = logging.getLogger(__name__)

#: ``meta`` key naming the source a request belongs to.
SOURCE_META = "cityfeeds_source"
#: ``meta`` key of the scheduled run (its row in ``runs``) a request was queued for.
RUN_META = "cityfeeds_run"
#: How often a worker adds what became of each run's pages to that run's row.
RUN_FLUSH_SECONDS = 15.0
#: Name under which a worker's own run (all sources together) is recorded in ``runs``.
WORKER_RUN_NAME = "worker"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "cityfeeds"
#: Default life of a duplicate-filter entry: one crawl cycle (the default schedule, 30 min).
DEFAULT_DUPEFILTER_TTL = 1800
#: How often an idle worker looks at the shared queue (Scrapy's own heartbeat is 5 s).
DEFAULT_POLL_INTERVAL = 0.5
#: How long a worker trusts its per-source state (known URLs, page cap) before reloading it.
SOURCE_STATE_TTL = 60.0


def redis_url_from(value: str | None = None) -> str:
    """``value``, else ``$CITYFEEDS_REDIS_URL``, else the local default."""
    return value or os.environ.get("CITYFEEDS_REDIS_URL") or DEFAULT_REDIS_URL


def distributed_settings(
    redis_url: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    exit_when_idle: float | None = None,
    dupefilter_ttl: int = DEFAULT_DUPEFILTER_TTL,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> dict[str, Any]:
    """Scrapy settings that turn a crawl into a worker of the shared Redis queue."""
    return {
        "SCHEDULER": "crawler.distributed.RedisScheduler",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": queue_key(prefix),
        "SCHEDULER_SERIALIZER": "crawler.distributed",
        # The queue is shared: one worker stopping must never flush it for the others.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        "DUPEFILTER_CLASS": "crawler.distributed.SourceDupeFilter",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:seen",
        "REDIS_URL": redis_url,
        "CITYFEEDS_DUPEFILTER_TTL": dupefilter_ttl,
        "CITYFEEDS_EXIT_WHEN_IDLE": exit_when_idle or 0,
        "CITYFEEDS_POLL_INTERVAL": poll_interval,
        # A worker runs until idle (or forever): the per-run wall-clock limit does not apply.
        "CLOSESPIDER_TIMEOUT": 0,
    }


def queue_key(prefix: str = DEFAULT_PREFIX) -> str:
    """The Redis key of the shared request queue."""
    return f"{prefix}:requests"


# -- serializer ----------------------------------------------------------------------------

# Requests travel through Redis as pickles (scrapy-redis' format). Any process that can write to
# Redis could otherwise make every worker run arbitrary code; only these types may be loaded.
_SAFE_GLOBALS = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("zoneinfo", "ZoneInfo"),
    ("zoneinfo._zoneinfo", "ZoneInfo"),
    ("crawler.discovery.links", "Link"),
    # Where Link lived before crawler.discovery became a package: requests already queued in
    # Redis by an older version still name it so (the package still exports it).
    ("crawler.discovery", "Link"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the shared queue")


def dumps(obj: Any) -> bytes:
    """Serialize a request dict for the queue (the ``SCHEDULER_SERIALIZER`` interface)."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """Load a request dict from the queue, refusing any type outside a short allow-list."""
    return _SafeUnpickler(io.BytesIO(data)).load()


# -- scheduler and duplicate filter --------------------------------------------------------


class RedisScheduler(Scheduler):
    """scrapy-redis' scheduler, minus the ``spider=`` stats arguments Scrapy 2.14+ deprecates."""

    def enqueue_request(self, request: scrapy.Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> scrapy.Request | None:
        request = self.queue.pop(self.idle_before_close)
        if request and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request


class SourceDupeFilter(BaseDupeFilter):
    """Shared "fetched recently" filter: one Redis key per source and URL, expiring after a TTL.

    ``SET key 1 NX EX ttl`` is atomic, so two workers discovering the same article fetch it
    once. Memory is bounded by the URLs discovered within one TTL, and a URL can be fetched
    again once its key expires — the next crawl cycle re-checks articles still inside the
    refresh window for edits (older ones are skipped by the store's known-URL check).
    """

    def __init__(self, server: Any, prefix: str, ttl: int, debug: bool = False) -> None:
        self.server = server
        self.prefix = prefix
        self.ttl = max(1, int(ttl))
        self.debug = debug
        self.filtered = 0

    @classmethod
    def from_settings(cls, settings: Any) -> SourceDupeFilter:
        """Build from Scrapy settings (``REDIS_URL``, ``SCHEDULER_DUPEFILTER_KEY``, TTL)."""
        return cls(
            get_redis_from_settings(settings),
            settings.get("SCHEDULER_DUPEFILTER_KEY") or f"{DEFAULT_PREFIX}:seen",
            settings.getint("CITYFEEDS_DUPEFILTER_TTL", DEFAULT_DUPEFILTER_TTL),
            settings.getbool("DUPEFILTER_DEBUG"),
        )

    @classmethod
    def from_crawler(cls, crawler: Any) -> SourceDupeFilter:
        return cls.from_settings(crawler.settings)

    @classmethod
    def from_spider(cls, spider: scrapy.Spider) -> SourceDupeFilter:
        """The constructor scrapy-redis' scheduler calls."""
        return cls.from_settings(spider.settings)

    def key(self, request: scrapy.Request) -> str:
        """The Redis key recording that this request's URL was scheduled."""
        source = request.meta.get(SOURCE_META) or "_"
        try:
            identity = url_identity(request.url)
        except ValueError:
            identity = request.url
        digest = hashlib.sha1(f"{request.method} {identity}".encode()).hexdigest()
        return f"{self.prefix}:{source}:{digest}"

    def request_seen(self, request: scrapy.Request) -> bool:
        return self.server.set(self.key(request), b"1", nx=True, ex=self.ttl) is None

    def clear(self) -> None:
        """Forget every URL (tests, or a deliberate full re-crawl)."""
        for key in self.server.scan_iter(match=f"{self.prefix}:*", count=1000):
            self.server.delete(key)

    def close(self, reason: str = "") -> None:
        # Shared state: other workers still rely on it.
        return None

    def log(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        self.filtered += 1
        if self.debug:
            logger.debug("filtered duplicate request %s", request)


# -- spider --------------------------------------------------------------------------------


@dataclass
class _SourceState:
    spec: SourceSpec
    pattern: re.Pattern[str] | None
    max_pages: int
    known: set[str]
    loaded_at: float
    article_requests: int = 0
    sitemaps_seen: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _WorkerPolicy:
    """The policy SafetyMiddleware reads from ``spider.spec`` outside callbacks."""

    allow_private: bool


class DistributedNewsSpider(NewsSpider):
    """NewsSpider serving every configured source from the shared Redis queue.

    Requests name their source in ``meta[SOURCE_META]``; each callback runs NewsSpider's code
    with that source's state in place, and tags the requests it yields with the same source.
    """

    name = "news-distributed"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        scrapy.Spider.__init__(self, *args, **kwargs)
        self.source_name = WORKER_RUN_NAME
        self.article_requests = 0
        self.sitemaps_seen: set[str] = set()
        self.discovery_ok = 0
        self.discovery_failed = 0
        self.exit_when_idle = 0.0
        self._states: dict[str, _SourceState] = {}
        self._idle_since: float | None = None
        self._run_counts = RunCounts()
        self._run_timer: Any = None

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
        from twisted.internet import task

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
        try:
            self._run_counts.flush(self.crawler.stats.get_stats(), get_context(self.crawler).store)
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
                pattern=re.compile(spec.article_pattern) if spec.article_pattern else None,
                max_pages=spec.max_pages_per_run or self.config.crawl.max_pages_per_run,
                known=known,
                loaded_at=now,
            )
            self._states[source] = state
        return state

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
            # Enqueued by a newer config than this worker's: leave it to an updated worker.
            logger.warning(
                "dropping %s: unknown source %r (not in this worker's config)", request.url, source
            )
            return []
        with self._serving(source):
            # Drain the generator inside the block: the spider holds this source's state only here.
            out = list(method(arg) or ())
        run_id = _run_of(request)
        for r in out:
            if isinstance(r, scrapy.Request):
                r.meta.setdefault(SOURCE_META, source)
                if run_id is not None:
                    r.meta.setdefault(RUN_META, run_id)
            elif isinstance(r, ArticleItem) and run_id is not None:
                r.run_id = run_id
        return out

    def _count_run(self, request: scrapy.Request, figure: str) -> None:
        run_id = _run_of(request)
        if run_id is not None:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"{RUN_STATS}{run_id}/{figure}")

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
        self._count_run(failure.request, "errors")
        return self._run(failure.request, super().article_error, failure)


def _run_of(request: scrapy.Request) -> int | None:
    """The run ``request`` was queued for; anything but a run id (queued by hand) is none."""
    run_id = request.meta.get(RUN_META)
    return run_id if type(run_id) is int and run_id > 0 else None


class RunCounts:
    """What a worker has added to each scheduled run's row so far (``RUN_STATS`` counters)."""

    FIGURES = ("pages", "new", "updated", "unchanged", "errors")

    def __init__(self) -> None:
        self.flushed: dict[str, int] = {}

    def flush(self, stats: dict[str, Any], store: Any) -> int:
        """Add the counters' growth since the last flush to their runs; returns runs touched."""
        deltas: dict[int, tuple[dict[str, int], dict[str, int]]] = {}
        current: dict[str, int] = {}
        for key, value in stats.items():
            if not key.startswith(RUN_STATS):
                continue
            run, _, figure = key[len(RUN_STATS) :].partition("/")
            delta = int(value) - self.flushed.get(key, 0)
            current[key] = int(value)
            if not delta or not run.isdigit():
                continue
            counts, dropped = deltas.setdefault(int(run), ({}, {}))
            if figure.startswith("dropped/"):
                dropped[figure.removeprefix("dropped/")] = delta
            elif figure in self.FIGURES:
                counts[figure] = delta
        for run_id, (counts, dropped) in sorted(deltas.items()):
            if not store.add_to_run(run_id, counts, dropped):
                logger.debug("run %d is not in the store: its figures are not kept", run_id)
            # Only what was added is marked flushed: a failure retries it next time.
            for key in list(current):
                if key.startswith(f"{RUN_STATS}{run_id}/"):
                    self.flushed[key] = current[key]
        return len(deltas)


# -- enqueue and run -----------------------------------------------------------------------


def enqueue_sources(
    sources: Sequence[SourceSpec],
    *,
    redis_url: str,
    prefix: str = DEFAULT_PREFIX,
    run_ids: dict[str, int] | None = None,
) -> dict[str, int]:
    """Push each source's discovery requests into the shared queue; returns counts per source.

    With ``run_ids`` (source name to its row in ``runs``) every request, and every request the
    workers derive from it, carries the run, so the workers add the pages' outcome to it.
    """
    server = get_redis(url=redis_url)
    spider = DistributedNewsSpider()  # no crawler: it only names the requests' callbacks
    queue = PriorityQueue(server, spider, queue_key(prefix), serializer=sys.modules[__name__])
    counts: dict[str, int] = {}
    for spec in sources:
        spider.spec = spec
        spider.sitemaps_seen = set()
        requests = spider.discovery_requests()
        for request in requests:
            request.meta[SOURCE_META] = spec.name
            if run_ids and spec.name in run_ids:
                request.meta[RUN_META] = run_ids[spec.name]
            queue.push(request)
        counts[spec.name] = len(requests)
    return counts


def queue_length(redis_url: str, prefix: str = DEFAULT_PREFIX) -> int:
    """Requests waiting in the shared queue."""
    return int(get_redis(url=redis_url).zcard(queue_key(prefix)))


def run_worker(
    config: Config,
    *,
    redis_url: str,
    database_url: str | None = None,
    prefix: str = DEFAULT_PREFIX,
    exit_when_idle: float | None = None,
    dupefilter_ttl: int = DEFAULT_DUPEFILTER_TTL,
    concurrency: int | None = None,
    log_level: str = "WARNING",
    extra_settings: dict[str, Any] | None = None,
) -> None:
    """Run one worker in this process until idle (``exit_when_idle``) or forever."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    import crawler.settings as project_settings
    from crawler.runner import crawl_settings

    assert config.path is not None, "a worker needs a config loaded from a file"
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    settings.update(
        crawl_settings(
            config, config_path=Path(config.path), database_url=database_url, log_level=log_level
        ),
        priority="cmdline",
    )
    settings.update(
        distributed_settings(
            redis_url, prefix=prefix, exit_when_idle=exit_when_idle, dupefilter_ttl=dupefilter_ttl
        ),
        priority="cmdline",
    )
    if concurrency:
        settings.set("CONCURRENT_REQUESTS", concurrency, priority="cmdline")
    if extra_settings:
        settings.update(extra_settings, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(DistributedNewsSpider)
    process.start()


__all__ = [
    "DistributedNewsSpider",
    "RedisScheduler",
    "SourceDupeFilter",
    "distributed_settings",
    "enqueue_crawl",
    "enqueue_recorded",
    "enqueue_sources",
    "queue_length",
    "redis_url_from",
    "run_worker",
]


def enqueue_recorded(
    config: Config,
    sources: Sequence[str],
    *,
    redis_url: str,
    prefix: str = DEFAULT_PREFIX,
    store: Any,
) -> dict[str, dict[str, Any]]:
    """Queue each source for the workers as a recorded run; returns each source's run row.

    The run is ``ok`` with the number of discovery requests queued, or ``failed`` when Redis
    cannot take them (so the source backs off like a failing crawl). The workers then add the
    pages they fetch for it, and the articles stored, to the same row.
    """
    from datetime import UTC, datetime

    from crawler.storage import RunStats

    recorded: dict[str, dict[str, Any]] = {}
    for name in sources:
        run_id = store.start_run(name, now=datetime.now(UTC))
        try:
            counts = enqueue_sources(
                [config.source(name)], redis_url=redis_url, prefix=prefix, run_ids={name: run_id}
            )
        except Exception as exc:  # Redis down, bad URL: the source's run failed
            status, message, queued = "failed", f"cannot queue: {exc}", 0
        else:
            queued = counts.get(name, 0)
            status, message = "ok", f"queued {queued} discovery request(s) for workers"
        stats = RunStats(extra={"queued": queued, "mode": "distributed"})
        store.finish_run(run_id, status=status, stats=stats, now=datetime.now(UTC), message=message)
        recorded[name] = store.recent_runs(name, limit=1)[0]
    return recorded


def enqueue_crawl(redis_url: str, prefix: str = DEFAULT_PREFIX) -> Any:
    """A ``crawl`` function for the service in distributed mode: queue, don't fetch.

    It has the signature of ``crawl_subprocess`` (the service calls it the same way) and
    records each source's run with :func:`enqueue_recorded`.
    """
    from crawler.runner import CrawlOutcome
    from crawler.storage import Store

    def crawl(config: Config, sources: Sequence[str], **_: Any) -> CrawlOutcome:
        started = time.monotonic()
        store = Store.open(config.database_url)
        try:
            outcome = CrawlOutcome(returncode=0, killed=False, duration=0.0)
            outcome.runs.update(
                enqueue_recorded(config, sources, redis_url=redis_url, prefix=prefix, store=store)
            )
            if any(run["status"] != "ok" for run in outcome.runs.values()):
                outcome.returncode = 1
            outcome.duration = time.monotonic() - started
            return outcome
        finally:
            store.close()

    return crawl
