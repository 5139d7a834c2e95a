"""Fault catalogue F1–F7 (scheduler and process): crawl children, crashes, hangs, the service.

F1, F3 and F7 run real crawl children; F2, F4, F5 and F6 drive the service with an injected clock
and scripted crawls (tests/cityfeeds/service_fakes.py). The service's other tests are in
tests/cityfeeds/test_service_scheduler.py.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cityfeeds.cli import main
from cityfeeds.schedule import (
    capped_jitter,
    first_run_time,
    make_trigger,
    misfire_grace,
    schedule_period,
    spread_anchors,
    too_soon,
)
from cityfeeds.service import AlreadyRunning, Service, ServiceLock, ServiceOptions
from cityfeeds.status.views import health_json
from crawler.lifecycle import close_dead_runs
from crawler.models import Article
from crawler.storage import RunStats, Store
from crawler.supervisor import _collect
from tests.cityfeeds.service_fakes import (
    MSK,
    Clock,
    FakeCrawl,
    config_with,
    record_run,
    source,
    wait_for,
)
from tests.faults.support import Lab, article_html, extensions_with, html_route, rss

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


def test_f2_overlapping_tick_is_skipped_and_counted(
    tmp_path: Path, running: list[Service], short_intervals: None
) -> None:
    cfg = config_with(tmp_path, [source("alpha", "every 1s")])
    crawl = FakeCrawl()
    crawl.release.clear()  # the first crawl hangs until released
    svc = Service(cfg, ServiceOptions(debounce=0.05), crawl=crawl)
    running.append(svc)
    svc.start()
    wait_for(
        lambda: svc.store.get_source_state("alpha")["skipped_overlaps"] >= 2,
        10,
        "two skipped ticks",
    )
    assert crawl.calls == ["alpha"]  # skipped, not queued behind the running one
    crawl.release.set()


def test_f4_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite.scheduler.lock"
    first = ServiceLock(path)
    first.acquire()
    with pytest.raises(AlreadyRunning, match=rf"pid {os.getpid()}.*refusing"):
        ServiceLock(path).acquire()
    first.release()
    with ServiceLock(path) as again:
        assert again.held


def test_f5_first_run_after_restart_is_one_catch_up() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert first_run_time(None, 3600, now) == now
    assert first_run_time(now - timedelta(hours=30), 3600, now) == now  # one run, not 30
    assert first_run_time(now - timedelta(minutes=10), 3600, now) is None
    assert first_run_time(now - timedelta(minutes=10), 3600, now, last_ok=False) == now


def test_f5_periods_grace_and_jitter() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert schedule_period("every 30m", MSK, now) == 1800
    assert schedule_period("*/30 * * * *", MSK, now) == 1800
    assert schedule_period("0 9 * * mon-fri", MSK, now) == 86400
    assert misfire_grace(1800) == 1800 and misfire_grace(0.5) == 1
    assert capped_jitter(120, 1800) == 120
    assert capped_jitter(120, 60) == 15  # never so much that a run lands on the next one


def test_f5_catch_up_after_downtime_is_one_run_per_source(
    tmp_path: Path, running: list[Service]
) -> None:
    cfg = config_with(tmp_path, [source("alpha"), source("beta"), source("gamma")])
    now = datetime.now(UTC)
    store = Store.open(cfg.database_url)
    record_run(store, "alpha", now - timedelta(hours=5))  # down for hours: overdue
    record_run(store, "beta", now - timedelta(hours=3))
    record_run(store, "gamma", now - timedelta(minutes=10))  # ran recently: keeps its cadence
    store.close()
    crawl = FakeCrawl()
    clock = Clock(now)
    svc = Service(cfg, ServiceOptions(debounce=0.05), crawl=crawl, clock=clock)
    running.append(svc)
    svc.start()
    wait_for(lambda: _finished(svc, "alpha") == _finished(svc, "beta") == 1, 30, "catch-up runs")
    wait_for(lambda: _nothing_due(svc), 10, "every next run ahead")
    assert sorted(crawl.calls) == ["alpha", "beta"]
    nxt = svc.scheduler.get_job("crawl:gamma").next_run_time
    assert abs((nxt - (now + timedelta(minutes=50))).total_seconds()) < 5

    # A scheduler stalled for 3 periods (suspend, overload) also catches up once, not 3 times.
    before = len(crawl.calls)
    clock.advance(hours=3)
    svc.scheduler.modify_job("crawl:alpha", next_run_time=datetime.now(UTC) - timedelta(hours=3))
    wait_for(lambda: _finished(svc, "alpha") == 2, 30, "coalesced run")
    wait_for(lambda: _nothing_due(svc), 10, "every next run ahead")
    assert crawl.calls[before:] == ["alpha"]


def _finished(svc: Service, name: str) -> int:
    """Scheduled runs of ``name`` that have ended (APScheduler's executed events, sent once the
    job's instance is released, as the service's lag histogram counts them)."""
    count = svc.metrics.registry.get_sample_value(
        "cityfeeds_scheduler_lag_seconds_count", {"source": name}
    )
    return int(count or 0)


def _nothing_due(svc: Service) -> bool:
    """Every job's next run lies ahead (APScheduler's real clock): no missed run is left to fire,
    so the calls seen so far are all the catch-up there will be."""
    assert svc.scheduler is not None
    now = datetime.now(UTC)
    return all(job.next_run_time > now for job in svc.scheduler.get_jobs())


def test_f6_dst_repeat_hour_runs_once_not_twice(tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    trigger = make_trigger("30 2 * * *", berlin)
    start = datetime(2025, 10, 25, 12, 0, tzinfo=berlin)
    local_first = trigger.get_next_fire_time(None, start)
    first = local_first.astimezone(UTC)
    second = trigger.get_next_fire_time(local_first, local_first).astimezone(UTC)
    # APScheduler 3 fires at both 02:30 CEST and 02:30 CET on the fall-back day...
    assert (second - first) == timedelta(hours=1)
    assert first.astimezone(berlin).strftime("%H:%M") == second.astimezone(berlin).strftime("%H:%M")
    # ...and the service's job-start guard turns the second into a skip, not a burst.
    assert too_soon(first, second, 86400)
    assert not too_soon(first, first + timedelta(days=1), 86400)

    cfg = config_with(tmp_path, [source("alpha", "30 2 * * *")], timezone="Europe/Berlin")
    clock = Clock(first)
    crawl = FakeCrawl()
    svc = Service(cfg, crawl=crawl, clock=clock)
    assert svc.run_source("alpha") == "ok"
    clock.now = second
    assert svc.run_source("alpha") == "too soon"
    clock.now = first + timedelta(days=1)
    assert svc.run_source("alpha") == "ok"
    assert crawl.calls == ["alpha", "alpha"]
    svc.store.close()


def test_f6_interval_across_dst_keeps_real_spacing() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2025, 10, 26, 0, 0, tzinfo=berlin)
    trigger = make_trigger("every 1h", berlin, start=start)
    fires, prev = [], None
    for _ in range(5):
        prev = trigger.get_next_fire_time(prev, prev or start)
        fires.append(prev)
    utc = [f.astimezone(UTC) for f in fires]  # aware datetimes of one zone subtract as wall time
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(utc)}
    assert gaps == {3600.0}  # no burst and no gap when the clocks go back


def test_f6_schedules_use_the_configured_zone_not_the_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        trigger = make_trigger("0 4 * * mon", MSK)
        fire = trigger.get_next_fire_time(None, datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
        assert fire is not None
        local = fire.astimezone(MSK)
        assert (local.weekday(), local.hour, local.minute) == (0, 4, 0)  # Monday 04:00 in Moscow
        assert fire.astimezone(UTC).hour == 1
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_f8_sources_sharing_an_interval_run_spread_across_it(tmp_path: Path) -> None:
    """Timed from start-up, three sources on one minute ran together and, with two workers,
    the third always waited; each now has its own phase, fixed by its name."""
    names = ["alpha", "beta", "gamma"]
    cfg = config_with(tmp_path, [source(n, "every 1m") for n in names], spread=True)
    svc = Service(cfg, crawl=FakeCrawl())
    try:
        phases = []
        for now in (datetime(2026, 12, 5, 12, 0, 7, tzinfo=UTC), datetime.now(UTC)):
            scheduler = svc._build_scheduler()
            fires = {
                n: scheduler.get_job(f"crawl:{n}").trigger.get_next_fire_time(None, now)
                for n in names
            }
            # Within one period of start-up, a third of a period apart, each source every minute.
            assert all(now <= t < now + timedelta(minutes=1) for t in fires.values()), fires
            gaps = sorted((t - now).total_seconds() for t in fires.values())
            assert [round(b - a) for a, b in itertools.pairwise(gaps)] == [20, 20]
            phases.append({n: t.timestamp() % 60 for n, t in fires.items()})
        assert phases[0] == phases[1]  # the same phases whenever the service starts
    finally:
        svc.store.close()
    # Deterministic per name, whatever order the config lists them in.
    assert spread_anchors(names, 60) == spread_anchors(reversed(names), 60)
    assert len(set(spread_anchors(names, 60).values())) == 3


def test_f8_spread_off_runs_every_due_source_at_start(tmp_path: Path) -> None:
    cfg = config_with(tmp_path, [source("alpha", "every 1m"), source("beta", "every 1m")])
    svc = Service(cfg, crawl=FakeCrawl())
    try:
        scheduler = svc._build_scheduler()
        assert all(
            (job.next_run_time - datetime.now(UTC)).total_seconds() < 5
            for job in scheduler.get_jobs()
            if job.id.startswith("crawl:")  # the sources' jobs, not the daily prune
        )
    finally:
        svc.store.close()


def test_f9_status_and_healthz_agree_at_start_up(
    tmp_path: Path, running: list[Service], capsys: pytest.CaptureFixture[str]
) -> None:
    """In the first seconds `status` said `stale` while /healthz said `starting`: both now come
    from one calculation, with the service's start time read from its lock file."""
    cfg = config_with(tmp_path, [source("alpha", "every 1h")], spread=True)
    svc = Service(cfg, ServiceOptions(debounce=0.05), crawl=FakeCrawl())
    running.append(svc)
    svc.start()
    healthz = health_json(svc.status_report())
    assert main(["--config", str(cfg.path), "status", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)["health"]
    assert healthz["status"] == cli["status"] == "starting"
    assert healthz["started_at"] == cli["started_at"] == svc.started_at.isoformat()
    assert main(["--config", str(cfg.path), "status"]) == 0
    assert "health: starting;" in capsys.readouterr().out


def test_f3_a_child_killed_before_recording_keeps_what_it_stored_in_its_run(
    tmp_path: Path,
) -> None:
    """SIGKILL (the OOM killer) leaves the run without figures: the parent counts the
    articles of the source first stored since the run started, so `status` does not say 0."""
    store = Store.open(f"sqlite:///{tmp_path / 'f3.sqlite'}")
    try:
        t0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
        store.upsert_articles([_f3_article(0, "s")], now=t0 - timedelta(hours=1))  # earlier run
        run_id = store.start_run("s", now=t0, pid=os.getpid(), host="here")
        stored = [_f3_article(i, "s") for i in range(1, 4)] + [_f3_article(9, "other")]
        store.upsert_articles(stored, now=t0 + timedelta(seconds=5))
        outcome = _collect(store, {"s": run_id}, -9, False, False, 6.0, 60.0)
        run = outcome.runs["s"]
        assert run["status"] == "failed" and (run["new"], run["pages"]) == (3, 3)
        assert run["message"] == (
            "crawl process exited with -9; 3 new article(s) were stored before it stopped"
        )
    finally:
        store.close()


def test_f3_a_killed_child_keeps_the_figures_it_wrote_and_what_it_stored_after(
    tmp_path: Path,
) -> None:
    """The child wrote its figures while it ran (2 new of 5 pages), then stored 2 more before
    SIGKILL: those are added to ``new`` and ``pages``, the rest of its figures kept."""
    store = Store.open(f"sqlite:///{tmp_path / 'f3.sqlite'}")
    try:
        t0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
        run_id = store.start_run("s", now=t0, pid=os.getpid(), host="here")
        store.upsert_articles([_f3_article(i, "s") for i in (1, 2)], now=t0)
        so_far = RunStats(pages=5, new=2, unchanged=3, dropped={"no_title": 1})
        assert store.record_figures(run_id, so_far)
        store.upsert_articles([_f3_article(i, "s") for i in (3, 4)], now=t0)
        run = _collect(store, {"s": run_id}, -9, False, False, 6.0, 60.0).runs["s"]
        assert (run["new"], run["pages"], run["unchanged"]) == (4, 7, 3)
        assert run["dropped"] == {"no_title": 1}
        assert run["message"].endswith("; 4 new article(s) were stored before it stopped")
    finally:
        store.close()


def test_f3_a_dead_run_closed_later_counts_what_it_stored_unless_a_later_run_did(
    tmp_path: Path,
) -> None:
    """``close_dead_runs`` (status, the next crawl, the service): the same count, but only
    while no later run of the source exists, whose articles would be counted too."""
    store = Store.open(f"sqlite:///{tmp_path / 'f3.sqlite'}")
    try:
        t0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
        dead = store.start_run("s", now=t0, pid=_gone_pid(), host="here")
        store.upsert_articles([_f3_article(i, "s") for i in (1, 2)], now=t0)
        assert close_dead_runs(store, t0, host="here") == [dead]
        run = store.get_run(dead) or {}
        assert (run["status"], run["new"], run["pages"]) == ("interrupted", 2, 2)
        older = store.start_run("t", now=t0, pid=_gone_pid(), host="here")
        store.upsert_articles([_f3_article(i, "t") for i in (1, 2)], now=t0)
        # A later run, alive (a live owner started before its run).
        store.start_run("t", now=datetime.now(UTC), pid=os.getpid(), host="here")
        assert close_dead_runs(store, t0, host="here") == [older]
        assert (store.get_run(older) or {})["new"] == 0
    finally:
        store.close()


def _gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _f3_article(i: int, source: str) -> Article:
    return Article(
        url=f"https://news.example/{source}/{i}",
        source=source,
        title=f"Новость номер {i} о городе",
        published=datetime(2026, 12, 6, 9, 0, tzinfo=UTC),
        text="Текст новости. " * 20,
    )


# (the last run's status, or None for no run; how long ago it started; whether the source runs
# at once after a restart)
F12_CASES = [
    ("interrupted", 10, True),  # the crash a few seconds ago cut it short
    ("interrupted", 7200, True),
    ("failed", 60, True),
    ("killed", 7200, True),
    ("ok", 7200, False),  # due, but it waits for its phase (under one period)
    (None, 0, False),
]


@pytest.mark.parametrize(("last", "ago", "at_once"), F12_CASES)
def test_f12_a_restart_retries_at_once_a_source_whose_last_run_did_not_succeed_even_spread(
    tmp_path: Path, last: str | None, ago: float, at_once: bool
) -> None:
    """A crash-looping service (restarted every few seconds) waited for each source's phase:
    55 restarts in 23 min ran 19 crawls. A source whose last run did not succeed runs at
    once, then keeps its phase; one that succeeded (or never ran) waits for its phase."""
    cfg = config_with(tmp_path, [source("alpha", "every 1h")], spread=True)
    svc = Service(cfg, crawl=FakeCrawl())
    try:
        now = datetime.now(UTC)
        if last is not None:
            run_id = svc.store.start_run("alpha", now=now - timedelta(seconds=ago))
            svc.store.finish_run(
                run_id, status=last, stats=RunStats(), now=now - timedelta(seconds=ago)
            )
        scheduler = svc._build_scheduler()
        job = scheduler.get_job("crawl:alpha")
        phase = job.trigger.get_next_fire_time(None, now)
        # Set only for a run at once; else the trigger decides: the source's phase.
        first = getattr(job, "next_run_time", None)
        if phase - now < timedelta(seconds=30):
            pytest.skip("the source's phase falls now: both ways run at once")
        if at_once:
            assert first is not None and first - now < timedelta(seconds=5)
        else:
            assert first is None and phase - now > timedelta(seconds=30)
    finally:
        svc.store.close()
