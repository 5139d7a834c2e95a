"""Story feeds: topic feeds and ``all`` show one entry per story, with its other reports."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import feedparser
from feeds_samples import sample_config
from lxml import etree
from stories_samples import ROUTE_776_M24, ROUTE_776_MOS, ROUTE_812, T0, report

from crawler.models import Article
from crawler.storage import Store
from crawler.stories.settings import StorySettings
from feeds.build import build_feeds

ATOM = "{http://www.w3.org/2005/Atom}"
SOURCES = [
    SimpleNamespace(name=n, title=t, url=f"https://{n}.example.ru/", language="ru", city="Moscow")
    for n, t in (("mos", "Мэр Москвы"), ("m24", "Москва 24"), ("vm", "Вечерняя Москва"))
]


def _store(store: Store, *batch: Article, now: object = T0) -> None:
    results = store.upsert_articles(list(batch), now=now)  # type: ignore[arg-type]
    pairs = [(r.article_id, a) for r, a in zip(results, batch, strict=True)]
    store.assign_stories(pairs, settings=StorySettings(), now=now)  # type: ignore[arg-type]


def _build(store: Store, output: Path, **overrides: object) -> None:
    config = sample_config(output, sources=SOURCES, **overrides)
    with store.snapshot():
        report = build_feeds(config, store)
    assert report.ok, report.failures


def _atom(output: Path, name: str) -> etree._Element:
    return etree.fromstring((output / f"{name}.atom").read_bytes())


def test_a_story_is_one_entry_listing_the_other_reports(store: Store, tmp_path: Path) -> None:
    first = report(1, "mos", ROUTE_776_MOS)
    second = report(2, "m24", ROUTE_776_M24, hours=2)
    other = report(3, "vm", ROUTE_812, hours=3)
    _store(store, first, second, other)
    _build(store, tmp_path)

    for name in ("all", "topics/electric-transport"):
        entries = _atom(tmp_path, name).findall(f"{ATOM}entry")
        assert [e.findtext(f"{ATOM}id") for e in entries] == [other.url, first.url]
        [related] = entries[1].findall(f"{ATOM}link[@rel='related']")
        assert related.get("href") == second.url
        assert related.get("title") == f"Москва 24: {second.title}"
        assert not entries[0].findall(f"{ATOM}link[@rel='related']")  # 812 stays apart

    rss = feedparser.parse((tmp_path / "topics/electric-transport.rss").read_bytes())
    atom = feedparser.parse((tmp_path / "topics/electric-transport.atom").read_bytes())
    assert not rss.bozo and not atom.bozo
    content = rss.entries[1].content[0].value
    assert "Also reported by" in content and f'href="{second.url}"' in content
    assert "Москва 24" in content

    feed = json.loads((tmp_path / "topics/electric-transport.json").read_text(encoding="utf-8"))
    story = feed["items"][1]
    assert story["id"] == first.url
    assert story["_cityfeeds"] == {
        "related": [{"url": second.url, "source": "Москва 24", "title": second.title}]
    }
    assert "_cityfeeds" not in feed["items"][0]


def test_a_story_in_several_feeds_names_each_source_once(store: Store, tmp_path: Path) -> None:
    # One story entry serves every feed showing the story: its sources are named by their
    # titles once, even when a title is another source's config name.
    first = report(1, "mos", ROUTE_776_MOS)
    second = report(2, "m24", ROUTE_776_M24, hours=2)
    _store(store, first, second)
    sources = [
        SimpleNamespace(**{**vars(s), "title": "vm"}) if s.name == "m24" else s for s in SOURCES
    ]
    config = sample_config(tmp_path, sources=sources)
    with store.snapshot():
        assert build_feeds(config, store).ok
    for name in ("all", "topics/electric-transport"):
        [entry] = _atom(tmp_path, name).findall(f"{ATOM}entry")
        [related] = entry.findall(f"{ATOM}link[@rel='related']")
        assert related.get("title") == f"vm: {second.title}"


def test_source_feeds_keep_one_entry_per_article(store: Store, tmp_path: Path) -> None:
    _store(store, report(1, "mos", ROUTE_776_MOS), report(2, "m24", ROUTE_776_M24, hours=2))
    _build(store, tmp_path)
    entries = _atom(tmp_path, "sources/m24").findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == ["https://m24.example.ru/news/2"]
    assert not entries[0].findall(f"{ATOM}link[@rel='related']")


def test_the_entry_keeps_its_guid_and_moves_updated_as_the_story_grows(
    store: Store, tmp_path: Path
) -> None:
    first = report(1, "mos", ROUTE_776_MOS)
    _store(store, first)
    _build(store, tmp_path)
    [before] = _atom(tmp_path, "all").findall(f"{ATOM}entry")

    later = T0 + timedelta(hours=5)
    _store(store, report(2, "m24", ROUTE_776_M24, hours=4), now=later)
    _build(store, tmp_path)
    [after] = _atom(tmp_path, "all").findall(f"{ATOM}entry")
    assert after.findtext(f"{ATOM}id") == before.findtext(f"{ATOM}id") == first.url
    assert before.findtext(f"{ATOM}updated") == "2026-02-10T09:00:00+00:00"
    assert after.findtext(f"{ATOM}updated") == "2026-02-10T14:00:00+00:00"
    # The index page dates the feed as the feed dates itself: when the report joined.
    assert _atom(tmp_path, "all").findtext(f"{ATOM}updated") == "2026-02-10T14:00:00+00:00"
    assert 'datetime="2026-02-10T14:00:00+00:00"' in (tmp_path / "index.html").read_text()
    feed = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    assert [i["id"] for i in feed["items"]] == [first.url]


def test_a_topic_or_all_can_show_every_article(store: Store, tmp_path: Path) -> None:
    _store(store, report(1, "mos", ROUTE_776_MOS), report(2, "m24", ROUTE_776_M24, hours=2))
    config = sample_config(tmp_path)
    topics = [SimpleNamespace(**{**vars(t), "stories": False}) for t in config.topics]
    _build(store, tmp_path, topics=topics, stories=SimpleNamespace(enabled=True, all_feed=False))
    for name in ("all", "topics/electric-transport"):
        assert len(_atom(tmp_path, name).findall(f"{ATOM}entry")) == 2


def test_a_source_removed_from_the_config_leaves_every_feed_until_it_comes_back(
    store: Store, tmp_path: Path
) -> None:
    # One story's first-seen report is the removed source's: the story stays, shown as its
    # next report; another story (812) loses the removed source's later report.
    first = report(1, "mos", ROUTE_776_MOS)
    second = report(2, "m24", ROUTE_776_M24, hours=2)
    other = report(3, "vm", ROUTE_812, hours=3)
    alone = report(4, "mos", ROUTE_812, hours=4)
    _store(store, first, second, other, alone)
    _build(store, tmp_path)
    before = {
        p: (tmp_path / p).read_bytes() for p in ("all.atom", "topics/electric-transport.atom")
    }

    kept = [s for s in SOURCES if s.name != "mos"]
    config = sample_config(tmp_path, sources=kept)
    with store.snapshot():
        built = build_feeds(config, store)
    assert built.ok, built.failures
    assert sorted(built.removed) == [f"sources/mos.{ext}" for ext in ("atom", "json", "rss")]
    for name in ("all", "topics/electric-transport"):
        text = (tmp_path / f"{name}.atom").read_text(encoding="utf-8")
        assert "mos.example.ru" not in text and "Мэр Москвы" not in text
        entries = _atom(tmp_path, name).findall(f"{ATOM}entry")
        assert [e.findtext(f"{ATOM}id") for e in entries] == [other.url, second.url]
        assert not any(e.findall(f"{ATOM}link[@rel='related']") for e in entries)
        feed = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        assert [i["id"] for i in feed["items"]] == [other.url, second.url]
    assert "sources/mos" not in (tmp_path / "index.html").read_text(encoding="utf-8")
    assert store.get_article(first.url) is not None  # the store keeps the articles

    # Added back: its articles return, and the feeds are what they were.
    _build(store, tmp_path)
    assert {p: (tmp_path / p).read_bytes() for p in before} == before
    assert (tmp_path / "sources/mos.rss").exists()


def test_a_pruned_story_head_keeps_its_summary_before_the_other_reports(
    store: Store, tmp_path: Path
) -> None:
    # Retention empties the article's text and HTML: the entry's content must still start with
    # its summary, or readers showing the content show only the "also reported by" block.
    first = report(1, "mos", ROUTE_776_MOS, summary="Электробусы <вышли> на маршрут & №776")
    second = report(2, "m24", ROUTE_776_M24, hours=2)
    _store(store, first, second)
    assert store.compact_articles(T0 + timedelta(days=1))[0] == 2
    _build(store, tmp_path)
    lead = "<p>Электробусы &lt;вышли&gt; на маршрут &amp; №776</p><p>Также сообщают"

    rss = etree.fromstring((tmp_path / "all.rss").read_bytes())
    [encoded] = rss.iter("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert encoded.text is not None and encoded.text.startswith(lead)
    [entry] = _atom(tmp_path, "all").findall(f"{ATOM}entry")
    content = entry.findtext(f"{ATOM}content")
    assert content is not None and content.startswith(lead)
    feed = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    assert feed["items"][0]["content_html"].startswith(lead)
    assert f'href="{second.url}"' in feed["items"][0]["content_html"]
