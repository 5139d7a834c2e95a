"""Scheduled runs the store could not record (its database or disk full): the service's memory.

When the database cannot be written, a run leaves no row, so ``cityfeeds status`` still shows
the last good run. The service remembers such runs itself, for its ``/healthz``, ``/status``
and metrics, until a run of the source is recorded again.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cityfeeds.status.health import UnrecordedRun

#: What a crawl's start or its bookkeeping raises when the store or the disk fails (full,
#: read-only, gone): said in one line; anything else is a bug and keeps its traceback.
STORE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError)


def error_cause(exc: BaseException) -> str:
    """One line saying what went wrong, e.g. ``database or disk is full (OperationalError)``.

    SQLAlchemy's message carries the SQL, its parameters and a link over several lines: only
    the driver's own first line is kept.
    """
    inner: BaseException = exc
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, BaseException):
        inner = exc.orig
    if isinstance(inner, OSError) and inner.strerror:
        text = inner.strerror
    else:
        lines = str(inner).strip().splitlines()
        text = lines[0].strip() if lines else ""
    return f"{text} ({type(inner).__name__})" if text else type(inner).__name__


class UnrecordedRuns:
    """Per source, its latest run the store could not record; and whether the service's latest
    run overall was such a run (then the service is failing: nothing it does is recorded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, UnrecordedRun] = {}
        self._latest_failed = False

    def failed(self, source: str, cause: str, now: datetime) -> UnrecordedRun:
        """A run of ``source`` was not recorded because of ``cause``."""
        with self._lock:
            before = self._runs.get(source)
            run = UnrecordedRun(now, cause, before.count + 1 if before else 1)
            self._runs[source] = run
            self._latest_failed = True
            return run

    def recorded(self, source: str) -> None:
        """A run of ``source`` was recorded: the store shows it again."""
        with self._lock:
            self._runs.pop(source, None)
            self._latest_failed = False

    def snapshot(self) -> tuple[dict[str, UnrecordedRun], bool]:
        """The unrecorded runs by source, and whether the latest run was one of them."""
        with self._lock:
            return dict(self._runs), self._latest_failed
