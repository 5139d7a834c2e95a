"""Bookkeeping after a scheduled run: failure streak, backoff, last success, one log line."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cityfeeds.schedule import backoff_until
from cityfeeds.service.unrecorded import error_cause
from cityfeeds.status.health import FAILED_RESULTS, NO_FAULT_RESULTS, OK_RESULTS
from crawler.clock import user_time
from crawler.config import Config
from crawler.normalize.dates import parse_retry_after
from crawler.storage import Store
from crawler.supervisor import CrawlOutcome

logger = logging.getLogger(__name__)


def shutdown_message(stop_signal: str | None = None) -> str:
    """The message of a run the service's own shutdown cut short (``stop_signal``: SIGTERM...)."""
    return "interrupted by the service's shutdown" + (f" ({stop_signal})" if stop_signal else "")


def failure_streak(runs: Iterable[dict[str, Any]], *, skip: Any = None) -> int:
    """Failed runs in a row among ``runs`` (newest first): interrupted and deferred runs (and
    the run whose id is ``skip``) are skipped; the count stops at a run that succeeded or is
    still running. The runs are the truth: what the service wrote in a source's state may miss
    a run it never processed (it was killed after its child recorded the run)."""
    streak = 0
    for r in runs:
        if (skip is not None and r.get("id") == skip) or r.get("status") in NO_FAULT_RESULTS:
            continue
        if r.get("status") not in FAILED_RESULTS:
            break
        streak += 1
    return streak


def queued_failure_streak(store: Store, name: str, queued_run: Any) -> int:
    """Failed runs of ``name`` in a row before ``queued_run``, newest first (interrupted and
    deferred runs skipped, the count stops at a run that succeeded or is still running)."""
    return failure_streak(store.recent_runs(name, limit=STREAK_RUNS), skip=queued_run)


#: Runs :func:`failure_streak` looks back at (the backoff is at its longest long before).
STREAK_RUNS = 50


def _recorded_runs(
    store: Store, name: str, run_id: Any, status: str
) -> list[dict[str, Any]] | None:
    """The recent runs of ``name`` with run ``run_id`` given its final ``status`` (its row may
    still say ``running`` when closing it failed); None when that run is not among them (it
    has no row: its crawl could not start, or the store is not the one it was recorded in)."""
    if run_id is None:
        return None
    runs = store.recent_runs(name, limit=STREAK_RUNS)
    if not any(r.get("id") == run_id for r in runs):
        return None
    return [{**r, "status": status} if r.get("id") == run_id else r for r in runs]


def _missed_success(runs: Iterable[dict[str, Any]], known: datetime | None) -> datetime | None:
    """When the newest successful run among ``runs`` (newest first) ended, if it started
    after ``known`` (the last success the state has): a success the state never got."""
    for r in runs:
        if r.get("status") in OK_RESULTS:
            started = r.get("started_at")
            # Its start, not its end: the state's time is when the service heard of a run,
            # always after that run started, whatever clock the service was given.
            if started is not None and (known is None or started > known):
                return r.get("finished_at") or started
            return None
    return None


def reconcile_source_state(
    store: Store, config: Config, name: str, *, now: datetime, period: float
) -> bool:
    """Bring ``name``'s state up to date with its recorded runs; True when it was stale.

    A crawl child records its run itself; the service then applies the outcome to the
    source's state (failure streak, backoff, last success). A service killed in between
    (kill -9, the OOM killer), or a ``cityfeeds crawl`` while no service ran, leaves the run
    recorded and the state behind: a success not applied would make the next failure count
    one too many and back off too early. So at start-up the state is checked against the
    runs: a success newer than its last success, or a longer failure streak than it counts,
    is applied as the service would have, the backoff timed from the run's end. (A larger
    count than the runs show is kept: failures that left no run row, e.g. a crawl that could
    not start, count too.)
    """
    finished = [
        r for r in store.recent_runs(name, limit=STREAK_RUNS) if r.get("status") != "running"
    ]
    if not finished or (finished[0].get("stats") or {}).get("mode") == "distributed":
        # Queued runs are decided by the workers later: the next queueing counts them.
        return False
    last = finished[0]
    state = store.get_source_state(name)
    counted = int(state.get("consecutive_failures") or 0)
    streak = failure_streak(finished)
    success = _missed_success(finished, state.get("last_success"))
    if success is None and not (last.get("status") in FAILED_RESULTS and streak > counted):
        return False
    status = str(last.get("status"))
    ended = last.get("finished_at") or now
    retry_after = parse_retry_after((last.get("stats") or {}).get("retry_after"), ended)
    until = backoff_until(
        streak if status in FAILED_RESULTS else 0,
        period,
        config.schedule.max_backoff,
        ended,
        retry_after if status != "interrupted" else None,
    )
    values: dict[str, Any] = {
        "consecutive_failures": streak,
        "backoff_until": until if until is not None and until > now else None,
        "last_status": status,
    }
    if success is not None:
        values["last_success"] = success
    store.set_source_state(name, **values)
    # Most often a `cityfeeds crawl` between two runs of the service (the documented crontab
    # set-up), less often a service killed before it could: neither needs anyone's attention.
    logger.info(
        "[%s] state brought up to date with the runs recorded since the service last saw it"
        " (a `cityfeeds crawl` meanwhile, or a service stopped before it could): last run %s,"
        " %d failure(s) in a row",
        name,
        status,
        streak,
    )
    return True


