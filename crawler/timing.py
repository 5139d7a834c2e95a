"""Per-stage CPU time of page processing, for the run's ``timing/*`` figures.

The pure libraries mark their costly stages with ``with stage("parse"):``; nothing is measured
unless a caller is :func:`recording` (the crawl's page processing is, once per page), so a test,
a script or ``cityfeeds extract`` pays one context-variable read per stage. Times are the
calling thread's CPU time (``time.thread_time``), so other processes on the machine do not
inflate them. A stage inside another (``sanitize`` within ``extract``) is counted in both.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["Timings", "recording", "stage"]

#: Seconds of CPU per stage name.
Timings = dict[str, float]

_current: ContextVar[Timings | None] = ContextVar("cityfeeds_timings", default=None)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the CPU time of the block to ``name`` in the timings being recorded, if any."""
    timings = _current.get()
    if timings is None:
        yield
        return
    start = time.thread_time()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.thread_time() - start


@contextmanager
def recording(timings: Timings | None = None) -> Iterator[Timings]:
    """Record the stages run in the block into ``timings`` (a new dict by default)."""
    timings = {} if timings is None else timings
    token = _current.set(timings)
    try:
        yield timings
    finally:
        _current.reset(token)
