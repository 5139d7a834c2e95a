"""DedupePipeline: the second copy of an article in a run is dropped as a duplicate."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_samples import PUBLISHED, finish, make_crawler, make_item
from scrapy.exceptions import DropItem

from crawler.models import ArticleItem
from crawler.pipelines import DedupePipeline, NormalizePipeline


def normalized(tmp_path: Path, items: list[ArticleItem]) -> tuple[DedupePipeline, list]:
    crawler = make_crawler(tmp_path)
    normalize = NormalizePipeline.from_crawler(crawler)
    return DedupePipeline.from_crawler(crawler), [
        normalize.process_item(finish(crawler, i)) for i in items
    ]


def test_the_same_url_identity_is_dropped(tmp_path: Path) -> None:
    pl, (first, copy) = normalized(
        tmp_path, [make_item(), make_item("https://vm.ru/news/1-metro?utm_source=rss")]
    )
    assert pl.process_item(first) is first
    with pytest.raises(DropItem, match=r"^duplicate: "):
        pl.process_item(copy)
    assert pl.crawler.stats.get_value("cityfeeds/dropped/duplicate") == 1


def test_the_same_title_and_minute_under_another_url_is_dropped(tmp_path: Path) -> None:
    pl, (first, copy) = normalized(tmp_path, [make_item(), make_item("https://vm.ru/news/2-copy")])
    pl.process_item(first)
    with pytest.raises(DropItem):
        pl.process_item(copy)


def test_a_drop_names_the_page_it_repeats(tmp_path: Path) -> None:
    # Not its own canonical URL: a page whose canonical link is an earlier page's URL was
    # logged as "news/1 (same as news/1)".
    pl, (first, copy) = normalized(
        tmp_path, [make_item("https://vm.ru/news/22-copy"), make_item("https://vm.ru/news/1-metro")]
    )
    pl.process_item(first)
    with pytest.raises(
        DropItem,
        match=r"^duplicate: https://vm.ru/news/1-metro \(same as https://vm.ru/news/22-copy\)$",
    ):
        pl.process_item(copy)


def test_other_articles_pass(tmp_path: Path) -> None:
    later = PUBLISHED.replace(hour=11)
    pl, items = normalized(
        tmp_path,
        [
            make_item(),
            make_item("https://vm.ru/news/2-other", title="Другая новость"),
            make_item("https://vm.ru/news/3-again", published=later),  # same title, new time
        ],
    )
    assert [pl.process_item(i) for i in items] == items


def test_the_same_article_from_another_source_passes(tmp_path: Path) -> None:
    # A distributed worker's one process serves every source: two outlets running the same
    # press release (same title, same minute) are two articles, as in a local crawl.
    other = make_item("https://www.m24.ru/news/transport/1-metro")
    other.source = "m24"
    pl, items = normalized(tmp_path, [make_item(), other])
    assert [pl.process_item(i) for i in items] == items
    assert items[1].article is not None and items[1].article.source == "m24"
