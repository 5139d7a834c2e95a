"""Rendered RSS, Atom and JSON Feed are valid, absolute, stable and bounded."""

from __future__ import annotations

import email.utils
import json
import locale
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import jsonschema
import lxml.html
import pytest
from feeds_samples import BASE_URL, dt, edited, sample_articles
from lxml import etree

import feeds.content
import feeds.render
from crawler.models import Article
from feeds.model import FeedSpec
from feeds.render import RENDERERS, EntryCache, prepare_feed
from feeds.render import render as render_feed

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SCHEMA = json.loads(
    (Path(__file__).parent / "fixtures" / "jsonfeed-1.1.schema.json").read_text("utf-8")
)
SPEC = FeedSpec(
    kind="topic",
    key="electric-transport",
    title="Электротранспорт",
    description="Электробусы & трамваи",
    language="ru",
    path="topics/electric-transport",
)
FORMATS = ("rss", "atom", "json")


def render(fmt: str, articles: list[Article] | None = None, **kwargs: object) -> bytes:
    articles = sample_articles() if articles is None else articles
    return render_feed(fmt, SPEC, articles, base_url=BASE_URL, **kwargs)  # type: ignore[arg-type]


def xml(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(data, parser)


def content_urls(fragment: str) -> list[str]:
    if not fragment.strip():
        return []
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return [link for _, _, link, _ in root.iterlinks()]


def assert_valid(fmt: str, data: bytes) -> int:
    """Validate ``data`` (feedparser for XML, the JSON Schema for JSON Feed); return item count.

    feedparser 6.0 does not read JSON Feed, hence the schema.
    """
    if fmt == "json":
        doc = json.loads(data)
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)
        return len(doc["items"])
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return len(parsed.entries)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_every_format_without_bozo(fmt: str) -> None:
    parsed = feedparser.parse(render(fmt))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.link for e in parsed.entries] == [a.url for a in sample_articles()]
    assert parsed.feed.title == "Электротранспорт"
    assert parsed.entries[0].title == "Tom & Jerry: новый электробус 🚌 вышел на маршрут"


def test_rss_channel_and_items_follow_the_rss_profile() -> None:
    channel = xml(render("rss")).find("channel")
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


def test_atom_has_the_elements_rfc_4287_requires() -> None:
    feed = xml(render("atom"))
    assert feed.tag == f"{ATOM}feed"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "ru"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    assert RFC3339.match(feed.findtext(f"{ATOM}updated"))
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None  # entries need not repeat it
    self_links = feed.findall(f"{ATOM}link[@rel='self']")
    assert [x.get("href") for x in self_links] == [BASE_URL + "topics/electric-transport.atom"]
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        for name in ("updated", "published"):
            assert RFC3339.match(entry.findtext(f"{ATOM}{name}"))
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


def test_json_feed_matches_the_1_1_schema() -> None:
    doc = json.loads(render("json"))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["feed_url"] == BASE_URL + "topics/electric-transport.json"
    first = doc["items"][0]
    assert first["id"] == first["url"] == sample_articles()[0].url
    assert first["date_published"] == "2024-03-12T11:00:00+00:00"
    assert first["date_modified"] == "2024-03-12T13:30:00+00:00"
    assert first["tags"] == ["electric-transport", "Транспорт"]
    assert doc["items"][2]["content_text"]  # no HTML body: the text stands in


def test_every_url_is_absolute() -> None:
    urls: list[str] = []
    for fmt in ("rss", "atom"):
        root = xml(render(fmt))
        for el in root.iter():
            urls += [v for k, v in el.attrib.items() if k in ("href", "url", "src", "uri")]
            local = etree.QName(el).localname
            if local in ("link", "guid", "id", "uri", "docs") and el.text and el.text.strip():
                urls.append(el.text.strip())
            if local in ("encoded", "content"):
                urls += content_urls(el.text or "")
    doc = json.loads(render("json"))
    for item in doc["items"]:
        urls += [item["url"], *content_urls(item.get("content_html", ""))]
    assert urls and all(u.startswith(("https://", "http://")) for u in urls), urls
    # B17: the relative and protocol-relative links of the body were resolved.
    assert "https://www.m24.ru/news/other" in urls
    assert "https://cdn.m24.ru/img/bus.jpg" in urls


