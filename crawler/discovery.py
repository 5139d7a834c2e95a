"""Find article links in a source's feeds, sitemaps and HTML listing pages (pure, safe XML)."""

from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urldefrag, urljoin

from lxml import etree
from lxml import html as lxml_html

from crawler.normalize.dates import parse_date
from crawler.normalize.text import clean_text
from crawler.normalize.urls import is_http_url

logger = logging.getLogger(__name__)

MAX_XML_BYTES = 50 * 1024 * 1024  # sitemap protocol limit, also applied after decompression
MAX_XML_DEPTH = 64


class UnsafeXMLError(ValueError):
    """The document declares a DTD/entities, is too large or too deep: refused, not parsed."""


class DiscoveryError(ValueError):
    """The document is not a feed or sitemap we can read."""


@dataclass
class Link:
    """An article URL found during discovery, with what the index said about it."""

    url: str
    title: str | None = None
    published: datetime | None = None
    summary: str | None = None


@dataclass
class Sitemap:
    """A parsed sitemap: article links (urlset) or nested sitemaps (sitemapindex)."""

    links: list[Link]
    sitemaps: list[str]


_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    dtd_validation=False,
    remove_comments=True,
    remove_pis=True,
)


def absolute_url(href: str, base_url: str) -> str:
    """``href`` resolved against ``base_url``, fragment dropped, otherwise as the site wrote it.

    Identity (trailing slash, tracking parameters, AMP) is decided later by
    ``canonicalize_url``; the URL fetched must stay the one the site links to.
    """
    return urldefrag(urljoin(base_url, href.strip())).url


_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.I)
_ENTITY_RE = re.compile(rb"<!ENTITY", re.I)


def decompress(body: bytes, *, limit: int = MAX_XML_BYTES) -> bytes:
    """Gunzip ``body`` if it is gzip, refusing to inflate past ``limit`` bytes (gzip bombs)."""
    if body[:2] != b"\x1f\x8b":
        if len(body) > limit:
            raise UnsafeXMLError(f"document larger than {limit} bytes")
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise UnsafeXMLError(f"decompressed document larger than {limit} bytes")
    return out


# D6 policy: an internal DTD subset may declare a few small *internal general* entities with
# plain-text values (some feeds do, reader#212). Anything else in a DTD is refused: external
# (SYSTEM/PUBLIC: XXE), parameter (%), nested references (billion laughs), markup in values,
# too many or too large values (quadratic blowup), or any other declaration.
MAX_INTERNAL_ENTITIES = 16
MAX_ENTITY_VALUE = 256
MAX_ENTITY_EXPANSION = 1024 * 1024  # bytes added by all expansions together
_SUBSET_RE = re.compile(rb"<!DOCTYPE\s+[\w:.-]+\s*\[(.*?)\]\s*>", re.S | re.I)
_DECL_RE = re.compile(
    rb"""\s*(?:<!--.*?-->|<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:"([^"&<%]*)"|'([^'&<%]*)')\s*>)""",
    re.S,
)
_ENTITY_REF_RE = re.compile(rb"&([A-Za-z_][\w.-]*);")
_XML_BUILTIN = {b"lt", b"gt", b"amp", b"quot", b"apos"}


