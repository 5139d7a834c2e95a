"""Incremental crawling: stored articles are not fetched again, a 304 costs no parsing, and every
run reports requests made, requests avoided and bytes (also in the ``cityfeeds crawl`` table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cityfeeds.cli import main
from tests.faults.support import Lab, article_html, html_route, rss

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def test_incremental_recrawl_uses_validators_and_skips_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = Lab(tmp_path)
    try:
        site = lab.site()
        paths = [f"/news/{i}" for i in range(3)]
        for i, p in enumerate(paths):
            site.routes[p] = html_route(article_html(f"Новость {i} для повторного обхода"))
        feed = rss(site.base, paths)

        def conditional(handler: Any, s: Any) -> None:
            if handler.headers.get("If-None-Match") == '"v1"':
                handler.send(304, {"ETag": '"v1"'}, b"")
            else:
                handler.send(200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, feed)

        site.routes["/rss.xml"] = conditional
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
