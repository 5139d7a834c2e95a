"""Stopping a crawl child on SIGINT/SIGTERM: runs recorded as interrupted, workers stopped."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.lifecycle import INTERRUPTED_EXIT, PARENT_ENV
from crawler.workpool import shutdown_pools

logger = logging.getLogger(__name__)


class Interrupter:
    """SIGINT/SIGTERM in the crawl child: stop scheduling, give pages in flight ``grace`` s.

    The first signal closes every spider with reason ``interrupted``: no new request leaves,
    and what is in flight may finish (its articles are stored, the run recorded, and the
    process ends normally). Whatever still runs after ``grace`` seconds (or at a second
    signal) is recorded as it stands, pages in flight counted ``not fetched (interrupted)``;
    ``on_exit`` runs (the crawl's browser is closed there), the extraction workers are shut
    down and waited for, and the process exits at once:
    Scrapy's own reactor shutdown would wait for every download in flight. A thread ends the
    process ``HARD_EXIT`` seconds later should any of this hang.
    """

    HARD_EXIT = 3.0

    def __init__(
        self, process: Any, *, grace: float = 0.5, on_exit: Callable[[], None] | None = None
    ) -> None:
        self.process = process
        self.grace = grace
        self.on_exit = on_exit
        self.requested: str | None = None

    def install(self) -> None:
        """Handle SIGINT and SIGTERM (call from the main thread, before the reactor starts)."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        # Imported here, not at the top: importing the reactor installs it, and the crawl
        # child must install the one its settings name (Scrapy does so when it starts).
        from twisted.internet import reactor

        name = signal_cause(signum)
        if self.requested is not None:
            if name == self.requested == PARENT_DIED:
                # Not a second request: a dying parent signals once per thread that exits
                # (see _exiting). Pages in flight keep their grace.
                return
            reactor.callFromThread(self._force)  # type: ignore[attr-defined]
            return
        self.requested = name
        timer = threading.Timer(self.grace + self.HARD_EXIT, os._exit, args=(INTERRUPTED_EXIT,))
        timer.daemon = True
        timer.start()
        reactor.callFromThread(self._begin)  # type: ignore[attr-defined]

    def _begin(self) -> None:
        from twisted.internet import reactor  # installed by now; see _on_signal

        logger.warning(
            "%s: stopping the crawl; pages in flight get %.1fs", self.requested, self.grace
        )
        for crawler in list(self.process.crawlers):
            recorder = getattr(crawler, "cityfeeds_recorder", None)
            if recorder is not None:
                recorder.interrupt(self.requested or "signal")
        reactor.callLater(self.grace, self._force)  # type: ignore[attr-defined]

    def _force(self) -> None:
        for crawler in list(self.process.crawlers):
            recorder = getattr(crawler, "cityfeeds_recorder", None)
            if recorder is not None:
                try:
                    # The first signal's handler may itself have been interrupted by the second
                    # before it queued _begin: the cause is passed here too.
                    recorder.force_close(self.requested or "signal")
                except Exception:
                    logger.exception("could not record an interrupted run")
        if self.on_exit is not None:
            try:
                self.on_exit()  # what the process started besides its workers (its browser)
            except Exception:
                logger.exception("could not stop a helper of the crawl")
        shutdown_pools()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED_EXIT)


#: What a crawl child's parent-death signal is recorded as (docs/runs.md).
PARENT_DIED = "SIGTERM: the crawl's parent process died"


def signal_cause(signum: int) -> str:
    """The signal's name, and why it came when this process can tell: a SIGTERM sent because
    the process that started the crawl died (``kill -9`` of ``cityfeeds crawl`` or of the
    service: the child's parent-death signal) says so, rather than looking like a stop someone
    asked for."""
    parent = os.environ.get(PARENT_ENV, "")
    if signum == signal.SIGTERM and parent.isdigit():
        if os.getppid() != int(parent) or _exiting(int(parent)):
            return PARENT_DIED
    return signal.Signals(signum).name


#: SIGKILL's bit in /proc/PID/status's pending-signal masks.
_SIGKILL_BIT = 1 << (signal.SIGKILL - 1)


def _exiting(pid: int) -> bool:
    """Whether process ``pid`` is gone or on its way out (Linux; elsewhere: only gone).

    The parent-death signal follows the parent *thread* that started the child: the service
    starts crawls from its scheduler's threads, and when it is killed, the thread's exit
    signals the child while the dying process's other threads still hold its pid, so
    ``os.getppid()`` has not changed yet. Its leader is then a zombie, or SIGKILL is pending.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:  # gone, or no /proc here: ask the kernel whether it still exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields.get("State", "").strip()[:1] in ("Z", "X"):
        return True
    pending = 0
    for key in ("ShdPnd", "SigPnd"):
        try:
            pending |= int(fields.get(key, "0").strip(), 16)
        except ValueError:
            continue
    return bool(pending & _SIGKILL_BIT)