def _expand_internal_entities(body: bytes, limit: int) -> bytes:
    """Apply the D6 policy: expand safe internal entities and drop the DTD, or refuse."""
    match = _SUBSET_RE.search(body, 0, 65536)
    if match is None:
        if _ENTITY_RE.search(body) or _DOCTYPE_RE.search(body[:4096]):
            raise UnsafeXMLError("document declares a DTD or entities")
        return body
    subset = match.group(1)
    entities: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(subset):
        if not subset[pos:].strip():
            break
        decl = _DECL_RE.match(subset, pos)
        if decl is None or decl.end() == pos:
            raise UnsafeXMLError(
                "DTD declares more than small internal entities (external, parameter or nested)"
            )
        if decl.group(1):
            value = decl.group(2) if decl.group(2) is not None else decl.group(3)
            if len(value) > MAX_ENTITY_VALUE:
                raise UnsafeXMLError(
                    f"entity {decl.group(1)!r} longer than {MAX_ENTITY_VALUE} bytes"
                )
            entities[decl.group(1)] = value
        pos = decl.end()
    if len(entities) > MAX_INTERNAL_ENTITIES:
        raise UnsafeXMLError(f"more than {MAX_INTERNAL_ENTITIES} entity declarations")
    rest = body[: match.start()] + body[match.end() :]
    if _ENTITY_RE.search(rest) or _DOCTYPE_RE.search(rest[:4096]):
        raise UnsafeXMLError("document declares a DTD or entities")
    budget = [min(limit - len(rest), MAX_ENTITY_EXPANSION)]

    def expand(ref: re.Match[bytes]) -> bytes:
        name = ref.group(1)
        if name in _XML_BUILTIN or name not in entities:
            return ref.group(0)
        # Escaped, so a value can never become markup or break an attribute.
        value = (
            entities[name].replace(b'"', b"&quot;").replace(b"'", b"&apos;").replace(b">", b"&gt;")
        )
        budget[0] -= len(value)
        if budget[0] < 0:
            raise UnsafeXMLError("entity expansion too large (quadratic blowup)")
        return value

    return _ENTITY_REF_RE.sub(expand, rest)


def parse_xml(body: bytes, *, limit: int = MAX_XML_BYTES, recover: bool = True) -> etree._Element:
    """Parse untrusted XML: no external entities, DTD loading or network; size and depth capped.

    Only small internal text entities are accepted (expanded by ``_expand_internal_entities``);
    any other DTD content is refused with UnsafeXMLError: feeds and sitemaps never need it, and
    that is where XXE and billion-laughs payloads live.
    """
    body = decompress(body, limit=limit)
    body = _expand_internal_entities(body, limit)
    parser = etree.XMLParser(recover=recover, **_PARSER_OPTIONS)
    try:
        root = etree.fromstring(body.lstrip(), parser=parser)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not well-formed XML: {exc}") from None
    if root is None:
        raise DiscoveryError("empty or unparseable XML document")
    _check_depth(root)
    return root


def _check_depth(root: etree._Element) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise UnsafeXMLError(f"XML nested deeper than {MAX_XML_DEPTH}")
        stack.extend((child, depth + 1) for child in node)


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(node: etree._Element, *names: str) -> str | None:
    for child in node:
        if _local(child.tag) in names:
            value = "".join(child.itertext()).strip()
            if value:
                return value
    return None


def parse_feed(body: bytes, base_url: str, *, tz: str, now: datetime) -> list[Link]:
    """Article links of an RSS 0.9x/1.0/2.0 or Atom document, in document order."""
    if body.lstrip()[:1] == b"{":
        return _parse_json_feed(body, base_url, tz=tz, now=now)
    root = parse_xml(body)
    kind = _local(root.tag)
    if kind not in ("rss", "rdf", "feed"):
        raise DiscoveryError(f"not an RSS/Atom document (root element <{kind}>)")
    links: list[Link] = []
    for item in root.iter():
        name = _local(item.tag)
        if name not in ("item", "entry"):
            continue
        url = _entry_link(item, base_url)
        if not url:
            continue
        date = _child_text(item, "pubdate", "published", "date", "issued", "updated", "modified")
        summary = _child_text(item, "description", "summary")
        links.append(
            Link(
                url=url,
                title=clean_text(_child_text(item, "title")) or None,
                published=parse_date(date, tz=tz, now=now) if date else None,
                summary=clean_text(_strip_tags(summary)) if summary else None,
            )
        )
    return links


