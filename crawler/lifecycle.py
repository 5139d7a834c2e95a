"""Crawl processes' lifecycle: die with the parent, one crawl per source, dead runs closed.

* :func:`die_with_parent`: a crawl child (or extraction worker) must not outlive the process
  that started it, even when that one is killed with SIGKILL: ``PR_SET_PDEATHSIG`` on Linux,
  a thread watching ``os.getppid()`` elsewhere.
* :class:`SourceLocks`: ``flock`` files, one per source, in the data folder. The kernel frees
  them when the holder dies (even by SIGKILL), so a stale lock never blocks the next crawl.
* :func:`close_dead_runs`: a run row left ``running`` by a process that no longer exists is
  closed as ``interrupted`` (docs/runs.md).
* :func:`tune_gc`: fewer garbage collections in the crawl processes.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import hashlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.config import Config, sqlite_file
from crawler.storage import StoreError, store_error_line

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
#: The crawl child learns its parent's pid from this variable (to catch a parent that died
#: between fork and ``prctl``).
PARENT_ENV = "CITYFEEDS_PARENT_PID"
#: Exit status of a crawl stopped by SIGINT/SIGTERM (128 + SIGINT, as shells report Ctrl-C).
INTERRUPTED_EXIT = 130
#: Exit status of a crawl child whose config file does not load (sysexits' EX_CONFIG): the
#: file was edited since the service, which keeps the config it started with, read it.
CONFIG_EXIT = 78
#: A process started this long after a run began cannot be the run's owner (pid reuse).
_START_SLACK = timedelta(seconds=2)


def hostname() -> str:
    """This machine's name, as recorded with each run's owner pid."""
    return socket.gethostname()


def data_dir(config: Config) -> Path:
    """Where locks and bookkeeping live: the SQLite file's folder, else ``./data``."""
    database = sqlite_file(config.database_url)
    if database is not None:
        return database.resolve().parent
    return (config.root / "data").resolve()


def _database_key(url: str) -> str:
    """A file name for the database ``url`` names: the SQLite file's name, else a digest."""
    database = sqlite_file(url)
    if database is not None:
        return database.name
    return "db-" + hashlib.sha256(url.encode()).hexdigest()[:12]


# -- the garbage collector -------------------------------------------------------------------

#: Allocations (less deallocations) between two collections of the youngest generation.
#: Python's default, 700, made the crawl process spend ~7 % of its CPU in the collector (0.8 of
#: 11.1 CPU-s on 2,000 bench pages: 829 young, 75 middle and 7 full collections); at 10,000,
#: with what was imported frozen, 0.12 s (bench/README.md, session 10). A young generation of
#: 10,000 objects is a few MB at most, and reference cycles are still collected.
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Set the collector up for a long, allocation-heavy crawl process; call after its imports.

    What is allocated so far (modules, the configuration, the dictionaries) lives as long as
    the process: it is frozen (``gc.freeze``), so full collections no longer walk it, nor
    write to its pages (which a forked worker shares with the process that forked it). The
    youngest generation is collected every :data:`GC_YOUNG_THRESHOLD` allocations.
    """
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


# -- dying with the parent -------------------------------------------------------------------


def die_with_parent(sig: int = signal.SIGTERM, *, parent: int | None = None) -> str:
    """Have this process receive ``sig`` when its parent dies; returns the mechanism used.

    ``parent`` is the pid the parent announced (``$CITYFEEDS_PARENT_PID``): if the parent is
    already gone when this runs, the signal is sent at once. Linux signals the death of the
    parent *thread* that started this process; ``crawl_subprocess`` waits for its child in
    that very thread, so the two coincide.
    """
    expected = parent if parent is not None else os.getppid()
    how = "watch"
    if sys.platform.startswith("linux") and _prctl_pdeathsig(sig):
        how = "prctl"
    else:
        _watch_parent(expected, sig)
    if os.getppid() != expected:
        os.kill(os.getpid(), sig)  # the parent died before the mechanism was in place
    return how


def dies_with_this_process(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` giving a child ``sig`` when this process dies; None off Linux.

    For a helper this process starts itself (the crawl's Chromium): killed with SIGKILL, this
    process runs no cleanup, and the helper must not live on. ``prctl`` is looked up before
    the fork, so the child runs only that call and a check that its parent is still there.
    Linux signals the death of the parent *thread*: call Popen from the main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)  # the parent died between fork and prctl

    return preexec


def _prctl_pdeathsig(sig: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int, sig: int, interval: float = 0.5) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), sig)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# -- process liveness ------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (fields[0] is stat(5)'s field
    3, the state); OSError or IndexError if the process is gone or /proc is missing."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_started(pid: int) -> datetime | None:
    """When process ``pid`` started (Linux ``/proc``); None if unknown or gone."""
    try:
        fields = _stat_fields(pid)
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, IndexError, StopIteration, ValueError):
        return None
    ticks = int(fields[19])  # field 22 of stat(5); fields[0] here is field 3
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)


def process_alive(pid: int, *, started_before: datetime | None = None) -> bool:
    """Whether ``pid`` is alive (not a zombie) and, if known, started before ``started_before``.

    The second check tells a dead owner from an unrelated process that reused its pid.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        if "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return False  # a zombie is dead, only not yet reaped
    except OSError:
        pass
    if started_before is not None:
        began = process_started(pid)
        if began is not None and began > started_before + _START_SLACK:
            return False
    return True


