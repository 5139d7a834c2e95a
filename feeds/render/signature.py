"""Signatures of a feed's inputs: equal signatures promise identical bytes in every format."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from lxml import etree

from crawler.models import Article
from feeds.content import DEFAULT_MAX_HTML_CHARS
from feeds.model import FeedSpec
from feeds.render.entries import EntryCache

__all__ = ["input_signature", "renderer_fingerprint"]

log = logging.getLogger(__name__)

#: Modules outside ``feeds.render`` whose code decides the bytes of a rendered feed (every
#: module of ``feeds.render`` counts too, see :func:`renderer_fingerprint`).
_RENDERING_MODULES = (
    "feeds.content",
    "feeds.model",
    "crawler.models",
    "crawler.normalize.dates",
    "crawler.normalize.html",
    "crawler.normalize.text",
    "crawler.normalize.urls",
)
#: Libraries whose versions decide the bytes of a rendered feed.
_RENDERING_LIBRARIES = ("feedgen", "lxml", "nh3")


@cache
def renderer_fingerprint() -> str:
    """Hash of the code and library versions that turn articles into feed bytes.

    Part of every :func:`input_signature`: after an upgrade of cityfeeds, feedgen, lxml or nh3,
    every feed is rendered again even if no article changed. When the sources cannot be read
    (a frozen install), the fingerprint is unique to this process, which only costs renders.
    """
    digest = hashlib.sha256()
    try:
        # Every module of this package, so a new format module is covered without a list.
        sources = sorted(Path(__file__).parent.glob("*.py"))
        for name in _RENDERING_MODULES:
            sources.append(Path(str(importlib.import_module(name).__file__)))
        for path in sources:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        for dist in _RENDERING_LIBRARIES:
            digest.update(importlib.metadata.version(dist).encode())
    except (OSError, TypeError, importlib.metadata.PackageNotFoundError):
        log.warning("renderer sources unreadable: feeds are rendered again by every process")
        digest.update(os.urandom(16))
    digest.update(repr(etree.LIBXML_VERSION).encode())
    return digest.hexdigest()


def input_signature(
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
    cache: EntryCache | None = None,
    hubs: Sequence[str] = (),
) -> str:
    """Hash of everything :func:`~feeds.render.entries.prepare_feed` and the renderers make a
    feed's bytes from (it takes the same arguments).

    Equal signatures give identical bytes in every format (rendering never reads the clock), so
    a build may keep files rendered from the same signature instead of rendering them again.
    The one thing left out is the date of a feed without entries (``empty_since``, the time of
    the build that rendered it empty): kept files keep theirs, which is the point.
    """
    cache = cache if cache is not None else EntryCache()
    digest = hashlib.sha256(renderer_fingerprint().encode())
    feed = (spec, base_url, site_url or base_url, max_html_chars, tuple(hubs))
    digest.update(repr(feed).encode("utf-8", "surrogatepass"))
    for article in articles:
        digest.update(cache.digest(article, article.language or spec.language, max_html_chars))
    return digest.hexdigest()
