"""Fault catalogue F1–F7 (scheduler and process): crawl children, crashes, hangs, the service.

F1, F3 and F7 run real crawl children here. F2, F4, F5 and F6 are rules of the service owned by
tests/test_scheduler.py; their cases re-run those checks by import, so the catalogue is complete
in one place without a second copy of the service's fakes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults.support import Lab, article_html, extensions_with, html_route, rss
from tests.test_scheduler import running  # noqa: F401 (fixture used by the re-run checks)
from tests.test_scheduler import test_catch_up_after_downtime_is_one_run_per_source as _catch_up
from tests.test_scheduler import test_dst_repeat_hour_runs_once_not_twice as _dst_repeat
from tests.test_scheduler import test_first_run_after_restart_is_one_catch_up as _first_run
from tests.test_scheduler import test_interval_across_dst_keeps_real_spacing as _dst_interval
from tests.test_scheduler import test_lock_refuses_a_second_holder as _lock
from tests.test_scheduler import test_overlapping_tick_is_skipped_and_counted as _overlap
from tests.test_scheduler import test_periods_grace_and_jitter as _grace
from tests.test_scheduler import test_schedules_use_the_configured_zone_not_the_hosts as _zone

pytestmark = [pytest.mark.fault]


def _site(lab: Lab, title: str) -> Any:
    site = lab.site({"/news/1": html_route(article_html(title))})
    site.routes["/rss.xml"] = html_route(rss(site.base, ["/news/1"]), "application/rss+xml")
    return site


@pytest.mark.slow
def test_f1_second_crawl_in_same_process(tmp_path: Path) -> None:
    """Two crawls from one process: each is a fresh child, so no ReactorNotRestartable."""
    lab = Lab(tmp_path)
    try:
        site = _site(lab, "Новость для двух запусков подряд")
        lab.source("f1", site.base)
        first = lab.run(feeds=False)
        second = lab.run(feeds=False)
        assert first.runs["f1"]["status"] == second.runs["f1"]["status"] == "ok"
        assert first.runs["f1"]["id"] != second.runs["f1"]["id"]
    finally:
        lab.close()


@pytest.mark.slow
def test_f3_one_spider_crashes_others_complete(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        lab.source("f3_crash", _site(lab, "Эта новость не будет разобрана").base)
        lab.source("f3_fine", _site(lab, "Соседний источник работает как обычно").base)
        lab.settings = {"EXTENSIONS": extensions_with("tests.faults.support.CrashParse")}
        result = lab.run()
        crash, fine = result.runs["f3_crash"], result.runs["f3_fine"]
        assert crash["status"] == "failed" and "RuntimeError" in crash["message"]
        assert fine["status"] == "ok" and fine["new"] == 1
        assert [e.title for e in result.feed("all.rss").entries] == [
            "Соседний источник работает как обычно"
        ]
    finally:
        lab.close()


@pytest.mark.slow
def test_f3_child_exits_abruptly_every_run_recorded(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        lab.source("f3_exit", _site(lab, "Процесс обхода умирает").base)
        lab.settings = {"EXTENSIONS": extensions_with("tests.faults.support.ExitChild")}
        result = lab.run(feeds=False)
        run = result.runs["f3_exit"]
        assert result.outcome.returncode == 1
        assert (
            run["status"] == "failed" and "exited with 1" in run["message"]
        )  # never left "running"
    finally:
        lab.close()


@pytest.mark.slow
def test_f7_hung_child_killed_after_wall_clock_limit(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        site = lab.site({"/rss.xml": lambda handler, s: s.stop_event.wait(60)})
        lab.source("f7", site.base)
        lab.settings = {"DOWNLOAD_TIMEOUT": "600"}  # the child would wait for ten minutes
        t0 = time.monotonic()
        result = lab.run(timeout=4, feeds=False)
        assert result.outcome.killed and time.monotonic() - t0 < 4 + 12
        assert result.runs["f7"]["status"] in ("killed", "failed")
        site.routes["/rss.xml"] = html_route(rss(site.base, []), "application/rss+xml")
        lab.settings = {}
        again = lab.run(feeds=False)  # the next run starts normally
        assert again.runs["f7"]["status"] == "ok"
    finally:
        lab.close()


def test_f2_overlapping_runs_skipped_and_reported(tmp_path: Path, running: list[Any]) -> None:  # noqa: F811
    _overlap(tmp_path, running)


def test_f4_two_scheduler_processes_one_lock(tmp_path: Path) -> None:
    _lock(tmp_path)


def test_f5_downtime_one_catch_up_run(tmp_path: Path, running: list[Any]) -> None:  # noqa: F811
    _first_run()
    _grace()  # misfire grace sized to the interval
    _catch_up(tmp_path, running)


def test_f6_clock_change_and_dst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _dst_repeat(tmp_path)
    _dst_interval()
    _zone(monkeypatch)
