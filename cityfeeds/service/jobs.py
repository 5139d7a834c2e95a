"""The APScheduler side of the service: one job per source, and what its events mean."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from cityfeeds.schedule import (
    capped_jitter,
    first_run_time,
    make_trigger,
    misfire_grace,
    source_schedule,
    spread_anchors,
)
from cityfeeds.status.health import OK_RESULTS
from crawler.config import Config, parse_interval
from crawler.storage import Store

logger = logging.getLogger(__name__)

#: Prefix of a source's job id (``crawl:<source>``).
JOB_PREFIX = "crawl:"

#: The daily retention job (``[retention]``, as ``cityfeeds prune``).
PRUNE_JOB = "prune"
PRUNE_EVERY = timedelta(days=1)
#: The first prune waits this long after start-up: a restart's first crawls (and a first
#: prune of a big store) then never compete for the database's write lock.
PRUNE_DELAY = timedelta(hours=1)


def build_scheduler(
    config: Config,
    tz: ZoneInfo,
    store: Store,
    *,
    workers: int,
    period_of: Callable[[str], float],
    now: datetime,
    run_source: Callable[[str], str],
    on_event: Callable[[JobEvent], None],
    on_executed: Callable[[JobEvent], None],
    rebuild_every: float | None = None,
    request_rebuild: Callable[[], None] | None = None,
    prune: Callable[[], None] | None = None,
) -> BackgroundScheduler:
    """A scheduler with one job per enabled source (and, distributed, a periodic rebuild).

    ``prune``, if given, runs once a day from :data:`PRUNE_DELAY` after start-up, in a thread
    of its own so it never takes a crawl's slot.

    ``period_of(name)`` gives a source's seconds between runs; ``run_source(name)`` is the job;
    ``on_event`` hears skipped, missed and failed jobs, ``on_executed`` finished ones.
    """
    # The listeners below say each skipped or missed run in the service's words, with the
    # source's name; APScheduler's own WARNING for the same event would say it twice. Its
    # errors (a job that raised) still show.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    logging.getLogger("apscheduler.executors").setLevel(logging.ERROR)
    scheduler = BackgroundScheduler(
        timezone=tz,
        executors={
            "default": ThreadPoolExecutor(max_workers=workers),
            "maintenance": ThreadPoolExecutor(max_workers=1),
        },
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    scheduler.add_listener(on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    scheduler.add_listener(on_executed, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    anchors = _spread(config, period_of) if config.schedule.spread else {}
    for src in config.sources:
        if not src.enabled:
            continue
        period = period_of(src.name)
        last = store.recent_runs(src.name, limit=1)
        last_started = last[0]["started_at"] if last else None
        last_ok = not last or last[0].get("status") in OK_RESULTS
        due = first_run_time(last_started, period, now, last_ok=last_ok)
        jitter = capped_jitter(config.schedule.jitter, period)
        anchor = anchors.get(src.name)
        # Interval schedules keep their cadence across restarts: anchored at their phase
        # (spread), else at the last run.
        trigger = make_trigger(
            source_schedule(config, src), tz, jitter=jitter, start=anchor or last_started
        )
        extra: dict[str, Any] = {}
        if due is not None and (anchor is None or not last_ok):
            # With a phase, a source merely due waits for it (under one period): catching up
            # at once would put every source back in step after a restart. One whose last
            # run did not succeed (cut short by a crash, or failed) is retried at once, then
            # keeps its phase: a service restarted every few seconds would otherwise never
            # reach the phase, and its sources would starve. The backoff check still applies.
            # APScheduler runs on the real clock, whatever clock the service was given.
            extra["next_run_time"] = datetime.now(tz)
        scheduler.add_job(
            run_source,
            trigger,
            args=[src.name],
            id=JOB_PREFIX + src.name,
            name=f"crawl {src.name}",
            misfire_grace_time=misfire_grace(period),
            coalesce=True,  # after downtime: one catch-up run, not one per missed tick
            max_instances=1,  # a tick while the source still runs is skipped and counted
            **extra,
        )
    if rebuild_every:
        assert request_rebuild is not None
        scheduler.add_job(
            request_rebuild,
            IntervalTrigger(seconds=rebuild_every, timezone=tz),
            id="rebuild",
            name="rebuild feeds",
            misfire_grace_time=int(rebuild_every),
        )
    if prune is not None:
        scheduler.add_job(
            prune,
            IntervalTrigger(
                seconds=PRUNE_EVERY.total_seconds(),
                start_date=datetime.now(tz) + PRUNE_DELAY,  # APScheduler's real clock
                timezone=tz,
            ),
            id=PRUNE_JOB,
            name="prune the store",
            executor="maintenance",
            misfire_grace_time=int(PRUNE_DELAY.total_seconds()),
        )
    return scheduler


def _spread(config: Config, period_of: Callable[[str], float]) -> dict[str, datetime]:
    """The phase anchor of each enabled interval-scheduled source (grouped by period)."""
    groups: dict[float, list[str]] = {}
    for src in config.sources:
        if src.enabled and parse_interval(source_schedule(config, src)) is not None:
            groups.setdefault(period_of(src.name), []).append(src.name)
    anchors: dict[str, datetime] = {}
    for period, names in groups.items():
        anchors.update(spread_anchors(names, period))
    return anchors


def note_job_event(store: Store, event: JobEvent, *, state_lock: threading.Lock) -> None:
    """Count a tick skipped because the source still runs; log missed and failed jobs."""
    if not str(event.job_id).startswith(JOB_PREFIX):
        # The rebuild and prune jobs: no source's state to count anything in.
        logger.warning("job %s: %s", event.job_id, getattr(event, "exception", None) or "missed")
        return
    name = str(event.job_id).removeprefix(JOB_PREFIX)
    if event.code == EVENT_JOB_MAX_INSTANCES:
        # The previous run of this source is still going: skip this tick (never queue it).
        with state_lock:
            state = store.get_source_state(name)
            store.set_source_state(
                name, skipped_overlaps=int(state.get("skipped_overlaps") or 0) + 1
            )
        logger.warning("[%s] still running at its next scheduled time: run skipped", name)
    elif event.code == EVENT_JOB_MISSED:
        logger.warning(
            "[%s] run of %s missed (too late to start): waiting for the next one",
            name,
            event.scheduled_run_time,
        )
    else:
        logger.error("[%s] job raised: %s", name, getattr(event, "exception", None))
