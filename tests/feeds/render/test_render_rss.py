"""RSS 2.0: the channel and items follow the RSS profile, dates are locale-free, hubs optional."""

from __future__ import annotations

import email.utils
import locale
import re

import feedparser
import pytest
from feeds_samples import BASE_URL, dt, sample_articles

from feeds.render import prepare_feed
from feeds.render.rss import render_rss
from tests.feeds.render.render_support import ATOM, CONTENT, DC, SPEC, render_sample, xml


def test_rss_channel_and_items_follow_the_rss_profile() -> None:
    channel = xml(render_sample("rss")).find("channel")
    assert channel is not None
    for name in ("title", "link", "description", "language", "lastBuildDate"):
        assert (channel.findtext(name) or "").strip(), name
    self_links = channel.findall(f"{ATOM}link[@rel='self']")
    assert [(x.get("href"), x.get("type")) for x in self_links] == [
        (BASE_URL + "topics/electric-transport.rss", "application/rss+xml")
    ]
    # lastBuildDate comes from the data (the newest updated time), never from the clock.
    built = email.utils.parsedate_to_datetime(channel.findtext("lastBuildDate"))
    assert built == dt(12, 16, 30)
    items = channel.findall("item")
    articles = sample_articles()
    assert len(items) == len(articles)
    for item, article in zip(items, articles, strict=True):
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "true"
        assert guid.text == item.findtext("link") == article.url
        assert email.utils.parsedate_to_datetime(item.findtext("pubDate")) == article.published
        assert re.match(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} ", item.findtext("pubDate"))
        assert item.findtext("description")
        enclosures = item.findall("enclosure")
        assert len(enclosures) <= 1
        for enc in enclosures:
            assert enc.get("url", "").startswith("https://")
            assert enc.get("type", "").startswith("image/")
            assert enc.get("length") == "0"
    first, second, third = items
    assert [c.text for c in first.findall("category")] == ["electric-transport", "Транспорт"]
    assert [c.text for c in first.findall(f"{DC}creator")] == ["Иван Петров", "Мария Сидорова"]
    assert first.find(f"{CONTENT}encoded") is not None
    assert third.find(f"{CONTENT}encoded") is None  # no body: no empty content element
    assert second.find("enclosure").get("type") == "image/webp"


def test_titles_are_plain_text_escaped_once_and_cleaned() -> None:
    rss = render_sample("rss")
    assert b"<title>Tom &amp; Jerry: " in rss  # B14: decoded, then escaped exactly once
    assert b"&amp;amp;" not in rss
    titles = [e.title for e in feedparser.parse(rss).entries]
    # B10 + B12: controls and the lone surrogate are gone, the emoji survives.
    assert titles[1] == "Трамвай «Витязь-М» на Шаболовке"
    assert "🚌" in titles[0]


def test_rendering_never_touches_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object) -> str:
        raise AssertionError("locale.setlocale called while rendering")

    monkeypatch.setattr(locale, "setlocale", forbidden)
    assert b"<pubDate>Tue, 12 Mar 2024 11:00:00 +0000</pubDate>" in render_sample("rss")


def test_hubs_are_announced_after_the_self_link_only_when_there_are_some() -> None:
    hubs = ("https://hub.example.org/", "https://pubsubhubbub.example.com/")
    feed = prepare_feed(SPEC, sample_articles(), base_url=BASE_URL, hubs=hubs)
    channel = xml(render_rss(feed)).find("channel")
    links = [(x.get("rel"), x.get("href")) for x in channel.findall(f"{ATOM}link")]
    assert links == [("self", BASE_URL + "topics/electric-transport.rss")] + [
        ("hub", hub) for hub in hubs
    ]
    assert not feedparser.parse(render_rss(feed)).bozo
    plain = prepare_feed(SPEC, sample_articles(), base_url=BASE_URL)
    assert b'rel="hub"' not in render_rss(plain)
