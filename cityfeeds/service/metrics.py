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
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
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

from cityfeeds.status import StatusReport
from feeds.build import INDEX_PATH, OPML_PATH

logger = logging.getLogger(__name__)

PREFIX = "cityfeeds"
#: Buckets of the crawl duration histogram, in seconds (runs last seconds to run_timeout).
CRAWL_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
#: Buckets of a whole feed rebuild, in seconds.
BUILD_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: Buckets of the scheduler lag (a run's start after its due time), in seconds.
LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0)
#: Final states of a run, as the ``runs`` table records them (each exported, zero included).
RUN_STATES = ("ok", "degraded", "failed", "killed")
#: Error kinds a run counts (``errors/<kind>`` in its stats), exported even when zero.
ERROR_KINDS = ("discovery", "article")
#: Results of one feed in one build.
BUILD_RESULTS = ("changed", "kept", "failed")

#: Runs that finished longer ago than this are summed once and kept (their figures no longer
#: change; distributed workers add to a run's figures for a while after it is recorded).
SETTLE_SECONDS = 24 * 3600.0
#: Figures summed per (source, final state) from the runs table.
RUN_FIGURES = (
    "runs", "pages", "new", "updated", "unchanged", "errors",
    "requests", "bytes", "requests_avoided", "not_modified",
)  # fmt: skip

ReportFn = Callable[[], StatusReport]


@dataclass
class RunSums:
    """Sums over a set of finished runs (see ``Store.run_totals`` and its siblings)."""

    totals: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    dropped: dict[tuple[str, str], int] = field(default_factory=dict)
    stats: dict[tuple[str, str], int] = field(default_factory=dict)  # errors/<kind>
    durations: dict[str, tuple[list[int], int, float]] = field(default_factory=dict)

    @classmethod
    def read(cls, store: Any, *, after_id: int, up_to_id: int | None) -> RunSums:
        """The sums of the finished runs with ``after_id < id <= up_to_id``."""
        ids = {"after_id": after_id, "up_to_id": up_to_id}
        totals = {
            (row["source"], row["status"]): {k: int(row[k] or 0) for k in RUN_FIGURES}
            for row in store.run_totals(**ids)
        }
        return cls(
            totals,
            store.run_key_totals("dropped", **ids),
            store.run_key_totals("stats", "errors/", **ids),
            store.run_duration_buckets(CRAWL_BUCKETS, **ids),
        )

    def plus(self, other: RunSums) -> RunSums:
        """The sums of both sets of runs."""
        totals = {k: dict(v) for k, v in self.totals.items()}
        for key, figures in other.totals.items():
            into = totals.setdefault(key, dict.fromkeys(RUN_FIGURES, 0))
            for name, n in figures.items():
                into[name] += n
        durations = dict(self.durations)
        for source, (counts, n, total) in other.durations.items():
            old = durations.get(source, ([0] * len(counts), 0, 0.0))
            durations[source] = (
                [a + b for a, b in zip(old[0], counts, strict=True)],
                old[1] + n,
                old[2] + total,
            )
        return RunSums(
            totals, dict(Tally(self.dropped) + Tally(other.dropped)),
            dict(Tally(self.stats) + Tally(other.stats)), durations,
        )  # fmt: skip


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


