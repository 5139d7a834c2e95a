"""The application clock: aware UTC time, injected wherever a time matters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

#: A clock: called for the current time, which is always time-zone aware.
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, aware, in UTC (the default clock)."""
    return datetime.now(UTC)


#: How a time is shown to people (summaries, run messages, status notes, log lines): to the
#: second, with the offset of the zone it is shown in (``2026-12-06 10:25:01 +0300``).
USER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def user_time(value: datetime | str, timezone: str) -> str:
    """``value`` (aware, or ISO 8601 text as stored in a run) for people, in ``timezone``
    (the schedule's): ``2026-12-06 10:25:01 +0300``, never microseconds or UTC mixed in."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value  # not a time: shown as it is
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone)).strftime(USER_TIME_FORMAT)
