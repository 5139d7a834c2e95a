"""Fault catalogue E7: the SQLite database file deleted or replaced while the service runs.

The service keeps the file it opened; its crawl children open the database by name and would
create and fill another file, each run then recorded (in the deleted file) as "crawl process
exited with 0", /healthz ok and the feeds frozen. It now says so and stops (exit status 1).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cityfeeds.service import Service, ServiceOptions
from cityfeeds.service.core import DatabaseFileGone
from crawler.config import Config, sqlite_file
from crawler.storage import Store
from crawler.supervisor import UNREAD, CrawlOutcome, _collect
from tests.cityfeeds.service_fakes import Clock, FakeCrawl, config_with, source

pytestmark = [pytest.mark.fault]


def _delete(path: Path) -> None:
    path.unlink()


def _replace(path: Path) -> None:
    # A backup restored over it: another file (another inode) under the same name.
    copy = path.with_name("restored.sqlite")
    shutil.copyfile(path, copy)
    os.replace(copy, path)


@pytest.mark.parametrize(("change", "said"), [(_delete, "deleted"), (_replace, "replaced")])
def test_e7_a_database_file_gone_stops_crawls_and_rebuilds_and_fails_health(
    tmp_path: Path, change: Any, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config_with(tmp_path, [source("alpha", "every 10m")])
    crawl = FakeCrawl()
    rebuilt: list[int] = []
    svc = Service(cfg, crawl=crawl, clock=Clock(), rebuild=lambda: rebuilt.append(1))  # type: ignore[arg-type, return-value]
    database = sqlite_file(cfg.database_url)
    assert database is not None
    try:
        assert svc.run_source("alpha") == "ok"  # opens the store
        assert svc.status_report().health.status != "failing"
        change(database)
        caplog.set_level(logging.ERROR, logger="cityfeeds.service.core")
        for _ in range(3):
            assert svc.run_source("alpha") == "stopping"
        assert crawl.calls == ["alpha"]  # no crawl into another file
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, errors  # said once
        assert f"database file {database} was {said}" in errors[0]
        assert svc.fatal is not None and said in svc.fatal
        health = svc.status_report().health
        assert (health.status, health.healthy) == ("failing", False)
        assert health.reason is not None and said in health.reason
        with pytest.raises(DatabaseFileGone):
            svc._guarded_rebuild()
        assert rebuilt == []  # nothing published from another file
    finally:
        svc.store.close()


def test_e7_the_service_stops_with_exit_status_1(tmp_path: Path) -> None:
    """The file deleted during a crawl: the service stops on its own, exit status 1 (systemd
    restarts it, on the file now at that path), without publishing from another file."""
    cfg = config_with(tmp_path, [source("alpha", "every 1m")])
    database = sqlite_file(cfg.database_url)
    assert database is not None
    rebuilt: list[int] = []

    def deleting_crawl(config: Config, sources: list[str], **kwargs: Any) -> CrawlOutcome:
        database.unlink()  # meanwhile, someone deletes the database
        return CrawlOutcome(returncode=0, killed=False, duration=0.1, runs={})

    svc = Service(
        cfg,
        ServiceOptions(serve=False, debounce=0.05, grace=5),
        crawl=deleting_crawl,
        rebuild=lambda: rebuilt.append(1),  # type: ignore[arg-type, return-value]
    )
    # A watchdog, so a regression fails the test instead of hanging it.
    watchdog = threading.Timer(60, os.kill, (os.getpid(), signal.SIGTERM))
    watchdog.start()
    try:
        assert svc.run_forever() == 1
    finally:
        watchdog.cancel()
    assert svc.fatal is not None and "deleted" in svc.fatal


@pytest.mark.parametrize("row", ["left running", "gone"])
def test_e7_a_child_that_exited_0_without_its_outcome_is_not_said_to_have_exited_0(
    tmp_path: Path, row: str
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'e7.sqlite'}")
    try:
        run_id = store.start_run("s", now=datetime(2026, 12, 6, 10, 0, tzinfo=UTC))
        if row == "gone":
            run_id += 100  # the row the child was given is not in this database
        run = _collect(store, {"s": run_id}, 0, False, False, 6.0, 60.0).runs["s"]
        assert (run["status"], run["message"]) == ("failed", UNREAD)
        assert "exited with 0" not in UNREAD and "deleted or replaced" in UNREAD
    finally:
        store.close()
