"""Fault catalogue I1–I7 (a crawl's lifecycle): every crawl ends accounted for.

Kill -9 of the CLI, Ctrl-C, stale ``running`` rows, overlapping crawls, an early stop that must
send nothing more, a long Retry-After that defers the source, and no control port or stray
files. The crawls here run the real ``cityfeeds crawl`` command against loopback sites.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.config import load_config
from crawler.lifecycle import hostname, process_alive, process_started
from crawler.storage import Store
from crawler.supervisor import TRACKER_QUIET, remove_stale_scratch
from tests.conftest import python_module_with_ctrl_c
from tests.faults.support import Handler, Lab, Site, article_html, html_route, rss

pytestmark = [pytest.mark.fault]

ROOT = Path(__file__).resolve().parents[2]
TITLES = [
    "Мосгортранс продлил маршрут электробуса до метро",
    "В Южном округе открыли новый сквер",
    "На Тверской начали ремонт тротуаров",
]


# -- helpers ---------------------------------------------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it is truthy (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def slow_route(release: threading.Event) -> Callable[[Handler, Site], None]:
    """A page that answers only when ``release`` is set (or the site closes)."""

    def serve(handler: Handler, site: Site) -> None:
        while not (release.is_set() or site.stop_event.is_set()):
            release.wait(0.1)
        handler.send(
            200, {"Content-Type": "text/html; charset=utf-8"}, article_html(TITLES[0]).encode()
        )

    return serve


def slow_site(lab: Lab, release: threading.Event) -> Site:
    """Two quick articles and one that hangs until ``release``."""
    site = lab.site(
        {
            "/robots.txt": html_route("User-agent: *\nAllow: /\n", "text/plain"),
            "/news/1": html_route(article_html(TITLES[1])),
            "/news/2": html_route(article_html(TITLES[2])),
            "/news/slow": slow_route(release),
        }
    )
    site.routes["/rss.xml"] = html_route(
        rss(site.base, ["/news/slow", "/news/1", "/news/2"]), "application/rss+xml"
    )
    return site


def cli(cfg: Path, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """Start ``cityfeeds --config CFG ARGS`` (stdout and stderr merged into a pipe)."""
    base = {**os.environ, "PYTHONPATH": str(ROOT), "CITYFEEDS_EXTRACT_WORKERS": "2"}
    return subprocess.Popen(
        [*python_module_with_ctrl_c("cityfeeds.cli"), "--config", str(cfg), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**base, **(env or {})},
        **kwargs,
    )


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, their children, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def runs_of(cfg: Path, source: str) -> list[dict[str, Any]]:
    store = Store.open(load_config(cfg).database_url)
    try:
        return store.recent_runs(source, limit=10)
    finally:
        store.close()


def running(cfg: Path, source: str) -> bool:
    runs = runs_of(cfg, source)
    return bool(runs) and runs[0]["status"] == "running"


@pytest.fixture
def lab(tmp_path: Path) -> Any:
    lab = Lab(tmp_path)
    yield lab
    lab.close()


# -- I1 kill -9 of the CLI parent ------------------------------------------------------------


@contextmanager
def crawl_in_flight(
    lab: Lab, source: str, env: dict[str, str] | None = None
) -> Iterator[tuple[Path, Any]]:
    """``(config, CLI process)`` of a crawl stuck on a slow page, its workers started."""
    release = threading.Event()
    site = slow_site(lab, release)
    lab.source(source, site.base)
    cfg = lab.config_path()
    proc = cli(cfg, "crawl", source, "--no-feeds", env=env)
    try:
        wait_for(lambda: site.hits("/news/slow"), 60, "the crawl child fetching the slow page")
        # The extraction workers start with the first article: wait for them too.
        wait_for(lambda: len(descendants(proc.pid)) >= 3, 60, "crawl child and its workers")
        yield cfg, proc
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_i1_kill_9_of_the_cli_kills_its_crawl_child(lab: Lab) -> None:
    with crawl_in_flight(lab, "i1") as (cfg, proc):
        family = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # The child stops in order (SIGTERM from the kernel): generous under a loaded machine.
        wait_for(
            lambda: not [p for p in family if process_alive(p)], 30, "every crawl process to die"
        )
    # What the child recorded (or what the next look closes) is a final state, never "running".
    status = cli(cfg, "status")
    out = status.communicate(timeout=60)[0].decode()
    assert not running(cfg, "i1"), out


@pytest.mark.slow
def test_i1_kill_9_of_the_crawl_child_leaves_no_workers_behind(lab: Lab) -> None:
    """The child killed outright (e.g. by the OOM killer): its extraction pool goes with it,
    and so do its temporary files (multiprocessing's pymp-* folder)."""
    scratch = Path(tempfile.mkdtemp(prefix="cf"))  # the TMPDIR the CLI and its child get
    with crawl_in_flight(lab, "i1c", env={"TMPDIR": str(scratch)}) as (cfg, proc):
        assert any(scratch.glob("**/pymp-*")), "the pool's files are not there"
        family = descendants(proc.pid)
        child = next(p for p in family if "crawler.runner" in _cmdline(p))
        os.kill(child, signal.SIGKILL)
        output = proc.communicate(timeout=60)[0].decode()
        # The child stops in order (SIGTERM from the kernel): generous under a loaded machine.
        wait_for(
            lambda: not [p for p in family if process_alive(p)], 30, "every crawl process to die"
        )
    assert proc.returncode == 1, output
    assert "resource_tracker" not in output, output  # see the next test
    assert not list(scratch.iterdir())
    scratch.rmdir()
    run = runs_of(cfg, "i1c")[0]
    assert run["status"] == "failed" and "-9" in (run["message"] or ""), run


LEAKS_A_SEMAPHORE = """
import multiprocessing, os, signal
lock = multiprocessing.get_context("forkserver").Lock()  # registered with the resource tracker
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("quiet", [False, True])
def test_i1_the_resource_trackers_cleanup_after_a_kill_is_not_news(quiet: bool) -> None:
    """A child killed outright leaves its pool's semaphores to multiprocessing's resource
    tracker, which unlinks them and warns of "leaked semaphore objects" on the terminal: the
    cleanup working. The filter the parent gives its crawl child keeps the tracker quiet."""
    env = {**os.environ, "PYTHONWARNINGS": TRACKER_QUIET if quiet else ""}
    done = subprocess.run(
        [sys.executable, "-c", LEAKS_A_SEMAPHORE], capture_output=True, text=True, env=env
    )
    assert done.returncode == -signal.SIGKILL
    # (Without the filter the warning shows that the case is real: the test can fail.)
    assert ("leaked semaphore" in done.stderr) is not quiet, done.stderr


def test_i1b_a_dead_parents_scratch_folders_are_removed_by_the_next_crawl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parent killed outright (the service after kill -9) cannot remove its children's
    temporary folders; the next crawl of any process does, and never one still in use."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"cityfeeds-{_dead_pid()}-abc123"
    (dead / "pymp-xyz").mkdir(parents=True)
    fresh = tmp_path / f"cityfeeds-{_dead_pid()}-fresh1"  # a parent that just died: not yet
    fresh.mkdir()
    live = tmp_path / f"cityfeeds-{os.getpid()}-live99"
    other = tmp_path / "cityfeeds-demo-q1w2e3"
    for folder in (live, other):
        folder.mkdir()
    old = time.time() - 3600
    for folder in (dead, other):
        os.utime(folder, (old, old))
    # The live parent made its folder after it started (a folder older than the process with
    # its pid belongs to a dead parent whose pid was reused).
    started = process_started(os.getpid())
    assert started is not None
    made = started.timestamp() + 1
    os.utime(live, (made, made))
    reused = tmp_path / f"cityfeeds-{os.getpid()}-reused"
    reused.mkdir()
    os.utime(reused, (started.timestamp() - 3600, started.timestamp() - 3600))
    assert remove_stale_scratch() == 2
    assert not dead.exists() and not reused.exists()
    assert fresh.exists() and live.exists() and other.exists()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# -- I2 Ctrl-C mid-crawl -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_i2_ctrl_c_records_the_run_as_interrupted_with_its_counts(
    lab: Lab, signum: signal.Signals
) -> None:
    # SIGTERM (kill, systemd, a CI timeout) is a Ctrl-C too: it ended the CLI at once with 143
    # and no summary, its crawl child told only that its parent had died.
    release = threading.Event()
    site = slow_site(lab, release)
    lab.source("i2", site.base)
    # The slow page stays in flight until the signal, however long a loaded machine takes to
    # store the quick ones (at the default 10 s it once timed out first and the crawl ended).
    lab.crawl = {"timeout": 60}
    cfg = lab.config_path()
    store = Store.open(load_config(cfg).database_url)
    proc = cli(cfg, "crawl", "i2")
    try:
        wait_for(lambda: site.hits("/news/slow"), 60, "the slow page in flight")
        wait_for(lambda: store.count_articles() >= 2, 60, "the quick articles stored")
        t0 = time.monotonic()
        proc.send_signal(signum)  # SIGINT: what a terminal sends the foreground process
        if signum == signal.SIGTERM:
            time.sleep(0.3)
            proc.send_signal(signum)  # a second one does not cut the stop short
        output = proc.communicate(timeout=30)[0].decode()
        took = time.monotonic() - t0
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        store.close()
    assert proc.returncode == 130, output
    assert "Crawl finished" in output  # the summary, printed
    # The slow page would hang for as long as the test runs: the crawl did not wait for it.
    assert took < 15, f"exit took {took:.1f}s"
    assert "extract_crash" not in output  # the workers were shut down in order, not killed
    run = runs_of(cfg, "i2")[0]
    assert run["status"] == "interrupted" and "SIGINT" in (run["message"] or ""), run
    assert run["new"] == 2 and run["pages"] >= 2  # its counts, not an empty failure
    assert run["stats"]["not_fetched"] == {"interrupted": 1}  # the slow page: accounted for
    status = cli(cfg, "status").communicate(timeout=60)[0].decode()
    row = next(line for line in status.splitlines() if line.startswith("i2 "))
    assert "interrupted" in row and " 2 " in row, status


@pytest.mark.slow
def test_i3_a_crawl_killed_outright_keeps_the_figures_it_wrote(lab: Lab) -> None:
    """SIGKILL of the CLI and its crawl child at once (the OOM killer, a service's cgroup
    killed): nobody records the run's end, but the child wrote its figures while it ran, and
    the next look closes the run with them, not with zeros."""
    lab.crawl = {"timeout": 60}  # the slow page stays in flight until the kill
    with crawl_in_flight(lab, "i1k") as (cfg, proc):
        wait_for(lambda: (runs_of(cfg, "i1k")[0]["new"] or 0) >= 2, 60, "the figures so far")
        assert runs_of(cfg, "i1k")[0]["status"] == "running"
        family = descendants(proc.pid)
        child = next(p for p in family if "crawler.runner" in _cmdline(p))
        os.kill(child, signal.SIGSTOP)  # stopped: it cannot record its run on its parent's death
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: not [p for p in family if process_alive(p)], 30, "every crawl process to die"
        )
    out = cli(cfg, "status").communicate(timeout=60)[0].decode()
    run = runs_of(cfg, "i1k")[0]
    assert run["status"] == "interrupted" and "no longer exists" in run["message"], run
    assert run["new"] == 2 and run["pages"] >= 2, run
    row = next(line for line in out.splitlines() if line.startswith("i1k "))
    assert "interrupted" in row and " 2 " in row, out


# -- I3 a stale "running" row ------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_i3_stale_running_row_is_closed_by_status_and_by_the_next_crawl(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    site = lab.site({"/rss.xml": html_route(rss("http://127.0.0.1/", []), "application/rss+xml")})
    lab.source("i3", site.base)
    lab.source("i3_live", site.base)
    cfg = lab.config_path()
    config = load_config(cfg)
    store = Store.open(config.database_url)
    started = datetime.now(UTC) - timedelta(minutes=5)
    try:
        dead = store.start_run("i3", now=started, pid=_dead_pid(), host=hostname())
        # (A live owner started before its run; one that started later merely reused the pid.)
        live = store.start_run("i3_live", now=datetime.now(UTC), pid=os.getpid(), host=hostname())
        elsewhere = store.start_run("i3_live", now=started, pid=1, host="another-machine")
        out = cli(cfg, "status").communicate(timeout=60)[0].decode()
        closed = store.get_run(dead) or {}
        assert closed["status"] == "interrupted" and "no longer exists" in closed["message"]
        assert "interrupted" in next(ln for ln in out.splitlines() if ln.startswith("i3 "))
        # A live owner's run, and another host's, are not ours to close.
        assert (store.get_run(live) or {})["status"] == "running"
        assert (store.get_run(elsewhere) or {})["status"] == "running"
        # The next crawl closes a stale row too (here: one left after `status` ran).
        again = store.start_run("i3", now=started, pid=_dead_pid(), host=hostname())
        lab.run(sources=["i3"], feeds=False)
        assert (store.get_run(again) or {})["status"] == "interrupted"
    finally:
        store.close()
        lab.close()


# -- I4 overlapping crawls -------------------------------------------------------------------


@pytest.mark.slow
def test_i4_overlapping_crawls_are_refused_or_wait_and_never_share_a_run(lab: Lab) -> None:
    release = threading.Event()
    site = slow_site(lab, release)
    lab.source("i4", site.base)
    cfg = lab.config_path()
    first = cli(cfg, "crawl", "i4", "--no-feeds")
    waiting = None
    try:
        wait_for(lambda: site.hits("/news/slow"), 60, "the first crawl mid-way")
        second = cli(cfg, "crawl", "i4", "--no-feeds")
        out = second.communicate(timeout=60)[0].decode()
        assert second.returncode == 75, out
        assert "already being crawled" in out and "i4" in out
        assert len(runs_of(cfg, "i4")) == 1  # the refused crawl recorded nothing
        waiting = cli(cfg, "crawl", "i4", "--no-feeds", "--wait")
        pid = str(waiting.pid)
        wait_for(lambda: _blocked_on_a_lock(pid), 60, "the --wait crawl blocked on the lock")
        assert len(runs_of(cfg, "i4")) == 1  # it waits and has crawled nothing yet
        release.set()
        first_out = first.communicate(timeout=120)[0].decode()
        waited_out = waiting.communicate(timeout=120)[0].decode()
    finally:
        release.set()
        for proc in (first, waiting):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert first.returncode == 0, first_out
    assert waiting.returncode == 0, waited_out
    older, newer = sorted(runs_of(cfg, "i4"), key=lambda r: r["id"])
    assert older["status"] == newer["status"] == "ok"
    assert older["new"] == 3 and newer["new"] == 0  # each crawl read back its own run
    assert newer["started_at"] >= older["finished_at"]  # one after the other, never together


def _blocked_on_a_lock(pid: str) -> bool:
    # Waiters appear in /proc/locks as "N: -> FLOCK ADVISORY WRITE <pid> ...".
    return any(
        "->" in line and line.split()[5] == pid
        for line in Path("/proc/locks").read_text().splitlines()
        if len(line.split()) > 5
    )


# -- I5 early stop: nothing leaves after the stop, the rest is counted ------------------------


@pytest.mark.slow
def test_i5_no_request_after_the_stop_and_unsent_ones_counted(lab: Lab) -> None:
    others = [f"/news/{i}" for i in range(1, 11)]
    site = lab.site(
        {
            "/robots.txt": html_route("User-agent: *\nAllow: /\n", "text/plain"),
            "/news/429": (429, {"Retry-After": "3600", "Content-Type": "text/plain"}, b"slow down"),
            "/news/500": (500, {"Content-Type": "text/plain"}, b"oops"),  # retried
            **{path: html_route(article_html(f"Новость {path}")) for path in others},
        }
    )
    # New articles are asked for in the feed's order (newest first; these are undated):
    # /news/500 and /news/429 first (the 500's retry is scheduled again), and the other ten
    # wait in the host's download slot (one at a time, 0.3 s apart).
    site.routes["/rss.xml"] = html_route(
        rss(site.base, ["/news/500", "/news/429", *others]), "application/rss+xml"
    )
    lab.source("i5", site.base)
    lab.crawl = {"concurrency_per_host": 1, "download_delay": 0.3}
    result = lab.run(feeds=False)
    run = result.runs["i5"]
    paths = [path for _, path, _ in site.log]
    stop = paths.index("/news/429")
    assert paths[stop + 1 :] == []  # the site heard nothing after the response that stopped it
    assert run["status"] == "deferred"
    not_fetched = sum((run["stats"].get("not_fetched") or {}).values())
    dropped = sum((run.get("dropped") or {}).values())
    assert not_fetched > 0
    # Every requested article URL: stored, dropped with a reason, or counted not fetched.
    assert run["new"] + dropped + not_fetched == len(others) + 2, run


# -- I6 a long Retry-After defers the source ---------------------------------------------------


@pytest.mark.slow
def test_i6_long_retry_after_defers_exit_0_and_status_waits(lab: Lab) -> None:
    site = lab.site(
        {
            "/robots.txt": html_route("User-agent: *\nAllow: /\n", "text/plain"),
            "/news/1": html_route(article_html(TITLES[1])),
            "/news/2": html_route(article_html(TITLES[2])),
            "/news/429": (429, {"Retry-After": "3600", "Content-Type": "text/plain"}, b"later"),
        }
    )
    # In the feed's order: the two articles are stored before /news/429 answers.
    site.routes["/rss.xml"] = html_route(
        rss(site.base, ["/news/1", "/news/2", "/news/429"]), "application/rss+xml"
    )
    lab.source("i6", site.base)
    lab.crawl = {"concurrency_per_host": 1}
    cfg = lab.config_path()
    proc = cli(cfg, "crawl", "i6")
    out = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 0, out
    assert "i6 deferred" in out and "next attempt not before" in out
    run = runs_of(cfg, "i6")[0]
    assert run["status"] == "deferred" and run["new"] == 2  # keeps what it stored
    retry_at = datetime.fromisoformat(run["stats"]["retry_at"])
    assert retry_at >= run["started_at"] + timedelta(seconds=3600)
    status = cli(cfg, "status").communicate(timeout=60)[0].decode()
    row = next(line for line in status.splitlines() if line.startswith("i6 "))
    tz = load_config(cfg).schedule.timezone or load_config(cfg).timezone
    from zoneinfo import ZoneInfo

    assert "waiting" in row and "failing" not in row, status
    assert f"waiting until {retry_at.astimezone(ZoneInfo(tz)):%H:%M}" in row, status


def test_i6_the_scheduler_waits_for_a_deferred_source(tmp_path: Path) -> None:
    from cityfeeds.service import Service
    from tests.cityfeeds.service_fakes import Clock, FakeCrawl, config_with, source

    cfg = config_with(tmp_path, [source("alpha", "every 10m")], max_backoff=7200)
    deferred = {"status": "deferred", "stats": {"retry_after": 3600}}
    clock = Clock()
    svc = Service(cfg, crawl=FakeCrawl({"alpha": [deferred, {"status": "ok"}]}), clock=clock)
    assert svc.run_source("alpha") == "deferred"
    state = svc.store.get_source_state("alpha")
    assert state["backoff_until"] == clock.now + timedelta(seconds=3600)
    assert state["consecutive_failures"] == 0  # a deferral is no failure
    clock.advance(minutes=10)
    assert svc.run_source("alpha") == "backoff"  # not before the time the site gave
    clock.advance(minutes=51)
    assert svc.run_source("alpha") == "ok"
    svc.store.close()


# -- I7 no listening socket, no file outside the data and output folders ---------------------


def _listening_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                found.add(target[len("socket:[") : -1])
    except OSError:
        pass
    return found


@pytest.mark.slow
def test_i7_crawl_child_listens_nowhere_and_writes_only_data_and_output(
    lab: Lab, tmp_path: Path
) -> None:
    release = threading.Event()
    site = slow_site(lab, release)
    lab.source("i7", site.base)
    cfg = lab.config_path()
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {"HOME": str(home), "XDG_STATE_HOME": "", "XDG_DATA_HOME": "", "XDG_CACHE_HOME": ""}
    proc = cli(cfg, "crawl", "i7", env=env, cwd=cwd)
    try:
        wait_for(lambda: site.hits("/news/slow"), 60, "the crawl child running")
        wait_for(lambda: len(descendants(proc.pid)) >= 3, 60, "crawl child and its workers")
        listening = _listening_inodes()
        open_ports = {
            pid: _socket_inodes(pid) & listening for pid in descendants(proc.pid) | {proc.pid}
        }
        release.set()
        out = proc.communicate(timeout=120)[0].decode()
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert not any(open_ports.values()), open_ports
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []
    assert sorted(p.relative_to(cwd) for p in cwd.rglob("*")) == []
    assert "Traceback" not in out


# -- robots.txt counted once ---------------------------------------------------------------------


def test_robotstxt_response_is_counted_once(lab: Lab) -> None:
    site = lab.site(
        {
            "/robots.txt": html_route("User-agent: *\nAllow: /\n", "text/plain"),
            "/news/1": html_route(article_html(TITLES[1])),
        }
    )
    site.routes["/rss.xml"] = html_route(rss(site.base, ["/news/1"]), "application/rss+xml")
    lab.source("robots", site.base)
    lab.run(feeds=False)
    assert site.hits("/robots.txt") == 1
    counts = re.findall(r"'robotstxt/response_count': (\d+)", lab.log_text())
    assert counts == ["1"], lab.log_text()[-3000:]


# -- the final states, as the recorder and the CLI judge them ---------------------------------


def test_partial_is_a_finished_run_that_lost_pages_and_no_failure() -> None:
    from types import SimpleNamespace

    from cityfeeds.status.health import SourceInputs, source_status
    from crawler.extensions.run_recorder import RunRecorder
    from crawler.supervisor import CrawlOutcome

    spider = SimpleNamespace(discovery_ok=1, discovery_failed=0)
    lost = {"finish_reason": "finished", "cityfeeds/dropped/fetch_error": 2}
    status, message = RunRecorder._verdict(spider, "finished", lost)
    assert status == "partial" and message == "2 article page(s) could not be fetched"
    # Pages lost with a killed extraction worker are fetched again next run too: a run that
    # called itself "ok" kept its sitemap's validators, the sitemap answered 304, and the pages
    # stayed missing until it changed (the second re-check).
    crashed = {"cityfeeds/dropped/extract_crash": 54, "cityfeeds/dropped/fetch_error": 1}
    assert RunRecorder._verdict(spider, "finished", crashed) == (
        "partial",
        "1 article page(s) could not be fetched; "
        "54 article page(s) lost with a crashed extraction worker",
    )
    # The spider's own stop before the run's timeout: what it stored is kept, the run is
    # "killed" like one the supervisor stops (I11), not "failed" ("crawl ended: closespider…").
    timed_out = {"cityfeeds/not_fetched/closespider_timeout": 269}
    assert RunRecorder._verdict(spider, "closespider_timeout", timed_out) == (
        "killed",
        "killed after the run timeout: 269 request(s) left for the next run",
    )
    refused = {"cityfeeds/dropped/robots_disallowed": 3, "cityfeeds/dropped/too_large": 1}
    assert RunRecorder._verdict(spider, "finished", refused) == ("ok", None)  # policy, no loss
    assert RunRecorder._verdict(spider, "interrupted", {})[0] == "interrupted"
    assert RunRecorder._verdict(spider, "retry_after", {"cityfeeds/retry_after": 60})[0] == (
        "deferred"
    )
    outcome = CrawlOutcome(
        returncode=0,
        killed=False,
        duration=1.0,
        runs={
            "a": {"status": "partial"},
            "b": {"status": "deferred"},
            "c": {"status": "killed"},
            "d": {"status": "interrupted"},
        },
    )
    assert outcome.failed_sources() == ["c", "d"] and outcome.deferred_sources() == ["b"]
    now = datetime.now(UTC)
    run = {"status": "partial", "started_at": now, "finished_at": now, "stats": {}}
    assert source_status(SourceInputs("a", True, 1800, [run], {}), now).state == "ok"


def test_i4_the_service_skips_a_source_another_crawl_holds(tmp_path: Path) -> None:
    from cityfeeds.service import Service
    from crawler.lifecycle import SourceLocks
    from tests.cityfeeds.service_fakes import config_with, source

    cfg = config_with(tmp_path, [source("alpha")])
    svc = Service(cfg)  # the real crawl_subprocess
    with SourceLocks.for_config(cfg, ["alpha"]):  # what a running `cityfeeds crawl` holds
        assert svc.run_source("alpha") == "busy"
    assert svc.store.recent_runs("alpha") == []  # no run row, no child started
    assert svc.store.get_source_state("alpha")["consecutive_failures"] == 0
    svc.store.close()


def _python_script(code: str) -> subprocess.Popen[str]:
    """``code`` run by a new Python in the repository, its output readable line by line."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )


# -- I14 an extraction worker killed while it sends its results ------------------------

POOL_UNDER_LOAD = """
import asyncio, sys
from datetime import UTC, datetime
from crawler.models import PageFacts
from crawler.profile import SourceProfile
from crawler.workpool import BrokenProcessPool, ExtractionPool
from tests.faults.support import article_html

text = ["Трамваи Москвы получили новые вагоны, сообщили в департаменте транспорта. " * 30] * 12
body = article_html("Трамваи", text).encode()
profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))

async def main():
    pool = ExtractionPool(1)
    pool.warm()
    while not pool.ready:
        await asyncio.sleep(0.05)
    pages = [PageFacts(f"https://news.example/news/{n}", datetime(2026, 11, 20, tzinfo=UTC))
             for n in range(400)]
    work = [asyncio.ensure_future(pool.process_page(profile, body, p)) for p in pages]
    await asyncio.sleep(0)
    print("worker", *pool._executor._processes, flush=True)
    results = await asyncio.gather(*work, return_exceptions=True)
    broken = sum(isinstance(r, BrokenProcessPool) for r in results)
    print("done", broken, len(results) - broken, flush=True)
    pool.close(wait=True)

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGSTOP, /proc")
def test_i14_a_worker_killed_while_sending_its_results_fails_its_pages_not_the_crawl() -> None:
    """The crawl process stalls (a store write, a busy machine: here SIGSTOP) while its worker
    finishes tasks; the worker is killed meanwhile. The pages in flight fail with
    BrokenProcessPool and the crawl goes on: it waited, half a message read, until its run
    timeout (a task's results were sent through the pipe, hundreds of KB)."""
    owner = _python_script(POOL_UNDER_LOAD)
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline().split()
        assert line[0] == "worker", line
        worker = int(line[1])
        time.sleep(0.3)
        os.kill(owner.pid, signal.SIGSTOP)
        time.sleep(1.5)  # the worker finishes its tasks and sends their results meanwhile
        os.kill(worker, signal.SIGKILL)
        time.sleep(0.2)
        os.kill(owner.pid, signal.SIGCONT)
        out, _ = owner.communicate(timeout=60)
        done = out.split()
        assert done[0] == "done" and int(done[1]) > 0, out  # pages lost with the worker
        assert int(done[1]) + int(done[2]) == 400
    finally:
        if owner.poll() is None:
            owner.kill()


# -- I9 the extraction pool of a crawl killed outright ---------------------------------------

POOL_OWNER = """
import asyncio, os, sys, time
from datetime import UTC, datetime
from crawler.models import PageFacts
from crawler.profile import SourceProfile
from crawler.workpool import ExtractionPool
from tests.faults.support import article_html

pool = ExtractionPool(2)
profile = SourceProfile(name="vestnik", site_names=(), allowed_domains=("news.example",))
page = PageFacts("https://news.example/news/1", datetime(2026, 11, 20, tzinfo=UTC))
asyncio.run(pool.process_page(profile, article_html("Трамвай").encode(), page))
while not pool.ready:  # the first page was processed in-process; the workers start meanwhile
    time.sleep(0.05)
asyncio.run(pool.process_page(profile, article_html("Трамвай").encode(), page))
print("ready", flush=True)
time.sleep(600)
"""


def _pool_children(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        task = Path(f"/proc/{frontier.pop()}/task")
        for thread in task.iterdir() if task.exists() else ():
            for child in (thread / "children").read_text().split():
                found.append(int(child))
                frontier.append(int(child))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process tree (/proc)")
def test_i9_the_extraction_pool_dies_with_a_crawl_killed_outright() -> None:
    # A crawl process killed with SIGKILL and no supervisor to kill its process group: the
    # forkserver and the workers must not live on (they kept each other alive before).
    owner = _python_script(POOL_OWNER)
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
        pool = [pid for pid in _pool_children(owner.pid) if "forkserver" in _cmdline(pid)]
        assert len(pool) >= 2  # the server and a worker (started on demand)
        owner.kill()
        owner.wait(10)
        deadline = time.monotonic() + 30
        while [p for p in pool if process_alive(p)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pool if process_alive(p)], "the pool outlived its crawl"
    finally:
        if owner.poll() is None:
            owner.kill()


def test_i4_a_full_disk_when_noting_the_holder_costs_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing the holder's pid fails (ENOSPC): the lock is held, and released afterwards."""
    import errno
    import os

    from crawler.lifecycle import SourceBusy, SourceLocks

    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    locks = SourceLocks(tmp_path / "locks", ["alpha", "beta"])
    monkeypatch.setattr(os, "write", full)
    locks.acquire()
    monkeypatch.setattr(os, "write", real_write)
    with pytest.raises(SourceBusy):
        SourceLocks(tmp_path / "locks", ["beta"]).acquire()  # held while we hold it
    locks.release()
    again = SourceLocks(tmp_path / "locks", ["alpha", "beta"])
    again.acquire()  # once leaked in the service, this failed until it restarted
    again.release()


def test_a_lock_folder_that_cannot_be_made_is_named_as_such(tmp_path: Path) -> None:
    """A database path under a file: the crawl's one-line error says what it could not make."""
    from crawler.lifecycle import SourceLocks

    (tmp_path / "cityfeeds.toml").write_text("")
    locks = SourceLocks(tmp_path / "cityfeeds.toml" / "sub" / "locks" / "x.db", ["alpha"])
    said = r"cannot make the folder of the crawl locks, .*/locks/x.db: "
    with pytest.raises(OSError, match=said):
        locks.acquire()
    assert locks.fds == ()


def _disk_full() -> Exception:
    from sqlalchemy.exc import OperationalError

    return OperationalError("UPDATE runs", {}, Exception("database or disk is full"))


class _FullStore:
    """A store that reads but refuses every write, as SQLite on a full disk does."""

    def __init__(self) -> None:
        self.run = {"id": 7, "source": "alpha", "status": "running", "pid": None, "host": None}

    def running_runs(self) -> list[dict[str, Any]]:
        return [self.run]

    def get_run(self, run_id: int) -> dict[str, Any]:
        return self.run

    def recent_runs(self, source: str, *, limit: int) -> list[dict[str, Any]]:
        return [self.run]

    def close_run(self, run_id: int, **kwargs: Any) -> bool:
        raise _disk_full()


def test_i3_a_full_disk_leaves_dead_runs_open_with_one_line_and_status_reads_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from crawler.lifecycle import close_dead_runs

    with caplog.at_level(logging.WARNING):
        assert close_dead_runs(_FullStore(), datetime.now(UTC)) == []
    assert "[alpha] run 7" in caplog.text and "database or disk is full" in caplog.text
    assert "Traceback" not in caplog.text


def test_i3_a_crawl_ending_on_a_full_disk_says_so_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from crawler.supervisor import _collect

    with caplog.at_level(logging.ERROR):
        outcome = _collect(_FullStore(), {"alpha": 7}, 1, False, False, 1.0, 60.0)  # type: ignore[arg-type]
    assert outcome.runs["alpha"]["status"] == "running"  # closed by the next crawl or status
    assert [r.getMessage() for r in caplog.records] == [
        "[alpha] run 7: cannot record its end (database or disk is full)"
    ]


def test_i4_two_databases_in_one_folder_lock_their_sources_apart(tmp_path: Path) -> None:
    from crawler.lifecycle import SourceBusy, SourceLocks

    configs = []
    for db in ("a.db", "b.db"):
        path = tmp_path / f"{db}.toml"
        path.write_text(
            f'[cityfeeds]\ndatabase_url = "sqlite:///{tmp_path / db}"\n[[sources]]\n'
            'name = "alpha"\ntitle = "A"\nurl = "https://a.example/"\n',
            encoding="utf-8",
        )
        configs.append(load_config(path))
    first = SourceLocks.for_config(configs[0], ["alpha"])
    first.acquire()
    try:
        other = SourceLocks.for_config(configs[1], ["alpha"])
        other.acquire()  # once refused: "already being crawled" by the other database's crawl
        other.release()
        with pytest.raises(SourceBusy):
            SourceLocks.for_config(configs[0], ["alpha"]).acquire()
    finally:
        first.release()


def test_i11_a_crawl_stopped_by_its_time_limit_fails_and_still_publishes(lab: Lab) -> None:
    # The limit stops the child with SIGTERM, which it records as an interruption: the command
    # must still tell a timeout (exit 1, the source failed) from a Ctrl-C (exit 130), and
    # publish the articles stored before the limit.
    release = threading.Event()
    lab.source("i7", slow_site(lab, release).base)
    cfg = lab.config_path()
    try:
        proc = cli(cfg, "crawl", "--timeout", "10")
        out = proc.communicate(timeout=120)[0].decode()
    finally:
        release.set()
    assert proc.returncode == 1, out
    assert "killed after the run timeout" in out and "interrupted;" not in out
    assert "Feeds:" in out
    feed = (load_config(cfg).output_dir / "sources" / "i7.rss").read_text(encoding="utf-8")
    assert TITLES[1] in feed and TITLES[2] in feed
