"""Every published feed format, by name: adding a format is one module and one line here."""

from __future__ import annotations

from collections.abc import Sequence

from crawler.models import Article
from feeds.content import DEFAULT_MAX_HTML_CHARS
from feeds.model import FeedSpec
from feeds.render.atom import ATOM
from feeds.render.entries import prepare_feed
from feeds.render.format import FeedFormat
from feeds.render.jsonfeed import JSON_FEED
from feeds.render.rss import RSS

__all__ = ["FORMATS", "render"]

#: Every format each feed is published in, in the order they are listed to readers.
FORMATS: dict[str, FeedFormat] = {f.name: f for f in (RSS, ATOM, JSON_FEED)}


def render(
    fmt: str,
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
) -> bytes:
    """``articles`` (already newest first) as one feed in the format named ``fmt``.

    The one-off form of :func:`~feeds.render.entries.prepare_feed` plus one renderer; a build
    renders every format from one prepared feed instead.
    """
    renderer = FORMATS[fmt].render
    feed = prepare_feed(
        spec, articles, base_url=base_url, site_url=site_url, max_html_chars=max_html_chars
    )
    return renderer(feed)
