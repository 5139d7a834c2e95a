"""Health when the feeds stop publishing (output disk full) or runs cannot be recorded
(database disk full): /healthz, `status --check` and the service's metrics notice at once."""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import socket
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import feeds.build
from cityfeeds.cli import main
from cityfeeds.commands import status as status_command
from cityfeeds.devtools.demo_site import demo_source
from cityfeeds.service import Service, ServiceLock
from cityfeeds.service.unrecorded import error_cause
from cityfeeds.service.web import WebServer, status_routes
from cityfeeds.status.health import (
    SourceInputs,
    UnrecordedRun,
    compute_status,
    service_health,
    source_status,
)
from cityfeeds.status.views import health_json
from crawler.config import Config, load_config
from crawler.storage import RunStats, Store
from crawler.supervisor import CrawlOutcome
from tests.cityfeeds.service_fakes import Clock, config_with, source
from tests.conftest import write_site_config

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
FEEDS = ("all", "sources/lsn", "topics/tram")


def _recent_ok() -> list[Any]:
    run = {"status": "ok", "started_at": NOW - timedelta(minutes=10)}
    run["finished_at"] = NOW - timedelta(minutes=9)
    return [source_status(SourceInputs("lsn", True, 1800, [run], {}), NOW)]


def _builds(failed: set[str]) -> list[dict[str, Any]]:
    """One build at NOW: the index page and OPML always written, ``failed`` feeds not."""
    rows = [{"path": p, "ok": True, "built_at": NOW} for p in ("index.html", "feeds.opml")]
    rows += [
        {"path": p, "ok": p not in failed, "built_at": NOW, "error": "OSError: [Errno 28]"}
        for p in FEEDS
    ]
    return rows


def test_every_feed_failing_is_failing_at_once_and_no_ok_build() -> None:
    health = service_health(_recent_ok(), _builds(set(FEEDS)), NOW, threshold_seconds=5400)
    assert (health.status, health.healthy) == ("failing", False)
    # The index page and OPML were written, but no feed was: that is no ok build.
    assert health.last_ok_build is None
    assert health.reason and "every feed failed" in health.reason


def test_the_last_good_build_outlives_failing_ones() -> None:
    # Every feed fails now, but built fine an hour ago: the last good files are that old, not
    # "never" (a dashboard's "time since the last good build" must not jump to 1970).
    before = NOW - timedelta(hours=1)
    builds = [{**b, "last_ok_at": before} for b in _builds(set(FEEDS))]
    health = service_health(_recent_ok(), builds, NOW, threshold_seconds=5400)
    assert (health.status, health.last_ok_build) == ("failing", before)


def test_one_bad_feed_is_degraded_but_healthy() -> None:
    health = service_health(_recent_ok(), _builds({"topics/tram"}), NOW, threshold_seconds=5400)
    assert (health.status, health.healthy) == ("degraded", True)
    assert health.last_ok_build == NOW
    assert health.reason and "topics/tram" in health.reason


def test_all_feeds_ok_is_ok() -> None:
    health = service_health(_recent_ok(), _builds(set()), NOW, threshold_seconds=5400)
    assert (health.status, health.healthy, health.reason) == ("ok", True, None)


def test_an_unrecorded_latest_run_fails_health_and_marks_the_source() -> None:
    runs = [
        {
            "status": "ok",
            "started_at": NOW - timedelta(minutes=10),
            "finished_at": NOW - timedelta(minutes=9),
        }
    ]
    inputs = [SourceInputs("lsn", True, 1800, runs, {})]
    missing = {"lsn": UnrecordedRun(NOW, "crawl could not start: database or disk is full", 2)}
    report = compute_status(inputs, _builds(set()), NOW, unrecorded=missing, unrecorded_latest=True)
    assert (report.health.status, report.health.healthy) == ("failing", False)
    body = health_json(report)
    assert body["details"]["lsn"].endswith(
        "not run or not recorded: crawl could not start: database or disk is full"
    )
    assert body["sources"] == {"failing": 1}
    assert report.sources[0].consecutive_failures == 2
    # A later run of another source was recorded: the service works again, this row not yet.
    later = compute_status(inputs, _builds(set()), NOW, unrecorded=missing)
    assert later.health.status == "ok" and later.sources[0].state == "failing"


