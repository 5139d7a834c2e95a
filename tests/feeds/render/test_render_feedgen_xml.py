"""The feedgen adapter: the only feedgen user, patches nothing, writes what feedgen writes."""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from feedgen.feed import FeedGenerator
from feeds_samples import BASE_URL, sample_articles
from lxml import etree

from crawler.models import RelatedReport
from feeds.render import FORMATS, EntryCache, PreparedFeed, prepare_feed
from feeds.render.entries import GENERATOR, GENERATOR_URI
from feeds.render.feedgen_xml import atom_entry, rss_item
from tests.feeds.render.render_support import SPEC, assert_valid

ROOT = Path(__file__).resolve().parents[3]


def _awkward_feed(cache: EntryCache | None = None) -> PreparedFeed:
    articles = [
        *sample_articles(),
        replace(sample_articles()[0], url="https://vm.ru/news/2", image=None, authors=[]),
        replace(sample_articles()[1], url="https://vm.ru/news/3", html="", summary="кратко"),
        replace(
            sample_articles()[2],
            url="https://vm.ru/news/4",
            html="<p>]]&gt; <b>жирный</b></p>\n<ul><li>один</li></ul>",
        ),
    ]
    return prepare_feed(
        SPEC, articles, base_url=BASE_URL, site_url="https://site.example/", cache=cache
    )


def _bare_feedgen(feed: PreparedFeed, fmt: str) -> bytes:
    """The same feed written by feedgen alone, the way its documentation shows."""
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    ext = FORMATS[fmt]
    fg.id(feed.self_url(ext.extension))
    fg.title(feed.title)
    fg.description(feed.description)
    fg.link(href=feed.self_url(ext.extension), rel="self", type=ext.media_type)
    fg.link(href=feed.site_url, rel="alternate", type="text/html")
    fg.language(feed.spec.language)
    fg.author({"name": GENERATOR, "uri": feed.base_url})
    fg.generator(GENERATOR, uri=GENERATOR_URI)
    fg.docs("https://www.rssboard.org/rss-specification")
    fg.lastBuildDate(feed.updated)
    for entry in feed.entries:
        fe = fg.add_entry(order="append")
        fe.guid(entry.url, permalink=True)
        fe.title(entry.title)
        fe.link(href=entry.url, rel="alternate")
        fe.published(entry.published)
        fe.updated(entry.updated)
        fe.summary(entry.description)
        if entry.content_html:
            fe.content(entry.content_html, type="html")
        if entry.authors:
            fe.dc.dc_creator(list(entry.authors))
            fe.author([{"name": a} for a in entry.authors])
        if entry.categories:
            fe.category([{"term": c} for c in entry.categories])
        if entry.image:
            fe.enclosure(entry.image, 0, entry.image_type)
    return fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)


def test_rss_is_byte_for_byte_what_feedgen_alone_writes() -> None:
    feed = _awkward_feed()
    assert FORMATS["rss"].render(feed) == _bare_feedgen(feed, "rss")
    assert assert_valid("rss", FORMATS["rss"].render(feed)) == len(feed.entries)


def test_atom_is_what_feedgen_writes_with_its_entry_links_completed() -> None:
    # feedgen 1.0 drops the attributes of entry links (the enclosure would become a second
    # alternate link): apart from the links, the bytes are feedgen's.
    feed = _awkward_feed()
    parser = etree.XMLParser(remove_blank_text=True)
    ours = etree.fromstring(FORMATS["atom"].render(feed), parser)
    bare = etree.fromstring(_bare_feedgen(feed, "atom"), parser)
    for root in (ours, bare):
        for entry in root.iterfind("{*}entry"):
            for link in entry.findall("{*}link"):
                entry.remove(link)
    assert etree.tostring(ours) == etree.tostring(bare)


def test_importing_the_renderers_patches_nothing_in_feedgen() -> None:
    code = (
        "import feedgen.entry, feedgen.feed, feedgen.util\n"
        "before = (feedgen.feed.formatRFC2822, feedgen.entry.formatRFC2822)\n"
        "import feeds.render, feeds.build\n"
        "after = (feedgen.feed.formatRFC2822, feedgen.entry.formatRFC2822)\n"
        "assert before == after == (feedgen.util.formatRFC2822,) * 2, after\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_feedgen_is_imported_by_the_adapter_alone() -> None:
    users = sorted(
        str(path.relative_to(ROOT))
        for package in ("feeds", "crawler", "cityfeeds")
        for path in (ROOT / package).rglob("*.py")
        if "import feedgen" in (text := path.read_text("utf-8")) or "from feedgen" in text
    )
    assert users == ["feeds/render/feedgen_xml.py"]


@pytest.mark.parametrize("name", ["rss", "atom"])
def test_items_lent_to_one_feed_print_the_same_in_the_next(name: str) -> None:
    # A build renders feeds sharing entries one after the other: each document borrows the
    # shared items and gives them back, and every feed prints as if rendered alone.
    render = FORMATS[name].render
    cache = EntryCache()
    shared = _awkward_feed(cache)
    first = render(shared)
    subset = replace(shared, entries=shared.entries[::-1][:3])
    adapter = importlib.import_module("feeds.render.feedgen_xml")
    item_of = adapter.rss_item if name == "rss" else adapter.atom_entry
    assert [item_of(e).getparent() for e in shared.entries] == [None] * len(shared.entries)
    fresh = replace(subset, entries=_awkward_feed(EntryCache()).entries[::-1][:3])
    assert render(subset) == render(fresh)
    assert render(shared) == first == render(_awkward_feed(EntryCache()))


@pytest.mark.parametrize("html", ["<p>Текст статьи.</p>", ""])
def test_a_story_entry_copied_from_its_article_is_what_feedgen_builds(html: str) -> None:
    """A story entry's RSS item and Atom entry are copies of its article's, changed where the
    story differs; they must be the very bytes feedgen gives for the story entry built anew."""
    article = replace(sample_articles()[0], html=html)
    story = replace(
        article,
        related=[RelatedReport("https://m24.ru/news/9", "Москва 24", "Другие слова & <теги>")],
        story_updated=article.published + timedelta(hours=3),
    )
    cache = EntryCache()
    plain = cache.get(article, "ru", 5000)
    entry = cache.get(story, "ru", 5000)
    assert plain is not None and entry is not None and entry.article_entry is plain
    rss_item(plain), atom_entry(plain)  # built first, as for the article's source feed
    anew = replace(entry, article_entry=None)
    for build in (rss_item, atom_entry):
        assert etree.tostring(build(entry)) == etree.tostring(build(anew))
    assert b'rel="related"' in etree.tostring(atom_entry(entry))
    # The story's time replaced the article's: feedgen writes <updated> third, where the copy
    # takes it (and looks for it if feedgen ever writes it elsewhere).
    assert atom_entry(plain)[2].tag == "updated"
    updated = atom_entry(entry).findtext("updated")
    later = (article.published + timedelta(hours=3)).astimezone(UTC)
    assert updated == entry.updated_text == later.isoformat()
