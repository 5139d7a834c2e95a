"""A page that names another page as its canonical: when the claim stands, and when it does not.

A page's ``rel=canonical`` may name another page: an AMP or mobile copy, an old slug, a print
view. Then its content is one article with that page's, stored under the canonical URL
(``crawler.pages.build_article`` keeps the page's own URL as ``Article.fetched_url`` and in
the article's flag :func:`claim_flag`). But a CMS bug (every page's canonical the same URL),
or a hostile page, names a *different* article: its content must not replace that article's,
in a run's duplicate check or in the store. Such a page keeps its own URL (:func:`url_kin`
and :func:`same_page` tell).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

from crawler.models import CANONICAL_IGNORED_FLAG, VIA_CANONICAL_FLAG, Article

__all__ = [
    "SAME_TEXT_CHARS",
    "PageMarks",
    "claim_flag",
    "claimant",
    "disown_canonical",
    "same_page",
    "url_kin",
]

logger = logging.getLogger(__name__)

#: How much of two texts' beginnings and ends is compared (whitespace aside); a shorter text is
#: compared whole.
SAME_TEXT_CHARS = 200
# An article's id in its URL: a run of this many digits or more (not a year, nor a date's part).
_ID_RE = re.compile(r"\d{5,}")
_ARTICLE_SEGMENT_RE = re.compile(r"[\d_-]")
_DATE_RE = re.compile(r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01])")


def url_kin(own_url: str, canonical: str) -> bool:
    """Whether a page at ``own_url`` can be a copy of the page at ``canonical``, by their URLs.

    The same path (another host such as ``m.`` or ``amp.``, another scheme or query), one
    article's path inside the other (``/amp/news/57`` and ``/news/57``, ``/news/57/print``;
    not a section's, ``/news``), the same article-like last segment (``/amp/3`` and
    ``/news/3``), or the same article id of five digits or more (``/news/1234567-old-slug`` and
    ``/news/1234567-new-slug``). A canonical with none of these (``/news/78`` naming
    ``/news/57``, every page naming one story, a tag page) is no copy's: a site's bug or a
    hostile page's claim. An article-like segment holds a digit or a slug's ``-`` or ``_``.
    """
    own_parts, other_parts = urlsplit(own_url), urlsplit(canonical)
    own = [seg for seg in own_parts.path.lower().split("/") if seg]
    other = [seg for seg in other_parts.path.lower().split("/") if seg]
    if own == other and own_parts.query and other_parts.query:
        # One path, two queries: the query picks the article (``show_article?id=12345`` and
        # ``?id=99999`` are two). One query holding all of the other's parameters is the same
        # article shown another way (``?id=12345&print=1``, ``&from=main``).
        mine, theirs = set(parse_qsl(own_parts.query)), set(parse_qsl(other_parts.query))
        return mine <= theirs or theirs <= mine
    if not own or not other:
        return own == other
    if own[-1] == other[-1] and _ARTICLE_SEGMENT_RE.search(own[-1]):
        return True
    if _inside(own, other) or _inside(other, own):
        return True
    return not _ids(own).isdisjoint(_ids(other))


#: A path segment of a date: a day, a month, a year.
_DATE_SEGMENT_RE = re.compile(r"\d{1,2}|(?:19|20)\d\d")


def _ids(segments: list[str]) -> set[str]:
    """The article ids in a path's segments (not a compact date such as ``20261205``)."""
    return {i for i in _ID_RE.findall("/".join(segments)) if not _DATE_RE.fullmatch(i)}


def _inside(part: list[str], whole: list[str]) -> bool:
    """Whether the segments ``part``, an article's path, appear in ``whole`` in a row.

    An article's last segment holds a digit or a slug's hyphen or underscore: a section
    (``/news``, ``/moskva/transport``) inside an article's path is no copy of it.
    """
    n = len(part)
    if not _ARTICLE_SEGMENT_RE.search(part[-1]) or _DATE_SEGMENT_RE.fullmatch(part[-1]):
        return False  # a section, or a day's archive (``/news/2026/03/05/``)
    return any(whole[i : i + n] == part for i in range(len(whole) - n + 1))


class PageMarks(NamedTuple):
    """What tells one page from another: digests of its text's beginning and end (the whole
    text when shorter than ``2 * SAME_TEXT_CHARS``). Headlines do not count: a copy's may be
    edited, and two days' weather reports share one."""

    start: bytes
    end: bytes

    @classmethod
    def of(cls, text: str) -> PageMarks:
        """The marks of the page with ``text`` (only its ends are read: this runs per article
        in the crawl's duplicate check)."""
        if len(text) < 4 * SAME_TEXT_CHARS:
            words = " ".join(text.split())
            if len(words) < 2 * SAME_TEXT_CHARS:
                digest = _digest(words)
                return cls(digest, digest)
        head = " ".join(text[: 2 * SAME_TEXT_CHARS].split())[:SAME_TEXT_CHARS]
        tail = " ".join(text[-2 * SAME_TEXT_CHARS :].split())[-SAME_TEXT_CHARS:]
        return cls(_digest(head), _digest(tail))


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def same_page(marks: PageMarks, article: Article) -> bool:
    """Whether ``article`` is the page of ``marks``: the same text at both ends (a copy, or the
    same article under an edited headline), not only a shared opening (a disclaimer) or a
    shared headline."""
    return marks == PageMarks.of(article.text)


def claim_flag(own_url: str) -> str:
    """The flag of an article stored under the canonical its page at ``own_url`` named."""
    return f"{VIA_CANONICAL_FLAG}:{own_url}"


def claimant(flags: Iterable[str] | None) -> str | None:
    """The own URL of the page whose claim an article with ``flags`` is, if it is one."""
    for flag in flags or ():
        name, _, url = flag.partition(":")
        if name == VIA_CANONICAL_FLAG and url:
            return url
    return None


def disown_canonical(article: Article) -> None:
    """Store ``article`` under its page's own URL: the canonical it named is another article."""
    if article.fetched_url is None:
        return
    logger.info(
        "%s names %s as its canonical URL, a different article: kept under its own URL",
        article.fetched_url,
        article.url,
    )
    article.url, article.fetched_url = article.fetched_url, None
    article.flags = [f for f in article.flags if claimant([f]) is None]
    article.flags.append(CANONICAL_IGNORED_FLAG)
