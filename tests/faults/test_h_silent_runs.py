"""Fault catalogue H9–H11: a crawl that finds nothing, stops early or cannot start says so.

A source whose listing links match no ``article_pattern`` (a path-anchored or misspelt pattern),
whose listing is built by JavaScript, whose ``next_page`` selector matches nothing, a run held by
its page cap, and a ``render = "browser"`` source without Chromium: each was an ``ok`` run with
an empty message (or "crawl process exited with 2"). Loopback sites, one crawl child for all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cityfeeds.status.health import SourceInputs, source_status
from crawler.browser import ENV_CHROMIUM
from crawler.run_states import page_cap_note
from tests.faults.support import Lab, Site, article_html, html_route, rss

pytestmark = [pytest.mark.fault]

STORIES = range(101, 106)


def _listing(links: list[str], extra: str = "") -> str:
    anchors = "".join(f'<li><a href="{href}">Новость {i}</a></li>' for i, href in enumerate(links))
    nav = '<a href="/">Главная</a><a href="/about">О нас</a>'
    return f"<html><body><nav>{nav}</nav><ul>{anchors}</ul>{extra}</body></html>"


def _site(lab: Lab) -> Site:
    """A site with a listing at /news/ of /story/NNN/slug pages, each an article."""
    site = lab.site()
    paths = [f"/story/{n}/gorod-{n}" for n in STORIES]
    site.routes["/news/"] = html_route(_listing(paths))
    for n, path in zip(STORIES, paths, strict=True):
        site.routes[path] = html_route(article_html(f"Новость номер {n} о городе"))
    return site


@dataclass
class Silent:
    """The lab's one crawl: its runs and sites."""

    lab: Lab
    runs: dict[str, dict[str, Any]]
    sites: dict[str, Site]

    def state(self, name: str) -> tuple[str, list[str], str | None]:
        """The source's ``status`` state, reasons and message after this one run."""
        run = self.runs[name]
        row = source_status(SourceInputs(name, True, 3600, [run], {}), run["finished_at"])
        return row.state, row.reasons, row.message


@pytest.fixture(scope="module")
def silent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Silent]:
    lab = Lab(tmp_path_factory.mktemp("h_silent"))
    sites: dict[str, Site] = {}
    try:
        for name, pattern in (("h9_anchored", r"^/story/\d+"), ("h9_typo", r"/stroy/\d+")):
            sites[name] = site = _site(lab)
            lab.source(
                name, site.base, feed=None, listings=[{"url": site.base + "news/"}],
                article_pattern=pattern,
            )  # fmt: skip
        sites["h9_js"] = site = lab.site()
        site.routes["/news/"] = html_route(
            "<html><body><div id='app'></div><script>render('/api/news')</script></body></html>"
        )
        lab.source("h9_js", site.base, feed=None, listings=[{"url": site.base + "news/"}])
        sites["h9_next"] = site = _site(lab)
        lab.source(
            "h9_next", site.base, feed=None,
            listings=[{"url": site.base + "news/", "next_page": "a.next-page"}],
            article_pattern=r"/story/\d+",
        )  # fmt: skip
        sites["h9_sitemap"] = site = _site(lab)
        urls = "".join(f"<url><loc>{site.base}story/{n}/x</loc></url>" for n in STORIES)
        site.routes["/sitemap.xml"] = html_route(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>",
            "application/xml",
        )
        lab.source(
            "h9_sitemap", site.base, feed=None, sitemaps=[site.base + "sitemap.xml"],
            article_pattern=r"/news/\d+",
        )  # fmt: skip
        sites["h10_cap"] = site = _site(lab)
        paths = [f"/story/{n}/gorod-{n}" for n in STORIES]
        site.routes["/rss.xml"] = html_route(rss(site.base, paths), "application/rss+xml")
        lab.source("h10_cap", site.base, max_pages_per_run=2)
        sites["h9_fine"] = site = _site(lab)
        lab.source(
            "h9_fine", site.base, feed=None, listings=[{"url": site.base + "news/"}],
            article_pattern=r"^https?://[^/]+/story/\d+",
        )  # fmt: skip
        # A listing of five pages (max_listing_pages' default), two stories each.
        sites["pages"] = site = lab.site()
        for page in range(1, 6):
            stories = [f"/story/{n}/gorod-{n}" for n in (200 + 2 * page, 201 + 2 * page)]
            more = f'<a class="next-page" href="/news/?page={page + 1}">Дальше</a>'
            site.routes["/news/" if page == 1 else f"/news/?page={page}"] = html_route(
                _listing(stories, more if page < 5 else "")
            )
            for path in stories:
                site.routes[path] = html_route(article_html(f"Новость {path} о городе"))
        lab.source(
            "pages", site.base, feed=None,
            listings=[{"url": site.base + "news/", "next_page": "css:a.next-page"}],
            article_pattern=r"/story/\d+",
        )  # fmt: skip
        result = lab.run(feeds=False)
        yield Silent(lab, result.runs, sites)
    finally:
        lab.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "said"),
    [
        (
            "h9_anchored",
            r"listing read: 7 links, none matched article_pattern '\^/story/\\d\+' \(matched "
            r"against the full URL, e\.g\. http://127\.0\.0\.1:\d+/story/101/gorod-101",
        ),
        ("h9_typo", r"listing read: 7 links, none matched article_pattern '/stroy/\\d\+'"),
        (
            "h9_js",
            r"the listing holds no links \(built by JavaScript\? render = \"browser\"\): "
            r"http://127\.0\.0\.1:\d+/news/",
        ),
        (
            "h9_sitemap",
            r"sitemap read: 5 links, none matched article_pattern '/news/\\d\+' \(matched "
            r"against the full URL, e\.g\. http://127\.0\.0\.1:\d+/story/101/x",
        ),
    ],
)
def test_h9_a_run_that_found_no_article_link_says_why_and_is_degraded(
    silent: Silent, name: str, said: str
) -> None:
    run = silent.runs[name]
    assert run["status"] == "ok" and run["pages"] == 0
    assert run["message"].startswith("found no article link"), run["message"]
    assert re.search(said, run["message"]), run["message"]
    assert run["stats"]["article_links"] == 0
    state, reasons, message = silent.state(name)
    # Not a plain "ok": status (and `status --check`) flag the source, its message says why.
    assert state == "degraded" and reasons == ["found no article link"]
    assert message == run["message"]


