"""Prometheus metrics read from the store at scrape time: runs, sources, articles, feed builds.

See :mod:`cityfeeds.service.metrics` for the design: these values are computed from the
``runs`` table, so they agree with it in every process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from cityfeeds.service.metrics import CRAWL_BUCKETS, PREFIX, ReportFn
from crawler.config import WORKER_RUN_NAME
from crawler.storage import Store

logger = logging.getLogger(__name__)

#: Final states of a run, as the ``runs`` table records them (each exported, zero included).
#: Final run states (docs/runs.md), all exported (0 until seen) so alert expressions always
#: find their series.
RUN_STATES = ("ok", "degraded", "partial", "deferred", "failed", "interrupted", "killed")
#: What ``/status`` shows per source (cityfeeds.status.health.source_status).
SOURCE_STATES = ("ok", "degraded", "failing", "waiting", "interrupted", "never run", "disabled")
#: Error kinds a run counts (``errors/<kind>`` in its stats), exported even when zero.
ERROR_KINDS = ("discovery", "article")
#: Runs that finished longer ago than this are summed once and kept (their figures no longer
#: change; distributed workers add to a run's figures for a while after it is recorded).
SETTLE_SECONDS = 24 * 3600.0
#: Figures summed per (source, final state) from the runs table.
RUN_FIGURES = (
    "runs", "pages", "new", "updated", "unchanged", "errors",
    "requests", "bytes", "requests_avoided", "not_modified",
)  # fmt: skip


@dataclass
class RunSums:
    """Sums over a set of finished runs (see ``Store.run_totals`` and its siblings)."""

    totals: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    dropped: dict[tuple[str, str], int] = field(default_factory=dict)
    stats: dict[tuple[str, str], int] = field(default_factory=dict)  # errors/<kind>
    durations: dict[str, tuple[list[int], int, float]] = field(default_factory=dict)

    @classmethod
    def pruned(cls, store: Store) -> RunSums:
        """The sums of the runs retention deleted (``pruned_runs``)."""
        totals, dropped, stats, durations = store.pruned_sums()
        return cls(
            {k: {name: v.get(name, 0) for name in RUN_FIGURES} for k, v in totals.items()},
            dropped,
            stats,
            durations,
        )

    @classmethod
    def read(cls, store: Store, *, after_id: int, up_to_id: int | None) -> RunSums:
        """The sums of the finished runs with ``after_id < id <= up_to_id``."""
        totals = {
            (row["source"], row["status"]): {k: int(row[k] or 0) for k in RUN_FIGURES}
            for row in store.run_totals(after_id=after_id, up_to_id=up_to_id)
        }
        return cls(
            totals,
            store.run_key_totals("dropped", after_id=after_id, up_to_id=up_to_id),
            store.run_key_totals("stats", "errors/", after_id=after_id, up_to_id=up_to_id),
            store.run_duration_buckets(CRAWL_BUCKETS, after_id=after_id, up_to_id=up_to_id),
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
        store: Store,
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
        self._settled: RunSums | None = None  # the pruned runs' sums first (run_sums)
        self._settled_id = 0
        self._lock = threading.Lock()

    def run_sums(self) -> RunSums:
        """The sums over every finished run: settled ones from memory, the others read now."""
        with self._lock:
            if self._settled is None:
                # What retention deleted still counts: a counter must not go down on a restart.
                self._settled = RunSums.pruned(self.store)
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
        run_sums, workers = _without_workers(self.run_sums())
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
        return [
            runs, pages, requests, avoided, response_bytes, articles, dropped, errors, duration,
            *_worker_families(workers),
        ]  # fmt: skip

    # -- the status report -----------------------------------------------------------------

    def _status(self) -> list[Metric]:
        report = self.report()
        now = self.wallclock()

        def gauge(name: str, help_: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"{PREFIX}_{name}", help_, labels=["source"])

        state = GaugeMetricFamily(
            f"{PREFIX}_source_state",
            "1 for the source's current state (" + ", ".join(SOURCE_STATES).replace(" ", "_") + ")",
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
            for name in SOURCE_STATES:
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
            f"{PREFIX}_topic_articles",
            "Stored articles per topic, of the configured sources (as in the feeds)",
            labels=["topic"],
        )
        for topic, n in sorted(self.store.topic_counts(sources=self.sources).items()):
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


def _without_workers(sums: RunSums) -> tuple[RunSums, dict[str, dict[str, int]]]:
    """``sums`` without the distributed workers' own runs, and those runs' totals by state.

    A worker's run (``WORKER_RUN_NAME``) counts the pages, articles and drops of every source it
    served, which the sources' queued runs count too: in the per-source series a sum over
    sources counted them twice. Only its HTTP requests and bytes are its own.
    """
    workers = {st: f for (src, st), f in sums.totals.items() if src == WORKER_RUN_NAME}
    kept = RunSums(
        {k: v for k, v in sums.totals.items() if k[0] != WORKER_RUN_NAME},
        {k: v for k, v in sums.dropped.items() if k[0] != WORKER_RUN_NAME},
        {k: v for k, v in sums.stats.items() if k[0] != WORKER_RUN_NAME},
        {k: v for k, v in sums.durations.items() if k != WORKER_RUN_NAME},
    )
    return kept, workers


def _worker_families(workers: dict[str, dict[str, int]]) -> list[Metric]:
    """The distributed workers' own runs: by final state, and their HTTP requests and bytes."""
    runs = CounterMetricFamily(
        f"{PREFIX}_worker_runs",
        "Finished runs of distributed workers by final state",
        labels=["state"],
    )
    for state in sorted(set(RUN_STATES) | set(workers)):
        runs.add_metric([state], workers.get(state, {}).get("runs", 0))
    requests = CounterMetricFamily(
        f"{PREFIX}_worker_http_requests",
        "HTTP requests made by distributed workers (all sources)",
        value=sum(f["requests"] for f in workers.values()),
    )
    response_bytes = CounterMetricFamily(
        f"{PREFIX}_worker_response_bytes",
        "Bytes of HTTP responses received by distributed workers (all sources)",
        value=sum(f["bytes"] for f in workers.values()),
    )
    return [runs, requests, response_bytes]


def _bound(value: float) -> str:
    return repr(float(value))
