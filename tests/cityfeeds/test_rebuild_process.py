"""Feed rebuilds in a recycled child process: results, recycling, a hung or killed child."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cityfeeds.service import Service, ServiceOptions, rebuild_process
from cityfeeds.service.rebuild_process import RebuildFailed, RebuildProcess
from crawler.config import Config
from crawler.storage import Store
from tests.cityfeeds.service_fakes import FakeCrawl, config_with, source, wait_for
from tests.conftest import ROOT


@pytest.fixture
def config(tmp_path: Path) -> Config:
    cfg = config_with(tmp_path, [source("alpha")])
    Store.open(cfg.database_url).close()  # the schema exists before anyone locks the file
    return cfg


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (its parent has not reaped it yet).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def test_builds_in_a_child_and_replaces_it_after_max_builds(config: Config) -> None:
    rebuild = RebuildProcess(config, max_builds=2)
    try:
        first = rebuild()
        child = rebuild.pid
        assert child is not None and child != os.getpid()
        assert "all" in first.items and not first.failures
        assert (config.output_dir / "all.rss").is_file()
        rebuild()  # the second build retires this child
        assert rebuild.pid is None and not _alive(child)
        rebuild()
        assert rebuild.started == 2 and rebuild.pid not in (None, child)
    finally:
        rebuild.close()
    assert rebuild.pid is None


def test_a_hung_rebuild_is_logged_killed_and_the_next_one_starts_afresh(
    config: Config, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(rebuild_process, "SLOW_REBUILD", 0.5)
    rebuild = RebuildProcess(config, timeout=60.0)
    try:
        rebuild()  # warm: the child is up (its start may take seconds on a loaded machine)
        child = rebuild.pid
        assert child is not None
        rebuild.timeout = 2.0
        # Another writer holds the database: the build's write waits (busy_timeout 30 s).
        db = sqlite3.connect(config.database_url.removeprefix("sqlite:///"), timeout=1)
        db.execute("BEGIN IMMEDIATE")
        try:
            with caplog.at_level(logging.WARNING, "cityfeeds.service.rebuild_process"):
                with pytest.raises(RebuildFailed, match="longer than 2 s"):
                    rebuild()
        finally:
            db.rollback()
            db.close()
        assert not _alive(child)
        assert "feed rebuild still running after 0.5 s" in caplog.text
        rebuild.timeout = 60.0  # a fresh child starts: seconds on a loaded machine
        report = rebuild()
        assert not report.failures and rebuild.pid not in (None, child)
    finally:
        rebuild.close()


def test_a_child_killed_mid_build_is_reported_and_replaced(config: Config) -> None:
    rebuild = RebuildProcess(config, timeout=60.0)
    try:
        rebuild()
        child = rebuild.pid
        assert child is not None
        db = sqlite3.connect(config.database_url.removeprefix("sqlite:///"), timeout=1)
        db.execute("BEGIN IMMEDIATE")
        killer = threading.Timer(1.0, os.kill, (child, signal.SIGKILL))
        killer.start()
        try:
            with pytest.raises(RebuildFailed, match=r"died \(killed by SIGKILL\)"):
                rebuild()
        finally:
            killer.cancel()
            db.rollback()
            db.close()
        assert not rebuild().failures and rebuild.started == 2
    finally:
        rebuild.close()


def test_the_child_exits_when_the_service_is_killed(config: Config, tmp_path: Path) -> None:
    # A service that builds once and is then killed with SIGKILL: no stop, no close.
    script = tmp_path / "owner.py"
    script.write_text(
        "import sys, time\n"
        "from crawler.config import load_config\n"
        "from cityfeeds.service.rebuild_process import RebuildProcess\n"
        "if __name__ == '__main__':\n"
        "    r = RebuildProcess(load_config(sys.argv[1]))\n"
        "    r()\n"
        "    print(r.pid, flush=True)\n"
        "    time.sleep(120)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, str(script), str(config.path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        assert _alive(child)
        # Stopped at the time (a SIGTERM would wait for a SIGCONT): it must go all the same.
        os.kill(child, signal.SIGSTOP)
        owner.kill()
        owner.wait(10)
        wait_for(lambda: not _alive(child), 15, "the orphaned rebuild child to exit")
    finally:
        owner.kill()
        owner.wait(10)


def test_the_service_rebuilds_in_its_child_and_stops_it(config: Config) -> None:
    options = ServiceOptions(debounce=0.1, rebuild_child_builds=3, rebuild_timeout=120)
    svc = Service(config, options, crawl=FakeCrawl())
    assert svc._rebuild_process is not None
    assert (svc._rebuild_process.max_builds, svc._rebuild_process.timeout) == (3, 120)
    svc.start()
    try:
        wait_for(lambda: svc.cycles >= 1, 60, "the first rebuild")
        child = svc._rebuild_process.pid
        assert child is not None and child != os.getpid()
    finally:
        svc.stop(grace=5)
    wait_for(lambda: not _alive(child), 10, "the rebuild child to exit with the service")
    assert (config.output_dir / "all.rss").is_file()


def test_closing_does_not_wait_for_a_stuck_rebuild(config: Config) -> None:
    # A stopped child never answers: close() kills it rather than wait for the time limit,
    # and the stuck call fails at once.
    rebuild = RebuildProcess(config, timeout=600)
    rebuild()
    child = rebuild.pid
    assert child is not None
    os.kill(child, signal.SIGSTOP)
    outcome: list[BaseException] = []

    def stuck() -> None:
        try:
            rebuild()
        except RebuildFailed as exc:
            outcome.append(exc)

    caller = threading.Thread(target=stuck)
    caller.start()
    wait_for(lambda: rebuild._lock.locked(), 10, "the stuck rebuild")
    rebuild.close(timeout=1)
    caller.join(30)
    assert not caller.is_alive() and outcome and "died" in str(outcome[0])
    assert not _alive(child)


def test_a_stopping_service_kills_a_stuck_rebuild(config: Config) -> None:
    options = ServiceOptions(debounce=0.1, rebuild_stop_wait=1)
    svc = Service(config, options, crawl=FakeCrawl())
    svc.start()
    stopper = threading.Thread(target=svc.stop, kwargs={"grace": 1})
    try:
        wait_for(lambda: svc.cycles >= 1, 60, "the first rebuild")
        assert svc._rebuild_process is not None
        child = svc._rebuild_process.pid
        assert child is not None
        os.kill(child, signal.SIGSTOP)
        svc.rebuilder.request()  # type: ignore[union-attr]
        wait_for(lambda: svc._rebuild_process._lock.locked(), 10, "the stuck rebuild")  # type: ignore[union-attr]
        stopper.start()
        stopper.join(60)
        assert not stopper.is_alive()  # stopped, not waiting out the 300 s limit
    finally:
        if stopper.ident is None:  # failed before the stop began
            svc.stop(grace=1)
    assert not _alive(child)
