"""``render = "browser"``: a JavaScript listing crawled through the system Chromium, guarded.

Needs the ``browser`` extra and Debian's ``chromium``; skipped without them unless
``CITYFEEDS_REQUIRE_BROWSER=1`` (set in CI) turns the skip into a failure.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_processes import HangingServer, browser_trees, browsers_marked
from js_site import ARTICLES, article_path, js_site, js_source, rendered_sources_waiting

from cityfeeds.devtools.demo_server import SiteServer
from crawler.config import load_config
from crawler.normalize.urls import url_identity
from crawler.storage import Store
from crawler.supervisor import CrawlOutcome, crawl_subprocess
from tests.conftest import write_site_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Skips without a browser; fails the test if a browser process outlives its crawl."""
    with browsers_marked(monkeypatch) as mark:
        yield mark


@pytest.fixture
def site() -> Iterator[SiteServer]:
    server = SiteServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def other_site() -> Iterator[SiteServer]:
    """A second site, for a second source."""
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


def test_page_requests_to_the_site_obey_its_robots_txt(
    tmp_path: Path, site: SiteServer, marker: str
) -> None:
    # A script and an XHR of the page's own, under a path robots.txt forbids to every agent.
    blocked = "<script src='/private/tracker.js'></script><script>fetch('/private/stats')</script>"
    site.files = js_site(robots="User-agent: *\nDisallow: /private/\n", extra=blocked)
    outcome, stored, log = _crawl(tmp_path, site, render=True)
    assert outcome.runs["jsnews"]["status"] in ("ok", "degraded"), log
    assert len(stored) == ARTICLES  # /api/news.json is allowed
    assert not [r for r in site.requests if r.startswith("/private/")]
    assert outcome.runs["jsnews"]["dropped"].get("robots_disallowed") == 2, log


def test_page_requests_are_checked_with_the_crawls_user_agent(
    tmp_path: Path, site: SiteServer, marker: str
) -> None:
    # Only the crawl's own agent (its product token, as robots.txt names it) may not read the
    # JSON the links come from: the listing is fetched, its links are not.
    robots = "User-agent: cityfeeds\nDisallow: /api/\n\nUser-agent: *\nAllow: /\n"
    site.files = js_site(robots=robots)
    outcome, stored, log = _crawl(tmp_path, site, render=True)
    assert "/news/" in site.requests and "/api/news.json" not in site.requests
    assert stored == set()
    assert outcome.runs["jsnews"]["dropped"].get("robots_disallowed") == 1, log


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    try:
        yield server
    finally:
        server.close()


def test_two_rendered_sources_share_one_browser(
    tmp_path: Path, site: SiteServer, other_site: SiteServer, marker: str, hanging: HangingServer
) -> None:
    config = load_config(rendered_sources_waiting(tmp_path, [site, other_site], hanging.script()))
    trees: list[list[int]] = []

    def count_when_both_pages_wait(proc: subprocess.Popen[bytes]) -> None:
        def watch() -> None:
            if hanging.wait_for(2):  # a page of each source is open in the browser
                trees.append(browser_trees(proc.pid))
            hanging.release()

        threading.Thread(target=watch, daemon=True).start()

    log = tmp_path / "crawl.log"
    with log.open("w") as err:
        outcome = crawl_subprocess(
            config, ["jsnews", "jsnews2"], timeout=120, stderr=err,
            on_start=count_when_both_pages_wait,
        )  # fmt: skip
    text = log.read_text(encoding="utf-8", errors="replace")
    assert trees and len(trees[0]) == 1, (trees, text)
    assert len(hanging.held) == 2
    store = Store.open(config.database_url)
    try:
        for name in ("jsnews", "jsnews2"):
            assert outcome.runs[name]["status"] == "ok", text
            assert len(store.known_urls(name)) == ARTICLES
    finally:
        store.close()
    # the marker fixture then checks that the browser is gone with the crawl


def test_a_page_whose_script_never_ends_is_refused_at_once(
    tmp_path: Path, site: SiteServer, marker: str
) -> None:
    # An endless loop keeps the page's main thread busy, and reading the page's HTML waited for
    # it: the crawl held its browser until the run's timeout (30 min by default), every run.
    site.files = js_site(
        extra="<script>const t = setInterval(() => {"
        " if (document.querySelector('a.item')) { clearInterval(t); while (true) {} } }, 10)"
        "</script>"
    )
    outcome, stored, log = _crawl(tmp_path, site, render=True)
    run = outcome.runs["jsnews"]
    assert stored == set()
    assert run["status"] == "failed", log
    assert "its scripts keep the page busy (an endless loop?)" in (run["message"] or ""), run
    assert outcome.duration < 60, outcome.duration


def test_a_listing_that_navigates_away_is_named_in_what_the_run_says(
    tmp_path: Path, site: SiteServer, marker: str
) -> None:
    # The page sent itself to a refused address: the run said "the listing holds no links:
    # chrome-error://chromewebdata/", Chromium's error page, not the listing.
    site.files = js_site(extra="<script>location.href = 'http://10.1.2.3/away';</script>")
    outcome, _, log = _crawl(tmp_path, site, render=True)
    run = outcome.runs["jsnews"]
    said = f"{run['message']} {log}"
    assert "chrome-error" not in said, said
    assert site.base_url + "news/" in (run["message"] or ""), run
    assert run["dropped"].get("blocked_private", 0) >= 1, run
