"""Layered extraction of one article page into :class:`~crawler.models.ArticleData`.

The page is parsed once (:func:`parse_document`);
:class:`~crawler.extraction.page_fields.PageFields` finds each field layer by layer
(:mod:`crawler.extraction.layers`); :func:`extract` runs the fields in order and records which
layer produced each.
"""

from __future__ import annotations

import codecs
import html as htmllib
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from crawler.extraction.page_fields import PageFields
from crawler.models import ArticleData
from crawler.normalize.dates import clamp_future_flag
from crawler.normalize.encoding import decode_html, looks_binary
from crawler.normalize.html import SANITIZE_POLICY
from crawler.normalize.urls import canonicalize_url
from crawler.timing import stage

logger = logging.getLogger(__name__)


def parse_document(
    body: bytes | str, header_charset: str | None
) -> tuple[etree._Element | None, bytes, list[str]]:
    """Decode (when bytes) and parse the page once.

    Returns the tree (``None`` for an empty or unparsable body), the UTF-8 bytes that were parsed
    (the generic extractor re-parses them rather than copying the tree) and the decoding flags.
    """
    flags: list[str] = []
    plain = False
    if isinstance(body, bytes):
        # Most pages hold no C0 control byte but tab, LF and CR: then they hold none of the
        # binary data bytes looks_binary counts, and removing the controls XML forbids (below)
        # changes nothing. One memchr per byte value tells so faster than either scan.
        plain = not any(byte in body for byte in _CONTROL_BYTES)
        if not plain and looks_binary(body, header_charset=header_charset):
            return None, b"", ["binary"]
        with stage("decode"):
            text, encoding, decode_flags = decode_html(body, header_charset=header_charset)
        flags.extend(decode_flags)
        # Clean UTF-8 (most pages) is parsed as received: no second encoding pass.
        clean = encoding == "utf-8" and not decode_flags and len(text) and b"\x00" not in body
        data = body if clean and not body.startswith(codecs.BOM_UTF8) else text.encode("utf-8")
    else:
        text = body
        data = text.encode("utf-8", "surrogatepass")
    if not text or text.isspace():  # what strip() would leave empty, without a copy
        return None, b"", flags
    if attributes := _overloaded_tag(data):
        raise ValueError(f"hostile markup: a tag with {attributes} attributes")
    # C0 controls XML forbids (a stray \x0b in a paragraph): libxml2's HTML parser keeps them
    # in text nodes, and lxml then refuses to set any text containing one. UTF-8 never uses
    # these bytes inside a multi-byte character, so they can be removed byte by byte.
    if not (plain and data is body):
        data = data.translate(_FORM_FEED_TO_SPACE, _XML_FORBIDDEN_CONTROLS)
    try:
        # Bytes, not str: lxml refuses a str with an XML declaration.
        with stage("parse"):
            doc = etree.fromstring(data, parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        logger.warning("unparsable page: %s", exc)
        return None, b"", flags
    if doc is None:
        return None, b"", flags
    if any(e.type == _RESOURCE_LIMIT for e in _PARSER.error_log):
        # Nested deeper than even huge_tree allows: whatever sat below was cut off, so a page
        # that then has no text says why (crawler.pages: the no_text drop's detail).
        logger.warning("page nested deeper than %d elements: cut off there", MAX_NESTING)
        flags.append("nesting_too_deep")
    return doc, data, flags


#: libxml2's HTML parser checks each attribute of a tag against all the tag's earlier ones:
#: 20,000 attributes take over a second, 200,000 minutes, and the page is parsed twice. No
#: page needs more than a few dozen; past this many the page is refused (``extract_error``).
MAX_TAG_ATTRIBUTES = 2000
# A tag long enough to hold that many (each at least ` a=1`): only such tags are counted.
_LONG_TAG_RE = re.compile(rb"<[A-Za-z][^<>]{%d,}" % (MAX_TAG_ATTRIBUTES * 4))
_QUOTED_RE = re.compile(rb"\"[^\"]*\"|'[^']*'")


def _overloaded_tag(data: bytes) -> int:
    """The attribute count of the first tag with more than MAX_TAG_ATTRIBUTES, else 0."""
    for m in _LONG_TAG_RE.finditer(data):
        if _in_raw_text(data, m.start()):
            continue  # "i<n.length;..." in an inline script or style: no tag at all
        # Values removed first: a long JSON attribute value has spaces, not attributes.
        count = len(_QUOTED_RE.sub(b"", m.group()).split()) - 1
        if count > MAX_TAG_ATTRIBUTES:
            return count
    return 0


def _in_raw_text(data: bytes, pos: int) -> bool:
    """Whether ``pos`` is inside a ``<script>`` or ``<style>`` element (opened, not closed)."""
    for name in (b"script", b"style", b"SCRIPT", b"STYLE"):
        opened = data.rfind(b"<" + name, 0, pos)
        if opened >= 0 and opened > data.rfind(b"</" + name, 0, pos):
            return True
    return False


_XML_FORBIDDEN_CONTROLS = bytes(b for b in range(0x20) if b not in b"\t\n\r\x0c")
_FORM_FEED_TO_SPACE = bytes.maketrans(b"\x0c", b" ")  # HTML whitespace, but not XML's
#: Every C0 control byte but tab, LF and CR, one bytes object each (``in`` is a memchr): the
#: binary data bytes (normalize.encoding) and the form feed are among them.
_CONTROL_BYTES = tuple(bytes([b]) for b in range(0x20) if b not in b"\t\n\r")


# Plain lxml.etree elements, not lxml.html's: the html class lookup runs Python code for every
# element proxy (~2,400 per page), a few ms per page for methods this package does not use.
# huge_tree: libxml2 stops at elements nested 256 deep (unclosed <div>/<font> of old layouts,
# a hostile page) and keeps only what came before, so an article below them was lost as
# no_text; the option raises that to 2048. It also lifts the 10 MB cap on one text node, which
# no fetched page reaches (DOWNLOAD_MAXSIZE is 8 MiB), and the HTML parser expands no entities,
# so memory stays bounded by the page's size.
_PARSER = etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=True
)
#: Deepest element nesting parsed (libxml2's limit with huge_tree); below it a page is cut off.
MAX_NESTING = 2048
_RESOURCE_LIMIT = etree.ErrorTypes.ERR_RESOURCE_LIMIT


