"""Distributed crawling, the application side: queue sources for workers, run a worker.

``cityfeeds enqueue`` and the service in distributed mode (``cityfeeds run --distributed``) queue
each source's discovery requests as a recorded run; ``cityfeeds worker`` runs the Scrapy worker
of :mod:`crawler.distributed` on the shared queue. Importing this module imports scrapy-redis,
an optional extra (``cityfeeds[redis]``): the commands import it only when they run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy_redis.connection import get_redis
from scrapy_redis.queue import PriorityQueue

import crawler.settings as project_settings
from crawler.config import Config, SourceSpec
from crawler.crawl_settings import crawl_settings
from crawler.distributed import serialize
from crawler.distributed.settings import (
    DEFAULT_DUPEFILTER_TTL,
    DEFAULT_PREFIX,
    RUN_META,
    SOURCE_META,
    distributed_settings,
    queue_key,
)
from crawler.distributed.spider import DistributedNewsSpider
from crawler.run_states import queued_note, untaken_requests
from crawler.storage import RunStats, Store
from crawler.supervisor import CrawlOutcome, crawl_subprocess


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
    queue = PriorityQueue(server, spider, queue_key(prefix), serializer=serialize)
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


def redis_unreachable(redis_url: str) -> str | None:
    """Why Redis at ``redis_url`` cannot be used (one line), or None when it answers a PING."""
    try:
        get_redis(url=redis_url, socket_connect_timeout=5, socket_timeout=5).ping()
    except Exception as exc:  # refused, unknown host, bad URL, auth: all say why in one line
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    return None


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
) -> str | None:
    """Run one worker in this process until idle (``exit_when_idle``) or forever; why it
    stopped (Scrapy's finish reason: ``shutdown`` for a signal, SIGINT or SIGTERM, and
    ``store_error`` when the store failed a batch)."""
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
    crawler = process.create_crawler(DistributedNewsSpider)
    process.crawl(crawler)
    process.start()
    return crawler.stats.get_value("finish_reason") if crawler.stats else None


def enqueue_recorded(
    config: Config,
    sources: Sequence[str],
    *,
    redis_url: str,
    prefix: str = DEFAULT_PREFIX,
    store: Store,
) -> dict[str, dict[str, Any]]:
    """Queue each source for the workers as a recorded run; returns each source's run row.

    The run is ``ok`` with the number of discovery requests queued, or ``failed`` when Redis
    cannot take them (so the source backs off like a failing crawl). The workers then add the
    pages they fetch for it, the articles stored and the discovery documents read or not, to the
    same row, which they decide again (``failed`` when none of its documents could be read).
    A source whose last queued requests no worker has taken yet, while the queue holds some,
    is not queued again: its last run is returned, with a message saying so.
    """
    recorded: dict[str, dict[str, Any]] = {}
    backlog: int | None = None  # requests in the shared queue, asked once
    for name in sources:
        last = store.recent_runs(name, limit=1)
        waiting = last[0] if last and last[0].get("status") == "ok" else None
        if waiting is not None and (queued := untaken_requests(waiting)):
            if backlog is None:
                try:
                    backlog = queue_length(redis_url, prefix)
                except Exception:  # Redis down: queued below, and the run says why it failed
                    backlog = 0
            if backlog:
                # Its last requests wait in the queue (no worker running?): queued again, each
                # copy would be fetched, a burst on the site once workers come back.
                recorded[name] = {
                    **waiting,
                    "message": f"not queued again: its {queued} request(s) queued before are "
                    "not taken yet (is a `cityfeeds worker` running?)",
                }
                continue
        run_id = store.start_run(name, now=datetime.now(UTC))
        try:
            counts = enqueue_sources(
                [config.source(name)], redis_url=redis_url, prefix=prefix, run_ids={name: run_id}
            )
        except Exception as exc:  # Redis down, bad URL: the source's run failed
            status, message, queued = "failed", f"cannot queue: {exc}", 0
        else:
            queued = counts.get(name, 0)
            status, message = "ok", queued_note(queued)
        stats = RunStats(extra={"queued": queued, "mode": "distributed"})
        store.finish_run(run_id, status=status, stats=stats, now=datetime.now(UTC), message=message)
        recorded[name] = store.recent_runs(name, limit=1)[0]
    return recorded


def enqueue_crawl(
    redis_url: str,
    prefix: str = DEFAULT_PREFIX,
    *,
    crawl_here: Callable[..., CrawlOutcome] = crawl_subprocess,
) -> Callable[..., CrawlOutcome]:
    """A ``crawl`` function for the service in distributed mode: queue, don't fetch.

    It has the signature of ``crawl_subprocess`` (the service calls it the same way) and
    records each source's run with :func:`enqueue_recorded`. A source with ``render =
    "browser"`` is crawled here instead (``crawl_here``, with the service's arguments): workers
    fetch plain HTTP only, so its rendered listing would give them no link, and its queued run
    would still say ``ok`` (a tester's find).
    """

    def crawl(config: Config, sources: Sequence[str], **kwargs: Any) -> CrawlOutcome:
        started = time.monotonic()
        rendered = [name for name in sources if config.source(name).render]
        outcome = (
            crawl_here(config, rendered, **kwargs)
            if rendered
            else CrawlOutcome(returncode=0, killed=False, duration=0.0)
        )
        queued = [name for name in sources if name not in rendered]
        if not queued:
            return outcome
        store = Store.open(config.database_url)
        try:
            outcome.runs.update(
                enqueue_recorded(config, queued, redis_url=redis_url, prefix=prefix, store=store)
            )
        finally:
            store.close()
        if any(outcome.runs[name]["status"] != "ok" for name in queued):
            outcome.returncode = outcome.returncode or 1
        outcome.duration = time.monotonic() - started
        return outcome

    return crawl
