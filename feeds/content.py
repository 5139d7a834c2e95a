"""Pure helpers making article fields feed-safe: plain titles, absolute links, bounded HTML.

Cleaning itself (control characters, entities, whitespace, sanitising, HTML to text) is
``crawler.normalize``'s; this module only adds what is specific to feeds: excerpts and HTML bounded
in length, and locale-free feed dates.
"""

from __future__ import annotations

import email.utils
import html
import re
from collections.abc import Iterator
from copy import deepcopy
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from crawler.normalize.dates import to_utc as aware_to_utc
from crawler.normalize.html import html_to_text, sanitize_html
from crawler.normalize.text import cap_title, clean_text, strip_control_chars
from crawler.normalize.urls import is_http_url

__all__ = [
    "DEFAULT_MAX_HTML_CHARS",
    "MAX_SUMMARY_CHARS",
    "absolute_url",
    "clean_title",
    "plain_excerpt",
    "prepare_html",
    "rfc822",
    "rfc3339",
    "to_utc",
]

_SPACE_RE = re.compile(r"\s+")

#: Default bound of an entry's HTML, in characters of serialized HTML. 50 entries of Cyrillic
#: text (2 bytes a character in UTF-8) plus escaping stay around 0.7 MiB, well under 1 MiB.
DEFAULT_MAX_HTML_CHARS = 6000
#: Bound of summaries and of the plain-text descriptions derived from the body.
MAX_SUMMARY_CHARS = 600

_READ_MORE = {"ru": "Читать полностью", "uk": "Читати повністю", "en": "Read more"}


def clean_title(value: str | None, *, fallback: str) -> str:
    """Plain-text title (entities decoded at most twice, B14; XML-illegal chars gone), never empty.

    lxml escapes the result exactly once when it is written.
    """
    # Articles stored before titles were capped at crawl time get the same cut here.
    return cap_title(clean_text(value)) or fallback


def plain_excerpt(value: str, limit: int = MAX_SUMMARY_CHARS) -> str:
    """Collapsed plain text, cut at a word boundary with "…" when longer than ``limit``."""
    text = _SPACE_RE.sub(" ", strip_control_chars(value or "")).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:.—-") + "…"


def absolute_url(url: str | None, base: str) -> str | None:
    """``url`` resolved against ``base``, without a login; ``None`` unless http(s)
    (docs/reliability.md B17)."""
    if not url:
        return None
    resolved = urljoin(base, strip_control_chars(url).strip())
    if not is_http_url(resolved):
        return None
    parts = urlsplit(resolved)
    if "@" in parts.netloc:
        # A login in an image's URL (og:image = http://user:pass@host/x.jpg) is not published.
        resolved = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return resolved


def prepare_html(
    fragment: str,
    *,
    article_url: str,
    limit: int = DEFAULT_MAX_HTML_CHARS,
    language: str | None = None,
    sanitized: bool = False,
) -> str:
    """Sanitized article HTML made feed-ready: absolute links, bounded length, well-formed.

    Unless ``sanitized`` says the fragment is already the output of the current sanitizer policy
    (the crawl records that with each article: ``Article.html_policy``), it goes through
    :func:`crawler.normalize.html.sanitize_html` with ``article_url`` as the base
    (docs/reliability.md B17): a body
    stored under an older policy, or written by hand, never reaches readers unsanitised. When the
    result is longer than ``limit`` characters it is cut after the last whole top-level block
    that fits (a paragraph, list, figure...); when whole blocks would fill less than half of it
    (one giant paragraph, text with no block around it) it is cut inside, after a word, keeping
    its links and emphasis up to there. A truncated body ends with "…" and a link to the
    original article, counted in the bound.
    """
    body = (fragment or "") if sanitized else sanitize_html(fragment or "", article_url)
    if len(body) <= limit:
        # The common case needs no parsing at all: nh3's output is already well-formed.
        return body
    link = html.escape(article_url, quote=True)
    label = _READ_MORE.get((language or "").split("-")[0].lower(), _READ_MORE["en"])
    more = f'\n<p>… <a href="{link}">{label}</a></p>'
    # The link to the original counts in the bound (a long URL pushed a body past it).
    room = max(limit - len(more), 100)
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    kept: list[str] = []
    size = 0
    for piece in _pieces(root):
        if size + len(piece) > room:
            break
        kept.append(piece)
        size += len(piece)
    cut = "".join(kept).strip()
    if len(html_to_text(cut)) < room // 2:
        # Whole blocks fill less than half the room (one giant paragraph, or text and inline
        # elements with no block around them, whose pieces are not blocks): the body cut
        # inside, after a word, its links kept up to there.
        cut = _cut_inside(root, room)
        if not html_to_text(cut):
            text = plain_excerpt(root.text_content(), room - len("<p></p>"))
            cut = "<p>" + html.escape(text.removesuffix("…"), quote=False) + "</p>"
    return cut + more


def _cut_inside(root: etree._Element, room: int) -> str:
    """The content of ``root`` (the body's wrapper) cut after a word so that it takes at most
    ``room`` characters: its elements (links, emphasis) kept whole up to the cut, still
    well-formed ("" if nothing fits).

    The text is cut first at ``room`` characters, then shorter in proportion while the markup
    around it makes the result too long.
    """
    chars = room
    for _ in range(6):
        copy = deepcopy(root)
        _keep_chars(copy, chars)
        piece = "".join(_pieces(copy)).strip()
        if len(piece) <= room:
            return piece
        chars = chars * room // len(piece) - 1
        if chars <= 0:
            break
    return ""


def _pieces(root: etree._Element) -> Iterator[str]:
    """The HTML of ``root``'s content, piece by piece: its own text, then each child with the
    text after it."""
    if root.text:
        yield html.escape(root.text, quote=False)
    for child in root:
        yield lxml.html.tostring(child, encoding="unicode", with_tail=True)


def _keep_chars(el: etree._Element, chars: int) -> int:
    """Cut ``el``'s content (in place) after ``chars`` characters of its text, at a word;
    the characters left (negative: cut here)."""
    el.text, chars = _cut_words(el.text, chars)
    if chars < 0:
        for child in list(el):
            el.remove(child)
        return chars
    for child in list(el):
        if chars < 0:
            el.remove(child)
            continue
        chars = _keep_chars(child, chars)
        if chars < 0:
            child.tail = None
        else:
            child.tail, chars = _cut_words(child.tail, chars)
    return chars


def _cut_words(value: str | None, chars: int) -> tuple[str | None, int]:
    """``value`` within ``chars`` characters, cut after a word; the characters left (-1: cut)."""
    if not value or len(value) <= chars:
        return value, chars - len(value or "")
    kept = value[:chars]
    if not value[chars].isspace():
        kept = kept.rsplit(" ", 1)[0] if " " in kept else ""
    return kept.rstrip(), -1


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC without microseconds; naive values (a contract breach) are taken as UTC.

    Feeds must not fail on one bad row, hence the leniency ``crawler.normalize`` does not have.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return aware_to_utc(value).replace(microsecond=0)


def rfc822(value: datetime) -> str:
    """RFC 822/2822 date for RSS, independent of the process locale."""
    return email.utils.format_datetime(to_utc(value))


def rfc3339(value: datetime) -> str:
    """RFC 3339 date for Atom and JSON Feed, in UTC."""
    return to_utc(value).isoformat()
