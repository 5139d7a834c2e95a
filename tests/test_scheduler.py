"""The service: zoned schedules, backoff, overlaps, catch-up, lock, crashes, signals (F1–F7)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest

from cityfeeds.devtools.demo_server import serve_site
from cityfeeds.devtools.demo_site import STORIES, build_site, demo_source
from cityfeeds.schedule import (
    backoff_seconds,
    capped_jitter,
    first_run_time,
    make_trigger,
    misfire_grace,
    schedule_period,
    too_soon,
)
from cityfeeds.service import AlreadyRunning, Service, ServiceLock, ServiceOptions
from cityfeeds.service.lock import advisory_key, lock_path
from cityfeeds.service.rebuild import FeedRebuilder
from crawler.config import Config, load_config
from crawler.normalize.dates import parse_retry_after
from crawler.runner import CrawlOutcome, crawl_subprocess
from crawler.storage import RunStats, Store
from tests.conftest import ROOT, write_site_config

MSK = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- helpers -------------------------------------------------------------------------------


class Clock:
    """An injected clock that moves only when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeCrawl:
    """Stands in for crawl_subprocess: records calls, returns scripted run records."""

    def __init__(self, results: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.results = results or {}
        self.calls: list[str] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, config: Config, sources: list[str], **kwargs: Any) -> CrawlOutcome:
        name = sources[0]
        self.calls.append(name)
        self.release.wait(30)
        queue = self.results.get(name) or [{"status": "ok"}]
        run = queue.pop(0) if len(queue) > 1 else queue[0]
        return CrawlOutcome(
            returncode=0, killed=bool(run.get("killed")), duration=0.1, runs={name: run}
        )


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def config_with(tmp_path: Path, sources: list[dict[str, Any]], **schedule: Any) -> Config:
    extra = {"schedule": {"jitter": 0, "serve": False, **schedule}}
    return load_config(
        write_site_config(tmp_path, "http://127.0.0.1:9/", sources=sources, extra=extra)
    )


def source(
    name: str, schedule: str = "every 1h", base: str = "http://127.0.0.1:9/"
) -> dict[str, Any]:
    return {**demo_source(base, name), "schedule": schedule}


def record_run(store: Store, name: str, started: datetime, status: str = "ok") -> None:
    run_id = store.start_run(name, now=started)
    store.finish_run(run_id, status=status, stats=RunStats(), now=started + timedelta(seconds=5))


@pytest.fixture
def two_sources(tmp_path: Path) -> Config:
    return config_with(tmp_path, [source("alpha"), source("beta", "*/30 * * * *")])


# -- pure schedule rules -------------------------------------------------------------------


