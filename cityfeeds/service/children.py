"""Crawl children of the service: stopping their process groups, and a registry of their pids."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

#: Substring of a crawl child's command line (``python -m crawler.runner``).
CHILD_MARKER = b"crawler.runner"


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status  # a zombie is dead, only not yet reaped


def _is_crawl_child(pid: int) -> bool:
    try:
        return CHILD_MARKER in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def terminate_group(pid: int, *, grace: float = 5.0) -> None:
    """SIGTERM a crawl child's process group, SIGKILL it if still alive after ``grace``."""
    terminate_groups([pid], grace=grace)


def terminate_groups(pids: list[int], *, grace: float = 5.0) -> None:
    """SIGTERM several crawl children at once, SIGKILL the groups of those left after ``grace``.

    SIGTERM goes to the child alone: it stops its crawl, shuts its extraction workers down in
    order and records the run as interrupted (crawler.runner); signalling the whole group would
    kill the workers under pages in flight. A child stuck in a hung call may not manage it in
    time, hence the SIGKILL of its whole group.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        alive = []
        for pid in pids:
            try:
                if sig == signal.SIGTERM:
                    os.kill(pid, sig)
                else:
                    os.killpg(pid, sig)
                alive.append(pid)
            except (ProcessLookupError, PermissionError):
                continue
        deadline = time.monotonic() + wait
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = [pid for pid in alive if process_alive(pid)]
        if not alive:
            return
        pids = alive


class ChildRegistry:
    """The pids of running crawl children, in a file, so a restarted service can stop orphans.

    Children run in their own session (the runner's ``start_new_session``), so a service
    killed with SIGKILL leaves them running; the next service stops them before it starts
    crawling, rather than letting two crawls of one source overlap.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._pids: dict[int, str] = {}

    def add(self, pid: int, source: str) -> None:
        """Remember a started child."""
        with self._lock:
            self._pids[pid] = source
            self._write()

    def remove(self, pid: int) -> None:
        """Forget a finished child."""
        with self._lock:
            self._pids.pop(pid, None)
            self._write()

    def _write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({str(p): s for p, s in self._pids.items()}))
        os.replace(tmp, self.path)

    def reap_orphans(self) -> list[int]:
        """Stop children left by a previous service (checked to be crawl children); their pids."""
        try:
            recorded = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            recorded = {}
        stopped = []
        for pid_text, source in recorded.items():
            pid = int(pid_text)
            if process_alive(pid) and _is_crawl_child(pid):
                logger.warning(
                    "stopping crawl child %s of %s left by a previous service", pid, source
                )
                terminate_group(pid, grace=3.0)
                stopped.append(pid)
        with self._lock:
            self._pids.clear()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._write()
        return stopped
