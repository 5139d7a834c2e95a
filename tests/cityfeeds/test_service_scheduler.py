"""The service: zoned schedules, backoff, rebuilds, lock, crashes, signals.

The cases of the fault catalogue (F2, F4-F6) are in tests/faults/test_f_scheduler.py.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import pytest

from cityfeeds.devtools.demo_server import serve_site
from cityfeeds.devtools.demo_site import STORIES, build_site, demo_source
from cityfeeds.schedule import (
    backoff_seconds,
)
from cityfeeds.service import AlreadyRunning, Service, ServiceLock, ServiceOptions
from cityfeeds.service.lock import advisory_key, lock_path
from cityfeeds.service.rebuild import FeedRebuilder
from crawler.config import Config, load_config
from crawler.normalize.dates import parse_retry_after
from crawler.storage import Store
from crawler.supervisor import CrawlOutcome, crawl_subprocess
from tests.cityfeeds.service_fakes import (
    MSK,
    Clock,
    FakeCrawl,
    config_with,
    source,
    wait_for,
)
from tests.conftest import ROOT, write_site_config

# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def two_sources(tmp_path: Path) -> Config:
    return config_with(tmp_path, [source("alpha"), source("beta", "*/30 * * * *")])


# -- pure schedule rules -------------------------------------------------------------------


def test_config_timezone_reaches_the_scheduler(two_sources: Config) -> None:
    svc = Service(two_sources, crawl=FakeCrawl())
    scheduler = svc._build_scheduler()
    assert str(scheduler.timezone) == "Europe/Moscow"
    job = scheduler.get_job("crawl:beta")
    assert job.trigger.timezone == MSK and job.coalesce and job.max_instances == 1
    assert job.misfire_grace_time == 1800  # sized to the period, not APScheduler's 1 s
    svc.store.close()


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


def test_a_run_cut_short_by_the_shutdown_says_so(tmp_path: Path) -> None:
    """The child records its own SIGTERM; the service's record says its shutdown stopped it."""
    cfg = config_with(tmp_path, [source("alpha")])
    clock = Clock()
    svc = Service(cfg, crawl=None, clock=clock)

    def stopped_child(config: Config, sources: list[str], **kwargs: Any) -> CrawlOutcome:
        # What a crawl child does on the service's SIGTERM: its run recorded as interrupted.
        run_id = svc.store.start_run("alpha", now=clock.now)
        svc.store.close_run(
            run_id, status="interrupted", now=clock.now, message="interrupted (SIGTERM)"
        )
        svc._stopping.set()  # the shutdown began meanwhile (Ctrl-C: SIGINT at the service)
        svc._stop_signal = "SIGINT"
        run = svc.store.get_run(run_id)
        return CrawlOutcome(returncode=130, killed=False, duration=1.0, runs={"alpha": run or {}})

    svc.crawl = stopped_child
    assert svc.run_source("alpha") == "interrupted"
    run = svc.store.recent_runs("alpha", limit=1)[0]
    assert (run["status"], run["message"]) == (
        "interrupted",
        "interrupted by the service's shutdown (SIGINT)",
    )
    assert svc.store.get_source_state("alpha").get("consecutive_failures") in (None, 0)
    svc.store.close()


def test_the_service_keeps_one_store_for_its_bookkeeping_and_rebuilds(tmp_path: Path) -> None:
    """No engine opened and closed per crawl or per rebuild: the churn fragmented the heap."""
    cfg = config_with(tmp_path, [source("alpha")])
    seen: list[Any] = []

    def crawl(config: Config, sources: list[str], **kwargs: Any) -> CrawlOutcome:
        seen.append(kwargs.get("store"))
        return CrawlOutcome(
            returncode=0, killed=False, duration=0.1, runs={"alpha": {"status": "ok"}}
        )

    svc = Service(cfg, crawl=crawl, clock=Clock())
    assert svc.run_source("alpha") == "ok"
    assert seen == [svc.store]
    store = svc.store
    assert svc.rebuild().ok  # the default rebuild, on the service's store: left open
    assert svc.store is store and store.get_source_state("alpha")["last_status"] == "ok"
    svc.store.close()


# -- the live scheduler with fake crawls ---------------------------------------------------