def test_schedules_use_the_configured_zone_not_the_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        trigger = make_trigger("0 4 * * mon", MSK)
        fire = trigger.get_next_fire_time(None, datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
        assert fire is not None
        local = fire.astimezone(MSK)
        assert (local.weekday(), local.hour, local.minute) == (0, 4, 0)  # Monday 04:00 in Moscow
        assert fire.astimezone(UTC).hour == 1
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_config_timezone_reaches_the_scheduler(two_sources: Config) -> None:
    svc = Service(two_sources, crawl=FakeCrawl())
    scheduler = svc._build_scheduler()
    assert str(scheduler.timezone) == "Europe/Moscow"
    job = scheduler.get_job("crawl:beta")
    assert job.trigger.timezone == MSK and job.coalesce and job.max_instances == 1
    assert job.misfire_grace_time == 1800  # sized to the period, not APScheduler's 1 s
    svc.store.close()


def test_periods_grace_and_jitter() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert schedule_period("every 30m", MSK, now) == 1800
    assert schedule_period("*/30 * * * *", MSK, now) == 1800
    assert schedule_period("0 9 * * mon-fri", MSK, now) == 86400
    assert misfire_grace(1800) == 1800 and misfire_grace(0.5) == 1
    assert capped_jitter(120, 1800) == 120
    assert capped_jitter(120, 60) == 15  # never so much that a run lands on the next one


def test_dst_repeat_hour_runs_once_not_twice(tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    trigger = make_trigger("30 2 * * *", berlin)
    start = datetime(2025, 10, 25, 12, 0, tzinfo=berlin)
    local_first = trigger.get_next_fire_time(None, start)
    first = local_first.astimezone(UTC)
    second = trigger.get_next_fire_time(local_first, local_first).astimezone(UTC)
    # APScheduler 3 fires at both 02:30 CEST and 02:30 CET on the fall-back day...
    assert (second - first) == timedelta(hours=1)
    assert first.astimezone(berlin).strftime("%H:%M") == second.astimezone(berlin).strftime("%H:%M")
    # ...and the service's job-start guard turns the second into a skip, not a burst.
    assert too_soon(first, second, 86400)
    assert not too_soon(first, first + timedelta(days=1), 86400)

    cfg = config_with(tmp_path, [source("alpha", "30 2 * * *")], timezone="Europe/Berlin")
    clock = Clock(first)
    crawl = FakeCrawl()
    svc = Service(cfg, crawl=crawl, clock=clock)
    assert svc.run_source("alpha") == "ok"
    clock.now = second
    assert svc.run_source("alpha") == "too soon"
    clock.now = first + timedelta(days=1)
    assert svc.run_source("alpha") == "ok"
    assert crawl.calls == ["alpha", "alpha"]
    svc.store.close()


def test_interval_across_dst_keeps_real_spacing() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2025, 10, 26, 0, 0, tzinfo=berlin)
    trigger = make_trigger("every 1h", berlin, start=start)
    fires, prev = [], None
    for _ in range(5):
        prev = trigger.get_next_fire_time(prev, prev or start)
        fires.append(prev)
    utc = [f.astimezone(UTC) for f in fires]  # aware datetimes of one zone subtract as wall time
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(utc)}
    assert gaps == {3600.0}  # no burst and no gap when the clocks go back


