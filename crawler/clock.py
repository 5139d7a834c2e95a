"""The application clock: aware UTC time, injected wherever a time matters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: A clock: called for the current time, which is always time-zone aware.
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, aware, in UTC (the default clock)."""
    return datetime.now(UTC)
