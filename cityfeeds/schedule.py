"""Pure scheduling rules: triggers in an explicit zone, periods, backoff, Retry-After."""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config import Config, SourceSpec, parse_interval

#: Failures before the first backoff: one failed run is usually transient, so the next
#: scheduled run goes ahead; from the second one on, runs are skipped exponentially.
FREE_FAILURES = 1
#: Phases of spread interval schedules count from here (any fixed instant would do).
PHASE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def source_schedule(config: Config, source: SourceSpec) -> str:
    """The schedule string of ``source`` (its own, else ``[schedule] default``)."""
    return source.schedule or config.schedule.default


def schedule_zone(config: Config) -> ZoneInfo:
    """The explicit time zone of every schedule (never the host's)."""
    return ZoneInfo(config.schedule.timezone or config.timezone)


def make_trigger(
    schedule: str, tz: ZoneInfo, *, jitter: int = 0, start: datetime | None = None
) -> BaseTrigger:
    """The APScheduler trigger of a schedule string (``every 30m`` or a 5-field cron line).

    Cron fields are passed one by one rather than through ``from_crontab`` so jitter is set
    in the constructor; weekday numbers never reach here (the config rejects them, because
    APScheduler 3 counts 0 as Monday).
    """
    seconds = parse_interval(schedule)
    if seconds is not None:
        return IntervalTrigger(
            seconds=seconds, timezone=tz, jitter=jitter or None, start_date=start
        )
    minute, hour, day, month, day_of_week = schedule.split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=day_of_week,
        timezone=tz,
        jitter=jitter or None,
    )


def schedule_period(schedule: str, tz: ZoneInfo, now: datetime) -> float:
    """Seconds between two runs: the interval, or the shortest gap of the next cron fires."""
    seconds = parse_interval(schedule)
    if seconds is not None:
        return float(seconds)
    trigger = make_trigger(schedule, tz)
    fires: list[datetime] = []
    previous = None
    for _ in range(8):
        nxt = trigger.get_next_fire_time(previous, previous or now)
        if nxt is None:
            break
        fires.append(nxt)
        previous = nxt
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(fires)]
    gaps = [g for g in gaps if g > 0]
    return min(gaps) if gaps else 86400.0


def misfire_grace(period: float) -> int:
    """How late a run may still start: one period (APScheduler's default of 1 s drops runs).

    With ``coalesce``, the one run kept after a stall is the latest missed tick, which is
    always less than a period old: so a stalled or suspended scheduler catches up exactly
    once. A run queued behind busy workers for longer than that gives way to the next tick.
    """
    return max(1, int(period))


def capped_jitter(jitter: int, period: float) -> int:
    """Jitter, at most a quarter of the period, so a jittered run never lands on the next one."""
    return max(0, min(jitter, int(period // 4)))


def too_soon(last_started: datetime | None, now: datetime, period: float) -> bool:
    """True when the previous run started less than half a period ago.

    A fixed-time cron line fires twice when DST repeats an hour, and a clock stepped back
    can fire early; either way the second run would be a burst, so it is skipped.
    """
    return last_started is not None and (now - last_started).total_seconds() < period / 2


def first_run_time(
    last_started: datetime | None, period: float, now: datetime, *, last_ok: bool = True
) -> datetime | None:
    """When the first run after (re)start is due: now if overdue (one catch-up), else None.

    None means "let the trigger decide". However long the downtime, at most one catch-up
    run per source is scheduled: missed runs are not replayed. A last run that did not
    succeed (e.g. cut short by a crash: ``last_ok=False``) is retried at once; the backoff
    check at job start still applies.
    """
    if last_started is None or not last_ok or (now - last_started).total_seconds() >= period:
        return now
    return None


def backoff_seconds(
    failures: int, period: float, max_backoff: float, retry_after: float | None = None
) -> float:
    """How long a source rests after ``failures`` consecutive failed runs.

    Exponential in units of the source's period (0, 1, 3, 7, ... periods after failures
    1, 2, 3, 4, ...: the number of scheduled runs skipped doubles), never more than
    ``max_backoff``. A ``Retry-After`` from the site is honoured, capped the same way.
    """
    delay = 0.0
    if failures > FREE_FAILURES:
        exponent = min(failures - FREE_FAILURES, 30)  # 2**30 periods is beyond any cap
        delay = period * (2**exponent - 1)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return float(min(delay, max_backoff))


def backoff_until(
    failures: int,
    period: float,
    max_backoff: float,
    now: datetime,
    retry_after: float | None = None,
) -> datetime | None:
    """The end of the backoff (see :func:`backoff_seconds`), or None when there is none."""
    delay = backoff_seconds(failures, period, max_backoff, retry_after)
    return now + timedelta(seconds=delay) if delay > 0 else None


def spread_anchors(names: Iterable[str], period: float) -> dict[str, datetime]:
    """A fixed phase for each source sharing an interval: runs land evenly across the period.

    The sources are ordered by a hash of their names (stable across restarts and hosts,
    unlike start-up time) and source ``i`` of ``n`` runs at ``PHASE_EPOCH + i/n`` of the
    period, then every period. Timed from start-up instead, all sources ran together and,
    with fewer workers than sources, the last ones waited for a free worker each time.
    """
    ordered = sorted(set(names), key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    step = period / max(1, len(ordered))
    return {name: PHASE_EPOCH + timedelta(seconds=i * step) for i, name in enumerate(ordered)}


def next_phase(anchor: datetime, period: float, now: datetime) -> datetime:
    """The first run at or after ``now`` of a schedule running every ``period`` from ``anchor``."""
    steps = math.ceil((now - anchor).total_seconds() / period)
    return anchor + timedelta(seconds=steps * period)
