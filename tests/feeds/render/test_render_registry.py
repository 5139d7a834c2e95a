"""Every registered format renders valid, absolute, stable and bounded feeds."""

from __future__ import annotations

import json

import feedparser
import pytest
from feeds_samples import BASE_URL, sample_articles
from lxml import etree

from feeds.render import FORMATS, EntryCache, prepare_feed
from tests.feeds.render.render_support import (
    FORMAT_NAMES,
    SPEC,
    assert_valid,
    content_urls,
    huge_article,
    render_sample,
    xml,
)


def test_the_registry_lists_each_format_with_its_own_file_and_media_type() -> None:
    assert list(FORMATS) == list(FORMAT_NAMES)
    assert all(name == fmt.name for name, fmt in FORMATS.items())
    assert len({f.extension for f in FORMATS.values()}) == len(FORMATS)
    assert [f.media_type for f in FORMATS.values()] == [
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
    ]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_every_xml_format_without_bozo(fmt: str) -> None:
    parsed = feedparser.parse(render_sample(fmt))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.link for e in parsed.entries] == [a.url for a in sample_articles()]
    assert parsed.feed.title == "Электротранспорт"
    assert parsed.entries[0].title == "Tom & Jerry: новый электробус 🚌 вышел на маршрут"


def test_every_url_is_absolute() -> None:
    urls: list[str] = []
    for fmt in ("rss", "atom"):
        root = xml(render_sample(fmt))
        for el in root.iter():
            urls += [v for k, v in el.attrib.items() if k in ("href", "url", "src", "uri")]
            local = etree.QName(el).localname
            if local in ("link", "guid", "id", "uri", "docs") and el.text and el.text.strip():
                urls.append(el.text.strip())
            if local in ("encoded", "content"):
                urls += content_urls(el.text or "")
    doc = json.loads(render_sample("json"))
    for item in doc["items"]:
        urls += [item["url"], *content_urls(item.get("content_html", ""))]
    assert urls and all(u.startswith(("https://", "http://")) for u in urls), urls
    # B17: the relative and protocol-relative links of the body were resolved.
    assert "https://www.m24.ru/news/other" in urls
    assert "https://cdn.m24.ru/img/bus.jpg" in urls


def test_cdata_terminator_in_a_body_keeps_the_feed_valid() -> None:
    for fmt in ("rss", "atom"):
        entry = feedparser.parse(render_sample(fmt)).entries[0]
        assert "]]&gt;" in entry.content[0].value or "]]>" in entry.content[0].value


def test_rebuilding_gives_identical_bytes_whatever_the_clock() -> None:
    for fmt in FORMAT_NAMES:
        assert render_sample(fmt) == render_sample(fmt)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_an_empty_feed_is_valid_and_has_no_placeholder_items(fmt: str) -> None:
    data = render_sample(fmt, [])
    assert assert_valid(fmt, data) == 0
    assert data == render_sample(fmt, [])


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_fifty_huge_articles_stay_well_under_one_mebibyte(fmt: str) -> None:
    data = render_sample(fmt, [huge_article(n) for n in range(50)])
    assert len(data) < 900 * 1024
    assert assert_valid(fmt, data) == 50


def test_one_prepared_feed_renders_the_same_bytes_as_the_one_off_form() -> None:
    cache = EntryCache()
    prepare_feed(SPEC, sample_articles()[1:], base_url=BASE_URL, cache=cache)  # warm, shared
    feed = prepare_feed(SPEC, sample_articles(), base_url=BASE_URL, cache=cache)
    for name, fmt in FORMATS.items():
        assert fmt.render(feed) == render_sample(name)
        assert fmt.render(feed) == fmt.render(feed)  # shared entry items are copied, not moved