def record_outcome(
    store: Store,
    config: Config,
    name: str,
    outcome: CrawlOutcome | None,
    error: BaseException | None,
    *,
    now: datetime,
    period: float,
    stopping: bool,
    state_lock: threading.Lock,
    stop_signal: str | None = None,
) -> str:
    """Update the source's failure count and backoff after a run, log it; returns its status.

    ``stopping``: the service is shutting down, so a failed run was cut short by it and
    counts neither as a failure nor for backoff; its record says so
    (:func:`shutdown_message`, with ``stop_signal``, the signal the service got), not the
    signal the service sent its child.
    """
    run = (outcome.runs.get(name) if outcome else None) or {}
    status = str(run.get("status") or "failed")
    if outcome is not None and outcome.killed:
        status = "killed"
    ok = status in OK_RESULTS
    if not ok and stopping:
        # Stopped by our own shutdown: not the source's fault, no backoff.
        stopped_here = status == "interrupted" or (outcome is not None and outcome.returncode != 0)
        if stopped_here and run.get("id") is not None:
            store.close_run(
                int(run["id"]),
                status="interrupted",
                now=now,
                message=shutdown_message(stop_signal),
                only_running=False,
            )
        logger.warning("[%s] crawl interrupted by the shutdown", name)
        return "interrupted"
    stats = run.get("stats") or {}
    retry_after = parse_retry_after(stats.get("retry_after"), now)
    # A deferral (the site asked to come back later) or an interrupt is no failure: the
    # count of failures stays, and a deferral's next attempt waits for the given time.
    no_fault = status in ("deferred", "interrupted")
    with state_lock:
        state = store.get_source_state(name)
        failures = int(state.get("consecutive_failures") or 0)
        queued_failing = False
        missed_success: datetime | None = None  # a success recorded but never applied
        if ok and stats.get("mode") == "distributed":
            # Only queued yet: the workers decide the run later. The runs they have decided
            # say whether the source is failing, so its backoff applies a cycle late.
            failures = queued_failure_streak(store, name, run.get("id"))
            ok = not failures
            queued_failing = bool(failures)
        elif not no_fault:
            runs = _recorded_runs(store, name, run.get("id"), status)
            # Counted from the recorded runs when this one is among them: a run the service
            # never processed (killed in between) counts as what it was, never as one more
            # failure. A failure that left no row (the crawl could not start) adds one.
            failures = failure_streak(runs) if runs is not None else 0 if ok else failures + 1
            missed_success = _missed_success(runs or (), state.get("last_success"))
        until = backoff_until(
            failures if not no_fault else 0,
            period,
            config.schedule.max_backoff,
            now,
            retry_after if status != "interrupted" else None,
        )
        values: dict[str, Any] = {
            "consecutive_failures": failures,
            "backoff_until": until,
            "last_status": status,
        }
        if ok:
            values["last_success"] = now
        elif missed_success is not None:
            values["last_success"] = missed_success
        store.set_source_state(name, **values)
    if queued_failing:
        logger.error(
            "[%s] queued for workers; its last %d run(s) failed%s",
            name,
            failures,
            f"; backing off until {user_time(until, config.schedule.timezone)}" if until else "",
        )
    elif status == "deferred":
        logger.warning(
            "[%s] crawl deferred: %s new, %s updated; %s",
            name,
            run.get("new", 0),
            run.get("updated", 0),
            f"waiting until {until.isoformat(timespec='seconds')}" if until else "no wait",
        )
    elif ok and stats.get("mode") == "distributed":
        # Only queued: nothing was crawled yet, so no crawl figures and nothing to warn about
        # (its message, "queued N discovery request(s)", is no note).
        logger.info("[%s] %s", name, run.get("message") or "queued for workers")
    elif ok or no_fault:
        # A success with a note (a feed not read, or read in part) is worth a warning.
        note = run.get("message") if status != "interrupted" else None
        (logger.warning if note else logger.info)(
            "[%s] crawl %s: %s new, %s updated, %s pages%s",
            name, status, run.get("new", 0), run.get("updated", 0), run.get("pages", 0),
            f"; {note}" if note else "",
        )  # fmt: skip
    else:
        why = run.get("message") or (f"could not start: {error_cause(error)}" if error else "")
        logger.error(
            "[%s] crawl %s (%d in a row)%s%s",
            name,
            status,
            failures,
            f": {why}" if why else "",
            f"; backing off until {user_time(until, config.schedule.timezone)}" if until else "",
        )
    return status
