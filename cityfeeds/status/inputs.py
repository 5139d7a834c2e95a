"""Read what the status computation needs from the store and the schedules, in one snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cityfeeds.schedule import make_trigger, schedule_period, schedule_zone, source_schedule
from cityfeeds.status.health import HISTORY_RUNS, SourceInputs
from crawler.config import Config, parse_interval
from crawler.storage import Store


def collect_inputs(
    config: Config,
    store: Store,
    now: datetime,
    *,
    next_runs: dict[str, datetime | None] | None = None,
    runs_per_source: int = HISTORY_RUNS + 2,
) -> tuple[list[SourceInputs], list[dict[str, Any]]]:
    """Read what :func:`~cityfeeds.status.health.compute_status` needs, in one snapshot.

    ``next_runs`` comes from a live scheduler; None estimates it from the schedules.
    """
    tz = schedule_zone(config)
    inputs = []
    with store.snapshot():
        newest = store.newest_published()
        builds = store.feed_build_status()
        for src in config.sources:
            schedule = source_schedule(config, src)
            period = schedule_period(schedule, tz, now)
            runs = store.recent_runs(src.name, limit=runs_per_source)
            state = store.get_source_state(src.name)
            if next_runs is not None:
                nxt = next_runs.get(src.name)
            elif not src.enabled:
                nxt = None
            else:
                nxt = _estimate_next_run(schedule, tz, period, runs, now)
                if state.get("backoff_until") and state["backoff_until"] > (nxt or now):
                    nxt = state["backoff_until"]
            inputs.append(
                SourceInputs(src.name, src.enabled, period, runs, state, newest.get(src.name), nxt)
            )
    return inputs, builds


def _estimate_next_run(
    schedule: str,
    tz: ZoneInfo,
    period: float,
    runs: list[dict[str, Any]],
    now: datetime,
) -> datetime | None:
    if parse_interval(schedule) is not None:
        last = runs[0]["started_at"] if runs else None
        return max(now, last + timedelta(seconds=period)) if last else now
    return make_trigger(schedule, tz).get_next_fire_time(None, now)
