"""Article links of RSS, Atom and JSON feeds (read by crawler.feedparse behind the XML guards)."""

# Feeds are read by feedparser (crawler/feedparse.py says why) behind the guards of
# crawler.discovery.safe_xml: size and gzip caps, RFC 3023 decoding, the DTD policy and the
# depth cap.

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from crawler.discovery.links import Feed, Link, absolute_url
from crawler.discovery.safe_xml import (
    MAX_XML_BYTES,
    DiscoveryError,
    UnsafeXMLError,
    prepare_xml,
    xml_tree,
)
from crawler.feedparse import RawEntry, read_feed
from crawler.normalize.dates import parse_date, plausible
from crawler.normalize.html import html_to_text
from crawler.normalize.text import clean_text
from crawler.normalize.urls import is_http_url

logger = logging.getLogger(__name__)

# Entries' full texts (Yandex, Turbo, RSS content module): never read here, yet most of a big
# feed's bytes, which feedparser copies at Python speed (a 630 KB 100-item Yandex feed: 275 ms
# with them, see bench/feedparse.py). Not self-closing, so a cut cannot run into the next item.
_FULL_TEXT_OPEN_RE = re.compile(r"<(yandex:full-text|turbo:content|content:encoded)\b[^<>]*(?<!/)>")


def _drop_full_texts(text: str) -> str:
    parts, pos = [], 0
    while match := _FULL_TEXT_OPEN_RE.search(text, pos):
        end = text.find("</" + match.group(1), match.end())
        close = text.find(">", end) if end >= 0 else -1
        if close < 0:
            break  # unclosed: left to the parsers, and no quadratic rescans
        parts.append(text[pos : match.start()])
        pos = close + 1
    parts.append(text[pos:])
    return "".join(parts)


def parse_feed(
    body: bytes, base_url: str, *, tz: str, now: datetime, content_type: str | None = None
) -> Feed:
    """Article links of an RSS 0.9x/1.0/2.0, Atom or JSON Feed document, in document order.

    ``content_type`` is the HTTP ``Content-Type`` (its charset decides the decoding, RFC 3023).
    The document is read by feedparser (see ``crawler.feedparse`` for why) behind the guards of
    :func:`prepare_xml` and the depth cap. An entry whose link or value is malformed is skipped
    and counted, never the whole feed.
    """
    if body.lstrip()[:1] == b"{":
        return _parse_json_feed(body, base_url, tz=tz, now=now)
    doc = prepare_xml(body, content_type=content_type)
    xml_tree(doc.text, recover=True)  # the depth cap: feedparser has none
    text = _drop_full_texts(doc.text)
    try:
        raw = read_feed(text.encode("utf-8", "surrogatepass"), base_url)
    except Exception as exc:  # a bug in a third-party parser must cost this feed, not the run
        raise DiscoveryError(f"feedparser failed: {type(exc).__name__}: {exc}") from None
    if not raw.version and not raw.entries:
        raise DiscoveryError("not an RSS/Atom document")
    feed = Feed(links=[], recovered=raw.recovered, invalid_bytes=doc.invalid_bytes)
    for entry in raw.entries:
        try:
            link = _feed_link(entry, base_url, tz=tz, now=now)
        except (ValueError, TypeError, OverflowError) as exc:
            feed.skipped += 1
            logger.debug("feed entry skipped in %s: %s", base_url, exc)
            continue
        if link is None:
            feed.skipped += 1
        else:
            feed.links.append(link)
    return feed


def _feed_link(entry: RawEntry, base_url: str, *, tz: str, now: datetime) -> Link | None:
    if not entry.link:
        return None
    url = absolute_url(entry.link, base_url)
    if not is_http_url(url):
        return None
    published = parse_date(entry.date, tz=tz, now=now) if entry.date else None
    if published is None and entry.date_parsed is not None and entry.date:
        # Formats only feedparser knows; not what parse_date refused as implausible (1970,
        # year 1, which feedparser reads as 2001): the year must be in the value as written.
        parsed = datetime(*entry.date_parsed[:6], tzinfo=UTC)
        if plausible(parsed, now) and str(parsed.year) in entry.date:
            published = parsed
    title = entry.title or ""
    return Link(
        url=url,
        title=(_snippet_text(title) if entry.title_is_html else clean_text(title)) or None,
        published=published,
        summary=_snippet_text(entry.summary) or None if entry.summary else None,
    )


def _parse_json_feed(body: bytes, base_url: str, *, tz: str, now: datetime) -> Feed:
    """Article links of a JSON Feed (1.0/1.1)."""
    if len(body) > MAX_XML_BYTES:
        raise UnsafeXMLError(f"document larger than {MAX_XML_BYTES} bytes")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise DiscoveryError(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise DiscoveryError("not a JSON Feed (no jsonfeed.org version)")
    feed = Feed(links=[])
    for item in doc.get("items") or []:
        if not isinstance(item, dict):
            continue
        raw = item.get("url") or item.get("external_url")
        try:
            url = absolute_url(raw, base_url) if isinstance(raw, str) else ""
        except ValueError:
            url = ""
        if not is_http_url(url):
            feed.skipped += 1
            continue
        date = item.get("date_published") or item.get("date_modified")
        summary = item.get("summary") or None
        # Plain text by the spec, yet feeds put HTML there, and the feed builder reads a stored
        # summary as HTML: read as the summaries of RSS and Atom are.
        feed.links.append(
            Link(
                url=url,
                title=clean_text(str(item.get("title") or "")) or None,
                published=parse_date(str(date), tz=tz, now=now) if date else None,
                summary=_snippet_text(str(summary)) or None if summary else None,
            )
        )
    return feed


def _snippet_text(value: str) -> str:
    """One line of plain text of an entry's HTML title or summary.

    Read by :func:`html_to_text`, as the feeds read stored HTML: the content of ``<script>``,
    ``<style>``, ``<noscript>``, ``<template>`` … is no text (lxml's ``text_content()`` keeps it,
    and a feed's ``<script>alert(1)</script>`` became the article's summary), and block elements
    part words that would otherwise run together.
    """
    if "<" not in value:
        return clean_text(value)
    return " ".join(html_to_text(value).split("\n\n"))
