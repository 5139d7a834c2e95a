"""What an interrupted run says about the signal that stopped it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.interrupt import signal_cause
from crawler.lifecycle import PARENT_ENV


def test_a_sigterm_from_the_parents_death_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # kill -9 of `cityfeeds crawl`: its child gets SIGTERM as the parent-death signal and
    # recorded the run as plain "interrupted (SIGTERM)", as if someone had asked for a stop.
    monkeypatch.setenv(PARENT_ENV, str(os.getppid() + 1_000_000))  # not our parent
    assert signal_cause(signal.SIGTERM) == "SIGTERM: the crawl's parent process died"
    assert signal_cause(signal.SIGINT) == "SIGINT"


def test_a_sigterm_while_the_parent_lives_is_a_plain_sigterm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PARENT_ENV, str(os.getppid()))
    assert signal_cause(signal.SIGTERM) == "SIGTERM"
    monkeypatch.delenv(PARENT_ENV)
    assert signal_cause(signal.SIGTERM) == "SIGTERM"


def test_a_process_on_its_way_out_is_told_from_a_live_one() -> None:
    from crawler.interrupt import _exiting

    assert not _exiting(os.getpid())
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while "\nState:\tZ" not in Path(f"/proc/{zombie.pid}/status").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert _exiting(zombie.pid)  # exited, not yet reaped
    zombie.wait()
    assert _exiting(zombie.pid)  # gone


# The service starts each crawl child from a scheduler thread. Killed with SIGKILL, its threads
# die one by one: the starting thread's exit sends the child its parent-death SIGTERM while the
# other threads still hold the service's pid, so os.getppid() is unchanged. That child once
# recorded a plain "interrupted (SIGTERM)".
_CHILD = """
import os, signal, sys, time
from crawler.interrupt import signal_cause
from crawler.lifecycle import PARENT_ENV, die_with_parent

def first_signal(signum, frame):
    with open(sys.argv[1], "a") as out:
        out.write(signal_cause(signum) + "\\n")
    os._exit(0)

signal.signal(signal.SIGTERM, first_signal)
die_with_parent(signal.SIGTERM, parent=int(os.environ[PARENT_ENV]))
open(sys.argv[1] + ".ready", "w").close()
time.sleep(60)
"""

_SERVICE = """
import os, subprocess, sys, threading, time
from crawler.lifecycle import PARENT_ENV

def crawl():
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], env=env).wait()

for _ in range(8):  # the scheduler's other threads
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
threading.Thread(target=crawl, daemon=True).start()
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_kill_9_of_a_threaded_parent_is_said_as_the_parents_death(tmp_path: Path) -> None:
    out = tmp_path / "cause"
    for _ in range(5):  # the threads' exit order varies: the cause must hold every time
        out.unlink(missing_ok=True)
        ready = Path(f"{out}.ready")
        ready.unlink(missing_ok=True)
        service = subprocess.Popen([sys.executable, "-c", _SERVICE, _CHILD, str(out)])
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                assert time.monotonic() < deadline, "the child did not start"
                time.sleep(0.02)
        finally:
            service.kill()
            service.wait()
        deadline = time.monotonic() + 10
        while not out.exists() or not out.read_text().strip():
            assert time.monotonic() < deadline, "the child got no signal"
            time.sleep(0.02)
        assert out.read_text().splitlines()[0] == "SIGTERM: the crawl's parent process died"


class _Timer:
    """threading.Timer that never fires (the Interrupter's would end this process)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.daemon = False

    def start(self) -> None:
        pass


@pytest.mark.parametrize(
    ("second", "queued"),
    [
        ("SIGTERM: the crawl's parent process died", ["_begin"]),
        ("SIGTERM", ["_begin", "_force"]),
    ],
)
def test_a_dying_parents_repeated_signals_keep_the_grace(
    monkeypatch: pytest.MonkeyPatch, second: str, queued: list[str]
) -> None:
    """The parent-death signal comes once per exiting thread of a threaded parent (the
    service): the repeats are not a second request, which would cut short the pages in flight."""
    import threading

    import twisted.internet

    from crawler import interrupt
    from crawler.interrupt import PARENT_DIED, Interrupter

    calls: list[str] = []
    reactor = type("Reactor", (), {"callFromThread": lambda self, f: calls.append(f.__name__)})
    monkeypatch.setattr(twisted.internet, "reactor", reactor(), raising=False)
    monkeypatch.setattr(threading, "Timer", _Timer)
    causes = iter([PARENT_DIED, second])
    monkeypatch.setattr(interrupt, "signal_cause", lambda signum: next(causes))
    handler = Interrupter(process=None)
    handler._on_signal(signal.SIGTERM, None)
    handler._on_signal(signal.SIGTERM, None)
    assert calls == queued
    assert handler.requested == PARENT_DIED
