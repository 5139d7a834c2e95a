"""Find article links in a source's feeds, sitemaps and HTML listing pages (pure, safe XML)."""

# Feeds are read by feedparser (crawler/feedparse.py says why), sitemaps by lxml; both behind the
# same guards here: size and gzip caps, RFC 3023 decoding, the DTD policy and the depth cap.

from __future__ import annotations

import gzip
import html
import html.entities
import json
import logging
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin

from lxml import etree
from lxml import html as lxml_html

from crawler.feedparse import RawEntry, read_feed
from crawler.normalize.dates import parse_date
from crawler.normalize.encoding import decode_xml
from crawler.normalize.text import clean_text
from crawler.normalize.urls import is_http_url

logger = logging.getLogger(__name__)

MAX_XML_BYTES = 50 * 1024 * 1024  # sitemap protocol limit, also applied after decompression
MAX_XML_DEPTH = 64


class UnsafeXMLError(ValueError):
    """The document declares dangerous entities, is too large or too deep: refused, not parsed."""


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
class Feed:
    """A parsed feed: its article links and what reading it cost."""

    links: list[Link]
    recovered: bool = False  # not well-formed: read by a forgiving parser, entries may be lost
    skipped: int = 0  # entries without a usable link (none, malformed, not http) or value
    invalid_bytes: int = 0  # bytes the declared charset could not decode (now U+FFFD)


@dataclass
class Sitemap:
    """A parsed sitemap: article links (urlset) or nested sitemaps (sitemapindex)."""

    links: list[Link]
    sitemaps: list[str]
    recovered: bool = False
    skipped: int = 0  # entries without a usable <loc> (none, malformed, not http)
    invalid_bytes: int = 0


@dataclass
class XmlText:
    """An XML document made safe to parse: decoded, DTD gone, no XML declaration."""

    text: str
    invalid_bytes: int


_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    dtd_validation=False,
    remove_comments=True,
    remove_pis=True,
    encoding="utf-8",  # the text is re-encoded: whatever the declaration said is already applied
)


def absolute_url(href: str, base_url: str) -> str:
    """``href`` resolved against ``base_url``, fragment dropped, otherwise as the site wrote it.

    Identity (trailing slash, tracking parameters, AMP) is decided later by
    ``canonicalize_url``; the URL fetched must stay the one the site links to. Raises
    ValueError for a URL ``urllib`` cannot split (``http://example.c[o.test/``).
    """
    return urldefrag(urljoin(base_url, href.strip())).url


