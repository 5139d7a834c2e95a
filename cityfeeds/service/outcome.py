"""Bookkeeping after a scheduled run: failure streak, backoff, last success, one log line."""

from __future__ import annotations

import logging
import threading
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


def queued_failure_streak(store: Store, name: str, queued_run: Any) -> int:
    """Failed runs of ``name`` in a row before ``queued_run``, newest first (interrupted and
    deferred runs skipped, the count stops at a run that succeeded or is still running)."""
    streak = 0
    for r in store.recent_runs(name, limit=STREAK_RUNS):
        if r.get("id") == queued_run or r.get("status") in NO_FAULT_RESULTS:
            continue
        if r.get("status") not in FAILED_RESULTS:
            break
        streak += 1
    return streak


#: Runs :func:`queued_failure_streak` looks back at (the backoff is at its longest long before).
STREAK_RUNS = 50


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
        if ok and stats.get("mode") == "distributed":
            # Only queued yet: the workers decide the run later. The runs they have decided
            # say whether the source is failing, so its backoff applies a cycle late.
            failures = queued_failure_streak(store, name, run.get("id"))
            ok = not failures
            queued_failing = bool(failures)
        elif not no_fault:
            failures = 0 if ok else failures + 1
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
