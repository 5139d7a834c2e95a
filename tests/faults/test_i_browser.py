"""Fault catalogue I8 (a crawl's browser): one Chromium per crawl child, never left running.

Two ``render = "browser"`` sources, their listings kept in flight by a request that never ends,
and the crawl child stopped: by SIGTERM or SIGINT (answered by recording the runs), by SIGKILL
under the supervisor (which reaps the child's process group), or by SIGKILL with nobody to reap
anything. Needs the ``browser`` extra and Debian's ``chromium`` (CITYFEEDS_REQUIRE_BROWSER=1 in
CI turns the skip into a failure).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cityfeeds.devtools.demo_server import SiteServer
from crawler.config import load_config
from crawler.supervisor import crawl_subprocess
from tests.crawler.browser.browser_processes import HangingServer, browser_trees, browsers_marked
from tests.crawler.browser.js_site import rendered_sources_waiting

pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Skips without a browser; fails the test if a browser process outlives its crawl."""
    with browsers_marked(monkeypatch) as mark:
        yield mark


@pytest.fixture
def sites() -> Iterator[list[SiteServer]]:
    servers = [SiteServer().start(), SiteServer().start()]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["sigterm", "sigint", "sigkill"]
)
def test_i8_a_stopped_crawl_leaves_no_browser(
    tmp_path: Path,
    sites: list[SiteServer],
    hanging: HangingServer,
    marker: str,
    sig: signal.Signals,
) -> None:
    # The crawl child alone gets SIGTERM (the scheduler, the run timeout), SIGINT (a Ctrl-C of
    # `cityfeeds crawl`, passed on) or SIGKILL (the timeout's last resort) while a page of
    # each source waits in the browser.
    config = load_config(rendered_sources_waiting(tmp_path, sites, hanging.script()))
    trees: list[list[int]] = []

    def stop_when_the_pages_wait(proc: subprocess.Popen[bytes]) -> None:
        def watch() -> None:
            if hanging.wait_for(2):
                trees.append(browser_trees(proc.pid))
            os.kill(proc.pid, sig)

        threading.Thread(target=watch, daemon=True).start()

    outcome = crawl_subprocess(
        config, ["jsnews", "jsnews2"], timeout=90, on_start=stop_when_the_pages_wait
    )
    assert not outcome.killed  # it stopped on the signal, before the run timeout
    assert len(trees) == 1 and len(trees[0]) == 1, trees  # one browser for both sources
    if sig != signal.SIGKILL:
        assert outcome.interrupted
        assert {run["status"] for run in outcome.runs.values()} == {"interrupted"}
    # the marker fixture then checks that nothing of the browser is left


def test_i8_the_browser_dies_with_a_crawl_child_killed_unsupervised(
    tmp_path: Path, sites: list[SiteServer], hanging: HangingServer, marker: str
) -> None:
    # A crawl child started by hand and killed outright: no supervisor reaps its process group,
    # so the browser must go on its own when its parent dies (PR_SET_PDEATHSIG).
    cfg = rendered_sources_waiting(tmp_path, sites[:1], hanging.script())
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler.runner", "--config", str(cfg), "jsnews"],
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert hanging.wait_for(1), "the page never asked"
        assert len(browser_trees(child.pid)) == 1
    finally:
        child.kill()
        child.wait()
    # the marker fixture then checks that nothing of the browser is left
