"""Render feeds as RSS 2.0, Atom 1.0 and JSON Feed 1.1 bytes (the only module importing feedgen).

Rendering is two steps so the expensive part runs once: :func:`prepare_feed` turns articles into
cleaned, bounded :class:`Entry` values (shared by the three formats, and through an
:class:`EntryCache` by every feed of a build that holds the same article), then
:func:`feed_rss`, :func:`feed_atom` and :func:`feed_json` write one format each.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import logging
import mimetypes
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedgen.entry
import feedgen.feed
from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from crawler.models import Article
from crawler.normalize.html import SANITIZE_POLICY, html_to_text
from crawler.normalize.text import strip_control_chars
from crawler.normalize.urls import is_http_url
from feeds.content import (
    DEFAULT_MAX_HTML_CHARS,
    MAX_SUMMARY_CHARS,
    absolute_url,
    clean_title,
    plain_excerpt,
    prepare_html,
    rfc822,
    rfc3339,
    to_utc,
)
from feeds.model import FORMATS, FeedSpec

__all__ = [
    "RENDERERS",
    "Entry",
    "EntryCache",
    "PreparedFeed",
    "feed_atom",
    "feed_json",
    "feed_rss",
    "input_signature",
    "prepare_feed",
    "render",
    "renderer_fingerprint",
]

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
# JSON Feed items sit two levels deep (document -> "items" list -> item) at indent=2.
_JSON_ITEM_INDENT = " " * 4


_ENTRY_TAGS = {"rss": b"item", "atom": b"entry"}


def _feed_generator(fmt: str) -> FeedGenerator:
    fg = FeedGenerator()
    if fmt == "rss":
        fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False, rss=True)
    return fg


@cache
def _entry_context(fmt: str) -> tuple[str, dict[str | None, str], str | None]:
    """Root tag, root namespaces and entry parent tag of a feedgen document in ``fmt``.

    Taken from a feed feedgen itself builds, so an entry serialized inside this context gets
    the namespace prefixes and the indentation it has inside a real feed of that format.
    """
    fg = _feed_generator(fmt)
    fg.id("urn:cityfeeds:context")
    fg.title("context")
    fg.description("context")
    fg.link(href="https://example.org/", rel="alternate")
    fg.updated(EMPTY_FEED_UPDATED)
    root = etree.fromstring(fg.rss_str() if fmt == "rss" else fg.atom_str())
    parent = root.find("channel") if fmt == "rss" else None
    return root.tag, dict(root.nsmap), None if parent is None else parent.tag


def _serialized_entry(element: Any, fmt: str) -> bytes:
    """``element`` (an RSS ``item`` or Atom ``entry``) as it is printed inside a feed document.

    It is serialized inside an empty document of the same root namespaces and depth as the real
    one, with the same pretty printer, and cut out with its indentation and final newline: the
    bytes are the ones ``rss_str``/``atom_str`` would write for it in any feed.
    """
    root_tag, nsmap, parent_tag = _entry_context(fmt)
    root = etree.Element(root_tag, nsmap=nsmap)  # type: ignore[arg-type]
    parent = root if parent_tag is None else etree.SubElement(root, parent_tag)
    parent.append(element)
    data = etree.tostring(root, pretty_print=True, encoding="UTF-8")
    start = data.index(b"<" + _ENTRY_TAGS[fmt])
    start = data.rindex(b"\n", 0, start) + 1
    end = data.rindex(b"</" + _ENTRY_TAGS[fmt] + b">") + len(_ENTRY_TAGS[fmt]) + 3
    return data[start:end] + b"\n"


def _splice_entries(document: bytes, fmt: str, entries: Sequence[bytes]) -> bytes:
    """Insert serialized entries into a feedgen document written without entries.

    feedgen appends entries after every other child of the channel (RSS) or feed (Atom), so they
    go right before its closing tag, whose line is the last but one (RSS) or last (Atom).
    """
    if not entries:
        return document
    closing = b"  </channel>" if fmt == "rss" else b"</feed>"
    at = document.rindex(b"\n" + closing) + 1
    return b"".join((document[:at], *entries, document[at:]))


_json_scalar = json.JSONEncoder(ensure_ascii=False).encode
# The C string encoder json.dumps(ensure_ascii=False) itself uses, without its Python wrapper.
_json_string: Callable[[str], str] = (
    getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring
)


def _json_pretty(value: object, indent: str = "") -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)``, byte for byte, lines after the first
    indented by ``indent``.

    With ``indent`` json.dumps falls back to its pure-Python encoder, several times slower than
    walking these small dicts here and encoding the strings with the C one.
    """
    if type(value) is str:
        return _json_string(value)
    inner = indent + "  "
    if isinstance(value, dict) and value:
        members = [f"{_json_string(k)}: {_json_pretty(v, inner)}" for k, v in value.items()]
        return "{\n" + inner + (",\n" + inner).join(members) + "\n" + indent + "}"
    if isinstance(value, list) and value:
        members = [_json_pretty(v, inner) for v in value]
        return "[\n" + inner + (",\n" + inner).join(members) + "\n" + indent + "]"
    return _json_scalar(value)


