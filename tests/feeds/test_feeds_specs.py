"""Every feed a config asks for: all, each topic and each source, with its home page."""

from __future__ import annotations

from pathlib import Path

from feeds_samples import BASE_URL, sample_config

from feeds.specs import feed_specs, store_selection

FEEDS = ["all", "topics/electric-transport", "topics/city", "sources/m24", "sources/vm"]


def test_specs_cover_all_topics_and_sources(tmp_path: Path) -> None:
    specs = feed_specs(sample_config(tmp_path))
    assert [spec.path for spec, _ in specs] == FEEDS
    by_path = {spec.path: (spec, site) for spec, site in specs}
    assert by_path["sources/m24"][1] == "https://www.m24.ru/"
    assert by_path["topics/city"][0].language == "ru"  # no languages: the sources' language
    assert by_path["all"][1] == BASE_URL


def test_each_feed_reads_its_topic_or_its_source_or_everything(tmp_path: Path) -> None:
    selections = {
        spec.path: store_selection(spec) for spec, _ in feed_specs(sample_config(tmp_path))
    }
    assert selections["all"] == (None, None)
    assert selections["topics/city"] == ("city", None)
    assert selections["sources/vm"] == (None, "vm")


def test_a_topic_that_cannot_be_a_file_name_is_left_out(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    config.topics[0].id = "Not a file name"
    assert [spec.path for spec, _ in feed_specs(config)] == [
        p for p in FEEDS if p != "topics/electric-transport"
    ]
