"""Discovery: article links from real RSS/Atom/JSON feeds, sitemaps and listing pages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.discovery import (
    DiscoveryError,
    UnsafeXMLError,
    listing_links,
    page_links,
    parse_feed,
    parse_sitemap,
    sniff_kind,
)
from crawler.discovery.notes import no_links_note, no_match_note, no_next_page_note
from crawler.discovery.safe_xml import decompress, gzip_bytes
from crawler.normalize.url_patterns import compile_url_pattern

CORPUS = Path(__file__).resolve().parent / "corpus" / "feeds-sitemaps"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TZ = "Europe/Moscow"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"{CORPUS} not present")


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@needs_corpus
def test_atom_feed_from_corpus() -> None:
    links = parse_feed(read("feed1.atom"), "http://example.org/", tz=TZ, now=NOW).links
    assert links[0].url == "http://example.org/2003/12/13/atom03"
    assert links[0].title == "Atom-Powered Robots Run Amok"
    assert links[0].published == datetime(2003, 12, 13, 18, 30, 2, tzinfo=UTC)
    assert links[0].summary == "Some text."


@needs_corpus
def test_rss_feed_from_corpus() -> None:
    links = parse_feed(read("feed2.rss"), "http://www.example.com/", tz=TZ, now=NOW).links
    assert [lk.url for lk in links] == [
        "http://www.example.com/blog/post/1"
    ]  # guid is not a permalink
    assert links[0].published == datetime(2009, 9, 6, 16, 20, tzinfo=UTC)


@needs_corpus
def test_json_feed_from_corpus() -> None:
    links = parse_feed(read("feed.json"), "https://www.npr.org/", tz=TZ, now=NOW).links
    assert links and all(lk.url.startswith("https://www.npr.org/") for lk in links)
    assert all(lk.title for lk in links)
    assert all(lk.published is not None and lk.published.tzinfo for lk in links)


@needs_corpus
@pytest.mark.parametrize("name", ["sitemap.xml", "sitemap.xml.gz"])
def test_urlset_sitemap_from_corpus(name: str) -> None:
    sitemap = parse_sitemap(read(name), "https://www.sitemaps.org/", tz=TZ, now=NOW)
    assert sitemap.sitemaps == []
    assert sitemap.links[0].url == "https://www.sitemaps.org/"
    assert len(sitemap.links) == read("sitemap.xml").count(b"<url>")


@needs_corpus
def test_sitemap_index_with_cdata_from_corpus() -> None:
    sitemap = parse_sitemap(read("sitemap2.xml"), "http://www.example.com/", tz=TZ, now=NOW)
    assert sitemap.links == []
    assert sitemap.sitemaps == [
        "http://www.example.com/sitemap1.xml.gz",
        "http://www.example.com/sitemap2.xml.gz",
    ]


@needs_corpus
def test_hreflang_sitemap_keeps_only_locs() -> None:
    sitemap = parse_sitemap(read("sitemap-hreflang.xml"), "http://www.example.com/", tz=TZ, now=NOW)
    assert len(sitemap.links) == 3


def test_news_sitemap_dates_and_titles() -> None:
    body = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>'
        "<loc>https://www.m24.ru/news/transport/01022026/123</loc><news:news>"
        "<news:publication_date>2026-02-01T10:15:00+03:00</news:publication_date>"
        "<news:title>Электробусы вышли на линию</news:title></news:news></url></urlset>"
    ).encode()
    (link,) = parse_sitemap(body, "https://www.m24.ru/", tz=TZ, now=NOW).links
    assert link.title == "Электробусы вышли на линию"
    assert link.published == datetime(2026, 2, 1, 7, 15, tzinfo=UTC)


def test_rss_with_relative_links_and_russian_dates() -> None:
    body = (
        '<rss version="2.0"><channel><title>t</title><item><title>Трамвай &amp; метро</title>'
        "<link>/news/1</link><pubDate>Tue, 12 Dec 2022 11:28:00 +0300</pubDate></item>"
        "<item><title>без ссылки</title></item></channel></rss>"
    ).encode()
    links = parse_feed(body, "https://vm.ru/rss", tz=TZ, now=NOW).links
    assert [(lk.url, lk.title) for lk in links] == [("https://vm.ru/news/1", "Трамвай & метро")]


SCRIPTED = (
    "<script>alert(1)</script><img src=x onerror=alert(2)><style>p{color:red}</style>"
    "<noscript>включите JavaScript</noscript><template>шаблон</template>"
    "<p>Описание 1</p><p>электробусы</p>"
)


@pytest.mark.parametrize(
    "body",
    [
        '<rss version="2.0"><channel><title>t</title><item><title>Заголовок</title>'
        f"<link>/news/1</link><description><![CDATA[{SCRIPTED}]]></description></item>"
        "</channel></rss>",
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry>'
        f'<title type="html"><![CDATA[<script>x()</script>Заголовок]]></title>'
        '<link href="/news/1"/><id>1</id><updated>2026-11-24T11:28:00+03:00</updated>'
        f'<summary type="html"><![CDATA[{SCRIPTED}]]></summary></entry></feed>',
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "items": [{"url": "/news/1", "title": "Заголовок", "summary": SCRIPTED}],
            }
        ),
    ],
    ids=["rss", "atom", "json"],
)
def test_script_and_style_in_entries_are_no_text(body: str) -> None:
    # lxml's text_content() keeps what <script> and <style> hold: the tester's feed gave the
    # summary "alert(1)Описание 1 электробусы" (docs/reliability.md B28).
    [link] = parse_feed(body.encode(), "https://vm.ru/rss", tz=TZ, now=NOW).links
    assert (link.title, link.summary) == ("Заголовок", "Описание 1 электробусы")


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        ("Thu, 01 Jan 1970 00:00:00 GMT", None),  # an epoch of zero, not a date
        ("Mon, 01 Jan 0001 00:00:00 GMT", None),  # feedparser reads year 1 as 2001
        ("Fri, 31 Dec 2999 00:00:00 GMT", None),
        ("2026-13-45T10:00:00Z", None),
        ("1 января 1 года", None),
        ("Tue, 24 Nov 2026 11:28:00 +0300", datetime(2026, 11, 24, 8, 28, tzinfo=UTC)),
        # Only feedparser knows this one (a W3C date with a week-day prefix): still kept.
        ("2026-11-24T11:28:00+03:00", datetime(2026, 11, 24, 8, 28, tzinfo=UTC)),
    ],
)
def test_implausible_feed_dates_are_no_dates(pub_date: str, expected: datetime | None) -> None:
    # Whatever parser reads the date (ours, else feedparser's), a feed never dates an article
    # 1970 or year 1: the article's own page, or the first-seen time, decides instead.
    body = (
        '<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        f"<link>https://vm.ru/news/1</link><pubDate>{pub_date}</pubDate></item></channel></rss>"
    ).encode()
    [link] = parse_feed(body, "https://vm.ru/rss", tz=TZ, now=NOW).links
    assert link.published == expected


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel>'
        b"<item><title>&x;</title><link>https://a.ru/1</link></item></channel></rss>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<rss>&lol2;</rss>",
    ],
)
def test_entity_documents_are_refused(body: bytes) -> None:
    with pytest.raises(UnsafeXMLError):
        parse_feed(body, "https://a.ru/", tz=TZ, now=NOW)


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip_bytes(b"<urlset>" + b" " * (2 * 1024 * 1024))
    with pytest.raises(UnsafeXMLError, match="larger than"):
        decompress(bomb, limit=1024 * 1024)


def test_not_a_feed_is_a_discovery_error() -> None:
    with pytest.raises(DiscoveryError):
        parse_feed(b"<html><body>hello</body></html>", "https://a.ru/", tz=TZ, now=NOW)
    with pytest.raises(DiscoveryError):
        parse_feed(b"{}", "https://a.ru/", tz=TZ, now=NOW)


def test_listing_links_match_pattern_and_resolve() -> None:
    page = (
        '<html><body><a href="/news/1-slug">1</a><a href="/news/1-slug#c">dup</a>'
        '<a href="https://other.ru/news/2-x">2</a><a href="/about">about</a>'
        '<a href="javascript:void(0)">js</a></body></html>'
    )
    links = listing_links(page, "https://vm.ru/news/", pattern=re.compile(r"/news/\d+-"))
    assert links == ["https://vm.ru/news/1-slug", "https://other.ru/news/2-x"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'<?xml version="1.0"?><rss version="2.0">', "feed"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'>", "feed"),
        (b'<urlset xmlns="x">', "sitemap"),
        (b"<!DOCTYPE html><html>", "html"),
        (b"%PDF-1.4", "unknown"),
    ],
)
def test_sniff_kind(body: bytes, kind: str) -> None:
    assert sniff_kind(body) == kind


def test_sniff_gzip_sitemap(tmp_path: Path) -> None:
    assert sniff_kind(gzip_bytes(b'<urlset xmlns="x"></urlset>')) == "sitemap"


LINKS = [
    "https://kazan.test/",
    "https://kazan.test/about",
    "https://kazan.test/story/101/tramvai",
    "https://kazan.test/story/102/metro",
]


@pytest.mark.parametrize(
    ("pattern", "example", "hint"),
    [
        # Written for the path: the example is a link whose path it matches, with the fix.
        (r"^/story/\d+", LINKS[2], r"; anchor a path with '^https?://[^/]+/story/\d+'"),
        # A typo: no link matches even by its path; the deepest link shows the URLs' shape.
        (r"/stroy/\d+", LINKS[2], ""),
        (r"story/\d+/$", LINKS[2], ""),
    ],
)
def test_no_match_note_says_what_the_pattern_is_matched_against(
    pattern: str, example: str, hint: str
) -> None:
    note = no_match_note("listing", LINKS, compile_url_pattern(pattern), "article_pattern")
    assert note == (
        f"listing read: 4 links, none matched article_pattern '{pattern}' (matched against "
        f"the full URL, e.g. {example}{hint})"
    )


def test_no_match_note_cuts_a_long_example() -> None:
    url = "https://kazan.test/story/1/" + "x" * 300
    note = no_match_note("sitemap", [url], compile_url_pattern("^/story/"), "article_pattern")
    assert "1 link, none matched" in note and "x…;" in note and len(note) < 300


@pytest.mark.parametrize(
    ("rendered", "note"),
    [
        (False, 'the listing holds no links (built by JavaScript? render = "browser"): U'),
        (True, "the listing holds no links: U"),
    ],
)
def test_no_links_note_suggests_the_browser_unless_it_was_used(rendered: bool, note: str) -> None:
    assert no_links_note("U", rendered=rendered) == note
    assert (
        no_next_page_note("U")
        == "next_page matched nothing on U: only the first listing page was read"
    )


def test_page_links_are_every_http_link_once() -> None:
    page = '<a href="/a">a</a><a href="/a#x">a</a><a href="mailto:x@y">m</a><a href="/b">b</a>'
    assert page_links(page, "https://vm.ru/") == ["https://vm.ru/a", "https://vm.ru/b"]
    assert page_links("<div id=app></div><script>go()</script>", "https://vm.ru/") == []
