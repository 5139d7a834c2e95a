"""The service's memory: free heap handed back to the system, and opt-in tracing of growth.

:func:`trim_free_memory` runs after each feed rebuild: a long-lived process whose threads
allocate and free in bursts (a rebuild reads every recent article) keeps the freed pages of
glibc's heaps resident; ``malloc_trim`` returns them, so RSS follows what is in use.

``CITYFEEDS_TRACEMALLOC=MINUTES`` logs what grows. ``CITYFEEDS_TRACEMALLOC_FRAMES=0`` keeps
:mod:`tracemalloc` off (its own tables grow with what it traces and skew RSS): the dumps then
give RSS, glibc's heap, Python's allocated blocks and the object types that grew, only.

For finding a slow leak in a soak (``bench/soak.py --tracemalloc MINUTES``): the service
starts :mod:`tracemalloc`, takes a baseline snapshot after the first interval (the warm-up),
then logs, every interval, its RSS, the Python memory tracemalloc sees and the allocation
sites that grew most since the baseline. Python memory flat while RSS grows points at C
memory (SQLite, malloc fragmentation) rather than Python objects. Off unless the variable is
set: tracing costs CPU and memory of its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import os
import sys
import threading
import tracemalloc
from collections import Counter
from pathlib import Path

logger = logging.getLogger(__name__)

ENV = "CITYFEEDS_TRACEMALLOC"
FRAMES_ENV = "CITYFEEDS_TRACEMALLOC_FRAMES"
#: Frames kept per allocation (more frames tell the caller, at a cost per traced block).
FRAMES = 8
#: Allocation sites logged per dump.
TOP = 12


def rss_mib() -> float:
    """This process's resident set size in MiB (Linux), or 0.0 where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost",
        )
    ]  # fmt: skip


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def trim_free_memory() -> bool:
    """Return the free pages of glibc's heaps to the system; False where there is no glibc."""
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return False
    trim(0)
    return True


def malloc_mib() -> tuple[float, float] | None:
    """glibc's heap: (MiB in use, MiB free but held), or None off glibc (or before 2.33)."""
    mallinfo2 = getattr(_libc(), "mallinfo2", None)
    if mallinfo2 is None:
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20, info.fordblks / 2**20


@functools.cache
def _sqlite_lib() -> ctypes.CDLL | None:
    """The SQLite library the ``sqlite3`` module uses (linked or built in)."""
    import _sqlite3

    try:
        # dlsym on the extension module's handle also searches the libraries it links.
        lib = ctypes.CDLL(_sqlite3.__file__)
        lib.sqlite3_memory_used.restype = ctypes.c_int64
    except (OSError, AttributeError):
        return None
    return lib


def sqlite_bytes() -> int | None:
    """Bytes SQLite holds in this process (page caches, statements, schemas), or None.

    Each connection's page cache grows with the database up to ``cache_size`` (2 MiB by
    default): bounded growth that an RSS curve alone cannot tell from a leak.
    """
    lib = _sqlite_lib()
    return None if lib is None else int(lib.sqlite3_memory_used())


def interval_from_env(value: str | None) -> float | None:
    """The dump interval in seconds from the variable's value (minutes), None when unset/bad."""
    if not value:
        return None
    try:
        minutes = float(value)
    except ValueError:
        logger.warning("%s=%r is not a number of minutes: memory tracing off", ENV, value)
        return None
    return minutes * 60 if minutes > 0 else None


def growth_lines(
    base: tracemalloc.Snapshot, now: tracemalloc.Snapshot, top: int = TOP
) -> list[str]:
    """The ``top`` allocation sites that grew most from ``base`` to ``now``, one line each.

    Sites are grouped by traceback; a line names the innermost frame of this project or, if
    none, the innermost frame, so ``sqlalchemy/...`` lines still say who called them.
    """
    stats = [s for s in now.compare_to(base, "traceback") if s.size_diff > 0][:top]
    lines = []
    for stat in stats:
        frames = list(stat.traceback)
        ours = [
            f
            for f in frames
            if "/site-packages/" not in f.filename and "/lib/python" not in f.filename
        ]
        where = ours[-1] if ours else frames[-1]
        inner = frames[-1]
        site = f"{where.filename}:{where.lineno}"
        if inner is not where:
            site += f" -> {inner.filename}:{inner.lineno}"
        lines.append(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {site}")
    return lines


class MemoryTracer:
    """A daemon thread dumping memory growth every ``interval`` seconds (see the module doc)."""

    def __init__(self, interval: float, *, frames: int = FRAMES) -> None:
        self.interval = interval
        self.frames = frames
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._base: tracemalloc.Snapshot | None = None
        self._base_rss = 0.0
        self._base_types: Counter[str] | None = None
        self._base_blocks = 0

    @classmethod
    def from_env(cls) -> MemoryTracer | None:
        """A tracer when ``CITYFEEDS_TRACEMALLOC`` asks for one, else None."""
        interval = interval_from_env(os.environ.get(ENV))
        if interval is None:
            return None
        try:
            frames = max(0, int(os.environ.get(FRAMES_ENV) or FRAMES))
        except ValueError:
            frames = FRAMES
        return cls(interval, frames=frames)

    def start(self) -> MemoryTracer:
        """Start tracing and the dumping thread."""
        if self.frames and not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
        self._thread = threading.Thread(target=self._loop, name="cityfeeds-memtrace", daemon=True)
        self._thread.start()
        logger.warning("memory tracing on: a dump every %.0f s", self.interval)
        return self

    def stop(self) -> None:
        """Stop the thread and tracing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.frames:
            tracemalloc.stop()

    def dump(self) -> list[str]:
        """Take a snapshot; the first becomes the baseline, later ones are compared with it."""
        gc.collect()
        rss, blocks = rss_mib(), sys.getallocatedblocks()
        types = Counter(type(o).__qualname__ for o in gc.get_objects())
        snapshot = None
        if tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot().filter_traces(
                (tracemalloc.Filter(False, tracemalloc.__file__),)
            )
        if self._base_types is None:
            self._base, self._base_rss = snapshot, rss
            self._base_types, self._base_blocks = types, blocks
            return [f"baseline: RSS {rss:.1f} MiB, {blocks} Python blocks"]
        head = (
            f"RSS {rss:.1f} MiB ({rss - self._base_rss:+.2f} since the baseline),"
            f" Python blocks {blocks - self._base_blocks:+d}"
        )
        if tracemalloc.is_tracing():
            traced, peak = tracemalloc.get_traced_memory()
            head += f", traced {traced / 2**20:.2f} MiB (peak {peak / 2**20:.2f})"
        heap = malloc_mib()
        if heap is not None:
            head += f"; malloc: {heap[0]:.2f} MiB in use, {heap[1]:.2f} MiB free but held"
        held = sqlite_bytes()
        if held is not None:
            head += f"; SQLite {held / 2**20:.2f} MiB"
        grown = (types - self._base_types).most_common(6)
        lines = [head, "objects grown: " + (", ".join(f"{t} +{n}" for t, n in grown) or "none")]
        if snapshot is not None and self._base is not None:
            lines += growth_lines(self._base, snapshot)
        return lines

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                lines = self.dump()
            except Exception:  # tracing must never take the service down
                logger.exception("memory dump failed")
                continue
            logger.warning("memory: %s", "\n  ".join(lines))
