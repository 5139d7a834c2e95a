"""Untrusted XML made safe: size and gzip caps, RFC 3023 decoding, the DTD policy, depth cap."""

from __future__ import annotations

import gzip
import html
import html.entities
import re
import zlib
from dataclasses import dataclass

from lxml import etree

from crawler.normalize.encoding import decode_xml

MAX_XML_BYTES = 50 * 1024 * 1024  # sitemap protocol limit, also applied after decompression
MAX_XML_DEPTH = 64


class UnsafeXMLError(ValueError):
    """The document declares dangerous entities, is too large or too deep: refused, not parsed."""


class DiscoveryError(ValueError):
    """The document is not a feed or sitemap we can read."""


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


def xml_tree(text: str, *, recover: bool) -> etree._Element | None:
    """The tree of prepared ``text`` (None if unparseable); UnsafeXMLError if too deep."""
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


def parse_prepared(text: str) -> tuple[etree._Element, bool]:
    """The tree of a prepared document and whether it had to be recovered (not well-formed)."""
    root = xml_tree(text, recover=False)
    if root is not None:
        return root, False
    repaired = _repair(text)
    root = xml_tree(repaired, recover=False)
    if root is None:
        root = xml_tree(repaired, recover=True)
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
    return parse_prepared(prepare_xml(body, content_type=content_type, limit=limit).text)[0]


def _check_depth(root: etree._Element) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise UnsafeXMLError(f"XML nested deeper than {MAX_XML_DEPTH}")
        stack.extend((child, depth + 1) for child in node)


def local_name(tag: object) -> str:
    """An element's tag without namespace or prefix, lower-cased ("" for comments and PIs)."""
    # Plain string work: an undeclared prefix leaves "itunes:subtitle" as the tag, which
    # etree.QName refuses.
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2].lower()


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
