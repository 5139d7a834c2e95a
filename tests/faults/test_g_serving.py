"""Fault catalogue G1–G6 (serving): real feeds built from a store, served by uvicorn on a socket.

tests/test_server*.py (the feed engineer's) test each rule of feeds.server in depth; here every
case runs once end to end, against feeds built by the real builder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cityfeeds.status.health import SourceInputs, compute_status
from cityfeeds.status.views import health_json
from crawler.models import Article
from crawler.storage import Store
from feeds.render import FORMATS
from tests.conftest import write_site_config
from tests.feeds_samples import ThreadedServer, raw_request

pytestmark = [pytest.mark.fault]


class Served:
    def __init__(self, config: Any, url: str, root: Path) -> None:
        self.config, self.url, self.root = config, url, root


def _add(config: Any, i: int) -> None:
    store = Store.open(config.database_url)
    try:
        t = datetime(2026, 11, 20, 9, 0, tzinfo=UTC) + timedelta(hours=i)
        store.upsert_article(
            Article(
                url=f"https://news.example/n/{i}",
                source="g",
                title=f"Новость {i} про метро",
                published=t,
            ),
            now=t,
        )
    finally:
        store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    from cityfeeds.publishing import rebuild_feeds
    from crawler.config import load_config

    cfg = load_config(
        write_site_config(
            tmp_path,
            "http://127.0.0.1/",
            sources=[{"name": "g", "title": "G", "url": "https://news.example/"}],
        )
    )
    _add(cfg, 1)
    rebuild_feeds(cfg)
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (cfg.output_dir / "leak.rss").symlink_to(tmp_path / "secret.txt")
    with ThreadedServer(cfg.output_dir) as url:
        yield Served(cfg, url, tmp_path)


@pytest.mark.parametrize(
    "target",
    [
        "/feeds/../../etc/passwd",
        "/../secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/leak.rss",
        "/sources/%2e%2e/%2e%2e/secret.txt",
    ],
)
def test_g1_path_traversal(served: Served, target: str) -> None:
    response = raw_request(served.url, target)
    assert response.split(b"\r\n", 1)[0] in (
        b"HTTP/1.1 404 Not Found",
        b"HTTP/1.1 400 Bad Request",
    ), response[:120]
    assert b"TOP SECRET" not in response and b"root:" not in response


def test_g2_head_matches_get(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        get = client.get("/all.rss", headers={"Accept-Encoding": "identity"})
        head = client.head("/all.rss", headers={"Accept-Encoding": "identity"})
    assert get.status_code == head.status_code == 200 and head.content == b""
    for key in ("etag", "content-length", "content-type", "last-modified"):
        assert get.headers[key] == head.headers[key], key


def test_g3_if_none_match(served: Served) -> None:
    from cityfeeds.publishing import rebuild_feeds

    with httpx.Client(base_url=served.url) as client:
        etag = client.get("/all.rss").headers["etag"]
        for value in (etag, "W/" + etag.removeprefix("W/"), f'"nope", {etag}', "*"):
            r = client.get("/all.rss", headers={"If-None-Match": value})
            assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag, value
        _add(served.config, 2)
        rebuild_feeds(served.config)
        r = client.get("/all.rss", headers={"If-None-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag


def test_g4_if_modified_since(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        lm = client.get("/all.rss").headers["last-modified"]
        assert client.get("/all.rss", headers={"If-Modified-Since": lm}).status_code == 304
        future = format_datetime(datetime.now(UTC) + timedelta(days=3), usegmt=True)
        for value in ("garbage", future, "Mon, 01 Jan 1990 00:00:00 GMT"):
            assert (
                client.get("/all.rss", headers={"If-Modified-Since": value}).status_code == 200
            ), value


def test_g5_unknown_feed_or_topic(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        for path in ("/feeds/nope.xml", "/topics/nope.rss", "/feeds/?topic=(a+)+$"):
            t0 = time.monotonic()
            r = client.get(path)
            assert r.status_code == 404 and len(r.content) < 100, path
            assert time.monotonic() - t0 < 1  # nothing compiled or matched from the request
        t0 = time.monotonic()
        assert client.get("/?topic=" + "a" * 5000 + "!").status_code == 200  # the query is ignored
        assert time.monotonic() - t0 < 1


def test_g6_build_failure_keeps_serving_previous_file(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cityfeeds.publishing import rebuild_feeds

    with httpx.Client(base_url=served.url) as client:
        before = client.get("/all.rss", headers={"Accept-Encoding": "identity"}).content

        def broken(*args: Any, **kwargs: Any) -> bytes:
            raise RuntimeError("injected renderer failure")

        monkeypatch.setitem(FORMATS, "rss", replace(FORMATS["rss"], render=broken))
        _add(served.config, 3)
        report = rebuild_feeds(served.config)
        assert report.results["all"].error and "injected" in report.results["all"].error
        after = client.get("/all.rss", headers={"Accept-Encoding": "identity"})
        assert after.status_code == 200 and after.content == before  # the last good file
    store = Store.open(served.config.database_url)
    try:
        status = {row["path"]: row for row in store.feed_build_status()}
        assert status["all"]["ok"] is False  # the alert the status page shows
    finally:
        store.close()


G7_NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
G7_FEEDS = ("all.rss", "all.atom", "all.json", "sources/a.rss", "topics/t.rss", "topics/u.rss")

# (files whose last build failed; status, failed_feeds, the reason's count or None)
G7_CASES = [
    # The output disk full: every file failed, the index page and OPML too.
    ({*G7_FEEDS, "index.html", "feeds.opml"}, "failing", 6, "every feed failed its last build (6)"),
    ({"topics/t.rss", "topics/u.rss", "index.html", "feeds.opml"}, "degraded", 2, "2 feed file(s)"),
    ({"index.html"}, "ok", 0, None),  # no feed: listed by `status`, not counted
    (set(), "ok", 0, None),
]


@pytest.mark.parametrize(("failed", "status", "count", "reason"), G7_CASES)
def test_g7_failed_feeds_and_the_reason_count_the_same_files(
    failed: set[str], status: str, count: int, reason: str | None
) -> None:
    """/healthz said `failed_feeds: 8` beside "every feed failed its last build (6)": the index
    page and OPML file counted in one and not in the other (docs: they do not count)."""
    run = {"status": "ok", "started_at": G7_NOW, "finished_at": G7_NOW}
    inputs = [SourceInputs("a", True, 1800, [run], {})]
    builds = [
        {"path": p, "ok": p not in failed, "built_at": G7_NOW, "error": "OSError: [Errno 28]"}
        for p in (*G7_FEEDS, "index.html", "feeds.opml")
    ]
    body = health_json(compute_status(inputs, builds, G7_NOW))
    assert (body["status"], body["failed_feeds"]) == (status, count)
    if reason is None:
        assert body["reason"] is None
    else:
        assert reason in body["reason"] and "index.html" not in body["reason"]