def test_titles_are_plain_text_escaped_once_and_cleaned() -> None:
    rss = render("rss")
    assert b"<title>Tom &amp; Jerry: " in rss  # B14: decoded, then escaped exactly once
    assert b"&amp;amp;" not in rss
    titles = [e.title for e in feedparser.parse(rss).entries]
    # B10 + B12: controls and the lone surrogate are gone, the emoji survives.
    assert titles[1] == "Трамвай «Витязь-М» на Шаболовке"
    assert "🚌" in titles[0]


def test_cdata_terminator_in_a_body_keeps_the_feed_valid() -> None:
    for fmt in ("rss", "atom"):
        entry = feedparser.parse(render(fmt)).entries[0]
        assert "]]&gt;" in entry.content[0].value or "]]>" in entry.content[0].value


def test_rebuilding_gives_identical_bytes_whatever_the_clock() -> None:
    for fmt in FORMATS:
        assert render(fmt) == render(fmt)


def test_rendering_never_touches_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object) -> str:
        raise AssertionError("locale.setlocale called while rendering")

    monkeypatch.setattr(locale, "setlocale", forbidden)
    assert b"<pubDate>Tue, 12 Mar 2024 11:00:00 +0000</pubDate>" in render("rss")


def test_an_edited_article_keeps_its_id_and_date_and_shows_the_update() -> None:
    original = sample_articles()
    changed = [edited(original[0]), *original[1:]]
    before = feedparser.parse(render("atom", original)).entries[0]
    after = feedparser.parse(render("atom", changed)).entries[0]
    assert after.id == before.id
    assert after.published == before.published
    assert after.updated_parsed > before.updated_parsed
    assert "Дополнение редакции" in after.content[0].value
    rss_before = feedparser.parse(render("rss", original)).entries[0]
    rss_after = feedparser.parse(render("rss", changed)).entries[0]
    assert (rss_after.id, rss_after.published) == (rss_before.id, rss_before.published)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_an_empty_feed_is_valid_and_has_no_placeholder_items(fmt: str) -> None:
    data = render(fmt, [])
    assert assert_valid(fmt, data) == 0
    assert data == render(fmt, [])


def huge_article(n: int, size: int = 20) -> Article:
    paragraph = "<p>" + "Московский электробус едет по Садовому кольцу. " * 40 + "</p>"
    return Article(
        url=f"https://www.m24.ru/news/big/{n}",
        source="m24",
        title=f"Огромная статья {n}",
        published=datetime(2024, 3, 1, tzinfo=UTC).replace(minute=n % 60),
        html=paragraph * size,
    )


def test_long_bodies_are_cut_at_a_block_with_a_link_to_the_original() -> None:
    article = huge_article(1, size=500)  # about 1 MB of HTML (B11)
    doc = json.loads(render("json", [article]))
    body = doc["items"][0]["content_html"]
    assert len(body) < 7000
    assert body.endswith(f'<p>… <a href="{article.url}">Читать полностью</a></p>')
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    assert [child.tag for child in root] == ["p"] * len(root)
    assert lxml.html.tostring(root, encoding="unicode").count("<p>") == len(root)


def test_one_giant_paragraph_is_cut_at_a_word() -> None:
    article = huge_article(2)
    article.html = "<p>" + "слово " * 100_000 + "</p>"
    body = json.loads(render("json", [article], max_html_chars=1000))["items"][0]["content_html"]
    assert len(body) < 1200
    assert body.startswith("<p>слово слово") and "слово</p>" in body


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_fifty_huge_articles_stay_well_under_one_mebibyte(fmt: str) -> None:
    data = render(fmt, [huge_article(n) for n in range(50)])
    assert len(data) < 900 * 1024
    assert assert_valid(fmt, data) == 50


