"""DedupePipeline: the second copy of an article in a run is dropped as a duplicate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pipeline_samples import PUBLISHED, finish, make_crawler, make_item
from scrapy.exceptions import DropItem

from crawler.context import get_context
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


REAL = "https://vm.ru/news/57-real"
REAL_TEXT = "Первые электробусы вышли на маршрут 904 в Новой Москве. " * 6
FAKE_TEXT = "Маршрут электробусов отменили, сообщил неизвестный источник. " * 12


def real_item(url: str = REAL, **fields: Any) -> ArticleItem:
    """The article at REAL, or a copy of it at ``url`` (``canonical_url=REAL``: an AMP copy)."""
    fields = {"title": "Электробусы вышли на маршрут 904", "text": REAL_TEXT, **fields}
    return make_item(url, **fields)


def fake_item(url: str = "https://vm.ru/news/78-fake") -> ArticleItem:
    """A different article whose page names REAL as its canonical URL (at MOBILE_REAL: a claim
    by a kin URL, which only the text tells from a copy)."""
    return make_item(url, title="Электробусы отменены навсегда", text=FAKE_TEXT, canonical_url=REAL)


MOBILE_REAL = "https://m.vm.ru/news/57-real"  # the mobile copy's URL


def test_a_page_naming_another_articles_url_as_canonical_keeps_its_own(tmp_path: Path) -> None:
    # A hostile page (or a CMS bug) names a different article's URL as its canonical: it is
    # no duplicate of that article, and goes on under its own URL.
    pl, (real, fake) = normalized(
        tmp_path,
        [
            real_item(),
            fake_item(),
        ],
    )
    assert pl.process_item(real) is real and pl.process_item(fake) is fake
    assert fake.article.url == "https://vm.ru/news/78-fake" and real.article.url == REAL
    assert "canonical_ignored" in fake.article.flags
    assert "via_canonical" not in fake.article.flags


def test_a_kin_page_with_another_text_keeps_its_own_url(tmp_path: Path) -> None:
    pl, (real, fake) = normalized(tmp_path, [real_item(), fake_item(MOBILE_REAL)])
    assert fake.article.url == REAL  # a claim: its URL is kin to the canonical's
    assert pl.process_item(real) is real and pl.process_item(fake) is fake
    assert fake.article.url == MOBILE_REAL and "canonical_ignored" in fake.article.flags


def test_the_page_at_its_own_url_is_no_duplicate_of_an_earlier_claim_on_it(
    tmp_path: Path,
) -> None:
    pl, (fake, real) = normalized(tmp_path, [fake_item(MOBILE_REAL), real_item()])
    assert pl.process_item(fake) is fake and pl.process_item(real) is real
    # The claim still names the URL: the store moves it back when the real page comes.
    assert fake.article.url == REAL and fake.article.fetched_url == MOBILE_REAL


def test_pages_whose_canonicals_all_name_one_url_are_kept_apart(tmp_path: Path) -> None:
    # A CMS whose every page names the home story as canonical: three articles, not one.
    items = [
        make_item(
            f"https://vm.ru/news/{n}-story",
            title=f"Новость номер {n}",
            text=f"Совсем другой текст новости номер {n}. " * 10,
            published=PUBLISHED.replace(hour=n),
            canonical_url="https://vm.ru/news/1-home",
        )
        for n in (2, 3, 4)
    ]
    pl, processed = normalized(tmp_path, items)
    assert all(pl.process_item(item) is item for item in processed)
    assert [i.article.url for i in processed] == [
        f"https://vm.ru/news/{n}-story" for n in (2, 3, 4)
    ]
    assert all("canonical_ignored" in i.article.flags for i in processed)


def test_a_copy_naming_its_original_as_canonical_is_still_a_duplicate(tmp_path: Path) -> None:
    # An AMP copy: the same headline (or the same text under an edited one).
    pl, (page, amp, edited) = normalized(
        tmp_path,
        [
            real_item(),
            real_item("https://vm.ru/amp/news/57-real", canonical_url=REAL),
            real_item(
                "https://m.vm.ru/news/57-real",
                title="Электробусы вышли на маршрут 904 в Новой Москве",
                canonical_url=REAL,
            ),
        ],
    )
    pl.process_item(page)
    for copy in (amp, edited):
        with pytest.raises(DropItem, match=r"^duplicate: "):
            pl.process_item(copy)


def test_a_recheck_in_a_later_run_is_no_duplicate(tmp_path: Path) -> None:
    # A distributed worker serves run after run for weeks: the next cycle's re-check of an
    # article (maybe edited) is no copy of the first cycle's.
    pl, (first, recheck, copy) = normalized(
        tmp_path, [make_item(run_id=1), make_item(run_id=2), make_item(run_id=2)]
    )
    assert pl.process_item(first) is first
    assert pl.process_item(recheck) is recheck
    with pytest.raises(DropItem, match=r"^duplicate: "):
        pl.process_item(copy)


def test_the_runs_remembered_are_bounded(tmp_path: Path) -> None:
    pl, items = normalized(
        tmp_path, [make_item(run_id=n) for n in range(1, DedupePipeline.MAX_RUNS + 6)]
    )
    for item in items:
        pl.process_item(item)
    assert len(pl.runs) == DedupePipeline.MAX_RUNS
    assert ("vm", 1) not in pl.runs and ("vm", DedupePipeline.MAX_RUNS + 5) in pl.runs


def test_a_stored_article_re_checked_after_a_new_url_with_its_headline_passes(
    tmp_path: Path,
) -> None:
    """A new URL comes first in a run (new links are fetched before re-checks); the stored
    article it copies is still re-checked, not dropped as a copy of the new URL (the store
    drops the new URL instead: tests/crawler/storage/test_storage_copies.py)."""
    crawler = make_crawler(tmp_path)
    normalize = NormalizePipeline.from_crawler(crawler)
    stored, copy, other = (
        normalize.process_item(finish(crawler, make_item(url)))
        for url in (
            "https://vm.ru/news/1-metro",
            "https://vm.ru/news/101-metro",
            "https://vm.ru/news/102-metro",
        )
    )
    assert stored.article is not None
    get_context(crawler).store.upsert_articles([stored.article], now=PUBLISHED)
    pl = DedupePipeline.from_crawler(crawler)
    assert pl.process_item(copy) is copy
    assert pl.process_item(stored) is stored
    with pytest.raises(DropItem, match=r"\(same as https://vm.ru/news/1-metro\)$"):
        pl.process_item(other)  # a new URL again: the run's copy rule holds
