"""The spider reads a broken source feed loudly: a truncated one is kept and flagged, garbage is a
counted bad document, never a silent "ok" with nothing read."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from scrapy.http import HtmlResponse, Request, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.config import load_config
from crawler.config.sources import ListingSpec
from crawler.spiders.news import NewsSpider
from tests.conftest import ROOT

CONFIG = ROOT / "cityfeeds.toml"
FEED_URL = "https://vm.ru/rss"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ITEM = "<item><title>Новость {n}</title><link>https://vm.ru/news/{n}-slug</link></item>"


def _spider() -> NewsSpider:
    crawler = get_crawler(NewsSpider, {"CITYFEEDS_CONFIG": str(CONFIG)})
    spider = NewsSpider.from_crawler(crawler, source="vm", config=load_config(CONFIG))
    spider.now, spider.known = NOW, set()  # set by start(), which a unit test does not run
    return spider


def _read(spider: NewsSpider, body: bytes) -> list[Request]:
    request = Request(FEED_URL)
    response = XmlResponse(FEED_URL, body=body, request=request)
    return [r for r in spider.parse_feed(response) if isinstance(r, Request)]


def test_a_truncated_feed_keeps_what_is_whole_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spider = _spider()
    items = "".join(ITEM.format(n=n) for n in (1, 2))
    body = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}<item><title>Об'.encode()
    with caplog.at_level(logging.WARNING):
        requests = _read(spider, body)
    assert [r.url for r in requests] == [f"https://vm.ru/news/{n}-slug" for n in (1, 2)]
    stats = spider.crawler.stats
    assert stats is not None and stats.get_value("cityfeeds/recovered/feed") == 1
    assert any("not well-formed" in r.getMessage() for r in caplog.records)


def test_a_garbage_feed_is_a_counted_bad_document() -> None:
    spider = _spider()
    assert _read(spider, b"\x00\xff<<<not xml") == []
    stats = spider.crawler.stats
    assert stats is not None and stats.get_value("cityfeeds/source_errors") == 1
    assert stats.get_value("cityfeeds/dropped/bad_feed") == 1
    assert spider.discovery_failed == 1 and spider.discovery_ok == 0


def test_offsite_discovery_links_are_skipped_not_asked_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sitemap index's sitemap and a listing's next page on another site were requested
    (discovery requests pass Scrapy's offsite filter): that host's robots.txt was then refused
    by the filter and reported as unreachable. They are skipped as off-site instead."""
    spider = _spider()
    index = (
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>http://evil.example/sm.xml</loc></sitemap>"
        b"<sitemap><loc>https://vm.ru/sm/2.xml</loc></sitemap></sitemapindex>"
    )
    url = "https://vm.ru/sitemap.xml"
    response = XmlResponse(url, body=index, request=Request(url, meta={"depth": 0}))
    caplog.set_level(logging.INFO)
    followed = [r.url for r in spider.parse_sitemap(response) if isinstance(r, Request)]
    assert followed == ["https://vm.ru/sm/2.xml"]

    spider.spec = spider.spec.model_copy(
        update={
            "listings": [
                ListingSpec(
                    url="https://vm.ru/list",
                    link_pattern="/news/",
                    next_page="css:a.next",
                    max_pages=3,
                )
            ]
        }
    )
    page = b'<html><body><a class="next" href="http://evil.example/list?page=2">next</a></body>'
    listing = Request("https://vm.ru/list", meta={"listing": 0, "page": 1})
    response = HtmlResponse("https://vm.ru/list", body=page, request=listing)
    assert [r for r in spider.parse_listing(response) if isinstance(r, Request)] == []
    stats = spider.crawler.stats
    assert stats is not None and stats.get_value("cityfeeds/skipped/offsite") == 2
    assert stats.get_value("cityfeeds/errors/discovery") is None
    skipped = [r.getMessage() for r in caplog.records if "skipped (offsite)" in r.getMessage()]
    assert len(skipped) == 2 and "http://evil.example/sm.xml" in skipped[0]
