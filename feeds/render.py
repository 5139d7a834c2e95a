"""Render feeds as RSS 2.0, Atom 1.0 and JSON Feed 1.1 bytes (the only module importing feedgen)."""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedgen.entry
import feedgen.feed
from feedgen.feed import FeedGenerator
from lxml import etree

from crawler.models import Article
from feeds.content import (
    DEFAULT_MAX_HTML_CHARS,
    MAX_SUMMARY_CHARS,
    absolute_url,
    clean_text,
    clean_title,
    html_to_text,
    plain_excerpt,
    prepare_html,
    rfc822,
    rfc3339,
    to_utc,
)
from feeds.model import FORMATS, FeedSpec

log = logging.getLogger(__name__)

# feedgen's RFC 2822 helper switches the process-wide locale around strftime, which races with
# other threads (the server, the scheduler). Ours is locale-free and gives the same text.
feedgen.feed.formatRFC2822 = rfc822
feedgen.entry.formatRFC2822 = rfc822

#: ``updated`` of a feed without entries: fixed, so empty feeds are byte-stable too.
EMPTY_FEED_UPDATED = datetime(2024, 1, 1, tzinfo=UTC)
GENERATOR = "cityfeeds"
GENERATOR_URI = "https://github.com/cityfeeds/cityfeeds"
JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class _Entry:
    """An article reduced to what every format needs, already cleaned and bounded."""

    url: str
    title: str
    published: datetime
    updated: datetime
    description: str
    content_html: str
    summary: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    image: str | None
    image_type: str | None
    language: str | None


@dataclass(frozen=True)
class _Feed:
    """Feed-level values shared by the three formats."""

    spec: FeedSpec
    base_url: str
    site_url: str
    updated: datetime
    entries: tuple[_Entry, ...]

    def self_url(self, fmt: str) -> str:
        return self.spec.url(self.base_url, fmt)


def _image_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    # An enclosure needs a type; article images without an extension are nearly always JPEG.
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def _entry(article: Article, spec: FeedSpec, max_html_chars: int) -> _Entry | None:
    url = clean_text(article.url).strip()
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        log.warning("feed %s: skipping article with a non-absolute URL %r", spec.path, url)
        return None
    published = to_utc(article.published)
    # An edit never moves the publication date; an "updated" before it is noise from the source.
    updated = max(to_utc(article.updated), published) if article.updated else published
    language = article.language or spec.language
    content_html = prepare_html(
        article.html, article_url=url, limit=max_html_chars, language=language
    )
    summary = plain_excerpt(html_to_text(article.summary), MAX_SUMMARY_CHARS)
    description = summary or plain_excerpt(article.text or html_to_text(article.html))
    title = clean_title(article.title, fallback=url)
    names = (clean_title(name, fallback="") for name in article.authors)
    authors = tuple(dict.fromkeys(name for name in names if name))
    topic_ids = [clean_text(t.id).strip() for t in article.topics]
    section = clean_title(article.section, fallback="") if article.section else ""
    categories = tuple(dict.fromkeys(c for c in [*topic_ids, section] if c))
    image = absolute_url(article.image, url)
    return _Entry(
        url=url,
        title=title,
        published=published,
        updated=updated,
        description=description or title,
        content_html=content_html,
        summary=summary,
        authors=authors,
        categories=categories,
        image=image,
        image_type=_image_type(image) if image else None,
        language=clean_text(language) or None,
    )


def _feed(
    spec: FeedSpec,
    articles: Sequence[Article],
    base_url: str,
    site_url: str | None,
    max_html_chars: int,
) -> _Feed:
    if not base_url.endswith("/"):
        raise ValueError(f"base_url must end with '/': {base_url!r}")
    entries: list[_Entry] = []
    seen: set[str] = set()
    for article in articles:
        entry = _entry(article, spec, max_html_chars)
        if entry is None:
            continue
        if entry.url in seen:
            log.warning("feed %s: duplicate article %s skipped", spec.path, entry.url)
            continue
        seen.add(entry.url)
        entries.append(entry)
    # From the data, never now(): rebuilding without new data must give identical bytes (C5).
    updated = max((e.updated for e in entries), default=EMPTY_FEED_UPDATED)
    return _Feed(spec, base_url, site_url or base_url, updated, tuple(entries))