@dataclass(frozen=True)
class Entry:
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

    @cached_property
    def feed_entry(self) -> FeedEntry:
        """This entry as a feedgen entry serving both RSS and Atom.

        RSS-only parts (dc:creator, the enclosure) and the Atom links are extensions limited to
        their format.
        """
        fe = FeedEntry()
        # RSS <author> must be an e-mail address; names go to dc:creator instead.
        # Registering the class directly: load_extension() imports by name on every call, first
        # trying a module that does not exist, which cost more than the rest of the entry.
        fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
        fe.register_extension("cityfeeds", _AtomEntryLinks, atom=True, rss=False)
        fe.guid(self.url, permalink=True)
        fe.title(self.title)
        fe.link(href=self.url, rel="alternate")
        fe.published(self.published)
        fe.updated(self.updated)
        fe.summary(self.description)
        if self.content_html:
            fe.content(self.content_html, type="html")
        if self.authors:
            fe.dc.dc_creator(list(self.authors))
            # Atom only: RSS writes <author> solely for authors with an e-mail address.
            fe.author([{"name": a} for a in self.authors])
        if self.categories:
            fe.category([{"term": c} for c in self.categories])
        if self.image:
            # Length 0 means "unknown" (RSS Advisory Board profile); we never fetch images.
            fe.enclosure(self.image, 0, self.image_type)
            fe.cityfeeds.image = (self.image, self.image_type)
        return fe

    @cached_property
    def rss_item(self) -> bytes:
        """This entry's RSS ``<item>`` as printed in a feed, built by feedgen once per build.

        The same article sits in several feeds of a build (``all``, its source, its topics):
        its element is built and printed once and the bytes are spliced into each feed.
        """
        return _serialized_entry(self.feed_entry.rss_entry(), "rss")

    @cached_property
    def atom_entry(self) -> bytes:
        """This entry's Atom ``<entry>`` as printed in a feed (see :attr:`rss_item`)."""
        return _serialized_entry(self.feed_entry.atom_entry(), "atom")

    @cached_property
    def json_item(self) -> str:
        """This entry as a JSON Feed item, indented as inside a feed document.

        Cached because the same entry is in several feeds of a build (``all``, its source, its
        topics) and ``json.dumps`` with ``indent`` is the slow pure-Python encoder.
        """
        item: dict[str, object] = {"id": self.url, "url": self.url, "title": self.title}
        if self.content_html:
            item["content_html"] = self.content_html
        else:
            item["content_text"] = self.description
        if self.summary:
            item["summary"] = self.summary
        if self.image:
            item["image"] = self.image
        item["date_published"] = rfc3339(self.published)
        item["date_modified"] = rfc3339(self.updated)
        if self.authors:
            item["authors"] = [{"name": a} for a in self.authors]
        if self.categories:
            item["tags"] = list(self.categories)
        if self.language:
            item["language"] = self.language
        return _JSON_ITEM_INDENT + _json_pretty(item, _JSON_ITEM_INDENT)


@dataclass(frozen=True)
class PreparedFeed:
    """One feed ready to render: feed-level values and entries shared by the three formats."""

    spec: FeedSpec
    base_url: str
    site_url: str
    updated: datetime
    entries: tuple[Entry, ...]

    def self_url(self, fmt: str) -> str:
        """The public URL of this feed in ``fmt``."""
        return self.spec.url(self.base_url, fmt)


