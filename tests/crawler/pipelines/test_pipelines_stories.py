"""The store step assigns stories to the articles it stores (crawler/pipelines.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from stories_samples import ROUTE_776_M24, ROUTE_776_MOS, ROUTE_812, T0, report

from crawler.context import get_context
from crawler.models import Article, ArticleData, ArticleItem
from crawler.pipelines import StorePipeline
from tests.conftest import write_site_config


def _pipeline(tmp_path: Path) -> StorePipeline:
    config = write_site_config(tmp_path, "http://127.0.0.1:9/")
    crawler = get_crawler(
        settings_dict={
            "CITYFEEDS_CONFIG": str(config),
            "CITYFEEDS_CLOCK": lambda: T0 + timedelta(hours=4),
            "CITYFEEDS_STORE_FLUSH_SECONDS": 0,
        }
    )
    return StorePipeline.from_crawler(crawler)


def _item(article: Article) -> ArticleItem:
    data = ArticleData(url=article.url, title=article.title)
    return ArticleItem(article.source, data, T0, article.url, article=article)


def test_stored_articles_get_their_stories(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    for article in (
        report(1, "mos", ROUTE_776_MOS),
        report(2, "m24", ROUTE_776_M24, hours=2),
        report(3, "vm", ROUTE_812, hours=3),
    ):
        pipeline.process_item(_item(article))
    pipeline.flush(closing=True)
    store = get_context(pipeline.crawler).store
    [story] = store.recent_stories(since=T0, min_size=2)
    assert [m.source for m in story.members] == ["mos", "m24"]
    assert pipeline.crawler.stats is not None
    assert pipeline.crawler.stats.get_value("cityfeeds/story_joined") == 1
    assert pipeline.crawler.stats.get_value("cityfeeds/new") == 3


def test_a_story_failure_keeps_the_stored_articles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = _pipeline(tmp_path)
    store = get_context(pipeline.crawler).store

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index broke")

    monkeypatch.setattr(store, "assign_stories", broken)
    pipeline.process_item(_item(report(1, "mos", ROUTE_776_MOS)))
    pipeline.flush(closing=True)
    assert store.count_articles() == 1
    assert pipeline.crawler.stats is not None
    assert pipeline.crawler.stats.get_value("cityfeeds/story_error") == 1
    assert not pipeline.failed