def test_error_cause_is_one_line_without_sql() -> None:
    exc = OperationalError(
        "INSERT INTO runs (source) VALUES (?)",
        ("x",),
        sqlite3.OperationalError("database or disk is full"),
    )
    assert error_cause(exc) == "database or disk is full (OperationalError)"
    assert (
        error_cause(OSError(28, "No space left on device")) == "No space left on device (OSError)"
    )


# -- `cityfeeds feeds` on a full output disk, then `cityfeeds status --check` ---------------


def test_status_check_fails_when_no_feed_could_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_site_config(
        tmp_path, "http://127.0.0.1:9/", sources=[demo_source("http://127.0.0.1:9/", "lsn")]
    )
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = datetime.now(UTC)
    run_id = store.start_run("lsn", now=now - timedelta(minutes=5))
    store.finish_run(run_id, status="ok", stats=RunStats(pages=1, new=1), now=now)
    store.close()

    def disk_full(target: Path, *args: object, **kwargs: object) -> object:
        raise OSError(28, "No space left on device")

    assert main(["--config", str(cfg), "feeds"]) == 0  # a good build first
    capsys.readouterr()
    assert main(["--config", str(cfg), "status", "--json"]) == 0
    good = json.loads(capsys.readouterr().out)["health"]["last_ok_build"]
    assert good is not None

    # The files vanish and the disk is full: every feed must be written again, and cannot be.
    for path in load_config(cfg).output_dir.rglob("*"):
        if path.is_file() and path.suffix in (".rss", ".atom", ".json"):
            path.unlink()
    monkeypatch.setattr(feeds.build, "stage_file", disk_full)
    main(["--config", str(cfg), "feeds"])
    capsys.readouterr()
    assert main(["--config", str(cfg), "status", "--json"]) == 0
    health = json.loads(capsys.readouterr().out)["health"]
    assert health["healthy"] is False and "every feed failed" in health["reason"]
    assert health["last_ok_build"] == good  # the last good files' time, kept
    assert main(["--config", str(cfg), "status", "--check"]) == 1
    assert "why: every feed failed its last build" in capsys.readouterr().out


# -- the service, its database disk full -----------------------------------------------------


