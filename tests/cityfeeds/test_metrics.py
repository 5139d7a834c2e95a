"""/metrics after a real crawl of a loopback site agrees with the runs table; the Grafana
dashboard and the alert rules in deploy/ query only metrics that exist."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cityfeeds.devtools.demo_server import serve_site
from cityfeeds.devtools.demo_site import STORIES, demo_source
from cityfeeds.publishing import rebuild_feeds
from cityfeeds.service import Service, ServiceOptions
from cityfeeds.service.metrics import CRAWL_BUCKETS, ServiceMetrics, make_registry
from cityfeeds.service.store_metrics import RUN_STATES, RunSums, StoreCollector
from crawler.config import Config, load_config
from crawler.models import Article, TopicMatch
from crawler.storage import RunStats, Store
from feeds.build import BuildReport, FeedResult
from tests.conftest import ROOT, write_site_config
from tests.websub_hub import HubStub

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> tuple[str, str]:
    """The body and Content-Type of ``GET url``."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8"), response.headers["Content-Type"]


def parse(text: str) -> tuple[Samples, set[str]]:
    """Every sample (name and sorted labels -> value), and every family and sample name."""
    samples: Samples = {}
    names: set[str] = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    for family in text_string_to_metric_families(text):
        # A family without samples yet (no item dropped so far) still exists, with its type.
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        for sample in family.samples:
            names.add(sample.name)
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, names


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Crawled:
    config: Config
    service: Service
    hub: HubStub
    text: str
    content_type: str
    scraped: tuple[float, float]  # wall clock just before and just after the scrape


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """A service that crawled a good and a broken loopback source, rebuilt and told a hub."""
    tmp = tmp_path_factory.mktemp("metrics")
    with serve_site() as site, HubStub() as hub:
        broken = demo_source(site.base_url, "broken")
        broken.update(feeds=[site.base_url + "missing.xml"], sitemaps=[], listings=[])
        sources = [{**demo_source(site.base_url), "schedule": "every 1h"}, broken]
        extra = {
            "schedule": {"jitter": 0, "port": 0, "default": "every 1h", "spread": False},
            "websub": {"hubs": [hub.url], "backoff": 0.01},
        }
        config = load_config(write_site_config(tmp, site.base_url, sources=sources, extra=extra))
        reports: list[Any] = []

        def rebuild() -> Any:
            report = rebuild_feeds(config)
            reports.append(report)
            return report

        svc = Service(config, ServiceOptions(debounce=0.1), rebuild=rebuild)
        svc.start()
        try:
            store = Store.open(config.database_url)
            try:

                def recorded() -> bool:
                    # The service's bookkeeping of each run, done before it asks for a rebuild.
                    return all(store.get_source_state(s)["last_status"] for s in ("demo", "broken"))

                wait_for(recorded, 120, "both crawls")
            finally:
                store.close()
            demo_feed = config.base_url + "sources/demo.rss"

            def published() -> bool:
                full = [r for r in reports if r.items.get("sources/demo") == len(STORIES)]
                changed = [r for r in reports if "sources/demo" in r.changed]
                # Every build that changed the feed has been told to the hub.
                return bool(full) and crawled_hub.published().count(demo_feed) == len(changed)

            crawled_hub = hub
            wait_for(published, 60, "the post-crawl rebuild and its notifications")
            wait_for(svc.websub.idle, 30, "the hub notifications")
            before = time.time()
            text, content_type = scrape(svc.web.url + "metrics")
            yield Crawled(config, svc, hub, text, content_type, (before, time.time()))
        finally:
            svc.stop(grace=5)