def _image_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    # An enclosure needs a type; article images without an extension are nearly always JPEG.
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def _text_of(fragment: str | None) -> str:
    """Plain text of an HTML fragment; most summaries are plain text already and skip the parser."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    return html_to_text(fragment)


def _prepare_entry(article: Article, language: str, max_html_chars: int) -> Entry | None:
    # Identifiers are only stripped of XML-illegal characters: unescaping or NFC would change them.
    url = strip_control_chars(article.url).strip()
    if not is_http_url(url):
        return None
    published = to_utc(article.published)
    # An edit never moves the publication date; an "updated" before it is noise from the source.
    updated = max(to_utc(article.updated), published) if article.updated else published
    content_html = prepare_html(
        article.html,
        article_url=url,
        limit=max_html_chars,
        language=language,
        sanitized=article.html_policy == SANITIZE_POLICY,
    )
    summary = plain_excerpt(_text_of(article.summary), MAX_SUMMARY_CHARS)
    description = summary or plain_excerpt(article.text or _text_of(article.html))
    title = clean_title(article.title, fallback=url)
    names = (clean_title(name, fallback="") for name in article.authors)
    authors = tuple(dict.fromkeys(name for name in names if name))
    topic_ids = [strip_control_chars(t.id).strip() for t in article.topics]
    section = clean_title(article.section, fallback="") if article.section else ""
    categories = tuple(dict.fromkeys(c for c in [*topic_ids, section] if c))
    image = absolute_url(article.image, url)
    return Entry(
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
        language=strip_control_chars(language).strip() or None,
    )


def _entry_key(article: Article, language: str, max_html_chars: int) -> tuple[Any, ...]:
    """Every article field an entry is made of, plus the language and the length bound."""
    return (
        article.url,
        article.title,
        article.published,
        article.updated,
        article.summary,
        article.text,
        article.html,
        article.html_policy == SANITIZE_POLICY,
        tuple(article.authors),
        article.section,
        article.image,
        tuple(t.id for t in article.topics),
        language,
        max_html_chars,
    )


class EntryCache:
    """Prepared entries of one build, so an article in several feeds is cleaned only once.

    The key is every article field an entry is made of, plus the language and length bound:
    a changed article can never be served from the cache, whatever the store's ids or hashes
    say, and comparing the key costs a ``memcmp`` of strings already in memory. Use one cache
    per build (it holds every entry it has seen).
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], Entry | None] = {}
        self._digests: dict[tuple[Any, ...], bytes] = {}
        self.hits = 0

    def get(self, article: Article, language: str, max_html_chars: int) -> Entry | None:
        """The entry of ``article`` (``None`` if it cannot be published), prepared at most once."""
        key = _entry_key(article, language, max_html_chars)
        try:
            entry = self._entries[key]
        except KeyError:
            entry = self._entries[key] = _prepare_entry(article, language, max_html_chars)
        else:
            self.hits += 1
        return entry

    def digest(self, article: Article, language: str, max_html_chars: int) -> bytes:
        """SHA-256 of everything the entry of ``article`` is made of, computed at most once."""
        key = _entry_key(article, language, max_html_chars)
        try:
            return self._digests[key]
        except KeyError:
            pass
        digest = hashlib.sha256()
        for part in key:
            # Strings (bodies of kilobytes) are hashed as they are; the rest by their repr.
            if type(part) is str:
                data = b"s" + part.encode("utf-8", "surrogatepass")
            else:
                data = b"r" + repr(part).encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        value = self._digests[key] = digest.digest()
        return value

    def __len__(self) -> int:
        return len(self._entries)


#: Modules whose code decides the bytes of a rendered feed (see :func:`renderer_fingerprint`).
_RENDERING_MODULES = (
    "feeds.render",
    "feeds.content",
    "feeds.model",
    "crawler.models",
    "crawler.normalize.dates",
    "crawler.normalize.html",
    "crawler.normalize.text",
    "crawler.normalize.urls",
)


@cache
def renderer_fingerprint() -> str:
    """Hash of the code and library versions that turn articles into feed bytes.

    Part of every :func:`input_signature`: after an upgrade of cityfeeds, feedgen, lxml or nh3,
    every feed is rendered again even if no article changed. When the sources cannot be read
    (a frozen install), the fingerprint is unique to this process, which only costs renders.
    """
    digest = hashlib.sha256()
    try:
        for name in _RENDERING_MODULES:
            digest.update(Path(str(importlib.import_module(name).__file__)).read_bytes())
        for dist in ("feedgen", "lxml", "nh3"):
            digest.update(importlib.metadata.version(dist).encode())
    except (OSError, TypeError, importlib.metadata.PackageNotFoundError):
        log.warning("renderer sources unreadable: feeds are rendered again by every process")
        digest.update(os.urandom(16))
    digest.update(repr(etree.LIBXML_VERSION).encode())
    return digest.hexdigest()


def input_signature(
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
    cache: EntryCache | None = None,
) -> str:
    """Hash of everything :func:`prepare_feed` and the renderers make a feed's bytes from.

    Equal signatures give identical bytes in every format (rendering never reads the clock), so
    a build may keep files rendered from the same signature instead of rendering them again.
    """
    cache = cache if cache is not None else EntryCache()
    digest = hashlib.sha256(renderer_fingerprint().encode())
    feed = (spec, base_url, site_url or base_url, max_html_chars)
    digest.update(repr(feed).encode("utf-8", "surrogatepass"))
    for article in articles:
        digest.update(cache.digest(article, article.language or spec.language, max_html_chars))
    return digest.hexdigest()


