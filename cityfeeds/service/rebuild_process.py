"""Feed rebuilds in a child process, so the service's own memory stays flat for months.

A rebuild reads every recent article, renders every feed in three formats and frees it all
again. In a process that runs for weeks, glibc keeps the holes those bursts leave in a
thread's heap: ``malloc_trim`` gives back the free pages, not the fragmented ones, and soaks
measured the service's RSS creeping up a few MiB an hour at a slowing rate. Here the bursts
happen in a child, which is replaced after ``max_builds`` rebuilds, so whatever its heap
keeps is given back with it. The child is started with ``spawn`` (a fresh interpreter, never
a fork of the threaded service), and the soak measured the service's RSS flat.

A rebuild still running after a minute is logged; one that outlives ``timeout`` (5 minutes:
a hung disk, a database that stays locked, a stopped child) is killed:
every feed keeps its last good files (each write is atomic, and stray temporary files are
swept by the next build), the failure is reported like any other build error, and the next
rebuild starts a fresh child. The child exits when the service does, even after a kill -9
of the service (its parent-death signal is SIGKILL, which also ends a stopped child).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from cityfeeds.publishing import rebuild_feeds
from crawler.config import Config
from crawler.lifecycle import die_with_parent
from crawler.settings import CITYFEEDS_LOG_FORMAT, LOG_DATEFORMAT
from crawler.storage import Store
from feeds.build import BuildReport

logger = logging.getLogger(__name__)

#: Rebuilds one child does before it is replaced (its heap goes back to the system).
DEFAULT_MAX_BUILDS = 20
#: Seconds a rebuild may take before its child is killed: a rebuild takes seconds, and a stuck
#: one must be killed well before /healthz calls the service stale (15 minutes at least).
DEFAULT_TIMEOUT = 300.0
#: A rebuild still running after this many seconds is logged (once) as slow.
SLOW_REBUILD = 60.0


class RebuildFailed(RuntimeError):
    """The child could not finish a rebuild: it failed, died or timed out."""

    #: Said in one line by the service (FeedRebuilder logs no traceback for it).
    expected = True


class RebuildProcess:
    """Callable that runs ``rebuild_feeds(config)`` in a long-lived, recycled child process.

    Calls come from one thread (the service's feed rebuilder); :meth:`close` may come from
    another, so both hold the same lock.
    """

    def __init__(
        self,
        config: Config,
        *,
        max_builds: int = DEFAULT_MAX_BUILDS,
        timeout: float = DEFAULT_TIMEOUT,
        log_level: int | None = None,
    ) -> None:
        self.config = config
        self.max_builds = max(1, max_builds)
        self.timeout = timeout
        self.log_level = logging.getLogger().getEffectiveLevel() if log_level is None else log_level
        self.started = 0  # children started (for the tests and the logs)
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._builds = 0  # rebuilds done by the current child

    @property
    def pid(self) -> int | None:
        """The current child's pid, if one is running."""
        proc = self._proc
        return proc.pid if proc is not None and proc.is_alive() else None

    def __call__(self) -> BuildReport:
        with self._lock:
            conn = self._ensure_child()
            try:
                conn.send("build")
                if not self._answered(conn):
                    self._kill("timed out")
                    raise RebuildFailed(
                        f"feed rebuild took longer than {self.timeout:g} s; its process was "
                        "killed, the last good feeds are kept"
                    )
                status, value = conn.recv()
            except (EOFError, OSError) as exc:
                code = self._reap()
                raise RebuildFailed(f"feed rebuild process died ({_describe(code)})") from exc
            self._builds += 1
            if self._builds >= self.max_builds:
                self._retire()
            if status != "ok":
                raise RebuildFailed(str(value))
            report: BuildReport = value
            return report

    def _answered(self, conn: Connection) -> bool:
        """Whether the child answered within the time limit; a slow rebuild is logged once."""
        slow = min(SLOW_REBUILD, self.timeout)
        if conn.poll(slow):
            return True
        if self.timeout <= slow:
            return False
        logger.warning(
            "feed rebuild still running after %g s (pid %s); it is killed at %g s",
            slow,
            self.pid,
            self.timeout,
        )
        return conn.poll(self.timeout - slow)

    def kill(self, why: str = "must stop") -> None:
        """Kill the child now, even mid-rebuild (that rebuild then fails); no lock needed."""
        proc = self._proc
        if proc is not None and proc.is_alive():
            logger.warning("feed rebuild process (pid %s) %s: killing it", proc.pid, why)
            proc.kill()

    def close(self, timeout: float = 10.0) -> None:
        """Ask the child to exit; kill it if it has not within ``timeout`` s.

        A rebuild still running (stuck: a stopped child, a locked database) is not waited for
        beyond ``timeout`` either: its child is killed, so a stopping service never hangs.
        """
        if not self._lock.acquire(timeout=timeout):
            self.kill()
            self._lock.acquire()
        try:
            self._retire(timeout)
        finally:
            self._lock.release()

    # -- the child's lifecycle -------------------------------------------------------------

    def _ensure_child(self) -> Connection:
        if self._proc is not None and self._conn is not None and self._proc.is_alive():
            return self._conn
        self._reap()
        parent_end, child_end = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_child_main,
            args=(child_end, self.config, os.getpid(), self.log_level),
            name="cityfeeds-rebuild",
            daemon=True,
        )
        proc.start()
        child_end.close()
        self._proc, self._conn, self._builds = proc, parent_end, 0
        self.started += 1
        logger.debug("feed rebuild process started (pid %s)", proc.pid)
        return parent_end

    def _retire(self, timeout: float = 10.0) -> None:
        """Let the current child finish and exit (it is idle: calls hold the lock)."""
        if self._conn is not None:
            try:
                self._conn.send(None)
            except OSError:
                pass
        if self._proc is not None:
            self._proc.join(timeout)
            if self._proc.is_alive():
                self._kill("did not exit")
        self._reap()

    def _kill(self, why: str) -> None:
        """:meth:`kill`, then wait for the child and forget it (holding the lock)."""
        proc = self._proc
        self.kill(why)
        if proc is not None:
            proc.join(5)
        self._reap()

    def _reap(self) -> int | None:
        """Forget the current child (joined if it has exited); its exit code, if known."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is None:
            return None
        proc.join(1)
        code = proc.exitcode
        if code is not None:
            proc.close()
        return code


def _describe(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _child_main(conn: Connection, config: Config, parent: int, log_level: int) -> None:
    """The child: rebuild on each ``"build"``, exit on ``None``, EOF or the parent's end."""
    # Ctrl-C reaches the whole process group: the service decides when its child stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format=CITYFEEDS_LOG_FORMAT, datefmt=LOG_DATEFORMAT)
    # A kill -9 of the service gives it no chance to stop this child: it goes with its parent,
    # by SIGKILL, which also ends a child that is stopped (SIGSTOP) at the time.
    die_with_parent(signal.SIGKILL, parent=parent)
    store = Store.open(config.database_url)
    try:
        while True:
            try:
                msg: Any = conn.recv()
            except (EOFError, OSError):
                break
            if msg is None:
                break
            try:
                reply: tuple[str, Any] = ("ok", rebuild_feeds(config, store=store))
            except Exception as exc:  # reported to the service, which logs it
                logger.exception("feed rebuild failed")
                reply = ("error", f"feed rebuild failed: {type(exc).__name__}: {exc}")
            try:
                conn.send(reply)
            except (OSError, ValueError):  # the service is gone
                break
            except Exception as exc:  # a report that does not pickle
                conn.send(("error", f"feed rebuild report not sent: {type(exc).__name__}: {exc}"))
    finally:
        store.close()