def test_rebuilds_coalesce_after_a_burst() -> None:
    now = [100.0]  # the rebuilder's injected monotonic clock, moved by hand
    calls: list[float] = []
    gate = threading.Event()

    def rebuild() -> None:
        calls.append(now[0])
        gate.wait(5)

    rebuilder = FeedRebuilder(rebuild, debounce=0.2, max_delay=5, monotonic=lambda: now[0])
    rebuilder.start()
    for _ in range(5):  # a burst: each request pushes the rebuild back by the debounce
        rebuilder.request()
        now[0] += 0.1
    assert calls == [] and rebuilder.pending
    now[0] += 0.2  # the debounce after the last request has passed
    wait_for(lambda: calls, 5, "a rebuild", interval=0.02)
    for _ in range(3):  # requests during a rebuild: exactly one more afterwards
        rebuilder.request()
    now[0] += 1
    gate.set()
    wait_for(lambda: len(calls) == 2, 5, "the second rebuild", interval=0.02)
    rebuilder.close()
    assert calls == pytest.approx([100.7, 101.7])  # one after the burst, one after the rest


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
    tmp_path: Path, running: list[Service], short_intervals: None
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
    """Running crawls finish within the grace period; a hung one is then stopped; exit 0.

    The grace is generous: a loaded machine (CI runs the suite twice) slows the demo crawl.
    """
    with serve_site() as site:
        cfg_path = write_site_config(
            tmp_path,
            site.base_url,
            sources=[demo_source(site.base_url), demo_source(blackhole, "hung")],
            # The hung crawl's requests outlast the grace (they would fail on their own after
            # the default 10 s, and be recorded as failed, not stopped).
            extra={"schedule": {"jitter": 0}, "crawl": {"timeout": 60}},
        )
        cfg = load_config(cfg_path)
        store = Store.open(cfg.database_url)
        proc = _spawn(_service_cmd(cfg_path, "--grace", "15"), tmp_path / "service.log")
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
        assert hung["message"] == "interrupted by the service's shutdown (SIGTERM)"
        assert (
            store.get_source_state("hung")["consecutive_failures"] == 0
        )  # our stop, not its fault
        assert len(feed_titles(cfg.output_dir)) == len(STORIES)  # published before exiting
        children = lock_path(cfg).with_name(lock_path(cfg).stem + ".children.json")
        assert json.loads(children.read_text()) == {}  # no crawl child left behind
        store.close()


def test_a_service_that_cannot_serve_publishes_nothing(tmp_path: Path) -> None:
    """Port taken (another service serves these feeds): no rebuild, so no feed overwritten."""
    from cityfeeds.service.web import ServeError
    from feeds.build import BuildReport

    cfg = config_with(tmp_path, [source("alpha")])
    builds: list[int] = []

    def rebuild() -> BuildReport:
        builds.append(1)
        return BuildReport()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = ServiceOptions(serve=True, host="127.0.0.1", port=port, debounce=0.0)
        svc = Service(cfg, options, crawl=FakeCrawl(), rebuild=rebuild)
        with pytest.raises(ServeError):
            svc.start()
    assert builds == []
    again = ServiceLock.for_config(cfg)  # and the lock was given back
    again.acquire()
    again.release()


@pytest.mark.parametrize("nohup", [False, True])
def test_sighup_stops_the_service_gracefully_unless_ignored(tmp_path: Path, nohup: bool) -> None:
    """A closed terminal (SIGHUP) stops the service as SIGTERM does, with a log line, exit 0;
    under nohup (SIGHUP ignored) it keeps running."""
    cfg_path = config_with(tmp_path, [source("alpha", "every 1h")]).path
    assert cfg_path is not None
    cfg = load_config(cfg_path)
    log = tmp_path / "service.log"
    cmd = _service_cmd(cfg_path)
    if nohup:
        cmd = ["nohup", *cmd]
        proc = _spawn(cmd, log)
    else:
        # SIGHUP's default action, whatever this test runs under (CI may itself run under
        # nohup, and the disposition is inherited).
        out = log.open("wb")
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
        )
    try:
        wait_for(lambda: ServiceLock.for_config(cfg).holder() == proc.pid, 60, "the service")
        wait_for(lambda: "scheduler started" in log.read_text(), 60, "the scheduler")
        proc.send_signal(signal.SIGHUP)
        if nohup:
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(3)
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert ("SIGHUP: no new crawls" in log.read_text()) is not nohup
    assert "service stopped" in log.read_text()


def test_an_edited_config_file_is_said_once_and_applies_at_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config_with(tmp_path, [source("alpha")])
    assert cfg.path is not None and cfg.text is not None
    svc = Service(cfg)
    try:
        caplog.set_level(logging.INFO, logger="cityfeeds.service.core")
        svc._note_config_edit()
        assert not caplog.records  # unchanged: nothing to say
        cfg.path.write_text(cfg.text + "\n[bogus]\n", encoding="utf-8")
        svc._note_config_edit()
        svc._note_config_edit()  # once per edit, not per tick
        warned = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and "restart it to apply the change" in warned[0].getMessage()
        assert svc.config.text == cfg.text  # the service goes on with what it loaded
        cfg.path.write_text(cfg.text, encoding="utf-8")
        svc._note_config_edit()
        assert "says again what the service runs with" in caplog.records[-1].getMessage()
    finally:
        svc.store.close()


def test_run_distributed_says_when_sources_cycle_faster_than_the_workers_filter_forgets(
    tmp_path: Path,
) -> None:
    """A tester's find: with `every 1m` under --distributed, an edit was not picked up, as
    the workers' duplicate filter keeps a page 30 min by default (documented, never said)."""
    from cityfeeds.commands.run import short_cycle_note

    config = config_with(
        tmp_path,
        [source("fast", "every 1m"), source("slow", "every 1h"), source("x", "*/5 * * * *")],
    )
    note = short_cycle_note(config) or ""
    assert note.startswith("fast, x run more often than twice the time the workers' duplicate")
    assert "--dedupe-ttl 30, half the shortest period" in note
    assert short_cycle_note(config_with(tmp_path, [source("slow", "every 30m")])) is None
    note = short_cycle_note(config_with(tmp_path, [source("s", "every 20m")])) or ""
    assert "--dedupe-ttl 600, half" in note