def prepare_feed(
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
    cache: EntryCache | None = None,
) -> PreparedFeed:
    """Clean and bound ``articles`` (already newest first) once for all formats of ``spec``.

    Articles without an absolute http(s) URL and repeated URLs are logged and skipped.
    """
    if not base_url.endswith("/"):
        raise ValueError(f"base_url must end with '/': {base_url!r}")
    cache = cache if cache is not None else EntryCache()
    entries: list[Entry] = []
    seen: set[str] = set()
    for article in articles:
        entry = cache.get(article, article.language or spec.language, max_html_chars)
        if entry is None:
            log.warning(
                "feed %s: skipping article with a non-absolute URL %r", spec.path, article.url
            )
            continue
        if entry.url in seen:
            log.warning("feed %s: duplicate article %s skipped", spec.path, entry.url)
            continue
        seen.add(entry.url)
        entries.append(entry)
    # From the data, never now(): rebuilding without new data must give identical bytes
    # (docs/reliability.md C5).
    updated = max((e.updated for e in entries), default=EMPTY_FEED_UPDATED)
    return PreparedFeed(spec, base_url, site_url or base_url, updated, tuple(entries))


class _AtomEntryLinks:
    """feedgen extension writing an Atom entry's links correctly.

    feedgen 1.0 drops ``rel``/``type``/``length`` of entry links (a shadowed variable in
    ``FeedEntry.atom_entry``), which would turn the enclosure into a second "alternate" link.
    So the first link (the article, set first) becomes the alternate, feedgen's copy of the
    enclosure is dropped and a complete one is added.
    """

    def __init__(self) -> None:
        self.image: tuple[str, str | None] | None = None

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, entry: Any) -> Any:
        ns = "{http://www.w3.org/2005/Atom}"
        alternate, *others = entry.iterchildren(f"{ns}link", "link")
        alternate.set("rel", "alternate")
        alternate.set("type", "text/html")
        for link in others:
            entry.remove(link)
        if self.image:
            url, type_ = self.image
            enclosure = etree.SubElement(entry, "link", href=url, rel="enclosure", length="0")
            if type_:
                enclosure.set("type", type_)
        return entry

    def extend_rss(self, item: Any) -> Any:
        return item


def _generator(feed: PreparedFeed, fmt: str) -> FeedGenerator:
    """The feed-level part of ``feed`` in ``fmt``, without entries (they are spliced in)."""
    spec = feed.spec
    fg = _feed_generator(fmt)
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
    return fg


def feed_rss(feed: PreparedFeed) -> bytes:
    """RSS 2.0 bytes of a prepared feed, with content:encoded and dc:creator."""
    document = _generator(feed, "rss").rss_str(pretty=True)
    return _splice_entries(document, "rss", [e.rss_item for e in feed.entries])


def feed_atom(feed: PreparedFeed) -> bytes:
    """Atom 1.0 bytes of a prepared feed."""
    document = _generator(feed, "atom").atom_str(pretty=True)
    return _splice_entries(document, "atom", [e.atom_entry for e in feed.entries])


def feed_json(feed: PreparedFeed) -> bytes:
    """JSON Feed 1.1 bytes of a prepared feed (``json.dumps(..., indent=2)`` layout)."""
    spec = feed.spec
    doc = {
        "version": JSONFEED_VERSION,
        "title": clean_title(spec.title, fallback=spec.key),
        "home_page_url": feed.site_url,
        "feed_url": feed.self_url("json"),
        "description": plain_excerpt(spec.description, 1000) or spec.title,
        "language": spec.language,
        "authors": [{"name": GENERATOR, "url": feed.base_url}],
        "items": [],
    }
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if feed.entries:
        # Splice the cached item texts where json.dumps wrote the empty list (the last key).
        items = ",\n".join(e.json_item for e in feed.entries)
        text = text.removesuffix("[]\n}") + "[\n" + items + "\n  ]\n}"
    return (text + "\n").encode("utf-8")


_RENDERERS: dict[str, Callable[[PreparedFeed], bytes]] = {
    "rss": feed_rss,
    "atom": feed_atom,
    "json": feed_json,
}
#: Renderer of each format from a prepared feed, by file extension (a copy: patching it, as the
#: fault tests do to break a build, must not break :func:`render`).
RENDERERS: dict[str, Callable[[PreparedFeed], bytes]] = dict(_RENDERERS)


def render(
    fmt: str,
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
) -> bytes:
    """``articles`` (already newest first) as one feed in ``fmt`` (``rss``, ``atom``, ``json``).

    The one-off form of :func:`prepare_feed` plus one renderer; a build renders every format
    from one prepared feed instead.
    """
    renderer = _RENDERERS[fmt]
    feed = prepare_feed(
        spec, articles, base_url=base_url, site_url=site_url, max_html_chars=max_html_chars
    )
    return renderer(feed)