def _parse_json_feed(body: bytes, base_url: str, *, tz: str, now: datetime) -> list[Link]:
    """Article links of a JSON Feed (1.0/1.1)."""
    if len(body) > MAX_XML_BYTES:
        raise UnsafeXMLError(f"document larger than {MAX_XML_BYTES} bytes")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise DiscoveryError(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise DiscoveryError("not a JSON Feed (no jsonfeed.org version)")
    links = []
    for item in doc.get("items") or []:
        if not isinstance(item, dict):
            continue
        raw = item.get("url") or item.get("external_url")
        if not isinstance(raw, str):
            continue
        url = absolute_url(raw, base_url)
        if not is_http_url(url):
            continue
        date = item.get("date_published") or item.get("date_modified")
        summary = item.get("summary") or None
        links.append(
            Link(
                url=url,
                title=clean_text(str(item.get("title") or "")) or None,
                published=parse_date(str(date), tz=tz, now=now) if date else None,
                summary=clean_text(str(summary)) if summary else None,
            )
        )
    return links


def _entry_link(item: etree._Element, base_url: str) -> str | None:
    candidates: list[str] = []
    for child in item:
        name = _local(child.tag)
        if name == "link":
            href = child.get("href")
            rel = child.get("rel", "alternate")
            if href and rel == "alternate":
                candidates.insert(0, href)
            elif (child.text or "").strip():
                candidates.append(child.text.strip())
        elif name == "guid" and child.get("isPermaLink", "true").lower() == "true":
            if (child.text or "").strip():
                candidates.append(child.text.strip())
    for raw in candidates:
        url = absolute_url(raw, base_url)
        if is_http_url(url):
            return url
    return None


def _strip_tags(value: str) -> str:
    if "<" not in value:
        return value
    try:
        return lxml_html.fromstring(value).text_content()
    except (etree.ParserError, ValueError):
        return re.sub(r"<[^>]+>", " ", value)


def parse_sitemap(body: bytes, base_url: str, *, tz: str, now: datetime) -> Sitemap:
    """Links of a sitemap ``urlset`` (with news:publication_date/title) or a ``sitemapindex``."""
    root = parse_xml(body)
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap (root element <{kind}>)")
    links: list[Link] = []
    nested: list[str] = []
    for entry in root:
        name = _local(entry.tag)
        loc = _child_text(entry, "loc")
        if not loc:
            continue
        url = absolute_url(loc, base_url)
        if not is_http_url(url):
            continue
        if name == "sitemap":
            nested.append(url)
            continue
        if name != "url":
            continue
        title = date = None
        for child in entry.iter():
            local = _local(child.tag)
            if local == "publication_date" and child.text:
                date = child.text.strip()
            elif local == "title" and child.text:
                title = clean_text(child.text)
            elif local == "lastmod" and child.text and not date:
                date = child.text.strip()
        links.append(
            Link(
                url=url,
                title=title or None,
                published=parse_date(date, tz=tz, now=now) if date else None,
            )
        )
    return Sitemap(links=links, sitemaps=nested)


def listing_links(html_text: str, base_url: str, *, pattern: re.Pattern[str] | None) -> list[str]:
    """Links on an HTML listing page whose path matches ``pattern`` (every link if None)."""
    try:
        doc = lxml_html.fromstring(html_text)
    except (etree.ParserError, ValueError):
        return []
    seen: set[str] = set()
    out: list[str] = []
    for href in doc.xpath("//a/@href"):
        url = absolute_url(str(href), base_url)
        if not is_http_url(url) or url in seen:
            continue
        if pattern is not None and not pattern.search(url):
            continue
        seen.add(url)
        out.append(url)
    return out


def sniff_kind(body: bytes) -> str:
    """'feed', 'sitemap', 'html' or 'unknown' from the first bytes of a document."""
    try:
        head = decompress(body[:65536] if body[:2] != b"\x1f\x8b" else body)[:2048].lower()
    except (UnsafeXMLError, zlib.error, EOFError, OSError):
        return "unknown"
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    if b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head or b"jsonfeed.org" in head:
        return "feed"
    if b"<html" in head or b"<!doctype html" in head:
        return "html"
    return "unknown"


def gzip_bytes(data: bytes) -> bytes:
    """Gzip ``data`` deterministically (used by tests and the demo site)."""
    return gzip.compress(data, mtime=0)


def dedupe_links(links: Iterable[Link]) -> list[Link]:
    """Drop repeated URLs, keeping the first (richest) occurrence."""
    seen: set[str] = set()
    out = []
    for link in links:
        if link.url not in seen:
            seen.add(link.url)
            out.append(link)
    return out