def _full(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError(
        "INSERT INTO runs ...", {}, sqlite3.OperationalError("database or disk is full")
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    cfg = config_with(tmp_path, [source("alpha"), source("beta")])
    clock = Clock()

    def crawl(config: Config, sources: list[str], *, store: Store, **kwargs: Any) -> CrawlOutcome:
        # As crawl_subprocess: the run's row is written first (this fails with the disk full).
        name = sources[0]
        run_id = store.start_run(name, now=clock.now)
        store.finish_run(run_id, status="ok", stats=RunStats(), now=clock.now)
        return CrawlOutcome(0, False, 0.1, {name: store.get_run(run_id) or {}})

    svc = Service(cfg, crawl=crawl, clock=clock)
    svc.started_at = clock.now  # health "starting" when nothing is wrong (no feed built here)
    yield svc
    svc.store.close()


def _sample(svc: Service, name: str, source: str) -> float | None:
    return svc.metrics.registry.get_sample_value(f"cityfeeds_{name}_total", {"source": source})


def test_a_tick_with_the_database_full_logs_one_line_and_fails_health_at_once(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert service.run_source("alpha") == "ok"
    service.clock.advance(hours=1)  # type: ignore[attr-defined]
    real_write = service.store._write
    monkeypatch.setattr(service.store, "_write", _full)
    caplog.set_level(logging.INFO)
    caplog.clear()
    # Returns (the scheduler hears of no error, so APScheduler logs no traceback).
    assert service.run_source("alpha") == "not recorded"
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1 and loud[0].exc_info is None
    assert "[alpha] crawl could not start: database or disk is full" in loud[0].getMessage()
    assert "INSERT" not in caplog.text

    report = service.status_report()
    body = health_json(report)
    assert (body["status"], body["healthy"]) == ("failing", False)
    assert "database or disk is full" in body["reason"] and "database" in body["details"]["alpha"]
    assert _sample(service, "crawls_not_started", "alpha") == 1
    assert _sample(service, "runs_not_recorded", "alpha") == 1
    assert _sample(service, "crawls_not_started", "beta") == 0

    service.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert service.run_source("alpha") == "not recorded"  # tried again: no backoff stored
    assert service.status_report().sources[0].consecutive_failures == 2

    # Space is freed: the next tick runs and is recorded; health recovers by itself.
    monkeypatch.setattr(service.store, "_write", real_write)
    service.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert service.run_source("alpha") == "ok"
    report = service.status_report()
    assert report.health.healthy and report.health.status != "failing"
    assert report.sources[0].state == "ok"


@pytest.fixture
def announced(service: Service) -> Iterator[ServiceLock]:
    """The service's lock held by this process (alive), as a running service holds it."""
    lock = ServiceLock.for_config(service.config)
    lock.acquire(started_at=service.started_at)
    try:
        yield lock
    finally:
        lock.release()


def test_status_asks_the_running_service_what_the_store_cannot_show(
    service: Service,
    announced: ServiceLock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # The database disk is full: the service's runs leave no row, so the store still shows
    # the last good run. `status` asks the service's /healthz, which knows.
    assert service.run_source("alpha") == "ok"
    service.clock.advance(hours=1)  # type: ignore[attr-defined]
    monkeypatch.setattr(service.store, "_write", _full)
    assert service.run_source("alpha") == "not recorded"
    routes = status_routes(service.status_report)
    web = WebServer(service.config.output_dir, "0.0.0.0", 0, routes).start()
    try:
        announced.announce(web.local_url)
        assert announced.holder_url() == f"http://127.0.0.1:{web.port}/"
        cfg = str(tmp_path / "cityfeeds.toml")
        assert main(["--config", cfg, "status", "--check"]) == 1
        out = capsys.readouterr().out
        assert "health: failing" in out and "database or disk is full" in out
        assert main(["--config", cfg, "status", "--json"]) == 0
        health = json.loads(capsys.readouterr().out)["health"]
        assert (health["status"], health["healthy"]) == ("failing", False)
    finally:
        web.stop()


def test_status_calls_a_service_that_does_not_answer_unresponsive(
    service: Service,
    announced: ServiceLock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(status_command, "ASK_TIMEOUT", 0.5)
    with socket.create_server(("127.0.0.1", 0)) as hung:  # accepts, never answers
        url = f"http://127.0.0.1:{hung.getsockname()[1]}/"
        announced.announce(url)
        assert main(["--config", str(tmp_path / "cityfeeds.toml"), "status", "--check"]) == 1
    out = capsys.readouterr().out
    assert "health: unresponsive" in out and f"did not answer {url}healthz" in out


@pytest.mark.parametrize(
    "answer",
    [
        b"<html>not a health</html>",
        b'["ok"]',
        b'{"status": "ok"}',
        b'{"status": "ok", "healthy": "yes"}',
        b'{"status": "ok", "healthy": true, "pid": 1}',  # another process's
    ],
)
def test_status_takes_only_the_services_own_health(
    answer: bytes,
    service: Service,
    announced: ServiceLock,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    with _answering(answer) as url:
        announced.announce(url)
        assert main(["--config", str(tmp_path / "cityfeeds.toml"), "status", "--check"]) == 1
    out = capsys.readouterr().out
    assert "health: unresponsive" in out and f"gave no health of its own at {url}healthz" in out


def test_status_shows_the_services_reason_on_one_line(
    service: Service, announced: ServiceLock, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    said = {"status": "failing", "healthy": False, "reason": "disk\nfull\x1b[31m", "pid": None}
    with _answering(json.dumps(said).encode()) as url:
        announced.announce(url)
        assert main(["--config", str(tmp_path / "cityfeeds.toml"), "status", "--check"]) == 1
    out = capsys.readouterr().out
    assert "health: failing" in out and "why: disk full [31m\n" in out


@contextlib.contextmanager
def _answering(body: bytes) -> Iterator[str]:
    """A loopback HTTP server answering every GET with ``body``; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_an_ipv6_server_is_named_with_brackets(tmp_path: Path) -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    web = WebServer(tmp_path, "::1", 0, []).start()
    try:
        assert web.url == web.local_url == f"http://[::1]:{web.port}/"
    finally:
        web.stop()
    wildcard = WebServer(tmp_path, "::", 0, []).start()
    try:
        assert wildcard.url == f"http://[::]:{wildcard.port}/"
        assert wildcard.local_url == f"http://[::1]:{wildcard.port}/"
    finally:
        wildcard.stop()