def test_backoff_is_exponential_capped_and_honours_retry_after() -> None:
    period, cap = 600, 6 * 3600
    assert [backoff_seconds(n, period, cap) for n in range(1, 6)] == [0, 600, 1800, 4200, 9000]
    assert backoff_seconds(30, period, cap) == cap
    assert backoff_seconds(1, period, cap, retry_after=120) == 120
    assert (
        backoff_seconds(1, period, cap, retry_after=10**9) == cap
    )  # a site cannot park us forever
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(90, now) == 90
    assert parse_retry_after("Wed, 04 Mar 2026 12:05:00 GMT", now) == 300
    assert parse_retry_after("Wed, 04 Mar 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def test_first_run_after_restart_is_one_catch_up() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert first_run_time(None, 3600, now) == now
    assert first_run_time(now - timedelta(hours=30), 3600, now) == now  # one run, not 30
    assert first_run_time(now - timedelta(minutes=10), 3600, now) is None
    assert first_run_time(now - timedelta(minutes=10), 3600, now, last_ok=False) == now


# -- backoff at job start (injected clock, fake crawls) ------------------------------------


def test_failing_source_backs_off_then_returns_to_schedule(tmp_path: Path) -> None:
    cfg = config_with(tmp_path, [source("alpha", "every 10m")], max_backoff=3600)
    failed = {"status": "failed", "message": "no feed could be read"}
    crawl = FakeCrawl({"alpha": [failed, failed, failed, {"status": "ok"}]})
    clock = Clock()
    svc = Service(cfg, crawl=crawl, clock=clock)

    assert svc.run_source("alpha") == "failed"  # 1st failure: no backoff yet
    assert svc.store.get_source_state("alpha")["backoff_until"] is None
    clock.advance(minutes=10)
    assert svc.run_source("alpha") == "failed"  # 2nd: rest one period
    state = svc.store.get_source_state("alpha")
    assert state["consecutive_failures"] == 2
    assert state["backoff_until"] == clock.now + timedelta(minutes=10)
    clock.advance(minutes=9, seconds=59)
    assert svc.run_source("alpha") == "backoff"
    assert len(crawl.calls) == 2  # the skipped tick never crawled
    clock.advance(minutes=10)
    assert svc.run_source("alpha") == "failed"  # 3rd: three periods
    assert svc.store.get_source_state("alpha")["backoff_until"] == clock.now + timedelta(minutes=30)
    clock.advance(minutes=31)
    assert svc.run_source("alpha") == "ok"
    state = svc.store.get_source_state("alpha")
    assert (state["consecutive_failures"], state["backoff_until"], state["last_status"]) == (
        0,
        None,
        "ok",
    )
    assert state["last_success"] == clock.now
    svc.store.close()


def test_retry_after_from_503_sets_the_backoff(tmp_path: Path) -> None:
    cfg = config_with(tmp_path, [source("alpha", "every 2m")], max_backoff=600)
    busy = {"status": "failed", "stats": {"retry_after": "120", "last_status": 503}}
    clock = Clock()
    svc = Service(
        cfg,
        crawl=FakeCrawl({"alpha": [busy, {**busy, "stats": {"retry_after": "86400"}}]}),
        clock=clock,
    )
    svc.run_source("alpha")
    assert svc.store.get_source_state("alpha")["backoff_until"] == clock.now + timedelta(
        seconds=120
    )
    clock.advance(seconds=121)
    svc.run_source("alpha")
    assert svc.store.get_source_state("alpha")["backoff_until"] == clock.now + timedelta(
        seconds=600
    )  # capped
    svc.store.close()


def test_crawl_that_raises_is_a_failure_not_a_dead_scheduler(tmp_path: Path) -> None:
    cfg = config_with(tmp_path, [source("alpha")])

    def broken(*args: Any, **kwargs: Any) -> CrawlOutcome:
        raise OSError("cannot fork")

    svc = Service(cfg, crawl=broken, clock=Clock())
    assert svc.run_source("alpha") == "failed"
    assert svc.store.get_source_state("alpha")["consecutive_failures"] == 1
    svc.store.close()


# -- the live scheduler with fake crawls ---------------------------------------------------


@pytest.fixture
def running() -> Iterator[list[Service]]:
    services: list[Service] = []
    yield services
    for svc in services:
        svc.stop(grace=1)


def test_overlapping_tick_is_skipped_and_counted(tmp_path: Path, running: list[Service]) -> None:
    cfg = config_with(tmp_path, [source("alpha", "every 1s")])
    crawl = FakeCrawl()
    crawl.release.clear()  # the first crawl hangs until released
    svc = Service(cfg, ServiceOptions(debounce=0.05), crawl=crawl)
    running.append(svc)
    svc.start()
    wait_for(
        lambda: svc.store.get_source_state("alpha")["skipped_overlaps"] >= 2,
        10,
        "two skipped ticks",
    )
    assert crawl.calls == ["alpha"]  # skipped, not queued behind the running one
    crawl.release.set()


def test_catch_up_after_downtime_is_one_run_per_source(
    tmp_path: Path, running: list[Service]
) -> None:
    cfg = config_with(tmp_path, [source("alpha"), source("beta"), source("gamma")])
    now = datetime.now(UTC)
    store = Store.open(cfg.database_url)
    record_run(store, "alpha", now - timedelta(hours=5))  # down for hours: overdue
    record_run(store, "beta", now - timedelta(hours=3))
    record_run(store, "gamma", now - timedelta(minutes=10))  # ran recently: keeps its cadence
    store.close()
    crawl = FakeCrawl()
    clock = Clock(now)
    svc = Service(cfg, ServiceOptions(debounce=0.05), crawl=crawl, clock=clock)
    running.append(svc)
    svc.start()
    wait_for(lambda: len(crawl.calls) >= 2, 10, "catch-up runs")
    time.sleep(0.5)
    assert sorted(crawl.calls) == ["alpha", "beta"]
    nxt = svc.scheduler.get_job("crawl:gamma").next_run_time
    assert abs((nxt - (now + timedelta(minutes=50))).total_seconds()) < 5

    # A scheduler stalled for 3 periods (suspend, overload) also catches up once, not 3 times.
    before = len(crawl.calls)
    clock.advance(hours=3)
    svc.scheduler.modify_job("crawl:alpha", next_run_time=datetime.now(UTC) - timedelta(hours=3))
    wait_for(lambda: len(crawl.calls) > before, 10, "coalesced run")
    time.sleep(0.5)
    assert crawl.calls[before:] == ["alpha"]


def test_rebuilds_coalesce_after_a_burst() -> None:
    calls: list[float] = []
    gate = threading.Event()

    def rebuild() -> None:
        calls.append(time.monotonic())
        gate.wait(5)

    rebuilder = FeedRebuilder(rebuild, debounce=0.2, max_delay=5)
    rebuilder.start()
    for _ in range(5):
        rebuilder.request()
        time.sleep(0.02)
    wait_for(lambda: calls, 5, "a rebuild", interval=0.02)
    for _ in range(3):  # requests during a rebuild: exactly one more afterwards
        rebuilder.request()
    gate.set()
    wait_for(lambda: len(calls) == 2, 5, "the second rebuild", interval=0.02)
    rebuilder.close()
    assert len(calls) == 2


def test_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.scheduler.lock"
    first = ServiceLock(path)
    first.acquire()
    with pytest.raises(AlreadyRunning, match=rf"pid {os.getpid()}.*refusing"):
        ServiceLock(path).acquire()
    first.release()
    with ServiceLock(path) as again:
        assert again.held


@pytest.mark.postgres
def test_postgres_advisory_lock(postgres_url: str, tmp_path: Path) -> None:
    first = ServiceLock(tmp_path / "a.lock", postgres_url)
    first.acquire()
    try:
        # Another host (another lock file) sharing the database is still refused.
        with pytest.raises(AlreadyRunning, match="advisory lock"):
            ServiceLock(tmp_path / "b.lock", postgres_url).acquire()
    finally:
        first.release()
    with ServiceLock(tmp_path / "b.lock", postgres_url):
        pass
    assert advisory_key("public") != advisory_key("other")


@pytest.mark.slow
def test_second_service_process_refuses_to_run(tmp_path: Path, running: list[Service]) -> None:
    cfg = config_with(tmp_path, [source("alpha")])
    crawl = FakeCrawl()
    svc = Service(cfg, crawl=crawl)
    running.append(svc)
    svc.start()
    wait_for(lambda: crawl.calls, 10, "the first service's run")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scheduler.py"), "--config", str(cfg.path), "--no-serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 3
    assert "already running" in proc.stderr and str(os.getpid()) in proc.stderr
    assert str(lock_path(cfg)) in proc.stderr
    store = Store.open(cfg.database_url)
    assert store.recent_runs("alpha") == []  # the refused service never crawled
    store.close()
    assert crawl.calls == ["alpha"]


# -- real crawl children on loopback sites -------------------------------------------------


class _BusyHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Retry-After", "120")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def busy_site() -> Iterator[str]:
    """A site answering 503 with Retry-After: 120 to everything."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _BusyHandler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A port that accepts connections (kernel backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


def feed_titles(output: Path, name: str = "all.rss") -> list[str]:
    parsed = feedparser.parse((output / name).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [e.title for e in parsed.entries]


@pytest.mark.slow
def test_three_scheduled_cycles_in_one_process_publish_each_time(
    tmp_path: Path, running: list[Service]
) -> None:
    """F1: the same process crawls again and again (no ReactorNotRestartable)."""
    with serve_site(STORIES[:9]) as site:
        cfg = load_config(
            write_site_config(
                tmp_path,
                site.base_url,
                sources=[{**demo_source(site.base_url), "schedule": "every 2s"}],
                extra={"schedule": {"jitter": 0, "port": 0}},
            )
        )
        svc = Service(cfg, ServiceOptions(debounce=0.1))
        running.append(svc)
        svc.start()
        store = Store.open(cfg.database_url)
        try:
            for cycle in range(3):
                n = 9 + cycle
                wait_for(lambda n=n: store.count_articles() == n, 40, f"cycle {cycle + 1} stored")
                wait_for(
                    lambda n=n: len(feed_titles(cfg.output_dir)) == n,
                    20,
                    f"cycle {cycle + 1} published",
                )
                assert STORIES[n - 1].title in feed_titles(cfg.output_dir)
                site.files = build_site(site.base_url, STORIES[: n + 1])  # one more story next time
            runs = store.recent_runs("demo", limit=10)
            assert len([r for r in runs if r["status"] == "ok"]) >= 3
            assert svc.cycles >= 3
        finally:
            store.close()
        with_health = json.loads(_get(svc.web.url + "healthz"))
        assert with_health["status"] == "ok" and with_health["healthy"]


def _get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


@pytest.mark.slow
def test_crashing_hanging_and_busy_sources_do_not_affect_the_others(
    tmp_path: Path, running: list[Service], busy_site: str, blackhole: str
) -> None:
    """F3, F7, A7: a segfaulting child, a hung one, a 503 + Retry-After one; the good one works."""

    def crawl(config: Config, sources: list[str], **kwargs: Any) -> CrawlOutcome:
        if sources == ["crashy"]:
            # A real crash of the child: an "extension" that is faulthandler's segfault helper.
            kwargs["extra_settings"] = {"EXTENSIONS": json.dumps({"faulthandler._sigsegv": 0})}
        if sources == ["hung"]:
            kwargs["timeout"] = 3  # a short wall-clock limit for the source that never answers
        return crawl_subprocess(config, sources, stderr=subprocess.DEVNULL, **kwargs)

    with serve_site() as site:
        sources = [
            demo_source(site.base_url, "good"),
            demo_source(site.base_url, "crashy"),
            demo_source(blackhole, "hung"),
            demo_source(busy_site, "busy"),
        ]
        cfg = load_config(
            write_site_config(
                tmp_path,
                site.base_url,
                sources=sources,
                extra={"schedule": {"jitter": 0, "port": 0}},
            )
        )
        svc = Service(cfg, ServiceOptions(workers=2, run_timeout=60, debounce=0.2), crawl=crawl)
        running.append(svc)
        svc.start()
        names = [s["name"] for s in sources]
        wait_for(
            lambda: all(svc.store.get_source_state(n)["last_status"] for n in names),
            60,
            "all four runs",
        )
        wait_for(lambda: not svc.rebuilder.pending and svc.cycles >= 2, 20, "the rebuild")
        state = {n: svc.store.get_source_state(n) for n in names}
        assert state["good"]["last_status"] == "ok"
        assert state["crashy"]["last_status"] == "failed"
        assert state["hung"]["last_status"] == "killed"
        assert state["busy"]["last_status"] == "deferred"  # 503 + Retry-After: not a failure
        assert state["busy"]["consecutive_failures"] == 0
        busy_until = state["busy"]["backoff_until"]
        busy_run = svc.store.recent_runs("busy", limit=1)[0]
        assert busy_until is not None and busy_run["stats"]["last_status"] == 503
        # Retry-After: 120 honoured (counted from when the run was recorded, just after it ended).
        assert 115 <= (busy_until - busy_run["finished_at"]).total_seconds() <= 125

        report = svc.status_report()
        rows = {s.name: s for s in report.sources}
        assert rows["good"].state == "ok" and rows["good"].new == len(STORIES)
        assert {rows[n].state for n in ("crashy", "hung")} == {"failing"}
        assert rows["busy"].state == "waiting"
        assert "exited with -11" in (rows["crashy"].message or "")
        assert rows["hung"].result == "killed"
        assert "backing off" in (rows["busy"].message or "")
        assert report.health.healthy

        # Errors never reach the content feeds: only the good source's articles are published.
        titles = feed_titles(cfg.output_dir)
        assert sorted(titles) == sorted(s.title for s in STORIES)
        page = _get(svc.web.url + "status").decode()
        assert "crashy" in page and "<script" not in page


def _service_cmd(cfg: Path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "scheduler.py"), "--config", str(cfg), "--no-serve", *extra]


def _spawn(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(
        cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )


def _running_run(store: Store, name: str) -> bool:
    runs = store.recent_runs(name, limit=1)
    return bool(runs) and runs[0]["status"] == "running"


@pytest.mark.slow
def test_kill_9_during_a_crawl_then_restart(tmp_path: Path) -> None:
    """E3/F5: SIGKILL mid-crawl; the restart recovers, nothing is duplicated, feeds stay valid."""
    with serve_site() as site:
        cfg_path = write_site_config(
            tmp_path,
            site.base_url,
            sources=[demo_source(site.base_url)],
            # A polite crawl (0.2 s between requests) is still running when the service restarts.
            extra={"schedule": {"jitter": 0}, "crawl": {"download_delay": 0.2}},
        )
        cfg = load_config(cfg_path)
        store = Store.open(cfg.database_url)
        first = _spawn(_service_cmd(cfg_path), tmp_path / "first.log")
        try:
            wait_for(
                lambda: _running_run(store, "demo") and store.count_articles() > 0,
                60,
                "a crawl mid-way",
                0.05,
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        # Its crawl child dies with it (PR_SET_PDEATHSIG) and records the run as interrupted.
        wait_for(lambda: not _running_run(store, "demo"), 30, "the orphan's end", 0.05)
        assert store.recent_runs("demo", limit=1)[0]["status"] == "interrupted"
        restarted = datetime.now(UTC)
        second = _spawn(_service_cmd(cfg_path), tmp_path / "second.log")
        try:
            wait_for(
                lambda: (
                    [
                        r
                        for r in store.recent_runs("demo", limit=5)
                        if r["status"] == "ok" and r["started_at"] > restarted
                    ]
                    and (cfg.output_dir / "all.rss").exists()
                    and len(feed_titles(cfg.output_dir)) == len(STORIES)
                ),
                90,
                "the next cycle after the restart",
            )
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0, (tmp_path / "second.log").read_text()
        assert len([r for r in store.recent_runs("demo", limit=10) if r["status"] != "ok"]) == 1
        assert store.integrity_check() == "ok"
        assert store.count_articles() == len(STORIES)  # no duplicates
        assert all(r["status"] != "running" for r in store.recent_runs(limit=50))
        for name in ("all.rss", "all.atom", "sources/demo.rss"):
            assert len(feed_titles(cfg.output_dir, name)) == len(STORIES)
        store.close()


@pytest.mark.slow
def test_sigterm_during_a_crawl_exits_cleanly(tmp_path: Path, blackhole: str) -> None:
    """Running crawls finish within the grace period; a hung one is then stopped; exit 0."""
    with serve_site() as site:
        cfg_path = write_site_config(
            tmp_path,
            site.base_url,
            sources=[demo_source(site.base_url), demo_source(blackhole, "hung")],
            extra={"schedule": {"jitter": 0}},
        )
        cfg = load_config(cfg_path)
        store = Store.open(cfg.database_url)
        proc = _spawn(_service_cmd(cfg_path, "--grace", "6"), tmp_path / "service.log")
        try:
            wait_for(
                lambda: _running_run(store, "demo") and _running_run(store, "hung"),
                60,
                "both crawls",
                0.05,
            )
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, (tmp_path / "service.log").read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert store.integrity_check() == "ok"
        assert store.recent_runs("demo", limit=1)[0]["status"] == "ok"  # finished within the grace
        hung = store.recent_runs("hung", limit=1)[0]
        assert hung["status"] == "interrupted"  # stopped, and recorded as such
        assert (
            store.get_source_state("hung")["consecutive_failures"] == 0
        )  # our stop, not its fault
        assert len(feed_titles(cfg.output_dir)) == len(STORIES)  # published before exiting
        children = lock_path(cfg).with_name(lock_path(cfg).stem + ".children.json")
        assert json.loads(children.read_text()) == {}  # no crawl child left behind
        store.close()
