"""In-process crawlers and article items for the pipeline tests (get_crawler, no crawl runs)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from crawler.models import ArticleData, ArticleItem

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


class SampleSpider(scrapy.Spider):
    """A spider for one configured source, ``vm``."""

    name = "sample"
    source_name = "vm"


def make_crawler(tmp_path: Path, settings: Mapping[str, Any] | None = None) -> Crawler:
    """A crawler on the shipped config and a fresh SQLite store in ``tmp_path``; never run.

    The store's periodic flush is off (``CITYFEEDS_STORE_FLUSH_SECONDS = 0``): its timer would
    need a running reactor.
    """
    crawler = get_crawler(
        SampleSpider,
        {
            "CITYFEEDS_CONFIG": str(ROOT / "cityfeeds.toml"),
            "CITYFEEDS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "CITYFEEDS_CLOCK": lambda: NOW,
            "CITYFEEDS_STORE_FLUSH_SECONDS": 0,
            **(settings or {}),
        },
    )
    crawler.spider = SampleSpider()
    return crawler


def make_item(
    url: str = "https://vm.ru/news/1-metro",
    *,
    title: str | None = "Станцию метро «Лубянка» закроют на выходные",
    text: str | None = "Станция метро «Лубянка» будет закрыта в субботу и воскресенье.",
    published: datetime | None = PUBLISHED,
    run_id: int | None = None,
    **fields: Any,
) -> ArticleItem:
    """An item as the spider yields it for one ``vm`` article page."""
    data = ArticleData(url=url, title=title, text=text, published=published, **fields)
    return ArticleItem(source="vm", data=data, fetched_at=NOW, response_url=url, run_id=run_id)


def finish(crawler: Crawler, item: ArticleItem) -> ArticleItem:
    """The item as ValidatePipeline hands it on: processed into an article (or dropped)."""
    # Imported here: a test module importing the samples must not import the pipelines twice.
    from crawler.pipelines import ValidatePipeline

    return ValidatePipeline.from_crawler(crawler).process_item(item)


class FakeEngine:
    """The engine's ``close_spider_async``, recording the reasons it was asked to close for."""

    def __init__(self) -> None:
        self.closed: list[str] = []
        self.downloader = SimpleNamespace(slots={}, active=set())

    async def close_spider_async(self, *, reason: str) -> None:
        self.closed.append(reason)
