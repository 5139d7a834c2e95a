"""ConditionalGetMiddleware: stored validators go out; new ones are kept only on commit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mw_samples import NOW, make_crawler
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from crawler.context import get_context
from crawler.middlewares.conditional_get import ConditionalGetMiddleware

FEED = "https://vm.ru/rss"


@pytest.fixture
def crawler(tmp_path: Path) -> Iterator[Crawler]:
    crawler = make_crawler(tmp_path)
    yield crawler
    get_context(crawler).close()


def test_stored_validators_are_sent_for_discovery_urls_only(crawler: Crawler) -> None:
    get_context(crawler).store.set_validators(
        FEED, '"v1"', "Wed, 25 Nov 2026 10:00:00 GMT", now=NOW
    )
    mw = ConditionalGetMiddleware.from_crawler(crawler)
    feed = Request(FEED, meta={"cityfeeds_conditional": True})
    mw.process_request(feed)
    assert feed.headers[b"If-None-Match"] == b'"v1"'
    assert feed.headers[b"If-Modified-Since"] == b"Wed, 25 Nov 2026 10:00:00 GMT"
    article = Request(FEED)
    mw.process_request(article)
    assert b"If-None-Match" not in article.headers


def test_new_validators_are_stored_only_on_commit(crawler: Crawler) -> None:
    mw = ConditionalGetMiddleware.from_crawler(crawler)
    assert crawler.cityfeeds_conditional is mw  # type: ignore[attr-defined]
    request = Request(FEED, meta={"cityfeeds_conditional": True})
    mw.process_response(request, Response(FEED, headers={"ETag": '"v2"'}))
    # Not from a failed answer, nor for an article page.
    mw.process_response(request, Response(FEED + "?x", status=500, headers={"ETag": '"bad"'}))
    page = "https://vm.ru/news/1"
    mw.process_response(Request(page), Response(page, headers={"ETag": '"page"'}))
    store = get_context(crawler).store
    assert store.get_validators(FEED) == (None, None)
    mw.commit()
    assert store.get_validators(FEED) == ('"v2"', None)
    assert store.get_validators(page) == (None, None) and mw.pending == {}
