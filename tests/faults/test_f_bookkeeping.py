"""Fault catalogue F11: the service's bookkeeping survives a kill between a run and its processing.

A crawl child records its run itself; the service then applies the outcome to the source's
state. A service killed in between (kill -9 within a second of the child ending) must neither
count the next failure one too many nor keep a backoff that a success has ended.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cityfeeds.service import Service, ServiceOptions
from crawler.config import Config
from crawler.storage import RunStats, Store
from crawler.supervisor import CrawlOutcome
from tests.cityfeeds.service_fakes import Clock, config_with, source

pytestmark = [pytest.mark.fault]

PERIOD = timedelta(minutes=10)


class RecordingCrawl:
    """Stands in for crawl_subprocess as it works: the run is recorded in the store by the
    crawl itself, before the service sees its outcome."""

    def __init__(self, clock: Clock, statuses: list[str]) -> None:
        self.clock = clock
        self.statuses = statuses

    def __call__(self, config: Config, sources: list[str], **kwargs: Any) -> CrawlOutcome:
        name = sources[0]
        run = recorded_run(kwargs["store"], name, self.statuses.pop(0), self.clock)
        return CrawlOutcome(returncode=0, killed=False, duration=1.0, runs={name: run})


def recorded_run(store: Store, name: str, status: str, clock: Clock) -> dict[str, Any]:
    """A run of ``name`` recorded as a crawl child records it, ending 5 s after ``clock``."""
    run_id = store.start_run(name, now=clock.now)
    message = "HTTP 500: http://127.0.0.1:9/rss.xml" if status == "failed" else None
    store.finish_run(
        run_id, status=status, stats=RunStats(), now=clock.now + timedelta(seconds=5),
        message=message,
    )  # fmt: skip
    return store.get_run(run_id) or {}


def service(tmp_path: Path, clock: Clock, statuses: list[str]) -> Service:
    cfg = config_with(tmp_path, [source("alpha", "every 10m")], max_backoff=3600)
    return Service(cfg, crawl=RecordingCrawl(clock, statuses), clock=clock, rebuild=lambda: None)


# (runs the service processed, runs recorded but never processed: it was killed, the next
# run's status, failures in a row after it, whether the source then backs off)
CASES = [
    (["failed"], ["ok"], "failed", 1, False),
    (["failed", "failed"], ["ok"], "failed", 1, False),
    (["failed"], ["ok", "failed"], "failed", 2, True),
    (["ok"], ["failed"], "failed", 2, True),
    (["failed"], ["interrupted"], "failed", 2, True),
    (["failed", "failed"], ["ok"], "ok", 0, False),
]


@pytest.mark.parametrize(("processed", "missed", "next_status", "streak", "backs_off"), CASES)
def test_f11_the_next_outcome_counts_the_runs_the_service_never_processed(
    tmp_path: Path,
    processed: list[str],
    missed: list[str],
    next_status: str,
    streak: int,
    backs_off: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    svc = service(tmp_path, clock, [*processed, next_status])
    for status in processed:
        assert svc.run_source("alpha") == status
        clock.advance(minutes=10)
    for status in missed:  # the child recorded it; the service was killed before it knew
        recorded_run(svc.store, "alpha", status, clock)
        clock.advance(minutes=10)
    svc._launched.clear()  # a new service process: nothing launched yet
    clock.advance(hours=2)  # past any backoff the processed runs set
    caplog.set_level("ERROR", logger="cityfeeds.service.outcome")
    assert svc.run_source("alpha") == next_status
    state = svc.store.get_source_state("alpha")
    assert state["consecutive_failures"] == streak
    assert (state["backoff_until"] is not None) == backs_off
    if next_status == "failed":
        assert f"(failed ({streak} in a row)" not in caplog.text
        assert f"crawl failed ({streak} in a row)" in caplog.text
    report = svc.status_report().sources[0]
    assert report.consecutive_failures == streak
    svc.store.close()


# (runs the service processed, runs recorded but never processed, the state after a restart:
# failures in a row, whether the source backs off, whether its last success moved)
RESTARTS = [
    (["failed", "failed"], ["ok"], 0, False, True),
    (["failed"], ["failed"], 2, True, False),
    (["ok"], ["failed", "failed"], 2, True, False),
    (["failed"], ["ok", "failed"], 1, False, True),
    (["ok", "failed"], [], 1, False, False),  # nothing missed: nothing changes
]


@pytest.mark.parametrize(("processed", "missed", "streak", "backs_off", "new_success"), RESTARTS)
def test_f11_a_restart_applies_the_runs_the_killed_service_never_processed(
    tmp_path: Path,
    processed: list[str],
    missed: list[str],
    streak: int,
    backs_off: bool,
    new_success: bool,
) -> None:
    clock = Clock()
    svc = service(tmp_path, clock, list(processed))
    for _ in processed:
        svc.run_source("alpha")
        clock.advance(minutes=10)
    before = svc.store.get_source_state("alpha")
    for status in missed:
        recorded_run(svc.store, "alpha", status, clock)
        clock.advance(seconds=30)  # killed at once, restarted by systemd
    svc.store.close()

    restarted = service(tmp_path, clock, [])
    assert restarted.reconcile_states() == (["alpha"] if missed else [])
    state = restarted.store.get_source_state("alpha")
    assert state["consecutive_failures"] == streak
    assert (state["backoff_until"] is not None) == backs_off
    if backs_off:  # timed from the end of the run that failed, as the service would have
        last = restarted.store.recent_runs("alpha", limit=1)[0]
        assert state["backoff_until"] == last["finished_at"] + PERIOD
    assert (state["last_success"] != before["last_success"]) == new_success
    restarted.store.close()


def test_f11_the_service_start_applies_what_it_missed(tmp_path: Path) -> None:
    clock = Clock()
    svc = service(tmp_path, clock, ["failed", "failed"])
    svc.run_source("alpha")
    clock.advance(minutes=10)
    svc.run_source("alpha")  # 2 in a row: backing off one period
    assert svc.store.get_source_state("alpha")["backoff_until"] is not None
    clock.advance(minutes=10)
    recorded_run(svc.store, "alpha", "ok", clock)  # then killed before it knew
    svc.store.close()

    cfg = svc.config
    restarted = Service(
        cfg, ServiceOptions(serve=False), crawl=RecordingCrawl(clock, ["ok"]), clock=clock,
        rebuild=lambda: None,
    )  # fmt: skip
    restarted.start()
    try:
        state = restarted.store.get_source_state("alpha")
        assert (state["consecutive_failures"], state["backoff_until"]) == (0, None)
    finally:
        restarted.stop(grace=5)


def test_f11_a_crawl_between_two_services_is_applied_without_a_false_alarm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A tester's find: after a plain `cityfeeds crawl` (the documented crontab set-up), the
    next service start warned that the service "was killed" before it applied the run."""
    clock = Clock()
    first = service(tmp_path, clock, [])
    recorded_run(first.store, "alpha", "ok", clock)  # a `cityfeeds crawl` while none runs
    first.store.close()
    clock.advance(minutes=10)
    restarted = service(tmp_path, clock, [])
    with caplog.at_level("INFO", logger="cityfeeds.service.outcome"):
        assert restarted.reconcile_states() == ["alpha"]
    [line] = [r for r in caplog.records if r.name == "cityfeeds.service.outcome"]
    assert line.levelname == "INFO" and "killed" not in line.getMessage()
    assert "a `cityfeeds crawl` meanwhile" in line.getMessage()
    assert restarted.store.get_source_state("alpha")["last_success"] is not None
    restarted.store.close()