def decompress(body: bytes, *, limit: int = MAX_XML_BYTES) -> bytes:
    """Gunzip ``body`` if it is gzip, refusing to inflate past ``limit`` bytes (gzip bombs)."""
    if body[:2] != b"\x1f\x8b":
        if len(body) > limit:
            raise UnsafeXMLError(f"document larger than {limit} bytes")
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise DiscoveryError(f"broken gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise UnsafeXMLError(f"decompressed document larger than {limit} bytes")
    return out


# D6 policy. A DTD is never loaded nor kept: feeds and sitemaps do not need one, and it is where
# XXE and billion-laughs payloads live. Harmless declarations are stripped: small internal text
# entities (expanded here, reader#212; character references allowed: <!ENTITY nbsp "&#160;">),
# ELEMENT/ATTLIST/NOTATION, comments, and references to the W3C's standard entity sets
# (%HTMLlat1; in RSS 1.0 feeds), whose names feedparser and the repair pass know anyway. What
# would be dangerous if a parser loaded it is refused: any other external entity (SYSTEM or
# PUBLIC, XXE), entities referring to entities (billion laughs), markup in values, too many or
# too long values, expansion beyond a bound (quadratic blowup). Only the prolog is looked at:
# "<!ENTITY" inside a CDATA description is text.
MAX_INTERNAL_ENTITIES = 16
MAX_ENTITY_VALUE = 256
MAX_ENTITY_EXPANSION = 1024 * 1024  # characters added by all expansions together
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_DOCTYPE_RE = re.compile(
    r"""<!DOCTYPE\s+[\w:.-]+(?:\s+(?:SYSTEM|PUBLIC)(?:\s*(?:"[^"]*"|'[^']*'))+)?\s*"""
    r"""(?:\[(?P<subset>(?:[^\]"']|"[^"]*"|'[^']*')*)\]\s*)?>""",
    re.I,
)
_QUOTED = r"""(?:"[^"]*"|'[^']*')"""
_SUBSET_DECL_RE = re.compile(
    r"\s*(?:<!--.*?-->"
    r"|<\?.*?\?>"
    rf"|<!(?:ELEMENT|ATTLIST|NOTATION)\b(?:[^>\"']|{_QUOTED})*>"
    r"|<!ENTITY\s+(?P<pe>%\s+)?(?P<name>[A-Za-z_][\w.:-]*)\s+"
    rf"(?:(?P<value>{_QUOTED})|(?P<ext>(?:SYSTEM|PUBLIC)(?:\s*{_QUOTED})+)(?:\s+NDATA\s+\w+)?)\s*>"
    r"|%(?P<peref>[A-Za-z_][\w.:-]*);)",
    re.S | re.I,
)
_STANDARD_ENTITY_SETS = re.compile(r"""^PUBLIC\s*["']-//W3C//ENTITIES """, re.I)
_CHAR_REF_RE = re.compile(r"&#(?:[0-9]+|x[0-9a-fA-F]+);")
_ENTITY_REF_RE = re.compile(r"&([A-Za-z_][\w.:-]*);")
_XML_BUILTIN = {"lt", "gt", "amp", "quot", "apos"}


def prepare_xml(
    body: bytes, *, content_type: str | None = None, limit: int = MAX_XML_BYTES
) -> XmlText:
    """Decompress (capped), decode (RFC 3023) and apply the D6 DTD policy to an XML document."""
    body = decompress(body, limit=limit)
    text, _, flags = decode_xml(body, content_type=content_type)
    invalid = sum(int(f.partition(":")[2]) for f in flags if f.startswith("invalid_bytes:"))
    text = _XML_DECL_RE.sub("", text.lstrip("\ufeff"), count=1)
    return XmlText(text=_apply_dtd_policy(text, limit), invalid_bytes=invalid)


def _apply_dtd_policy(text: str, limit: int) -> str:
    """The text without its DTD, small internal entities expanded; UnsafeXMLError otherwise."""
    start = _doctype_start(text)
    if start is None:
        return text
    match = _DOCTYPE_RE.match(text, start)
    if match is None:
        raise UnsafeXMLError("DTD that cannot be read safely")
    entities = _subset_entities(match.group("subset") or "")
    rest = text[: match.start()] + text[match.end() :]
    if not entities:
        return rest
    budget = [min(limit - len(rest), MAX_ENTITY_EXPANSION)]

    def expand(ref: re.Match[str]) -> str:
        value = entities.get(ref.group(1))
        if value is None:
            return ref.group(0)
        budget[0] -= len(value)
        if budget[0] < 0:
            raise UnsafeXMLError("entity expansion too large (quadratic blowup)")
        return value

    return _ENTITY_REF_RE.sub(expand, rest)


def _doctype_start(text: str) -> int | None:
    """Where the prolog's DOCTYPE starts, if any (comments and PIs may mention anything).

    ``str.find`` steps, not a regex: an unterminated ``<!--`` costs one scan, not one per
    occurrence, so a hostile prolog cannot make this quadratic.
    """
    pos = 0
    while (lt := text.find("<", pos)) >= 0:
        head = text[lt : lt + 9].upper()
        if head.startswith(("<!--", "<?")):
            closer = "-->" if head.startswith("<!--") else "?>"
            end = text.find(closer, lt + 2)
            if end < 0:
                return None  # the rest is a comment: no root element, nothing to parse
            pos = end + len(closer)
        elif head == "<!DOCTYPE":
            return lt
        elif head.startswith("<!ENTITY"):
            raise UnsafeXMLError("entity declared outside a DTD")
        else:
            return None  # the root element (or text): the prolog is over
    return None


def _subset_entities(subset: str) -> dict[str, str]:
    """The internal entities of a DTD subset, escaped for reuse; refuses dangerous content."""
    entities: dict[str, str] = {}
    standard_sets: set[str] = set()
    pos = 0
    while subset[pos:].strip():
        decl = _SUBSET_DECL_RE.match(subset, pos)
        if decl is None:
            raise UnsafeXMLError("DTD declares something other than entities and element types")
        pos = decl.end()
        name = decl.group("name")
        if decl.group("peref") is not None:
            if decl.group("peref") not in standard_sets:
                raise UnsafeXMLError(f"parameter entity %{decl.group('peref')}; used")
        elif decl.group("ext") is not None:
            if not (decl.group("pe") and _STANDARD_ENTITY_SETS.match(decl.group("ext"))):
                raise UnsafeXMLError(f"external entity {name!r} (XXE)")
            standard_sets.add(name)  # a W3C entity set: never loaded, its names are known
        elif name is not None:
            if decl.group("pe"):
                raise UnsafeXMLError(f"parameter entity {name!r}")
            entities[name] = _entity_value(name, decl.group("value")[1:-1])
    if len(entities) > MAX_INTERNAL_ENTITIES:
        raise UnsafeXMLError(f"more than {MAX_INTERNAL_ENTITIES} entity declarations")
    return entities


def _entity_value(name: str, value: str) -> str:
    if len(value) > MAX_ENTITY_VALUE:
        raise UnsafeXMLError(f"entity {name!r} longer than {MAX_ENTITY_VALUE} characters")
    if any(c in _CHAR_REF_RE.sub("", value) for c in "&<%"):
        raise UnsafeXMLError(f"entity {name!r} holds markup or references (billion laughs)")
    value = _CHAR_REF_RE.sub(lambda m: html.unescape(m.group(0)), value)
    # Escaped, so a value can never become markup or break an attribute.
    return html.escape(value, quote=True).replace("&#x27;", "&apos;")


def _xml_tree(text: str, *, recover: bool) -> etree._Element | None:
    parser = etree.XMLParser(recover=recover, **_PARSER_OPTIONS)
    try:
        root = etree.fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is not None:
        _check_depth(root)
    return root


# The repair before a recover parse: libxml2's recover mode drops every later &amp; after its
# first error, so the usual errors are mended first. A bare & becomes &amp;, an HTML entity its
# character, and characters XML forbids go.
_BARE_AMP_RE = re.compile(r"&(?!#[0-9]+;|#x[0-9a-fA-F]+;|[A-Za-z_][\w.:-]*;)")
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _repair(text: str) -> str:
    def entity(ref: re.Match[str]) -> str:
        name = ref.group(1)
        if name in _XML_BUILTIN:
            return ref.group(0)
        char = html.entities.html5.get(name + ";")
        return html.escape(char) if char else "&amp;" + name + ";"

    text = _XML_ILLEGAL_RE.sub("", _BARE_AMP_RE.sub("&amp;", text))
    return _ENTITY_REF_RE.sub(entity, text)


def _parse_text(text: str) -> tuple[etree._Element, bool]:
    """The tree of a prepared document and whether it had to be recovered (not well-formed)."""
    root = _xml_tree(text, recover=False)
    if root is not None:
        return root, False
    repaired = _repair(text)
    root = _xml_tree(repaired, recover=False)
    if root is None:
        root = _xml_tree(repaired, recover=True)
    if root is None:
        raise DiscoveryError("empty or unparseable XML document")
    return root, True


def parse_xml(
    body: bytes, *, content_type: str | None = None, limit: int = MAX_XML_BYTES
) -> etree._Element:
    """Parse untrusted XML: no external entities, DTD loading or network; size and depth capped.

    A document that is not well-formed is mended (bare ``&``, HTML entities, control
    characters) and, failing that, recovered. See :func:`prepare_xml` for what is refused.
    """
    return _parse_text(prepare_xml(body, content_type=content_type, limit=limit).text)[0]


def _check_depth(root: etree._Element) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise UnsafeXMLError(f"XML nested deeper than {MAX_XML_DEPTH}")
        stack.extend((child, depth + 1) for child in node)


def _local(tag: object) -> str:
    # Plain string work: an undeclared prefix leaves "itunes:subtitle" as the tag, which
    # etree.QName refuses.
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2].lower()