class StoreCollector(Collector):
    """Everything the store knows, read at each scrape: runs, sources, articles, feed builds.

    ``report`` is the status report (as ``/status`` shows it), so states, backoff and the next
    run agree with ``/status``; ``sources`` are the configured source names, whose figures are
    exported (as zeros) before their first run.
    """

    def __init__(
        self,
        store: Any,
        report: ReportFn,
        sources: Iterable[str],
        *,
        wallclock: Callable[[], float] = time.time,
        settle: float = SETTLE_SECONDS,
    ) -> None:
        self.store = store
        self.report = report
        self.sources = list(sources)
        self.wallclock = wallclock
        self.settle = settle
        # Sums of the runs up to id ``_settled_id``, read once: a scrape reads only newer runs,
        # so its cost does not grow with months of history.
        self._settled = RunSums()
        self._settled_id = 0
        self._lock = threading.Lock()

    def run_sums(self) -> RunSums:
        """The sums over every finished run: settled ones from memory, the others read now."""
        with self._lock:
            cutoff = datetime.fromtimestamp(self.wallclock(), UTC) - timedelta(seconds=self.settle)
            settled = self.store.settled_run_id(finished_before=cutoff, after_id=self._settled_id)
            if settled > self._settled_id:
                newly = RunSums.read(self.store, after_id=self._settled_id, up_to_id=settled)
                self._settled, self._settled_id = self._settled.plus(newly), settled
            recent = RunSums.read(self.store, after_id=self._settled_id, up_to_id=None)
            return self._settled.plus(recent)

    def collect(self) -> Iterator[Metric]:
        """All the families, or only ``cityfeeds_store_up 0`` when the store cannot be read."""
        try:
            families = [*self._runs(), *self._status(), *self._articles()]
        except Exception:  # a scrape must still answer: the alert rules watch store_up
            logger.exception("/metrics: reading the store failed")
            families = []
        yield GaugeMetricFamily(
            f"{PREFIX}_store_up",
            "1 when the store could be read for this scrape, else 0",
            value=1.0 if families else 0.0,
        )
        yield from families

    # -- the runs table --------------------------------------------------------------------

    def _runs(self) -> list[Metric]:
        per_source = lambda help_, name: CounterMetricFamily(  # noqa: E731
            f"{PREFIX}_{name}", help_, labels=["source"]
        )
        runs = CounterMetricFamily(
            f"{PREFIX}_runs", "Finished crawl runs by final state", labels=["source", "state"]
        )
        pages = per_source("Article pages fetched", "pages_fetched")
        requests = per_source("HTTP requests made by crawls", "http_requests")
        avoided = CounterMetricFamily(
            f"{PREFIX}_requests_avoided",
            "Requests not made: a conditional GET answered 304 (not_modified), or an article "
            "URL already stored was not fetched again (known_url)",
            labels=["source", "reason"],
        )
        response_bytes = per_source("Bytes of HTTP responses received", "response_bytes")
        articles = CounterMetricFamily(
            f"{PREFIX}_articles",
            "Articles stored by crawls: new, updated (edited) or unchanged",
            labels=["source", "result"],
        )
        run_sums = self.run_sums()
        zero = dict.fromkeys(RUN_FIGURES, 0)
        sums: dict[str, dict[str, int]] = {s: dict(zero) for s in self.sources}
        states: dict[tuple[str, str], int] = {(s, st): 0 for s in self.sources for st in RUN_STATES}
        for (source, status), figures in run_sums.totals.items():
            states[(source, status)] = figures["runs"]
            total = sums.setdefault(source, dict(zero))
            for key in total:
                total[key] += figures[key]
        for (source, state), n in sorted(states.items()):
            runs.add_metric([source, state], n)
        for source, total in sorted(sums.items()):
            pages.add_metric([source], total["pages"])
            requests.add_metric([source], total["requests"])
            response_bytes.add_metric([source], total["bytes"])
            # The run's "requests_avoided" figure includes the 304s (see run_stats_from).
            known = max(0, total["requests_avoided"] - total["not_modified"])
            avoided.add_metric([source, "not_modified"], total["not_modified"])
            avoided.add_metric([source, "known_url"], known)
            for result in ("new", "updated", "unchanged"):
                articles.add_metric([source, result], total[result])

        dropped = CounterMetricFamily(
            f"{PREFIX}_dropped",
            "Items dropped by crawls, by reason",
            labels=["source", "reason"],
        )
        for (source, reason), n in sorted(run_sums.dropped.items()):
            dropped.add_metric([source, reason], n)
        errors = CounterMetricFamily(
            f"{PREFIX}_errors", "Errors counted by crawls, by kind", labels=["source", "kind"]
        )
        kinds = {(s, k): 0 for s in sums for k in ERROR_KINDS}
        for (source, key), n in run_sums.stats.items():
            kinds[(source, key.removeprefix("errors/"))] = n
        for (source, kind), n in sorted(kinds.items()):
            errors.add_metric([source, kind], n)

        duration = HistogramMetricFamily(
            f"{PREFIX}_crawl_duration_seconds",
            "Wall-clock duration of finished crawl runs",
            labels=["source"],
        )
        histograms = run_sums.durations
        for source in sorted(set(self.sources) | set(histograms)):
            counts, n, total_seconds = histograms.get(source, ([0] * len(CRAWL_BUCKETS), 0, 0.0))
            buckets = [(_bound(b), c) for b, c in zip(CRAWL_BUCKETS, counts, strict=True)]
            buckets.append(("+Inf", n))
            duration.add_metric([source], buckets, total_seconds)
        return [runs, pages, requests, avoided, response_bytes, articles, dropped, errors, duration]

    # -- the status report -----------------------------------------------------------------

    def _status(self) -> list[Metric]:
        report = self.report()
        now = self.wallclock()

        def gauge(name: str, help_: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"{PREFIX}_{name}", help_, labels=["source"])

        state = GaugeMetricFamily(
            f"{PREFIX}_source_state",
            "1 for the source's current state (ok, degraded, failing, never_run, disabled)",
            labels=["source", "state"],
        )
        running = gauge("source_running", "1 while a crawl of the source is running")
        failures = gauge("source_consecutive_failures", "Failed runs in a row (0 after a success)")
        backoff = gauge("source_backoff", "1 while the source backs off after failures")
        backoff_until = gauge(
            "source_backoff_until_timestamp_seconds", "End of the backoff (absent when none)"
        )
        last_ok = gauge("source_last_success_timestamp_seconds", "End of the last successful run")
        last_ok_age = gauge(
            "source_last_success_age_seconds", "Seconds since the last successful run ended"
        )
        next_run = gauge("source_next_run_timestamp_seconds", "Next scheduled run")
        newest = gauge(
            "source_newest_article_timestamp_seconds", "Publication time of the newest article"
        )
        overlaps = CounterMetricFamily(
            f"{PREFIX}_source_skipped_overlaps",
            "Scheduled runs skipped because the previous run was still going",
            labels=["source"],
        )
        for s in report.sources:
            for name in ("ok", "degraded", "failing", "never run", "disabled"):
                state.add_metric([s.name, name.replace(" ", "_")], float(s.state == name))
            running.add_metric([s.name], float(s.running))
            failures.add_metric([s.name], s.consecutive_failures)
            backoff.add_metric([s.name], float(s.backoff_until is not None))
            overlaps.add_metric([s.name], s.skipped_overlaps)
            for family, value in (
                (backoff_until, s.backoff_until),
                (last_ok, s.last_success),
                (next_run, s.next_run),
                (newest, s.newest_article),
            ):
                if value is not None:
                    family.add_metric([s.name], value.timestamp())
            if s.last_success is not None:
                last_ok_age.add_metric([s.name], max(0.0, now - s.last_success.timestamp()))
        h = report.health
        cycle = GaugeMetricFamily(
            f"{PREFIX}_last_successful_cycle_timestamp_seconds",
            "The older of the last successful crawl and feed build (0: never)",
            value=_timestamp(h.last_successful_cycle) or 0.0,
        )
        build = GaugeMetricFamily(
            f"{PREFIX}_last_feed_build_timestamp_seconds",
            "The last successful feed build (0: never)",
            value=_timestamp(h.last_ok_build) or 0.0,
        )
        healthy = GaugeMetricFamily(
            f"{PREFIX}_healthy", "1 when /healthz answers 200", value=float(h.healthy)
        )
        failing = GaugeMetricFamily(
            f"{PREFIX}_feeds_failing",
            "Feed files whose last build failed (their last good files are served)",
            value=len(report.feed_failures),
        )
        return [
            state, running, failures, backoff, backoff_until, last_ok, last_ok_age, next_run,
            newest, overlaps, cycle, build, healthy, failing,
        ]  # fmt: skip

    # -- articles and the store ------------------------------------------------------------

    def _articles(self) -> list[Metric]:
        topics = GaugeMetricFamily(
            f"{PREFIX}_topic_articles", "Stored articles per topic", labels=["topic"]
        )
        for topic, n in sorted(self.store.topic_counts().items()):
            topics.add_metric([topic], n)
        sources = GaugeMetricFamily(
            f"{PREFIX}_source_articles", "Stored articles per source", labels=["source"]
        )
        for source, n in sorted(self.store.source_counts().items()):
            sources.add_metric([source], n)
        total = GaugeMetricFamily(
            f"{PREFIX}_store_articles", "Stored articles", value=self.store.count_articles()
        )
        families: list[Metric] = [topics, sources, total]
        size = self.store.size_bytes()
        if size is not None:
            families.append(
                GaugeMetricFamily(
                    f"{PREFIX}_store_size_bytes", "Size of the database on disk", value=size
                )
            )
        return families


def _bound(value: float) -> str:
    return repr(float(value))


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
        self._started: dict[str, float] = {}

    def count_build(self, report: Any, error: BaseException | None) -> None:
        """Count the outcome of one rebuild (a build report, or the error that stopped it)."""
        if error is not None or report is None:
            self.feed_builds.labels("failed").inc()
            return
        results = getattr(report, "results", {})
        for path, result in results.items():
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

    def on_job_event(self, event: Any) -> None:
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


def make_registry(collectors: Iterable[Collector] = ()) -> CollectorRegistry:
    """A registry with ``collectors`` plus the process (memory, CPU, fds), GC and Python info."""
    # No auto-describe: it would read the store (collect) when a collector is registered.
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
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


def store_report(config: Any, store: Any, clock: Callable[[], datetime]) -> ReportFn:
    """The status report without a live scheduler (next runs estimated from the schedules), as
    ``cityfeeds status`` computes it: for ``cityfeeds serve --metrics``."""
    from cityfeeds.service.lock import ServiceLock
    from cityfeeds.status import FAILED_RESULTS, collect_inputs, compute_status

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
