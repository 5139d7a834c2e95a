"""Sanitise article HTML for feeds (nh3 allowlist, absolute links) and convert HTML to text."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin

import lxml.html
import nh3
from lxml import etree
from w3lib.url import safe_url_string

from crawler.normalize.text import clean_text, strip_control_chars
from crawler.timing import stage

__all__ = ["SANITIZE_POLICY", "html_to_text", "sanitize_html"]

#: Version of what :func:`sanitize_html` lets through. Stored HTML records the version it was
#: cleaned with, and the feed builder trusts only HTML of the current one (anything else is
#: sanitized again). Bump it whenever the allowlists, URL rules or post-processing change;
#: ``tests/test_normalize_html.py`` fails when they change and this does not.
SANITIZE_POLICY = 1

_TAGS = frozenset(
    """p br a strong b em i u s blockquote q cite ul ol li h2 h3 h4 h5 h6 figure figcaption img
    table caption thead tbody tfoot tr th td pre code sub sup hr span""".split()
)
# Content of these is never article text (and must not leak as text when the tag is dropped).
_CLEAN_CONTENT_TAGS = frozenset(
    """script style noscript template iframe object embed svg math canvas video audio select
    textarea button""".split()
)
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_LINK_REL = "noopener noreferrer nofollow"
_URL_ATTRS = frozenset({"href", "src"})
_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_URL_WS_RE = re.compile(r"[\t\n\r]|^[\x00-\x20]+|[\x00-\x20]+$")
_SMUGGLED_SCHEME_RE = re.compile(r"(?:java|vb)script:|data:", re.I)
_SIZE_RE = re.compile(r"^\d{1,4}%?$")
# nh3 output is canonical (lowercase names, double-quoted values, '"' and '>' escaped inside), so
# these patterns parse it exactly.
_ATTRS = r'((?:\s[a-z-]+="[^"]*")*)'
_IMG_WITHOUT_SRC_RE = re.compile(rf"<img(?![^>]*\ssrc=\"){_ATTRS}>")
_A_WITHOUT_HREF_RE = re.compile(rf'<a(?![^>]*\shref="){_ATTRS}>(.*?)</a>', re.S)
_VOID_RE = re.compile(rf"<(br|hr|img){_ATTRS}>")
_EMPTY_HTML_RE = re.compile(r"^(?:\s|<br\s?/>|<p>\s*</p>)*$")

_BLOCK_TAGS = frozenset(
    """address article aside blockquote caption dd details dialog div dl dt fieldset figcaption
    figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table
    tr ul""".split()
)
_SKIP_TAGS = _CLEAN_CONTENT_TAGS | {"head", "title"}
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_NON_TEXT_BLOCK_RE = re.compile(
    r"<(script|style|noscript|template|head|svg|math)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S
)
_BLOCK_BREAK_RE = re.compile(
    r"<(?:/?(?:p|div|h[1-6]|li|tr|blockquote|section|article)\b[^>]*|br\s*/?)>", re.I
)
_TAG_RE = re.compile(r"<[^>]*>")
_DOCUMENT_RE = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype|html|head|body)\b", re.I | re.S)


def _absolute_url(tag: str, value: str, base_url: str) -> str | None:
    value = _URL_WS_RE.sub("", value)
    if not value:
        return None
    scheme = _SCHEME_RE.match(value)
    if scheme:
        name = scheme.group(1).lower()
        if name == "mailto" and tag == "a":
            return value
        if name not in ("http", "https"):
            return None  # javascript:, data:, vbscript:, file: ...
    else:
        try:
            value = urljoin(base_url, value)
        except ValueError:  # "//[fe80::1/x": an exception here would only be printed by nh3
            return None
    # nh3 applies its scheme check *before* this filter, so the result must be safe on its own.
    if not value.lower().startswith(("http://", "https://")):
        return None
    # Percent-encode (backticks, spaces, Cyrillic: feeds need URIs), and refuse a scheme smuggled
    # into a relative path ("`javascript:alert(1)`"): harmless here, but never worth keeping.
    try:
        value = safe_url_string(value)
    except ValueError:
        return None
    return None if _SMUGGLED_SCHEME_RE.search(unquote(value)) else value


def sanitize_html(html: str, base_url: str) -> str:
    """Sanitise article HTML with an nh3 allowlist; links and images become absolute http(s).

    Links get ``rel="noopener noreferrer nofollow"``; images without a usable src are dropped; the
    output has no control chars and is also well-formed XML (void tags self-closed, ``&#160;``).
    """
    with stage("sanitize"):
        return _sanitize(html, base_url)


def _sanitize(html: str, base_url: str) -> str:
    if not html:
        return ""

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if attr in _URL_ATTRS:
            return _absolute_url(tag, value, base_url)
        if attr in ("width", "height", "colspan", "rowspan"):
            return value if _SIZE_RE.match(value.strip()) else None
        return value

    cleaned = nh3.clean(
        strip_control_chars(html),
        tags=set(_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT_TAGS),
        attributes=_ATTRIBUTES,
        attribute_filter=attribute_filter,
        link_rel=_LINK_REL,
        url_schemes={"http", "https", "mailto"},
        strip_comments=True,
    )
    cleaned = _IMG_WITHOUT_SRC_RE.sub("", cleaned)
    cleaned = _A_WITHOUT_HREF_RE.sub(r"\2", cleaned)
    cleaned = _VOID_RE.sub(r"<\1\2 />", cleaned).replace("&nbsp;", "&#160;")
    cleaned = strip_control_chars(cleaned).strip()
    return "" if _EMPTY_HTML_RE.match(cleaned) else cleaned


def _parse(html: str) -> etree._Element | None:
    # libxml2 gives up on nesting deeper than 256 (unclosed <font>/<div> in old layouts do that)
    # and returns an empty tree; huge_tree lifts the limit to 2048. Input size is capped upstream.
    parser = lxml.html.HTMLParser(huge_tree=True)
    try:
        if _DOCUMENT_RE.match(html):
            doc = lxml.html.document_fromstring(html, parser=parser)
            body = doc.find("body")
            return body if body is not None else doc
        return lxml.html.fragment_fromstring(html, create_parent="div", parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _strip_tags(html: str) -> str:
    # Last resort when libxml2 refuses the markup: drop non-text blocks, then every tag.
    text = _TAG_RE.sub("", _BLOCK_BREAK_RE.sub("\n\n", _NON_TEXT_BLOCK_RE.sub(" ", html)))
    return clean_text(text, multiline=True)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment or document; block elements become paragraphs."""
    html = _XML_DECL_RE.sub("", strip_control_chars(html))
    if not html.strip():
        return ""
    root = _parse(html)
    if root is None:
        return _strip_tags(html)
    parts: list[str] = []
    skipping = 0
    # iterwalk instead of recursion: deeply nested junk markup must not hit the recursion limit.
    for event, el in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        if event in ("comment", "pi"):
            if el.tail and not skipping:
                parts.append(el.tail)
            continue
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if skipping or tag in _SKIP_TAGS or not tag:
                skipping += 1
                continue
            if tag in _BLOCK_TAGS:
                parts.append("\n\n")
            elif tag == "br":
                parts.append("\n")
            elif tag in ("td", "th"):
                parts.append(" ")
            if el.text:
                parts.append(el.text)
            continue
        if skipping:
            skipping -= 1
            if skipping:
                continue
        elif tag in _BLOCK_TAGS:
            parts.append("\n\n")
        if el.tail and el is not root:
            parts.append(el.tail)
    text = clean_text("".join(parts), multiline=True)
    return text or (_strip_tags(html) if _TAG_RE.sub("", html).strip() else "")