def test_naive_datetimes_are_taken_as_utc_instead_of_crashing() -> None:
    article = sample_articles()[2]
    article.published = datetime(2024, 3, 11, 6, 15)
    assert not feedparser.parse(render("rss", [article])).bozo


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": [], "b": {}, "c": None, "d": True, "e": 1.5, "f": 7},
        {"s": 'кавычки " \\ / \n \t \u2028 \x7f 🚌 ]]>', "list": ["x", {"name": "y"}, []]},
        [{"authors": [{"name": "Иван"}], "tags": ["a", "b"]}, "z"],
    ],
)
def test_json_items_are_laid_out_exactly_like_json_dumps(value: object) -> None:
    expected = json.dumps(value, ensure_ascii=False, indent=2)
    assert feeds.render._json_pretty(value) == expected
    shifted = feeds.render._json_pretty(value, "    ")
    assert shifted == expected.replace("\n", "\n    ")


def test_prepared_entries_are_shared_between_feeds_but_never_when_the_article_changed() -> None:
    cache = EntryCache()
    articles = sample_articles()
    first = prepare_feed(SPEC, articles, base_url=BASE_URL, cache=cache)
    again = prepare_feed(SPEC, [replace(a) for a in articles], base_url=BASE_URL, cache=cache)
    assert [id(e) for e in again.entries] == [id(e) for e in first.entries]
    assert len(cache) == 3 and cache.hits == 3
    changed = prepare_feed(SPEC, [edited(articles[0])], base_url=BASE_URL, cache=cache)
    assert changed.entries[0] is not first.entries[0]
    assert "Дополнение редакции" in changed.entries[0].content_html
    other_language = replace(SPEC, language="en")
    english = prepare_feed(other_language, [articles[2]], base_url=BASE_URL, cache=cache)
    assert english.entries[0].language == "en" and first.entries[2].language == "ru"


def test_one_prepared_feed_renders_the_same_bytes_as_the_one_off_form() -> None:
    cache = EntryCache()
    prepare_feed(SPEC, sample_articles()[1:], base_url=BASE_URL, cache=cache)  # warm, shared
    feed = prepare_feed(SPEC, sample_articles(), base_url=BASE_URL, cache=cache)
    for fmt in FORMATS:
        assert RENDERERS[fmt](feed) == render(fmt)
        assert RENDERERS[fmt](feed) == RENDERERS[fmt](feed)  # shared entry elements are copied


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_spliced_entries_are_the_bytes_feedgen_writes_for_the_whole_feed(fmt: str) -> None:
    # Entries are printed once per build and spliced into each feed; feedgen adding the very
    # same entries to the generator itself must give identical bytes, whatever the entries hold.
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
    feed = prepare_feed(SPEC, articles, base_url=BASE_URL)
    fg = feeds.render._generator(feed, fmt)
    for entry in feed.entries:
        fg.add_entry(entry.feed_entry, order="append")
    whole = fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
    assert RENDERERS[fmt](feed) == whole
    assert RENDERERS[fmt](feed) == whole  # entries printed once, reused
    assert assert_valid(fmt, whole) == len(articles)


@pytest.mark.parametrize(
    ("policy", "sanitized_again"),
    [(None, True), (feeds.render.SANITIZE_POLICY - 1, True), (feeds.render.SANITIZE_POLICY, False)],
)
def test_stored_html_is_sanitized_again_unless_it_has_the_current_policy(
    policy: int | None, sanitized_again: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = feeds.content.sanitize_html

    def counting(html: str, base_url: str) -> str:
        calls.append(html)
        return real(html, base_url)

    monkeypatch.setattr(feeds.content, "sanitize_html", counting)
    body = '<p>Текст <a href="/news/2">ссылка</a></p><script>alert(1)</script>'
    article = replace(sample_articles()[0], html=body, html_policy=policy)
    data = render("rss", [article])
    assert bool(calls) is sanitized_again
    if sanitized_again:
        assert b"alert" not in data
        assert urljoin(article.url, "/news/2").encode() in data  # made absolute