def process_suspended(pid: int) -> bool:
    """Whether ``pid`` is stopped (SIGSTOP, Ctrl-Z, a debugger): alive, but runs nothing."""
    try:
        state = _stat_fields(pid)[0]
    except (OSError, IndexError):
        return False
    return state in ("T", "t")


def stored_unrecorded(store: Any, run: dict[str, Any]) -> int:
    """The new articles a ``running`` run whose process died (SIGKILL, the OOM killer) stored.

    Those it stored after it last wrote its figures (``RunRecorder.record_figures``) are added
    to its ``new`` and ``pages``, so ``status`` and the metrics do not fall short (a lock kept
    any other crawl of the source out meanwhile). 0 for a run that is not running.
    """
    if run.get("status") != "running" or run.get("started_at") is None:
        return 0
    try:
        stored = store.count_first_seen(run["source"], run["started_at"])
        missing = stored - int(run.get("new") or 0)
        if missing > 0:
            store.add_to_run(run["id"], {"new": missing, "pages": missing})
    except StoreError as exc:
        logger.error(
            "[%s] run %s: cannot count what it stored (%s)",
            run["source"],
            run["id"],
            store_error_line(exc),
        )
        return 0
    return int(stored)


def close_dead_runs(store: Any, now: datetime, *, host: str | None = None) -> list[int]:
    """Close as ``interrupted`` the runs left ``running`` by processes of this host that died.

    Runs owned by another host are left alone (their owner cannot be checked from here); runs
    recorded before owners were (no pid) are closed. Returns the ids closed.
    """
    here = host or hostname()
    closed = []
    for run in store.running_runs():
        pid, owner_host = run.get("pid"), run.get("host")
        if owner_host not in (None, here):
            continue
        if pid is not None and process_alive(int(pid), started_before=run["started_at"]):
            continue
        who = f"process {pid} on {owner_host}" if pid is not None else "an earlier version"
        message = f"left running by {who}, which no longer exists"
        try:
            if not any(r["id"] > run["id"] for r in store.recent_runs(run["source"], limit=1)):
                stored_unrecorded(store, run)  # no later run of the source stored since
            changed = store.close_run(run["id"], status="interrupted", now=now, message=message)
        except StoreError as exc:  # e.g. a full disk: status must still be able to read
            logger.warning(
                "[%s] run %s %s: cannot close it now (%s)",
                run["source"],
                run["id"],
                message,
                store_error_line(exc),
            )
            continue
        if changed:
            logger.warning("[%s] run %s %s: closed", run["source"], run["id"], message)
            closed.append(int(run["id"]))
    return closed


# -- one crawl per source --------------------------------------------------------------------


class SourceBusy(Exception):
    """A source is already being crawled by another process."""

    def __init__(self, busy: dict[str, int | None]) -> None:
        self.busy = busy
        names = ", ".join(
            f"{name} (pid {pid})" if pid else name for name, pid in sorted(busy.items())
        )
        super().__init__(f"already being crawled by another process: {names}")


class SourceLocks:
    """Exclusive ``flock`` per source, in ``folder`` (``<data>/locks/<database>/<source>.lock``).

    The file descriptors are close-on-exec; pass :attr:`fds` to the crawl child so the locks
    stay held while either process lives.
    """

    def __init__(self, folder: Path, sources: Sequence[str]) -> None:
        self.folder = folder
        self.sources = sorted(set(sources))  # one order everywhere: no deadlock with --wait
        self._fds: dict[str, int] = {}

    @classmethod
    def for_config(cls, config: Config, sources: Sequence[str]) -> SourceLocks:
        """The locks of ``sources`` of ``config``'s database, in its data folder.

        One folder per database (``locks/<SQLite file name>/``, or a digest of the URL): two
        databases side by side in one folder crawl the same source names independently.
        """
        return cls(data_dir(config) / "locks" / _database_key(config.database_url), sources)

    @property
    def fds(self) -> tuple[int, ...]:
        """The open lock files (to keep the locks held by a child too)."""
        return tuple(self._fds.values())

    def path(self, source: str) -> Path:
        """The lock file of ``source``."""
        return self.folder / f"{source}.lock"

    def acquire(self, *, wait: bool = False) -> None:
        """Lock every source, or raise :class:`SourceBusy` naming the busy ones.

        With ``wait``, block until each lock is free instead.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # Said as what it is: the bare "Not a directory: '…/locks/x.db'" named no lock.
            said = f"cannot make the folder of the crawl locks, {self.folder}: {exc.strerror}"
            raise OSError(exc.errno, said) from exc
        busy: dict[str, int | None] = {}
        for name in self.sources:
            fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                busy[name] = self._holder(name)
                continue
            except BaseException:
                os.close(fd)
                self.release()
                raise
            self._fds[name] = fd  # held from here on: release() must see it
            try:
                # Who holds it, for "already being crawled (pid N)": a courtesy, so a full
                # disk costs the note, never the lock (an fd leaked here blocked the source
                # until the service restarted).
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError as exc:
                logger.debug("could not note the holder of %s: %s", self.path(name), exc)
        if busy:
            self.release()
            raise SourceBusy(busy)

    def _holder(self, name: str) -> int | None:
        try:
            pid = int(self.path(name).read_text().strip() or 0)
        except (OSError, ValueError):
            return None
        return pid if pid > 0 and process_alive(pid) else None

    def release(self) -> None:
        """Unlock (also done by the kernel when the holders exit)."""
        for fd in self._fds.values():
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self._fds.clear()

    def __enter__(self) -> SourceLocks:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