@pytest.mark.slow
def test_metrics_are_prometheus_text_and_agree_with_the_runs_table(crawled: Crawled) -> None:
    assert crawled.content_type.startswith("text/plain")
    samples, _ = parse(crawled.text)
    store = Store.open(crawled.config.database_url)
    try:
        runs = [r for s in ("demo", "broken") for r in store.recent_runs(s, limit=100)]
        topic_counts = store.topic_counts()
        articles = store.count_articles()
        state = {s: store.get_source_state(s) for s in ("demo", "broken")}
    finally:
        store.close()
    assert {r["status"] for r in runs if r["source"] == "demo"} == {"ok"}
    assert {r["status"] for r in runs if r["source"] == "broken"} == {"failed"}

    for source in ("demo", "broken"):
        mine = [r for r in runs if r["source"] == source]
        by_state = Counter(r["status"] for r in mine)
        for run_state in RUN_STATES:
            got = value(samples, "cityfeeds_runs_total", source=source, state=run_state)
            assert got == by_state[run_state], (source, run_state)
        sums = {k: sum(int(r[k]) for r in mine) for k in ("pages", "new", "updated", "unchanged")}
        assert value(samples, "cityfeeds_pages_fetched_total", source=source) == sums["pages"]
        for result in ("new", "updated", "unchanged"):
            got = value(samples, "cityfeeds_articles_total", source=source, result=result)
            assert got == sums[result]
        stat = lambda key, mine=mine: sum(int(r["stats"].get(key) or 0) for r in mine)  # noqa: E731
        assert value(samples, "cityfeeds_response_bytes_total", source=source) == stat("bytes")
        assert value(samples, "cityfeeds_http_requests_total", source=source) == stat("requests")
        not_modified = value(
            samples, "cityfeeds_requests_avoided_total", source=source, reason="not_modified"
        )
        known = value(
            samples, "cityfeeds_requests_avoided_total", source=source, reason="known_url"
        )
        assert not_modified + known == stat("requests_avoided")
        dropped: Counter[str] = Counter()
        for r in mine:
            dropped.update(r["dropped"])
        exported = {
            dict(labels)["reason"]: v
            for (name, labels), v in samples.items()
            if name == "cityfeeds_dropped_total" and dict(labels)["source"] == source
        }
        assert exported == dict(dropped)
        for kind in ("discovery", "article"):
            got = value(samples, "cityfeeds_errors_total", source=source, kind=kind)
            assert got == stat(f"errors/{kind}")
        durations = [(r["finished_at"] - r["started_at"]).total_seconds() for r in mine]
        count = value(samples, "cityfeeds_crawl_duration_seconds_count", source=source)
        assert count == len(mine)
        total = value(samples, "cityfeeds_crawl_duration_seconds_sum", source=source)
        assert total == pytest.approx(sum(durations), abs=0.01)
        for bound in CRAWL_BUCKETS:
            le = repr(float(bound))
            got = value(samples, "cityfeeds_crawl_duration_seconds_bucket", source=source, le=le)
            assert got == len([d for d in durations if d <= bound + 0.001])
        failures = value(samples, "cityfeeds_source_consecutive_failures", source=source)
        assert failures == state[source]["consecutive_failures"]

    # The good source: fetched, stored and published; the broken one counts its failure.
    assert value(samples, "cityfeeds_articles_total", source="demo", result="new") == len(STORIES)
    assert value(samples, "cityfeeds_response_bytes_total", source="demo") > 0
    assert value(samples, "cityfeeds_source_consecutive_failures", source="broken") == 1
    assert value(samples, "cityfeeds_source_state", source="broken", state="failing") == 1
    assert value(samples, "cityfeeds_source_state", source="demo", state="ok") == 1
    # Every state /status can show, and every final run state, has its series (0 when not so).
    for shown in ("waiting", "interrupted", "never_run"):
        assert value(samples, "cityfeeds_source_state", source="demo", state=shown) == 0
    last_ok = state["demo"]["last_success"]
    got = value(samples, "cityfeeds_source_last_success_timestamp_seconds", source="demo")
    assert got == pytest.approx(last_ok.timestamp(), abs=1.0)
    age = value(samples, "cityfeeds_source_last_success_age_seconds", source="demo")
    start, end = (t - last_ok.timestamp() for t in crawled.scraped)
    assert start - 0.001 <= age <= end + 0.001  # computed during the scrape
    assert ("cityfeeds_source_last_success_timestamp_seconds", (("source", "broken"),)) not in (
        samples
    )
    assert value(samples, "cityfeeds_source_next_run_timestamp_seconds", source="demo") > 0
    for topic, n in topic_counts.items():
        assert value(samples, "cityfeeds_topic_articles", topic=topic) == n
    assert value(samples, "cityfeeds_store_articles") == articles
    assert value(samples, "cityfeeds_store_size_bytes") > 0
    assert value(samples, "cityfeeds_store_up") == 1
    assert value(samples, "cityfeeds_feeds_failing") == 0
    assert value(samples, "cityfeeds_last_successful_cycle_timestamp_seconds") > 0
    # The service's own: feed builds, their duration, scheduler lag, memory, WebSub.
    assert value(samples, "cityfeeds_feed_builds_total", result="changed") > 0
    assert value(samples, "cityfeeds_feed_builds_total", result="failed") == 0
    assert value(samples, "cityfeeds_feed_builds_total", result="kept") > 0  # e.g. "broken"
    assert value(samples, "cityfeeds_feed_build_duration_seconds_count") >= 2
    assert value(samples, "cityfeeds_scheduler_lag_seconds_count", source="demo") >= 1
    assert value(samples, "process_resident_memory_bytes") > 0
    # The service reads its store through SQLite: its page caches hold something.
    assert value(samples, "cityfeeds_sqlite_memory_bytes") > 0
    assert value(samples, "cityfeeds_malloc_bytes", state="in_use") > 0
    hub = crawled.hub.url.split("/")[2]
    sent = value(samples, "cityfeeds_websub_notifications_total", hub=hub, result="ok")
    assert sent == len(crawled.hub.published()) > 0
    assert value(samples, "cityfeeds_websub_notifications_total", hub=hub, result="failed") == 0


