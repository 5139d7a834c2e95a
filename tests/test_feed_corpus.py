"""Feeds: every file of feedparser's test corpus read without a crash, with feedparser's links."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urldefrag

import feedparser
import pytest

from crawler.discovery import DiscoveryError, UnsafeXMLError, parse_feed
from crawler.normalize.urls import is_http_url

CORPUS = Path(__file__).resolve().parent / "corpus" / "feedparser"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "LICENSE")
# Header comment lines such as "Header: Content-type: text/xml; charset=windows-1252".
HEADER_RE = re.compile(r"^\s*Header:\s*([\w-]+):\s*(.*?)\s*$", re.M)
# Documented differences, applied to feedparser's links before comparing:
# - cityfeeds drops URL fragments on purpose (the article is the page, not a place in it);
# - cityfeeds keeps only http(s) links: mailto:, tag: and unresolved relative links are no pages;
# - feedparser turns an Atom entry's <id> into its link when the entry has no <link>: an id is a
#   name, not a page to fetch (crawler.feedparse._entry).
# Files whose links still differ, with the reason (none today).
KNOWN_DIFFERENCES: dict[str, str] = {}


def _headers(body: bytes, name: str) -> dict[str, str]:
    """The HTTP headers the corpus file declares; feedparser's test server sends XML by default."""
    declared = {k.lower(): v for k, v in HEADER_RE.findall(body[:4096].decode("latin-1"))}
    return {
        "content-type": "application/xml",
        # Where feedparser's test server serves the file: some Expect lines name it.
        "content-location": f"http://127.0.0.1:8097/tests/{name}",
        **declared,
    }


def _ours(body: bytes, headers: dict[str, str]) -> list[str] | None:
    try:
        feed = parse_feed(
            body,
            headers["content-location"],
            tz="Europe/Moscow",
            now=NOW,
            content_type=headers["content-type"],
        )
    except DiscoveryError:  # not a feed (a JSON or HTML file, an empty document)
        return None
    return [link.url for link in feed.links]


def _feedparser_links(body: bytes, headers: dict[str, str]) -> list[str] | None:
    """feedparser's entry links with the documented differences applied; None if not clean."""
    result = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if result.bozo:
        return None
    atom = result.version.startswith("atom")
    links = []
    for entry in result.entries:
        link = entry.get("link")
        if not link or (atom and not entry.get("links")):
            continue
        try:
            url = urldefrag(link.strip()).url
        except ValueError:
            continue
        if is_http_url(url):
            links.append(url)
    return links or None


def test_corpus_is_present() -> None:
    assert len(FILES) > 2000


def test_no_crash_and_no_refusal_on_any_corpus_file() -> None:
    """Every file is read or called "not a feed"; none crashes, none is refused as unsafe."""
    refused = []
    for path in FILES:
        body = path.read_bytes()
        name = path.relative_to(CORPUS).as_posix()
        try:
            _ours(body, _headers(body, name))
        except UnsafeXMLError as exc:
            refused.append(f"{name}: {exc}")
    assert refused == []


def test_entry_links_agree_with_feedparser_on_clean_files() -> None:
    """On every file feedparser reads without complaint (not bozo), the same entry links."""
    compared, differ = 0, []
    for path in FILES:
        body = path.read_bytes()
        name = path.relative_to(CORPUS).as_posix()
        if name.startswith("illformed/"):
            continue
        headers = _headers(body, name)
        expected = _feedparser_links(body, headers)
        if expected is None:
            continue
        compared += 1
        if _ours(body, headers) != expected and name not in KNOWN_DIFFERENCES:
            differ.append(name)
    assert compared >= 60  # files with entry links that are pages, out of ~2,100
    assert len(differ) <= compared * 0.02, differ


EXPECT_LINK_RE = re.compile(rb"Expect:.*?entries\[0\](?:\['link'\]|\.link) == '([^']+)'")
EXPECT_LINK_FILES = [
    p.relative_to(CORPUS).as_posix() for p in FILES if EXPECT_LINK_RE.search(p.read_bytes()[:2048])
]


@pytest.mark.parametrize("name", EXPECT_LINK_FILES)
def test_entry_link_stated_by_the_expect_line(name: str) -> None:
    """The first entry's link that the file's own ``Expect:`` line states."""
    body = (CORPUS / name).read_bytes()
    expect = EXPECT_LINK_RE.search(body[:2048])
    assert expect is not None
    ours = _ours(body, _headers(body, name))
    assert ours, name
    assert ours[0] == urldefrag(expect.group(1).decode()).url


def test_expect_lines_found() -> None:
    assert len(EXPECT_LINK_FILES) >= 15
