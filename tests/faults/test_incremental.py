"""Incremental crawling: stored articles are not fetched again, a 304 costs no parsing, and every
run reports requests made, requests avoided and bytes (also in the ``cityfeeds crawl`` table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cityfeeds.cli import main
from crawler.discovery import Link
from crawler.pages import summary_from_text
from crawler.spiders.rechecks import RecheckQueue
from tests.faults.support import Lab, article_html, html_route, rss

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def _conditional_feed(feed: bytes) -> Any:
    """A feed route with an ETag, answering 304 to a request that sends it back."""

    def serve(handler: Any, s: Any) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send(304, {"ETag": '"v1"'}, b"")
        else:
            handler.send(200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, feed)

    return serve


def _site_of_pages(lab: Lab, articles: int) -> tuple[Any, list[str]]:
    """A site of ``articles`` pages ``/news/<i>`` (no feed yet), and their paths."""
    site = lab.site()
    paths = [f"/news/{i}" for i in range(articles)]
    for i, p in enumerate(paths):
        site.routes[p] = _page(i)
    return site, paths


def _conditional_site(lab: Lab, source: str, articles: int) -> Any:
    """A source of ``articles`` pages ``/news/<i>`` behind a feed that answers 304."""
    site, paths = _site_of_pages(lab, articles)
    site.routes["/rss.xml"] = _conditional_feed(rss(site.base, paths))
    lab.source(source, site.base)
    return site


def test_incremental_recrawl_uses_validators_and_skips_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = Lab(tmp_path)
    try:
        site = lab.site()
        paths = [f"/news/{i}" for i in range(3)]
        for i, p in enumerate(paths):
            site.routes[p] = html_route(article_html(f"Новость {i} для повторного обхода"))
        site.routes["/rss.xml"] = _conditional_feed(rss(site.base, paths))
        lab.source("inc", site.base)
        lab.crawl = {"refresh_hours": 0}
        cfg = lab.config_path()
        assert main(["--config", str(cfg), "crawl", "--quiet", "--no-feeds"]) == 0
        first_table = capsys.readouterr().out
        assert "requests" in first_table and "avoided" in first_table and "bytes" in first_table
        site.log.clear()

        assert main(["--config", str(cfg), "crawl", "--quiet", "--no-feeds"]) == 0
        table = capsys.readouterr().out
        assert [p for _, p, _ in site.log if p.startswith("/news/")] == []  # nothing fetched again
        assert site.hits("/rss.xml") == 1
        from crawler.config import load_config
        from crawler.storage import Store

        store = Store.open(load_config(cfg).database_url)
        try:
            store_runs = store.recent_runs("inc")
            run = store_runs[0]
        finally:
            store.close()
        stats = run["stats"]
        assert run["status"] == "ok" and stats["not_modified"] == 1  # 304: no parsing
        assert stats.get("discovered/feed") is None  # the feed was not parsed
        first_run = store_runs[1]["stats"]
        # The 304 run downloaded no article page and no feed body: far less than the first.
        assert stats["requests"] >= 1 and stats["bytes"] < first_run["bytes"]
        row = next(line for line in table.splitlines() if line.startswith("inc "))
        assert str(stats["requests"]) in row and str(stats["requests_avoided"]) in row
    finally:
        lab.close()


def _page(i: int) -> Any:
    return html_route(
        article_html(
            f"Новость номер {i} о городском транспорте",
            [f"Текст новости номер {i}: маршрут {i} продлён до новой станции метро."],
        )
    )


def test_i10_new_articles_first_then_rechecks_within_budget_spread_over_runs(
    tmp_path: Path,
) -> None:
    """A backlog of recent articles to re-check no longer delays a new one: new articles are
    fetched first, then at most ``recheck_per_run`` re-checks, the next run taking up where
    this one stopped."""
    lab = Lab(tmp_path)
    try:
        site, paths = _site_of_pages(lab, 6)
        site.routes["/rss.xml"] = html_route(rss(site.base, paths), "application/rss+xml")
        lab.source("i8", site.base)
        lab.crawl = {"recheck_per_run": 2}
        first = lab.run(feeds=False).runs["i8"]
        assert first["new"] == 6 and not first["stats"].get("rechecks")

        fresh = ["/news/new-a", "/news/new-b"]
        for i, p in enumerate(fresh):
            site.routes[p] = _page(10 + i)
        site.routes["/rss.xml"] = html_route(rss(site.base, fresh + paths), "application/rss+xml")
        rechecked: list[set[str]] = []
        # Recent: the six, then also the two new ones once stored; two re-checked per run.
        for deferred in (4, 6, 6):
            site.log.clear()
            run = lab.run(feeds=False).runs["i8"]
            fetched = [p for _, p, _ in site.log if p.startswith("/news/")]
            old = [p for p in fetched if p in paths]
            assert len(old) == 2, fetched  # the budget: two re-checks per run
            assert run["stats"]["rechecks"] == 2
            assert run["stats"]["rechecks_deferred"] == deferred
            if not rechecked:  # the new articles came first, before any re-check
                assert run["new"] == 2 and set(fetched[:2]) == set(fresh), fetched
            rechecked.append(set(old))
        # Spread over runs: three runs of two re-checked all six recent articles once each.
        assert set().union(*rechecked) == set(paths) and sum(map(len, rechecked)) == 6

        lab.crawl = {"recheck_per_run": 2, "recheck_seconds": 0}  # no time: no re-checks
        site.log.clear()
        run = lab.run(feeds=False).runs["i8"]
        assert [p for _, p, _ in site.log if p in paths] == []
        assert run["stats"]["rechecks_deferred"] == 8 and not run["stats"].get("rechecks")
    finally:
        lab.close()


def test_i10_recheck_budget_counts_and_times_on_the_injected_clock() -> None:
    t0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    queue = RecheckQueue(limit=5, seconds=30, cursor="k2")
    for key in ("k1", "k2", "k3", "k4"):
        queue.add(key, Link(url=f"https://x.example/{key}"))
    assert [lk.url[-2:] for lk in queue.take(2, t0)] == ["k3", "k4"]  # after the cursor
    assert [lk.url[-2:] for lk in queue.take(2, t0 + timedelta(seconds=29))] == ["k1", "k2"]
    assert queue.next_cursor == "k2" and queue.deferred == 0
    late = RecheckQueue(limit=5, seconds=30)
    for key in ("a", "b", "c"):
        late.add(key, Link(url=f"https://x.example/{key}"))
    assert len(late.take(1, t0)) == 1
    assert late.take(2, t0 + timedelta(seconds=30)) == []  # the time budget is spent
    assert late.deferred == 2
    counted = RecheckQueue(limit=1, seconds=60)
    counted.add("a", Link(url="https://x.example/a"))
    counted.add("b", Link(url="https://x.example/b"))
    assert len(counted.take(4, t0)) == 1 and counted.take(4, t0) == []  # the count budget


def test_i10_an_unchanged_feed_still_lets_recent_articles_be_rechecked(tmp_path: Path) -> None:
    """The feed answers 304 on every run: the edit of a recent article's page is still seen
    (its re-check once depended on the feed listing it again, so an edit was never fetched)."""
    lab = Lab(tmp_path)
    try:
        site = _conditional_site(lab, "i10", 3)
        assert lab.run(feeds=False).runs["i10"]["new"] == 3
        site.routes["/news/1"] = html_route(
            article_html(
                "Новость номер 1 о городском транспорте",
                ["Текст новости номер 1: маршрут 1 продлён до двух новых станций метро."],
            )
        )
        site.log.clear()
        run = lab.run(feeds=False).runs["i10"]
        assert run["stats"]["not_modified"] == 1
        assert run["stats"]["rechecks"] == 3 and run["updated"] == 1
        assert "/news/1" in [p for _, p, _ in site.log]
    finally:
        lab.close()


def test_i10_links_left_by_the_page_cap_are_fetched_next_run_despite_a_304(
    tmp_path: Path,
) -> None:
    lab = Lab(tmp_path)
    try:
        _conditional_site(lab, "cap", 5)
        lab.crawl = {"max_pages_per_run": 2, "recheck_per_run": 0}
        first = lab.run(feeds=False).runs["cap"]
        assert first["new"] == 2 and first["stats"]["skipped/page_cap"] == 3
        second = lab.run(feeds=False).runs["cap"]
        # Fetched in full (no If-None-Match), so the backlog goes on rather than waiting
        # for the feed to change.
        assert second["stats"]["not_modified"] == 0 and second["new"] == 2
        third = lab.run(feeds=False).runs["cap"]
        assert third["new"] == 1 and not third["stats"].get("skipped/page_cap")
        fourth = lab.run(feeds=False).runs["cap"]
        assert fourth["stats"]["not_modified"] == 1  # nothing left: conditional again
    finally:
        lab.close()


def test_i10_a_link_listed_twice_is_one_page_against_the_cap(tmp_path: Path) -> None:
    # The feed lists the newest four, the second feed (say, a sitemap's) all six: six pages,
    # within a cap of six. Counted per listing, the first four used up eight.
    lab = Lab(tmp_path)
    try:
        site, paths = _site_of_pages(lab, 6)
        site.routes["/rss.xml"] = html_route(rss(site.base, paths[:4]), "application/rss+xml")
        site.routes["/all.xml"] = html_route(rss(site.base, paths), "application/rss+xml")
        lab.source("twice", site.base, feeds=[site.base + "rss.xml", site.base + "all.xml"])
        lab.crawl = {"max_pages_per_run": 6}
        run = lab.run(feeds=False).runs["twice"]
        assert run["new"] == 6 and not run["stats"].get("skipped/page_cap")
    finally:
        lab.close()


def test_i10_a_feed_description_cut_short_gives_way_to_the_first_sentences(
    tmp_path: Path,
) -> None:
    # The feed's descriptions are the texts' first words and an ellipsis or "[…]": the text's
    # own first sentences say the same, whole, whichever document listed the page first.
    lab = Lab(tmp_path)
    try:
        site = lab.site()
        paths = [f"/news/{i}" for i in range(3)]
        for i, path in enumerate(paths):
            paragraphs = [
                f"Текст новости номер {i}: маршрут {i} продлён до новой станции метро в округе.",
                "Автобусы на маршруте заменят электробусами, интервал движения сократится.",
                "Зарядные станции для электробусов установят на конечных остановках маршрута.",
            ]
            site.routes[path] = html_route(article_html(f"Новость {i} о маршруте", paragraphs))
        cut = ["Текст новости номер 0: маршрут…", "Текст новости номер 1 [&#8230;]", "Текст…"]
        described = rss(site.base, paths, descriptions=cut)
        bare = rss(site.base, paths)
        lab.source("cut", site.base, feeds=[site.base + "described.xml", site.base + "bare.xml"])
        runs, result = [], None
        for described_up in (True, False, True, False):
            down = (500, {}, b"")
            site.routes["/described.xml"] = (
                html_route(described, "application/rss+xml") if described_up else down
            )
            site.routes["/bare.xml"] = (
                down if described_up else html_route(bare, "application/rss+xml")
            )
            result = lab.run(feeds=False)
            runs.append(result.runs["cut"])
        assert runs[0]["new"] == 3
        assert [r["updated"] for r in runs[1:]] == [0, 0, 0]
        assert result is not None
        for article in result.articles("cut"):
            assert article.summary == summary_from_text(article.text)
            assert "Текст новости номер" in article.summary and "…" not in article.summary
    finally:
        lab.close()


def test_i10_a_summary_does_not_flip_with_the_document_that_listed_the_page(
    tmp_path: Path,
) -> None:
    # Pages without a description of their own: the feed that has descriptions gives the
    # summary, the other feed (a sitemap, a listing) none, so the text's first sentences stand
    # in. Which document lists the page first varies by run; each switch read as an edit.
    lab = Lab(tmp_path)
    try:
        site, paths = _site_of_pages(lab, 3)
        described = rss(site.base, paths, descriptions=[f"Описание {i}" for i in range(3)])
        bare = rss(site.base, paths)
        down = (500, {}, b"")
        feeds = [site.base + "described.xml", site.base + "bare.xml"]
        lab.source("flip", site.base, feeds=feeds)
        runs, result = [], None
        for described_up in (False, True, False, True):
            site.routes["/described.xml"] = (
                html_route(described, "application/rss+xml") if described_up else down
            )
            site.routes["/bare.xml"] = (
                down if described_up else html_route(bare, "application/rss+xml")
            )
            result = lab.run(feeds=False)
            runs.append(result.runs["flip"])
        assert runs[0]["new"] == 3
        assert runs[1]["updated"] == 3  # the feed's descriptions replace the first sentences
        assert runs[2]["updated"] == 0 and runs[3]["updated"] == 0
        assert result is not None
        summaries = {a.url.rsplit("/", 1)[1]: a.summary for a in result.articles("flip")}
        assert summaries == {str(i): f"Описание {i}" for i in range(3)}
    finally:
        lab.close()


def _conditional(
    body: bytes, content_type: str, etag: str, answered: list[tuple[str, int]] | None = None
) -> Any:
    """A route with an ETag, answering 304 to a request that sends it back (each answer's
    path and status appended to ``answered``)."""

    def serve(handler: Any, s: Any) -> None:
        if handler.headers.get("If-None-Match") == etag:
            handler.send(304, {"ETag": etag}, b"")
            status = 304
        else:
            handler.send(200, {"Content-Type": content_type, "ETag": etag}, body)
            status = 200
        if answered is not None:
            answered.append((handler.path, status))

    return serve


def _urlset(base: str, paths: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{base.rstrip('/')}{p}</loc></url>" for p in paths)
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    return f'<?xml version="1.0"?><urlset xmlns="{ns}">{urls}</urlset>'.encode()


def test_i12_an_unchanged_sitemap_index_still_leads_to_its_changed_child_sitemaps(
    tmp_path: Path,
) -> None:
    """A tester's find: once the index answered 304, its child sitemaps were never read again,
    and articles added to them were never found (the run said `ok`). The index is now read in
    full every run; each child gets its own conditional GET."""
    lab = Lab(tmp_path)
    try:
        site, paths = _site_of_pages(lab, 5)
        ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        index = (
            f'<?xml version="1.0"?><sitemapindex xmlns="{ns}"><sitemap>'
            f"<loc>{site.base}sitemap-news.xml</loc></sitemap></sitemapindex>"
        ).encode()
        answered: list[tuple[str, int]] = []
        site.routes["/sitemap.xml"] = _conditional(index, "application/xml", '"index"', answered)
        site.routes["/sitemap-news.xml"] = _conditional(
            _urlset(site.base, paths[:3]), "application/xml", '"news-1"', answered
        )
        lab.source("idx", site.base, feed=None, sitemaps=[site.base + "sitemap.xml"])
        lab.crawl = {"refresh_hours": 0}
        assert lab.run(feeds=False).runs["idx"]["new"] == 3
        # The child lists two more articles; the index is the same file.
        site.routes["/sitemap-news.xml"] = _conditional(
            _urlset(site.base, paths), "application/xml", '"news-2"', answered
        )
        assert lab.run(feeds=False).runs["idx"]["new"] == 2
        # Nothing changed: the child answers 304, and the index is read again.
        answered.clear()
        run = lab.run(feeds=False).runs["idx"]
        assert run["new"] == 0 and run["stats"]["not_modified"] == 1
        assert answered == [("/sitemap.xml", 200), ("/sitemap-news.xml", 304)]
    finally:
        lab.close()


def test_i12_a_rejected_feed_is_reported_on_every_run_until_mended(tmp_path: Path) -> None:
    """A tester's find: a feed replaced by an error page was reported once (`bad_feed`), but
    its validators were kept with the run's (the sitemap was read), so every later run got a
    304 for it and counted it as read."""
    lab = Lab(tmp_path)
    try:
        site, paths = _site_of_pages(lab, 2)
        site.routes["/rss.xml"] = _conditional(rss(site.base, paths), "application/rss+xml", '"f"')
        site.routes["/sitemap.xml"] = _conditional(
            _urlset(site.base, paths), "application/xml", '"s"'
        )
        lab.source("bad", site.base, sitemaps=[site.base + "sitemap.xml"])
        assert lab.run(feeds=False).runs["bad"]["new"] == 2
        error_page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        site.routes["/rss.xml"] = _conditional(error_page, "text/html", '"error"')
        for _ in range(2):
            run = lab.run(feeds=False).runs["bad"]
            assert run["dropped"].get("bad_feed") == 1, run
        # Mended: read in full (no validators kept of the error page), then 304 again.
        site.routes["/rss.xml"] = _conditional(rss(site.base, paths), "application/rss+xml", '"f"')
        assert not lab.run(feeds=False).runs["bad"]["dropped"]
        assert lab.run(feeds=False).runs["bad"]["stats"]["not_modified"] == 2
    finally:
        lab.close()
