"""Atom 1.0: the elements RFC 4287 requires, one alternate link per entry, hubs optional."""

from __future__ import annotations

import re

import feedparser
from feeds_samples import BASE_URL, edited, sample_articles

from feeds.render import prepare_feed
from feeds.render.atom import render_atom
from tests.feeds.render.render_support import ATOM, SPEC, render_sample, xml

RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"


def test_atom_has_the_elements_rfc_4287_requires() -> None:
    feed = xml(render_sample("atom"))
    assert feed.tag == f"{ATOM}feed"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "ru"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    assert re.match(RFC3339, feed.findtext(f"{ATOM}updated"))
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None  # entries need not repeat it
    self_links = feed.findall(f"{ATOM}link[@rel='self']")
    assert [x.get("href") for x in self_links] == [BASE_URL + "topics/electric-transport.atom"]
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        for name in ("updated", "published"):
            assert re.match(RFC3339, entry.findtext(f"{ATOM}{name}"))
        alternates = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        # RFC 4287 §4.1.1: at most one alternate link per type and hreflang.
        assert len(alternates) == 1
        assert alternates[0].get("href") == entry.findtext(f"{ATOM}id")
        assert len(entry.findall(f"{ATOM}link[@rel='enclosure']")) <= 1
        content = entry.find(f"{ATOM}content")
        if content is not None:
            assert content.get("type") == "html"
        assert content is not None or entry.find(f"{ATOM}summary") is not None
    enclosure = entries[0].find(f"{ATOM}link[@rel='enclosure']")
    assert enclosure.attrib == {
        "href": "https://www.m24.ru/img/bus-main.jpg",
        "rel": "enclosure",
        "length": "0",
        "type": "image/jpeg",
    }


def test_an_edited_article_keeps_its_id_and_date_and_shows_the_update() -> None:
    original = sample_articles()
    changed = [edited(original[0]), *original[1:]]
    before = feedparser.parse(render_sample("atom", original)).entries[0]
    after = feedparser.parse(render_sample("atom", changed)).entries[0]
    assert after.id == before.id
    assert after.published == before.published
    assert after.updated_parsed > before.updated_parsed
    assert "Дополнение редакции" in after.content[0].value
    rss_before = feedparser.parse(render_sample("rss", original)).entries[0]
    rss_after = feedparser.parse(render_sample("rss", changed)).entries[0]
    assert (rss_after.id, rss_after.published) == (rss_before.id, rss_before.published)


def test_hubs_are_announced_after_the_self_link_only_when_there_are_some() -> None:
    feed = prepare_feed(SPEC, sample_articles(), base_url=BASE_URL, hubs=["https://hub.example/"])
    root = xml(render_atom(feed))
    links = [(x.get("rel"), x.get("href")) for x in root.findall(f"{ATOM}link")]
    assert links == [
        ("self", BASE_URL + "topics/electric-transport.atom"),
        ("hub", "https://hub.example/"),
        ("alternate", BASE_URL),
    ]
    assert not feedparser.parse(render_atom(feed)).bozo
    plain = prepare_feed(SPEC, sample_articles(), base_url=BASE_URL)
    assert b'rel="hub"' not in render_atom(plain)
