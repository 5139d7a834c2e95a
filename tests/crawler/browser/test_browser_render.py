"""``render = "browser"``: a JavaScript listing crawled through the system Chromium, guarded.

Needs the ``browser`` extra and Debian's ``chromium``; skipped without them unless
``CITYFEEDS_REQUIRE_BROWSER=1`` (set in CI) turns the skip into a failure.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from js_site import ARTICLES, article_path, js_site, js_source

from cityfeeds.devtools.demo_server import SiteServer
from crawler.browser import chromium_executable
from crawler.config import load_config
from crawler.normalize.urls import url_identity
from crawler.storage import Store
from crawler.supervisor import CrawlOutcome, crawl_subprocess
from tests.conftest import write_site_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _require_browser() -> None:
    missing = []
    if importlib.util.find_spec("scrapy_playwright") is None:
        missing.append("the browser extra (pip install -e '.[browser]')")
    if not chromium_executable():
        missing.append("chromium (apt-get install chromium)")
    if missing:
        reason = " and ".join(missing) + " missing"
        if os.environ.get("CITYFEEDS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CITYFEEDS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An environment mark the crawl child passes to its browser, to find what survives.

    Checked only after the crawl child has exited, so anything found outlived it.
    """
    _require_browser()
    mark = uuid.uuid4().hex
    monkeypatch.setenv("CITYFEEDS_TEST_MARK", mark)
    yield mark
    # A browser whose driver was killed exits when its pipe closes: give it a moment.
    deadline = time.monotonic() + 10
    while (left := _marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], "a browser process outlived its crawl"


def _marked_processes(mark: str) -> list[str]:
    found = []
    needle = f"CITYFEEDS_TEST_MARK={mark}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "chromium" in cmdline or "playwright" in cmdline:  # the browser, its driver
                    found.append(cmdline)
        except OSError:
            continue  # gone, or not ours to read
    return found


@pytest.fixture
def site() -> Iterator[SiteServer]:
    server = SiteServer().start()
    try:
        yield server
    finally:
        server.stop()


def _crawl(
    tmp_path: Path, site: SiteServer, *, render: bool, max_bytes: int | None = None
) -> tuple[CrawlOutcome, set[str], str]:
    tmp_path.mkdir(exist_ok=True)
    extra = {"crawl": {"max_response_bytes": max_bytes}} if max_bytes else None
    cfg = write_site_config(
        tmp_path, site.base_url, sources=[js_source(site.base_url, render=render)], extra=extra
    )
    config = load_config(cfg)
    log = tmp_path / "crawl.log"
    with log.open("w") as err:
        outcome = crawl_subprocess(config, ["jsnews"], timeout=120, stderr=err)
    store = Store.open(config.database_url)
    try:
        stored = store.known_urls("jsnews")
    finally:
        store.close()
    return outcome, stored, log.read_text(encoding="utf-8", errors="replace")


def test_javascript_listing_is_crawled_only_with_render(
    tmp_path: Path, site: SiteServer, marker: str
) -> None:
    site.files = js_site()
    outcome, stored, _ = _crawl(tmp_path / "plain", site, render=False)
    assert outcome.runs["jsnews"]["status"] in ("ok", "degraded")
    assert stored == set()  # the plain HTML holds no article link
    assert "/api/news.json" not in site.requests

    outcome, stored, log = _crawl(tmp_path / "render", site, render=True)
    assert outcome.runs["jsnews"]["status"] == "ok", log
    root = site.base_url.rstrip("/")
    assert stored == {url_identity(root + article_path(i)) for i in range(ARTICLES)}
    assert "/api/news.json" in site.requests
    assert "/img/banner.png" not in site.requests  # images are not downloaded


def test_page_scripts_cannot_reach_private_addresses_or_files(
    tmp_path: Path, site: SiteServer, marker: str
) -> None:
    site.files = js_site(probes=True)
    outcome, stored, log = _crawl(tmp_path, site, render=True)
    assert outcome.runs["jsnews"]["status"] in ("ok", "degraded"), log
    assert len(stored) == ARTICLES
    assert not [r for r in site.requests if "leak" in r]  # no probe got through
    dropped = outcome.runs["jsnews"]["dropped"]
    assert dropped.get("blocked_private", 0) >= 3, (dropped, log)
    for target in ("http://10.0.0.1/secret", "http://169.254.169.254/", "ws://10.0.0.1:9/"):
        assert target in log, log


def test_a_page_grown_past_the_size_limit_is_dropped(
    tmp_path: Path, site: SiteServer, marker: str
) -> None:
    site.files = js_site()
    body, ctype = site.files["/news/"]
    grow = b"<script>document.body.append('x'.repeat(20000))</script></body>"
    site.files["/news/"] = (body.replace(b"</body>", grow), ctype)
    assert len(site.files["/news/"][0]) < 4096  # only the rendered page is too large
    outcome, stored, log = _crawl(tmp_path, site, render=True, max_bytes=4096)
    assert stored == set()
    assert outcome.runs["jsnews"]["dropped"].get("too_large") == 1, log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_no_browser_survives_a_stopped_crawl(
    tmp_path: Path, site: SiteServer, marker: str, sig: signal.Signals
) -> None:
    # The listing asks a socket that never answers, so the page is still in the browser when
    # the crawl child's group gets SIGTERM (the scheduler, a Ctrl-C of `cityfeeds crawl`, the
    # run timeout) or SIGKILL (the timeout's last resort).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(60)
        hang = f"<script>fetch('http://127.0.0.1:{silent.getsockname()[1]}/hang')</script>"
        site.files = js_site()
        body, ctype = site.files["/news/"]
        site.files["/news/"] = (body.replace(b"</body>", hang.encode() + b"</body>"), ctype)
        cfg = write_site_config(
            tmp_path, site.base_url, sources=[js_source(site.base_url, render=True)]
        )
        seen: list[str] = []

        def stop_when_the_page_waits(proc: subprocess.Popen[bytes]) -> None:
            def watch() -> None:
                conn, _ = silent.accept()  # the page's request arrived: it is in flight
                seen.extend(c for c in _marked_processes(marker) if "chromium" in c)
                os.killpg(proc.pid, sig)
                conn.close()

            threading.Thread(target=watch, daemon=True).start()

        outcome = crawl_subprocess(
            load_config(cfg), ["jsnews"], timeout=90, on_start=stop_when_the_page_waits
        )
    assert not outcome.killed  # it stopped on the signal, before the run timeout
    assert seen, "the browser was not running when the crawl was stopped"
    # the marker fixture then checks that nothing of it is left