def extract(
    body: bytes | str,
    url: str,
    *,
    now: datetime,
    tz: str,
    selectors: Mapping[str, str] | None,
    site_names: Sequence[str],
    header_charset: str | None,
    use_generic: bool,
    allowed_domains: Sequence[str] = (),
) -> ArticleData:
    """Implementation of :func:`crawler.extraction.extract_article`."""
    data = ArticleData(url=url)
    if now.tzinfo is None:
        # A naive clock is read in the source's zone, as parse_date does.
        now = now.replace(tzinfo=ZoneInfo(tz))
    doc, html_bytes, flags = parse_document(body, header_charset)
    data.flags.extend(flags)
    if doc is None:
        data.flags.append("empty_page")
        data.canonical_url = canonicalize_url(url)
        data.provenance["canonical_url"] = "url"
        return data
    page = PageFields(
        doc,
        html_bytes,
        url,
        now=now,
        tz=tz,
        selectors=selectors,
        site_names=site_names,
        use_generic=use_generic,
        allowed_domains=allowed_domains,
    )
    prov = data.provenance

    def put(name: str, value: Any, layer: str | None) -> None:
        if value not in (None, "", []) and layer:
            setattr(data, name, value)
            prov[name] = layer

    # Metadata-only fields first: body extraction may run trafilatura, which these rarely need.
    put("summary", *page.summary())
    put("section", *page.section())
    put("tags", *page.tags())
    put("image", *page.image())
    put("canonical_url", *page.canonical_url())
    found = page.body()
    if found is not None:
        data.text, data.html = found.text, found.html
        prov["text"] = prov["html"] = found.layer
    put("title", *page.title())
    if data.title is None and page.leaked_title is not None:
        data.flags.append("garbage_title")
        logger.info("%s: title refused as a leaked rule: %r", url, page.leaked_title[:80])
    if data.text and data.title and data.text == data.title:
        # A "body" that is the headline alone (a generic extractor on a page without text).
        data.text = data.html = None
        prov.pop("text", None)
        prov.pop("html", None)
    elif data.text and data.title and data.text.startswith(data.title + "\n\n"):
        # Generic extractors often start the body with the headline.
        data.text = data.text[len(data.title) + 2 :]
        head = f"<p>{htmllib.escape(data.title, quote=False)}</p>"
        if data.html and data.html.startswith(head):
            data.html = data.html[len(head) :].lstrip()
    put("authors", *page.authors())
    published, layer = page.published()
    if published is not None:
        published, flag = clamp_future_flag(published, now)
        if flag:
            data.flags.append(flag)
        put("published", published, layer)
    updated, layer = page.updated()
    if updated is not None:
        updated, flag = clamp_future_flag(updated, now)
        if flag and flag not in data.flags:
            data.flags.append(flag)
        # An "update" before publication is a mis-read date, not information.
        if data.published is None or updated >= data.published:
            put("updated", updated, layer)
    # Every body layer (selector, heuristic, generic, JSON-LD) joins clean_text'ed paragraphs with
    # "\n\n", and cutting the headline off keeps that form: build_article need not clean again.
    data.text_clean = True
    # Every body layer's HTML is sanitize_html output (cutting a leading headline paragraph off
    # keeps it so): feeds need not sanitize it again.
    data.html_policy = SANITIZE_POLICY if data.html else None
    sample = " ".join(filter(None, (data.title, data.summary, (data.text or "")[:3000])))
    put("language", *page.language(sample))
    if page._generic_done and page._generic_body is not None:
        if not page._generic_body.link_list:
            data.flags.append("generic_used")
        elif not data.text:
            data.flags.append("link_list")
    return data