class _AtomEntryLinks:
    """feedgen extension writing an Atom entry's links correctly.

    feedgen 1.0 drops ``rel``/``type``/``length`` of entry links (a shadowed variable in
    ``FeedEntry.atom_entry``), which would turn the enclosure into a second "alternate" link.
    """

    def __init__(self) -> None:
        self.image: tuple[str, str | None] | None = None

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, entry: Any) -> Any:
        ns = "{http://www.w3.org/2005/Atom}"
        for link in entry.iter(f"{ns}link", "link"):
            link.set("rel", "alternate")
            link.set("type", "text/html")
        if self.image:
            url, type_ = self.image
            enclosure = etree.SubElement(entry, "link", href=url, rel="enclosure", length="0")
            if type_:
                enclosure.set("type", type_)
        return entry

    def extend_rss(self, item: Any) -> Any:
        return item


def _generator(feed: _Feed, fmt: str) -> FeedGenerator:
    spec = feed.spec
    fg = FeedGenerator()
    if fmt == "rss":
        # RSS <author> must be an e-mail address; names go to dc:creator instead.
        fg.load_extension("dc", atom=False, rss=True)
    fg.id(feed.self_url(fmt))
    fg.title(clean_title(spec.title, fallback=spec.key))
    fg.description(plain_excerpt(spec.description, 1000) or spec.title)
    # feedgen uses the *last* link as the RSS <link>, so the alternate (HTML) one goes last.
    fg.link(href=feed.self_url(fmt), rel="self", type=FORMATS[fmt])
    fg.link(href=feed.site_url, rel="alternate", type="text/html")
    fg.language(spec.language)
    fg.author({"name": GENERATOR, "uri": feed.base_url})
    fg.generator(GENERATOR, uri=GENERATOR_URI)
    fg.docs("https://www.rssboard.org/rss-specification")
    fg.lastBuildDate(feed.updated)
    for e in feed.entries:
        fe = fg.add_entry(order="append")
        fe.guid(e.url, permalink=True)
        fe.title(e.title)
        fe.link(href=e.url, rel="alternate")
        if fmt == "atom":
            fe.register_extension("cityfeeds", _AtomEntryLinks, atom=True, rss=False)
            fe.cityfeeds.image = (e.image, e.image_type) if e.image else None
        fe.published(e.published)
        fe.updated(e.updated)
        fe.summary(e.description)
        if e.content_html:
            fe.content(e.content_html, type="html")
        if e.authors:
            if fmt == "rss":
                fe.dc.dc_creator(list(e.authors))
            else:
                fe.author([{"name": a} for a in e.authors])
        if e.categories:
            fe.category([{"term": c} for c in e.categories])
        if e.image and fmt == "rss":
            # Length 0 means "unknown" (RSS Advisory Board profile); we never fetch images.
            fe.enclosure(e.image, 0, e.image_type)
    return fg


def render_rss(
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
) -> bytes:
    """RSS 2.0 bytes of ``articles`` (already newest first) with content:encoded and dc:creator."""
    feed = _feed(spec, articles, base_url, site_url, max_html_chars)
    return _generator(feed, "rss").rss_str(pretty=True)


def render_atom(
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
) -> bytes:
    """Atom 1.0 bytes of ``articles`` (already newest first)."""
    feed = _feed(spec, articles, base_url, site_url, max_html_chars)
    return _generator(feed, "atom").atom_str(pretty=True)


def render_json(
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
) -> bytes:
    """JSON Feed 1.1 bytes of ``articles`` (already newest first)."""
    feed = _feed(spec, articles, base_url, site_url, max_html_chars)
    items = []
    for e in feed.entries:
        item: dict[str, object] = {"id": e.url, "url": e.url, "title": e.title}
        if e.content_html:
            item["content_html"] = e.content_html
        else:
            item["content_text"] = e.description
        if e.summary:
            item["summary"] = e.summary
        if e.image:
            item["image"] = e.image
        item["date_published"] = rfc3339(e.published)
        item["date_modified"] = rfc3339(e.updated)
        if e.authors:
            item["authors"] = [{"name": a} for a in e.authors]
        if e.categories:
            item["tags"] = list(e.categories)
        if e.language:
            item["language"] = e.language
        items.append(item)
    doc = {
        "version": JSONFEED_VERSION,
        "title": clean_title(spec.title, fallback=spec.key),
        "home_page_url": feed.site_url,
        "feed_url": feed.self_url("json"),
        "description": plain_excerpt(spec.description, 1000) or spec.title,
        "language": spec.language,
        "authors": [{"name": GENERATOR, "url": feed.base_url}],
        "items": items,
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


#: Renderer of each format, by file extension.
RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json}
