"""Prometheus metrics (``GET /metrics``): the store's figures and the service's own state.

Design: crawl children record each run in the store (the ``runs`` table) and nothing else; the
process serving ``/metrics`` (the service, or ``cityfeeds serve --metrics``) turns the store into
metrics at scrape time through a custom collector (:class:`StoreCollector`), so every value agrees
with the ``runs`` table and no multiprocess mode is needed. What only the service knows (feed
builds, scheduler lag, WebSub pings) lives in its memory (:class:`ServiceMetrics`) and starts
from zero when it restarts, as Prometheus counters may.

Labels are bounded: ``source`` (configured names), ``state``, ``result``, ``reason``, ``kind``,
``topic`` (configured ids), ``hub`` (host of a configured hub); never a URL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from apscheduler.events import JobEvent
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityfeeds.service.lock import ServiceLock
from cityfeeds.service.memory import malloc_mib, sqlite_bytes
from cityfeeds.status.health import FAILED_RESULTS, StatusReport, compute_status
from cityfeeds.status.inputs import collect_inputs
from crawler.config import Config
from crawler.storage import Store
from crawler.storage.monitoring import RUN_DURATION_BOUNDS
from feeds.build import INDEX_PATH, OPML_PATH, BuildReport

logger = logging.getLogger(__name__)

PREFIX = "cityfeeds"
#: Buckets of the crawl duration histogram, in seconds (runs last seconds to run_timeout).
CRAWL_BUCKETS = RUN_DURATION_BOUNDS  # the store keeps pruned runs' counts per bound
#: Buckets of a whole feed rebuild, in seconds.
BUILD_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: Buckets of the scheduler lag (a run's start after its due time), in seconds.
LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0)
#: Results of one feed in one build.
BUILD_RESULTS = ("changed", "kept", "failed")

ReportFn = Callable[[], StatusReport]


class ServiceMetrics:
    """What only a running service knows: its feed builds, its scheduler's lag, WebSub pings.

    Plain prometheus_client metrics in the service's own registry (not the global one, so two
    services in one test process never clash).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.feed_builds = Counter(
            f"{PREFIX}_feed_builds",
            "Feeds built by the service: changed (files rewritten), kept (same bytes, or same "
            "inputs and not rendered) or failed (last good files kept)",
            ["result"],
            registry=registry,
        )
        for result in BUILD_RESULTS:
            self.feed_builds.labels(result)
        self.feed_build_duration = Histogram(
            f"{PREFIX}_feed_build_duration_seconds",
            "Duration of a whole feed rebuild (every feed, the index page and OPML)",
            buckets=BUILD_BUCKETS,
            registry=registry,
        )
        self.scheduler_lag = Histogram(
            f"{PREFIX}_scheduler_lag_seconds",
            "How late a scheduled run started after its due time (busy workers, a stalled host)",
            ["source"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.crawls_not_started = Counter(
            f"{PREFIX}_crawls_not_started",
            "Scheduled crawls that could not start (the database or disk full or read-only, no "
            "process could be started): the store may have no record of them",
            ["source"],
            registry=registry,
        )
        self.runs_not_recorded = Counter(
            f"{PREFIX}_runs_not_recorded",
            "Scheduled runs whose outcome the store could not record (the database cannot be "
            "written): only the service knows of them",
            ["source"],
            registry=registry,
        )
        self._started: dict[str, float] = {}

    def count_build(self, report: BuildReport | None, error: BaseException | None) -> None:
        """Count the outcome of one rebuild (a build report, or the error that stopped it)."""
        if error is not None or report is None:
            self.feed_builds.labels("failed").inc()
            return
        for path, result in report.results.items():
            if path in (INDEX_PATH, OPML_PATH):
                continue  # pages about the feeds, not feeds
            if result.error is not None:
                self.feed_builds.labels("failed").inc()
            elif result.changed:
                self.feed_builds.labels("changed").inc()
            else:
                self.feed_builds.labels("kept").inc()

    def timed(self, rebuild: Callable[[], Any]) -> Callable[[], Any]:
        """``rebuild``, its duration observed (failed rebuilds included)."""

        def run() -> Any:
            with self.feed_build_duration.time():
                return rebuild()

        return run

    def job_started(self, source: str) -> None:
        """A scheduled run of ``source`` begins (APScheduler's own clock: real time)."""
        self._started[source] = time.time()

    def on_job_event(self, event: JobEvent) -> None:
        """APScheduler listener (executed/error events): observe the run's lag."""
        source = str(getattr(event, "job_id", "")).removeprefix("crawl:")
        started = self._started.pop(source, None)
        due = getattr(event, "scheduled_run_time", None)
        if started is None or due is None:
            return
        self.scheduler_lag.labels(source).observe(max(0.0, started - due.timestamp()))


class WebSubCollector(Collector):
    """The counters of a :class:`feeds.websub.HubNotifier`, read at scrape time."""

    def __init__(self, stats: Callable[[], dict[str, dict[str, Any]]]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        """Notifications by hub and result, retries, and pending notifications."""
        sent = CounterMetricFamily(
            f"{PREFIX}_websub_notifications",
            "WebSub publish notifications sent to a hub: ok (2xx), or failed after the retries",
            labels=["hub", "result"],
        )
        retries = CounterMetricFamily(
            f"{PREFIX}_websub_retries", "Notification attempts retried", labels=["hub"]
        )
        pending = GaugeMetricFamily(
            f"{PREFIX}_websub_pending", "Notifications waiting to be sent", labels=["hub"]
        )
        for hub, s in sorted(self.stats().items()):
            sent.add_metric([hub, "ok"], s["ok"])
            sent.add_metric([hub, "failed"], s["failed"])
            retries.add_metric([hub], s["retries"])
            pending.add_metric([hub], s["pending"])
        yield from (sent, retries, pending)


class MemoryCollector(Collector):
    """Native memory the process collector does not split out: glibc's heap and SQLite's."""

    def collect(self) -> Iterator[Metric]:
        """``malloc_bytes{state}`` (in use / free but held) and ``sqlite_memory_bytes``."""
        heap = malloc_mib()
        if heap is not None:
            malloc = GaugeMetricFamily(
                f"{PREFIX}_malloc_bytes",
                "glibc heap of the process: in use, and free but still held",
                labels=["state"],
            )
            malloc.add_metric(["in_use"], heap[0] * 2**20)
            malloc.add_metric(["free"], heap[1] * 2**20)
            yield malloc
        held = sqlite_bytes()
        if held is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_sqlite_memory_bytes",
                "Memory SQLite holds: page caches (bounded by cache_size per connection),"
                " statements, schemas",
                value=held,
            )


def make_registry(collectors: Iterable[Collector] = ()) -> CollectorRegistry:
    """A registry with ``collectors`` plus the process (memory, CPU, fds), its native heaps
    (:class:`MemoryCollector`), GC and Python info."""
    # No auto-describe: it would read the store (collect) when a collector is registered.
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    registry.register(MemoryCollector())
    for collector in collectors:
        registry.register(collector)
    return registry


def metrics_route(registry: CollectorRegistry) -> Route:
    """``GET /metrics``: the registry in the text format the scraper asks for."""

    def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(
            encoder(registry),
            media_type=None,
            headers={"Content-Type": content_type, "Cache-Control": "no-store"},
        )

    # Sync: Starlette runs it in its thread pool, so store reads never block the event loop.
    return Route("/metrics", metrics, methods=["GET"])


def store_report(config: Config, store: Store, clock: Callable[[], datetime]) -> ReportFn:
    """The status report without a live scheduler (next runs estimated from the schedules), as
    ``cityfeeds status`` computes it: for ``cityfeeds serve --metrics``."""
    lock = ServiceLock.for_config(config)

    def report() -> StatusReport:
        now = clock()
        holder = lock.holder()
        inputs, builds = collect_inputs(config, store, now, next_runs=None if holder else {})
        report = compute_status(
            inputs,
            builds,
            now,
            timezone=config.schedule.timezone or config.timezone,
            scheduler=f"running (pid {holder})" if holder else "not running",
        )
        # Without the service (cron runs `cityfeeds crawl`) nobody keeps the failure streak:
        # count it from the recent runs, so the "failing for 3 runs" alert works either way.
        for inp, source in zip(inputs, report.sources, strict=True):
            finished = [r for r in inp.runs if r.get("status") != "running"]
            streak = next(
                (i for i, r in enumerate(finished) if r.get("status") not in FAILED_RESULTS),
                len(finished),
            )
            source.consecutive_failures = max(source.consecutive_failures, streak)
        return report

    return report
