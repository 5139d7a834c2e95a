"""What discovery yields: article links (Link) from feeds and sitemaps, and how URLs resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urldefrag, urljoin


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


def absolute_url(href: str, base_url: str) -> str:
    """``href`` resolved against ``base_url``, fragment dropped, otherwise as the site wrote it.

    The stored form (tracking parameters, AMP) is decided later by ``canonicalize_url`` and
    the identity (trailing slash, scheme, ``www.``) by ``url_identity``; the URL fetched must
    stay the one the site links to. Raises
    ValueError for a URL ``urllib`` cannot split (``http://example.c[o.test/``).
    """
    return urldefrag(urljoin(base_url, href.strip())).url