def _child_text(node: etree._Element, *names: str) -> str | None:
    for child in node:
        if _local(child.tag) in names:
            value = "".join(child.itertext()).strip()
            if value:
                return value
    return None


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
    _xml_tree(doc.text, recover=True)  # the depth cap: feedparser has none
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
    if published is None and entry.date_parsed is not None:
        published = datetime(*entry.date_parsed[:6], tzinfo=UTC)
    title = entry.title or ""
    if entry.title_is_html:
        title = _strip_tags(title)
    return Link(
        url=url,
        title=clean_text(title) or None,
        published=published,
        summary=clean_text(_strip_tags(entry.summary)) or None if entry.summary else None,
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
        feed.links.append(
            Link(
                url=url,
                title=clean_text(str(item.get("title") or "")) or None,
                published=parse_date(str(date), tz=tz, now=now) if date else None,
                summary=clean_text(str(summary)) if summary else None,
            )
        )
    return feed


def _strip_tags(value: str) -> str:
    if "<" not in value:
        return value
    try:
        return lxml_html.fromstring(value).text_content()
    except (etree.ParserError, ValueError):
        return re.sub(r"<[^>]+>", " ", value)


def parse_sitemap(
    body: bytes, base_url: str, *, tz: str, now: datetime, content_type: str | None = None
) -> Sitemap:
    """Links of a sitemap ``urlset`` (with news:publication_date/title) or a ``sitemapindex``.

    Decoded as :func:`parse_feed` decodes feeds; a ``<loc>`` that is no URL is skipped and
    counted.
    """
    doc = prepare_xml(body, content_type=content_type)
    root, recovered = _parse_text(doc.text)
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap (root element <{kind}>)")
    sitemap = Sitemap(links=[], sitemaps=[], recovered=recovered, invalid_bytes=doc.invalid_bytes)
    for entry in root:
        name = _local(entry.tag)
        if name not in ("url", "sitemap"):
            continue
        loc = _child_text(entry, "loc")
        try:
            url = absolute_url(loc, base_url) if loc else ""
        except ValueError:
            url = ""
        if not is_http_url(url):
            sitemap.skipped += 1
            continue
        if name == "sitemap":
            sitemap.sitemaps.append(url)
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
        sitemap.links.append(
            Link(
                url=url,
                title=title or None,
                published=parse_date(date, tz=tz, now=now) if date else None,
            )
        )
    return sitemap


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
    except (UnsafeXMLError, DiscoveryError, EOFError, OSError):
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
