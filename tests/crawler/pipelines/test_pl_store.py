"""StorePipeline: articles are written in batches; a storage failure stops the crawl loudly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_samples import FakeEngine, finish, make_crawler, make_item
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import OperationalError

from crawler.context import get_context
from crawler.models import ArticleItem
from crawler.pipelines import NormalizePipeline, StorePipeline


@pytest.fixture
def crawler(tmp_path: Path) -> Iterator[Crawler]:
    crawler = make_crawler(tmp_path, {"CITYFEEDS_STORE_BATCH": 2})
    yield crawler
    get_context(crawler).close()


def articles(crawler: Crawler, count: int, *, run_id: int | None = None) -> list[ArticleItem]:
    normalize = NormalizePipeline.from_crawler(crawler)
    return [
        normalize.process_item(
            finish(
                crawler,
                make_item(f"https://vm.ru/news/{n}-metro", title=f"Новость {n}", run_id=run_id),
            )
        )
        for n in range(count)
    ]


def test_articles_are_written_a_batch_at_a_time_and_on_close(crawler: Crawler) -> None:
    pl = StorePipeline.from_crawler(crawler)
    pl.open_spider()
    store = get_context(crawler).store
    first, second, third = articles(crawler, 3, run_id=5)
    pl.process_item(first)
    assert store.count_articles() == 0  # buffered
    pl.process_item(second)
    assert store.count_articles() == 2
    pl.process_item(third)
    pl.close_spider()
    assert store.count_articles() == 3
    assert crawler.stats.get_value("cityfeeds/new") == 3
    assert crawler.stats.get_value("cityfeeds/run/5/new") == 3


def test_an_article_stored_again_is_counted_unchanged(crawler: Crawler) -> None:
    pl = StorePipeline.from_crawler(crawler)
    for item in articles(crawler, 2) + articles(crawler, 2):
        pl.process_item(item)
    assert crawler.stats.get_value("cityfeeds/new") == 2
    assert crawler.stats.get_value("cityfeeds/unchanged") == 2


def test_a_failed_batch_is_dropped_and_stops_the_crawl(
    crawler: Crawler, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawler.engine = engine = FakeEngine()  # type: ignore[assignment]
    store = get_context(crawler).store

    def fail(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "upsert_articles", fail)
    pl = StorePipeline.from_crawler(crawler)
    first, second, third = articles(crawler, 3)

    async def feed() -> None:
        pl.process_item(first)
        pl.process_item(second)  # the batch is full: written, and fails
        await asyncio.sleep(0)  # the spider's close runs as a task

    asyncio.run(feed())
    stats = crawler.stats
    assert engine.closed == ["store_error"]
    assert stats.get_value("cityfeeds/dropped/store_error") == 2
    assert "database is locked" in stats.get_value("cityfeeds/store_error")
    with pytest.raises(DropItem, match="store unavailable earlier"):
        pl.process_item(third)
    assert stats.get_value("cityfeeds/dropped/store_error") == 3