@pytest.mark.slow
def test_h9_a_next_page_selector_that_matches_nothing_is_said(silent: Silent) -> None:
    run = silent.runs["h9_next"]
    listing = silent.sites["h9_next"].base + "news/"
    assert run["status"] == "ok" and run["new"] == len(STORIES)
    assert run["message"] == (
        f"next_page matched nothing on {listing}: only the first listing page was read"
    )
    assert silent.state("h9_next")[0] == "ok"  # articles were found: the run worked


@pytest.mark.slow
def test_h10_a_run_held_by_its_page_cap_says_how_many_links_wait(silent: Silent) -> None:
    run = silent.runs["h10_cap"]
    assert run["status"] == "ok" and run["new"] == 2
    assert run["stats"]["skipped/page_cap"] == 3
    assert run["message"] == "page cap reached: 3 links left for the next runs"
    assert silent.state("h10_cap") == ("ok", [], run["message"])


def test_h10_page_cap_note_groups_thousands() -> None:
    assert page_cap_note(9700) == "page cap reached: 9,700 links left for the next runs"
    assert page_cap_note(1) == "page cap reached: 1 link left for the next runs"


@pytest.mark.slow
def test_h9_a_pattern_anchored_to_the_url_finds_the_articles_and_says_nothing(
    silent: Silent,
) -> None:
    run = silent.runs["h9_fine"]
    assert run["status"] == "ok" and run["new"] == len(STORIES) and run["message"] is None
    assert silent.state("h9_fine") == ("ok", [], None)


@pytest.mark.slow
def test_h11_missing_chromium_is_the_runs_message(tmp_path: Path) -> None:
    """The crawl child's one line about the browser is what the runs record, not only
    "crawl process exited with 2" (the summary and ``status`` show the run's message)."""
    lab = Lab(tmp_path)
    try:
        site = _site(lab)
        lab.source(
            "kazan_js", site.base, feed=None, listings=[{"url": site.base + "news/"}],
            render="browser",
        )  # fmt: skip
        lab.source("plain", site.base, feed=None, listings=[{"url": site.base + "news/"}])
        lab.env[ENV_CHROMIUM] = str(tmp_path / "no-such-chromium")
        result = lab.run(feeds=False)
        assert result.outcome.returncode == 2
        line = (
            'source kazan_js sets render = "browser" but no Chromium was found '
            f"(apt-get install chromium, or set ${ENV_CHROMIUM})"
        )
        for name in ("kazan_js", "plain"):
            run = result.runs[name]
            assert run["status"] == "failed" and run["message"] == line, run
        assert f"cityfeeds: {line}" in lab.log_text()
    finally:
        lab.close()


@pytest.mark.slow
def test_i13_a_listing_is_read_to_its_page_cap_whatever_the_depth_limit(silent: Silent) -> None:
    # Each next page counted as a level deeper: at depth_limit 3, pages 4 and 5 of a five-page
    # listing and their articles were dropped without a word.
    run = silent.runs["pages"]
    assert run["status"] == "ok" and run["new"] == 10, run
