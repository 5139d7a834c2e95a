"""What an interrupted run says about the signal that stopped it."""

from __future__ import annotations

import os
import signal

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