@pytest.mark.slow
def test_labels_never_hold_urls(crawled: Crawled) -> None:
    samples, _ = parse(crawled.text)
    for name, labels in samples:
        for _, label_value in labels:
            assert "://" not in label_value, (name, label_value)
            assert "/" not in label_value or not name.startswith("cityfeeds_"), label_value


PROMQL_WORDS = {
    # functions and aggregations are followed by "(" and skipped; these are not
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or Grafana variable query) reads."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, "$source")
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    # Label lists of by/without/on/ignoring, and the label argument of label_values().
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)", r"\1", expr)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][\w:]*", expr):
        word = match.group(0)
        rest = expr[match.end() :].lstrip()
        if rest.startswith("(") or word.lower() in PROMQL_WORDS:
            continue
        if re.fullmatch(r"\d+\w*", word) or word.startswith("$"):
            continue
        names.add(word)
    return names


def deploy_expressions() -> dict[str, str]:
    """Every PromQL expression of the Grafana dashboard and the alert rules, by where it is."""
    found: dict[str, str] = {}
    dashboard = json.loads((ROOT / "deploy/grafana/cityfeeds.json").read_text("utf-8"))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found[f"variable {variable['name']}"] = variable["query"]["query"]
    rules = yaml.safe_load((ROOT / "deploy/cityfeeds-alerts.yml").read_text("utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            found[f"alert {rule['alert']}"] = rule["expr"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text("utf-8"))
    assert scrape["rule_files"] == ["cityfeeds-alerts.yml"]
    assert scrape["scrape_configs"][0]["metrics_path"] == "/metrics"
    return found


def test_the_expression_parser_finds_metric_names() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, source) (rate(cityfeeds_x_bucket{source=~"$s"}'
        "[6h]))) and on() time() - process_start_time_seconds > 7200"
    )
    assert metric_names(expr) == {"cityfeeds_x_bucket", "process_start_time_seconds"}
    assert metric_names("label_values(cityfeeds_runs_total, source)") == {"cityfeeds_runs_total"}


@pytest.mark.slow
def test_dashboard_and_alerts_use_only_metrics_that_exist(crawled: Crawled) -> None:
    _, names = parse(crawled.text)
    expressions = deploy_expressions()
    wanted = {"source failing 3 runs", "no cycle in 2 h", "feed build failing"}
    assert len([k for k in expressions if k.startswith("alert ")]) >= len(wanted)
    used: set[str] = set()
    for where, expr in expressions.items():
        metrics = metric_names(expr)
        assert metrics, f"{where}: no metric in {expr!r}"
        missing = metrics - names
        assert not missing, f"{where}: {sorted(missing)} not in /metrics"
        used |= metrics
    # The dashboard covers what the issue asks for.
    for name in (
        "cityfeeds_runs_total", "cityfeeds_pages_fetched_total",
        "cityfeeds_requests_avoided_total", "cityfeeds_response_bytes_total",
        "cityfeeds_articles_total", "cityfeeds_dropped_total", "cityfeeds_errors_total",
        "cityfeeds_crawl_duration_seconds_bucket", "cityfeeds_source_last_success_age_seconds",
        "cityfeeds_source_next_run_timestamp_seconds", "cityfeeds_source_backoff",
        "cityfeeds_feed_builds_total", "cityfeeds_feed_build_duration_seconds_bucket",
        "cityfeeds_topic_articles", "cityfeeds_store_size_bytes",
        "cityfeeds_scheduler_lag_seconds_bucket", "process_resident_memory_bytes",
        "cityfeeds_websub_notifications_total",
    ):  # fmt: skip
        assert name in used, name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_metrics_exports_the_store(tmp_path: Path) -> None:
    """`cityfeeds serve --metrics`: the store's figures without a service (e.g. with cron)."""
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    config = load_config(cfg)
    config.output_dir.mkdir(parents=True)
    store = Store.open(config.database_url)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    try:
        run_id = store.start_run("demo", now=t0)
        stats = RunStats(pages=7, new=5, unchanged=2, dropped={"duplicate": 3}, extra={"bytes": 99})
        store.finish_run(run_id, status="ok", stats=stats, now=t0 + timedelta(seconds=40))
        for minutes in (3, 2, 1):  # then three failures in a row (cron keeps no streak)
            started = t0 + timedelta(minutes=minutes)
            failed = store.start_run("demo", now=started)
            store.finish_run(failed, status="failed", stats=RunStats(), now=started)
    finally:
        store.close()
    port = _free_port()
    cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "serve", "--metrics"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def get() -> str | None:
            try:
                return scrape(f"http://127.0.0.1:{port}/metrics")[0]
            except OSError:
                return None

        text = wait_for(get, 30, "cityfeeds serve --metrics")
    finally:
        proc.terminate()
        proc.wait(10)
    samples, _ = parse(text)
    assert value(samples, "cityfeeds_runs_total", source="demo", state="ok") == 1
    assert value(samples, "cityfeeds_runs_total", source="demo", state="failed") == 3
    assert value(samples, "cityfeeds_source_consecutive_failures", source="demo") == 3
    assert value(samples, "cityfeeds_pages_fetched_total", source="demo") == 7
    assert value(samples, "cityfeeds_dropped_total", source="demo", reason="duplicate") == 3
    assert value(samples, "cityfeeds_crawl_duration_seconds_bucket", source="demo", le="60.0") == 4
    assert value(samples, "cityfeeds_crawl_duration_seconds_bucket", source="demo", le="30.0") == 3
    assert value(samples, "cityfeeds_source_state", source="demo", state="failing") == 1


def test_an_unreadable_store_is_reported_not_raised(tmp_path: Path) -> None:
    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("database is gone")

    def report() -> Any:
        raise RuntimeError("database is gone")

    registry = make_registry([StoreCollector(Broken(), report, ["demo"])])
    samples, names = parse(generate_latest(registry).decode())
    assert value(samples, "cityfeeds_store_up") == 0
    assert "cityfeeds_runs_total" not in names
    assert "process_resident_memory_bytes" in names


def test_settled_runs_are_summed_once_and_newer_ones_at_every_scrape(db_url: str) -> None:
    store = Store.open(db_url)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    def run(source: str, started: datetime, seconds: float = 30, **figures: Any) -> int:
        run_id = store.start_run(source, now=started)
        stats = RunStats(dropped={"duplicate": 1}, extra={"bytes": 10, "errors/article": 1})
        for key, n in figures.items():
            setattr(stats, key, n)
        end = started + timedelta(seconds=seconds)
        store.finish_run(run_id, status="ok", stats=stats, now=end)
        return run_id

    try:
        old = [run("a", now - timedelta(days=3, hours=i), pages=2) for i in range(3)]
        hanging = store.start_run("b", now=now - timedelta(days=2))  # still "running"
        run("b", now - timedelta(days=1, hours=1), pages=5)
        collector = StoreCollector(store, lambda: None, ["a", "b"], wallclock=now.timestamp)
        full = lambda: RunSums.read(store, after_id=0, up_to_id=None)  # noqa: E731

        assert collector.run_sums() == full()
        # Settled: the old runs, not the one still running nor anything after it.
        assert collector._settled_id == max(old) == hanging - 1
        assert collector._settled.totals[("a", "ok")]["pages"] == 6

        store.finish_run(hanging, status="failed", stats=RunStats(pages=1), now=now)
        run("a", now - timedelta(minutes=5), seconds=90, pages=4)
        sums = collector.run_sums()
        assert sums == full()
        assert sums.totals[("b", "failed")]["runs"] == 1
        assert sums.totals[("a", "ok")]["pages"] == 10
        assert sums.dropped[("a", "duplicate")] == 4
        assert sums.stats[("a", "errors/article")] == 4
        counts, n, total = sums.durations["a"]
        assert (n, total) == (4, 180.0)
        assert counts[CRAWL_BUCKETS.index(60.0)] == 3  # 30 s runs; the 90 s one is above
        # The hanging run finished "now" (less than a day ago): not settled yet.
        assert collector._settled_id == hanging - 1
        assert (store.size_bytes() or 0) > 0  # the SQLite files, or the PostgreSQL tables
    finally:
        store.close()


def test_runs_retention_deleted_still_count_after_a_restart(db_url: str) -> None:
    """`cityfeeds prune` deleted old runs, and a restarted service read its run counters from
    what was left: `runs_total`, `pages_fetched_total`... went down (Prometheus: a reset)."""
    store = Store.open(db_url)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    def run(source: str, started: datetime, status: str = "ok", **figures: Any) -> None:
        run_id = store.start_run(source, now=started)
        stats = RunStats(dropped={"duplicate": 1}, extra={"bytes": 10, "errors/article": 1})
        for key, n in figures.items():
            setattr(stats, key, n)
        store.finish_run(run_id, status=status, stats=stats, now=started + timedelta(seconds=40))

    try:
        for i in range(3):
            run("a", now - timedelta(days=200, hours=i), pages=2, new=1)
        run("a", now - timedelta(days=190), status="failed", pages=1)
        run("a", now - timedelta(hours=3), pages=4)
        run("b", now - timedelta(days=300), pages=7)  # b's latest: kept
        sources = ["a", "b"]
        before = StoreCollector(store, lambda: None, sources, wallclock=now.timestamp).run_sums()
        assert store.prune_runs(now - timedelta(days=180)) == 4
        assert store.prune_runs(now - timedelta(days=180)) == 0
        after = StoreCollector(store, lambda: None, sources, wallclock=now.timestamp).run_sums()
        assert after == before
        assert after.totals[("a", "ok")]["runs"] == 4 and after.totals[("a", "ok")]["pages"] == 10
        assert after.totals[("a", "failed")]["runs"] == 1
        assert after.dropped[("a", "duplicate")] == 5 and after.durations["a"][1] == 5
        assert after.stats[("a", "errors/article")] == 5
        # Pruned again later: added to what the earlier prunes kept.
        run("a", now - timedelta(hours=2), pages=1)
        later = now + timedelta(days=1)
        assert store.prune_runs(later) == 1  # the older of a's two recent runs
        again = StoreCollector(store, lambda: None, sources, wallclock=later.timestamp).run_sums()
        assert again.totals[("a", "ok")]["runs"] == 5 and again.totals[("a", "ok")]["pages"] == 11
    finally:
        store.close()


def test_two_prunes_at_once_count_each_deleted_run_once(db_url: str) -> None:
    # On PostgreSQL both read the same batch, both added its sums (5,000 runs counted for
    # 4,000), or both created the source's row (a duplicate key error).
    store = Store.open(db_url)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    try:
        for i in range(240):
            run_id = store.start_run("a", now=now - timedelta(days=300, minutes=i))
            stats = RunStats(pages=1, dropped={"duplicate": 1})
            store.finish_run(run_id, status="ok", stats=stats, now=now - timedelta(days=299))
        before = StoreCollector(store, lambda: None, ["a"], wallclock=now.timestamp).run_sums()
        stores = [Store.open(db_url) for _ in range(3)]
        try:
            with ThreadPoolExecutor(3) as pool:
                done = list(
                    pool.map(lambda s: s.prune_runs(now - timedelta(days=180), batch=10), stores)
                )
        finally:
            for other in stores:
                other.close()
        assert sum(done) == 239  # the latest run is kept
        after = StoreCollector(store, lambda: None, ["a"], wallclock=now.timestamp).run_sums()
        assert after == before and after.totals[("a", "ok")]["runs"] == 240
    finally:
        store.close()


def test_distributed_workers_own_runs_are_kept_out_of_the_per_source_series(
    tmp_path: Path,
) -> None:
    """A worker's run counts the pages of every source it served, which their queued runs count
    too: exported as ``source="worker"``, a sum over sources counted them twice."""
    store = Store.open(f"sqlite:///{tmp_path / 'm.db'}")
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    try:
        queued = store.start_run("a", now=now)
        store.finish_run(queued, status="ok", stats=RunStats(pages=3, new=3), now=now)
        worker = store.start_run("worker", now=now)
        own = RunStats(pages=3, new=3, dropped={"duplicate": 1}, extra={"requests": 5, "bytes": 70})
        store.finish_run(worker, status="interrupted", stats=own, now=now)
        collector = StoreCollector(store, lambda: None, ["a"], wallclock=now.timestamp)
        samples, _ = parse(generate_latest(make_registry([_RunsOnly(collector)])).decode())
    finally:
        store.close()
    assert not [key for key in samples if ("source", "worker") in key[1]]
    assert (
        sum(v for (name, _), v in samples.items() if name == "cityfeeds_pages_fetched_total") == 3
    )
    assert value(samples, "cityfeeds_worker_runs_total", state="interrupted") == 1
    assert value(samples, "cityfeeds_worker_runs_total", state="ok") == 0
    assert value(samples, "cityfeeds_worker_http_requests_total") == 5
    assert value(samples, "cityfeeds_worker_response_bytes_total") == 70


class _RunsOnly:
    """The runs families of a StoreCollector (no status report needed)."""

    def __init__(self, collector: StoreCollector) -> None:
        self.collector = collector

    def collect(self) -> Iterator[Any]:
        return iter(self.collector._runs())


def test_feed_builds_are_counted_by_result_and_a_crashed_build_as_failed() -> None:
    metrics = ServiceMetrics(make_registry())
    report = BuildReport()
    report.results = {
        "all": FeedResult("all", 3, changed=True),
        "sources/a": FeedResult("sources/a", 3, changed=False, reused=True),
        "sources/b": FeedResult("sources/b", error="ValueError: bad"),
        "index.html": FeedResult("index.html", 2, changed=True),  # not a feed
    }
    metrics.count_build(report, None)
    metrics.count_build(None, RuntimeError("store gone"))
    metrics.timed(lambda: None)()
    samples, _ = parse(generate_latest(metrics.registry).decode())
    counts = {
        r: value(samples, "cityfeeds_feed_builds_total", result=r)
        for r in ("changed", "kept", "failed")
    }
    assert counts == {"changed": 1, "kept": 1, "failed": 2}
    assert value(samples, "cityfeeds_feed_build_duration_seconds_count") == 1


def test_topic_articles_count_only_the_configured_sources(db_url: str) -> None:
    """A removed source's articles leave the feeds and so the topic counts; the store still
    holds them, which the per-source and total counts show (README "Removing a source")."""
    store = Store.open(db_url)
    try:
        for n, source in enumerate(["demo", "gone", "gone"]):
            article = Article(
                url=f"https://{source}.example.ru/news/{n}",
                source=source,
                title=f"Электробус {n}",
                published=datetime(2026, 11, 20, 9, n, tzinfo=UTC),
                topics=[TopicMatch("electric-transport", 3.0, [])],
            )
            store.upsert_article(article, now=datetime(2026, 11, 21, tzinfo=UTC))
        families = StoreCollector(store, lambda: None, ["demo"])._articles()
    finally:
        store.close()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples
    }
    assert samples[("cityfeeds_topic_articles", (("topic", "electric-transport"),))] == 1
    assert samples[("cityfeeds_source_articles", (("source", "gone"),))] == 2
    assert samples[("cityfeeds_store_articles", ())] == 3
