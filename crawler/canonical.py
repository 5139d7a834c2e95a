"""A page that names another page as its canonical: when the claim stands, and when it does not.

A page's ``rel=canonical`` may name another page: an AMP or mobile copy, an old slug, a print
view. Then its content is one article with that page's, stored under the canonical URL
(``crawler.pages.build_article`` keeps the page's own URL as ``Article.fetched_url`` and in
the article's flag :func:`claim_flag`). But a CMS bug (every page's canonical
the same URL), or a hostile page, names a *different* article: its content must not replace
that article's, in a run's duplicate check or in the store. Such a page keeps its own URL.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import NamedTuple

from crawler.models import CANONICAL_IGNORED_FLAG, VIA_CANONICAL_FLAG, Article
from crawler.normalize.text import dedup_key

__all__ = [
    "SAME_TEXT_CHARS",
    "PageMarks",
    "claim_flag",
    "claimant",
    "disown_canonical",
    "same_page",
]

logger = logging.getLogger(__name__)

#: How much of two texts' beginnings must be equal for them to be one page's (whitespace
#: aside): a lead's worth, which an edit further down leaves as it is.
SAME_TEXT_CHARS = 200


class PageMarks(NamedTuple):
    """What tells one page from another: its headline's duplicate key and a digest of its
    text's beginning (None when the text is shorter than that: the headline decides)."""

    title: str
    start: bytes | None

    @classmethod
    def of(cls, title: str, text: str) -> PageMarks:
        """The marks of the page with ``title`` and ``text``."""
        # Texts are stored cleaned (single spaces, paragraphs apart by one blank line).
        start = " ".join(text[: 2 * SAME_TEXT_CHARS].split())[:SAME_TEXT_CHARS]
        digest = None
        if len(start) == SAME_TEXT_CHARS:
            digest = hashlib.blake2b(start.encode(), digest_size=16).digest()
        return cls(dedup_key(title), digest)


def same_page(marks: PageMarks, article: Article) -> bool:
    """Whether ``article`` is the page of ``marks`` (maybe edited since).

    The same headline (as duplicates are told, :func:`~crawler.normalize.text.dedup_key`), or,
    for a headline edited since, the same beginning of the text.
    """
    if marks.title == dedup_key(article.title):
        return True
    return marks.start is not None and marks.start == PageMarks.of("", article.text).start


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
