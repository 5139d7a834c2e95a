"""ValidatePipeline: pages without a real title or with leaked selectors are dropped, counted."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_samples import make_crawler, make_item
from scrapy.exceptions import DropItem

from crawler.pipelines import ValidatePipeline


def pipeline(tmp_path: Path) -> ValidatePipeline:
    return ValidatePipeline.from_crawler(make_crawler(tmp_path))


def test_a_good_item_passes_and_other_items_are_not_touched(tmp_path: Path) -> None:
    pl = pipeline(tmp_path)
    item = make_item()
    assert pl.process_item(item) is item
    other = {"not": "an article"}
    assert pl.process_item(other) is other


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (make_item("ftp://vm.ru/news/1"), "bad_url"),
        (make_item(title=None, text=None), "empty_page"),
        (make_item(title="{{ article.title }}"), "selector_leak"),
        (make_item(title="   "), "missing_title"),
        (make_item(title="РњРѕСЃРєРІР° РіРѕС‚РѕРІРёС‚СЃСЏ Рє Р·РёРјРµ"), "bad_encoding"),
    ],
)
def test_bad_items_are_dropped_with_their_reason(tmp_path: Path, item: object, reason: str) -> None:
    pl = pipeline(tmp_path)
    with pytest.raises(DropItem, match=rf"^{reason}: "):
        pl.process_item(item)
    assert pl.crawler.stats.get_value(f"cityfeeds/dropped/{reason}") == 1


def test_a_drop_is_also_counted_for_the_scheduled_run(tmp_path: Path) -> None:
    pl = pipeline(tmp_path)
    with pytest.raises(DropItem):
        pl.process_item(make_item(title="  ", run_id=7))
    assert pl.crawler.stats.get_value("cityfeeds/run/7/dropped/missing_title") == 1


def test_a_leak_in_a_secondary_field_costs_only_that_field(tmp_path: Path) -> None:
    pl = pipeline(tmp_path)
    item = make_item(summary="{{ summary }}", authors=["Анна Петрова", "{{ author }}"])
    pl.process_item(item)
    assert item.article is not None
    # The leaked summary is gone (the article falls back to its text's first sentence).
    assert "{{" not in (item.article.summary or "") and item.article.authors == ["Анна Петрова"]
    assert "garbage_summary" in item.article.flags
    assert pl.crawler.stats.get_value("cityfeeds/garbage_field/summary") == 1


def test_invalid_bytes_are_counted(tmp_path: Path) -> None:
    pl = pipeline(tmp_path)
    pl.process_item(make_item(flags=["invalid_bytes:3"]))
    assert pl.crawler.stats.get_value("cityfeeds/invalid_bytes") == 3
