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


def test_the_first_article_after_a_quiet_spell_is_written_at_once(tmp_path: Path) -> None:
    """A scheduled run's new article is stored when ready; articles close behind it batch."""
    crawler = make_crawler(
        tmp_path, {"CITYFEEDS_STORE_BATCH": 50, "CITYFEEDS_STORE_FLUSH_SECONDS": 1.0}
    )
    try:
        pl = StorePipeline.from_crawler(crawler)  # no open_spider: its timer needs a reactor
        now = [100.0]
        pl.monotonic = lambda: now[0]
        store = get_context(crawler).store
        first, second, third, fourth = articles(crawler, 4)
        pl.process_item(first)
        assert store.count_articles() == 1  # nothing written for a while: at once
        now[0] += 0.2
        pl.process_item(second)
        pl.process_item(third)
        assert store.count_articles() == 1  # a burst: batched (the timer or the batch size)
        now[0] += 1.0
        pl.flush()  # the timer's tick
        assert store.count_articles() == 3
        now[0] += 0.5
        pl.process_item(fourth)
        assert store.count_articles() == 3  # written 0.5 s ago: waits for the next tick
        pl.close_spider()
        assert store.count_articles() == 4
    finally:
        get_context(crawler).close()


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


def test_a_copy_of_a_stored_article_under_a_new_url_is_dropped(crawler: Crawler) -> None:
    pl = StorePipeline.from_crawler(crawler)
    [original] = articles(crawler, 1)
    pl.process_item(original)
    pl.close_spider()
    normalize = NormalizePipeline.from_crawler(crawler)
    copy = normalize.process_item(
        finish(crawler, make_item("https://vm.ru/news/100-metro-copy", title="Новость 0"))
    )
    pl = StorePipeline.from_crawler(crawler)
    pl.process_item(copy)
    pl.close_spider()
    assert crawler.stats.get_value("cityfeeds/dropped/duplicate") == 1
    assert crawler.stats.get_value("cityfeeds/new") == 1
    assert get_context(crawler).store.count_articles() == 1
