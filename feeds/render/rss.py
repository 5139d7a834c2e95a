"""RSS 2.0 (RSS Advisory Board profile), with content:encoded, dc:creator and an atom:link self."""

from __future__ import annotations

from lxml import etree

from feeds.content import rfc822
from feeds.render.entries import GENERATOR, PreparedFeed
from feeds.render.feedgen_xml import ATOM_NS, rss_item, rss_root, text_element, xml_document
from feeds.render.format import FeedFormat

__all__ = ["RSS", "render_rss"]

DOCS = "https://www.rssboard.org/rss-specification"


def render_rss(feed: PreparedFeed) -> bytes:
    """RSS 2.0 bytes of a prepared feed."""
    root, channel = rss_root()
    text_element(channel, "title", feed.title)
    text_element(channel, "link", feed.site_url)
    text_element(channel, "description", feed.description)
    self_url = feed.self_url(RSS.extension)
    etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=self_url, rel="self", type=RSS.media_type)
    for hub in feed.hubs:
        etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=hub, rel="hub")
    text_element(channel, "docs", DOCS)
    text_element(channel, "generator", GENERATOR)
    text_element(channel, "language", feed.spec.language)
    # From the data, never the clock (rebuilding without new data gives identical bytes).
    text_element(channel, "lastBuildDate", rfc822(feed.updated))
    return xml_document(root, channel, (rss_item(e) for e in feed.entries))


RSS = FeedFormat(
    name="rss",
    extension="rss",
    media_type="application/rss+xml",
    label="RSS",
    render=render_rss,
)
