"""Atom 1.0 (RFC 4287): one alternate link per entry, the image as an enclosure link."""

from __future__ import annotations

from lxml import etree

from feeds.content import rfc3339
from feeds.render.entries import GENERATOR, GENERATOR_URI, PreparedFeed
from feeds.render.feedgen_xml import atom_entry, atom_root, text_element, xml_document
from feeds.render.format import FeedFormat

__all__ = ["ATOM", "render_atom"]


def render_atom(feed: PreparedFeed) -> bytes:
    """Atom 1.0 bytes of a prepared feed."""
    # Element names without a namespace: see feedgen_xml.atom_root.
    root = atom_root(feed.spec.language)
    self_url = feed.self_url(ATOM.extension)
    text_element(root, "id", self_url)
    text_element(root, "title", feed.title)
    # From the data, never the clock (rebuilding without new data gives identical bytes).
    text_element(root, "updated", rfc3339(feed.updated))
    author = etree.SubElement(root, "author")
    text_element(author, "name", GENERATOR)
    text_element(author, "uri", feed.base_url)
    etree.SubElement(root, "link", href=self_url, rel="self", type=ATOM.media_type)
    for hub in feed.hubs:
        etree.SubElement(root, "link", href=hub, rel="hub")
    etree.SubElement(root, "link", href=feed.site_url, rel="alternate", type="text/html")
    text_element(root, "generator", GENERATOR, uri=GENERATOR_URI)
    text_element(root, "subtitle", feed.description)
    return xml_document(root, root, (atom_entry(e) for e in feed.entries))


ATOM = FeedFormat(
    name="atom",
    extension="atom",
    media_type="application/atom+xml",
    label="Atom",
    render=render_atom,
)
