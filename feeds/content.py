"""Pure helpers making article fields feed-safe: clean text, absolute links, bounded HTML."""

from __future__ import annotations

import email.utils
import html
import re
from datetime import UTC, datetime
from urllib.parse import urljoin

import lxml.html

# XML 1.0 forbids these code points; feedgen/lxml raise on them and lose the whole feed (B10, B12).
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ENTITY_RE = re.compile(r"&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACE_RE = re.compile(r"\s+")

#: Default bound of an entry's HTML, in characters of serialized HTML. 50 entries of Cyrillic
#: text (2 bytes a character in UTF-8) plus escaping stay around 0.7 MiB, well under 1 MiB.
DEFAULT_MAX_HTML_CHARS = 6000
#: Bound of summaries and of the plain-text descriptions derived from the body.
MAX_SUMMARY_CHARS = 600

_READ_MORE = {"ru": "Читать полностью", "uk": "Читати повністю", "en": "Read more"}


def clean_text(value: str | None) -> str:
    """Remove characters that XML 1.0 cannot carry (controls, lone surrogates)."""
    if not value:
        return ""
    return _XML_ILLEGAL_RE.sub("", value)


def clean_title(value: str | None, *, fallback: str) -> str:
    """Plain-text title, entities decoded (bounded, B14), whitespace collapsed, never empty."""
    text = clean_text(value)
    # Sources double-encode titles ("Tom &amp;amp; Jerry"); decode at most twice so a title
    # that really mentions an entity is not eaten, and lxml escapes the result exactly once.
    for _ in range(2):
        if not _ENTITY_RE.search(text):
            break
        text = html.unescape(text)
    text = _SPACE_RE.sub(" ", clean_text(text)).strip()
    return text or fallback


def plain_excerpt(value: str, limit: int = MAX_SUMMARY_CHARS) -> str:
    """Collapsed plain text, cut at a word boundary with "…" when longer than ``limit``."""
    text = _SPACE_RE.sub(" ", clean_text(value)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:.—-") + "…"


def html_to_text(fragment: str) -> str:
    """The plain text of an HTML fragment (for descriptions when there is no summary)."""
    fragment = clean_text(fragment)
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return _SPACE_RE.sub(" ", root.text_content()).strip()


def absolute_url(url: str | None, base: str) -> str | None:
    """``url`` resolved against ``base``; ``None`` unless the result is http(s) (B17)."""
    if not url:
        return None
    resolved = urljoin(base, clean_text(url).strip())
    return resolved if resolved.startswith(("http://", "https://")) else None


def prepare_html(
    fragment: str,
    *,
    article_url: str,
    limit: int = DEFAULT_MAX_HTML_CHARS,
    language: str | None = None,
) -> str:
    """Sanitized article HTML made feed-ready: absolute links, bounded length, well-formed.

    Links and image sources are resolved against ``article_url`` (B17). When the serialized HTML
    is longer than ``limit`` characters it is cut after the last whole top-level block that fits
    (a paragraph, list, figure...); a single oversized first block is replaced by its text cut at a
    word boundary. A truncated body ends with "…" and a link to the original article.
    """
    fragment = clean_text(fragment)
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    root.make_links_absolute(article_url, resolve_base_href=False, handle_failures="discard")
    for el in root.iter("img", "source"):
        if el.get("srcset"):
            # lxml does not rewrite srcset; a relative candidate would break readers, drop it.
            del el.attrib["srcset"]
    pieces: list[str] = []
    if root.text:
        pieces.append(html.escape(root.text, quote=False))
    for child in root:
        pieces.append(lxml.html.tostring(child, encoding="unicode", with_tail=True))
    if sum(map(len, pieces)) <= limit:
        return "".join(pieces).strip()

    kept: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > limit:
            break
        kept.append(piece)
        size += len(piece)
    body = "".join(kept).strip()
    if not html_to_text(body):
        # Nothing whole fits (one giant paragraph): fall back to its text, cut at a word.
        text = plain_excerpt(root.text_content(), max(limit - 200, 100))
        body = "<p>" + html.escape(text.removesuffix("…"), quote=False) + "</p>"
    link = html.escape(article_url, quote=True)
    label = _READ_MORE.get((language or "").split("-")[0].lower(), _READ_MORE["en"])
    return f'{body}\n<p>… <a href="{link}">{label}</a></p>'


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC without microseconds; naive values (a contract breach) are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def rfc822(value: datetime) -> str:
    """RFC 822/2822 date for RSS, independent of the process locale."""
    return email.utils.format_datetime(to_utc(value))


def rfc3339(value: datetime) -> str:
    """RFC 3339 date for Atom and JSON Feed, in UTC."""
    return to_utc(value).isoformat()
