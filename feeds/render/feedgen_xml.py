"""The feedgen adapter: entries built by feedgen, in documents shaped like feedgen's own.

This is the only module importing feedgen. feedgen builds each entry's XML element once per
build (:func:`rss_item`, :func:`atom_entry`); the format modules fill a document root made
here the way feedgen makes its own (:func:`rss_root`, :func:`atom_root`), and
:func:`xml_document` lends it the entries' elements and prints the whole tree with lxml's
pretty printer, as feedgen's ``rss_str``/``atom_str`` do. Nothing is spliced as bytes, so no
whitespace is assumed anywhere; the golden files check the bytes.

What is not left to feedgen, and why:

- Dates in RSS (``pubDate``, ``lastBuildDate``): feedgen prints them with a helper that switches
  the process-wide locale around ``strftime``, which races with other threads (the server, the
  scheduler), and its feed object stamps ``now()`` when not told otherwise. Entries therefore
  get no publication date from feedgen; :func:`rss_item` and :func:`atom_entry` append it, at
  the place feedgen would, and the document roots are not feedgen's.
- Atom entry links: feedgen 1.0 drops ``rel``/``type``/``length`` of entry links (a shadowed
  variable in ``FeedEntry.atom_entry``), which turns the enclosure into a second "alternate"
  link; :func:`atom_entry` completes the alternate link and writes the enclosure itself, and
  the ``related`` links of a story entry's other reports.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from feedgen.entry import FeedEntry
from lxml import etree

from feeds.content import rfc822, rfc3339
from feeds.render.entries import Entry

__all__ = [
    "ATOM_NS",
    "CONTENT_NS",
    "DC_NS",
    "atom_entry",
    "atom_root",
    "rss_item",
    "rss_root",
    "text_element",
    "xml_document",
]

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
_CONTENT_ENCODED = f"{{{CONTENT_NS}}}encoded"
#: A child made and stripped at once by _set_story_content (never printed).
_MARKER = "cityfeeds-marker"
#: Namespaces of an RSS document, in the order feedgen declares them (its extensions first).
_RSS_NAMESPACES = {"dc": DC_NS, "atom": ATOM_NS, "content": CONTENT_NS}


def _feed_entry(entry: Entry) -> FeedEntry:
    """``entry`` as one feedgen entry serving both RSS and Atom, without its publication date."""
    fe = FeedEntry()
    fe.guid(entry.url, permalink=True)
    fe.title(entry.title)
    fe.link(href=entry.url, rel="alternate")
    fe.updated(entry.updated)
    if "<" in entry.description or "&" in entry.description:
        # Readers take RSS's <description> (and an Atom summary typed html) as HTML: escaped,
        # a summary that quotes «<img …>» or says «a<b и c>d» shows as written, never as markup.
        fe.summary(html.escape(entry.description, quote=False), type="html")
    else:
        fe.summary(entry.description)
    if entry.content_html:
        fe.content(entry.content_html, type="html")
    if entry.authors:
        # Atom only: RSS writes <author> solely for authors with an e-mail address.
        fe.author([{"name": a} for a in entry.authors])
    if entry.categories:
        fe.category([{"term": c} for c in entry.categories])
    if entry.image:
        # Length 0 means "unknown" (RSS Advisory Board profile); we never fetch images.
        fe.enclosure(entry.image, 0, entry.image_type)
    return fe


def _feedgen_entry(entry: Entry) -> FeedEntry:
    return entry.rendered("feedgen", _feed_entry)


def _story_base(entry: Entry) -> Entry | None:
    """The article's own entry a story entry can be copied from, or None.

    A story entry differs from its article's entry only in what :func:`_story_entry` changes
    (content, ``updated``, the related reports), and the article's entry is built anyway for
    its source feed: copying its element and changing those is a fraction of feedgen building
    a second one. Only when both have content: otherwise feedgen lays the item out otherwise
    (description alone in RSS), so the story entry is built in full. A test holds the copies
    to what feedgen builds, byte for byte.
    """
    base = entry.article_entry
    return base if base is not None and base.content_html and entry.content_html else None


def _build_rss_item(entry: Entry) -> etree._Element:
    base = _story_base(entry)
    if base is not None:
        # RSS shows neither ``updated`` nor links other than the article's: only the content.
        # lxml copies an element with its whole subtree either way (``__copy__``, what
        # copy.copy calls after looking it up: called directly, as for every copy here).
        item = rss_item(base).__copy__()
        # iterchildren matches tags in C; find() goes through ElementPath's Python code.
        _set_story_content(next(item.iterchildren(_CONTENT_ENCODED)), entry, base)
        return item
    item = _feedgen_entry(entry).rss_entry(extensions=False)
    # Where feedgen puts pubDate: after its own elements (no <source> is ever set).
    etree.SubElement(item, "pubDate").text = rfc822(entry.published)
    # RSS <author> must be an e-mail address; names go to dc:creator, as feedgen's dc
    # extension writes them (after every RSS element).
    for name in entry.authors:
        etree.SubElement(item, f"{{{DC_NS}}}creator").text = name
    return item


def _build_atom_entry(entry: Entry) -> etree._Element:
    base = _story_base(entry)
    if base is not None:
        element = atom_entry(base).__copy__()  # with its subtree, as for the RSS item
        # As feedgen writes them: ``updated`` by isoformat(), the content as html text.
        # feedgen writes ``updated`` third (after id and title): taken by its place, looked
        # for only if that ever changes.
        updated = element[2]
        if updated.tag != "updated":
            updated = next(element.iterchildren("updated"))
        updated.text = entry.updated_text
        _set_story_content(next(element.iterchildren("content")), entry, base)
        _add_related(element, entry)
        return element
    element = _feedgen_entry(entry).atom_entry(extensions=False)
    # feedgen writes links without attributes: the first one is the article (set first),
    # the others are its copy of the enclosure, written again below with its attributes.
    alternate, *others = element.iterchildren("link")
    alternate.set("rel", "alternate")
    alternate.set("type", "text/html")
    for link in others:
        element.remove(link)
    # Where feedgen puts <published>: after its own elements (no rights or source are set).
    etree.SubElement(element, "published").text = rfc3339(entry.published)
    if entry.image:
        enclosure = etree.SubElement(element, "link", href=entry.image, rel="enclosure", length="0")
        if entry.image_type:
            enclosure.set("type", entry.image_type)
    _add_related(element, entry)
    return element


def _set_story_content(content: etree._Element, entry: Entry, base: Entry) -> None:
    """Make ``content``, a copy of the article's content element, hold the story entry's.

    Setting an element's text from a Python string makes lxml encode and check every character
    of it: for the whole content, that was half the cost of a story entry's item. A story
    entry's content is its article's (already in the copy) followed by the related block, so
    only the block is added, as the tail of a child that ``strip_tags`` removes again at once,
    leaving its tail as text (the text prints as one; a test holds the bytes to feedgen's).
    """
    text = entry.content_html
    if not text.startswith(base.content_html) or len(content):
        content.text = text
        return
    marker = etree.SubElement(content, _MARKER)
    marker.tail = text[len(base.content_html) :]
    etree.strip_tags(content, _MARKER)


#: A story's related link, its attributes in the order lxml writes keyword attributes (sorted):
#: each report's is a copy with two values set, cheaper than lxml checking three new names.
_RELATED_LINK = etree.Element("link", href="", rel="related", title="")


def _add_related(element: etree._Element, entry: Entry) -> None:
    # The story's other reports (RFC 4287 "related"), after feedgen's elements like the rest.
    for report in entry.related:
        link = _RELATED_LINK.__copy__()
        link.set("href", report.url)
        link.set("title", report.label)
        element.append(link)


def rss_item(entry: Entry) -> etree._Element:
    """The RSS ``<item>`` of ``entry``, built once per entry: lend it to documents with
    :func:`xml_document`, never change it."""
    return entry.rendered("rss", _build_rss_item)


def atom_entry(entry: Entry) -> etree._Element:
    """The Atom ``<entry>`` of ``entry``, built once per entry (see :func:`rss_item`)."""
    return entry.rendered("atom", _build_atom_entry)


def rss_root() -> tuple[etree._Element, etree._Element]:
    """An empty RSS 2.0 document as feedgen starts one: the ``<rss>`` root and its channel."""
    root = etree.Element("rss", version="2.0", nsmap=_RSS_NAMESPACES)  # type: ignore[arg-type]
    return root, etree.SubElement(root, "channel")


def atom_root(language: str | None) -> etree._Element:
    """An empty Atom ``<feed>`` as feedgen starts one.

    feedgen builds Atom elements without a namespace and declares the default namespace as a
    plain ``xmlns`` attribute of the root; this root does the same, so feedgen's entries go in
    as they are and print exactly as in a document feedgen writes.
    """
    root = etree.Element("feed", xmlns=ATOM_NS)
    if language:
        root.set("{http://www.w3.org/XML/1998/namespace}lang", language)
    return root


def text_element(parent: etree._Element, tag: str, text: str, **attributes: str) -> etree._Element:
    """A new last child ``tag`` of ``parent`` holding ``text``."""
    element = etree.SubElement(parent, tag, **attributes)
    element.text = text
    return element


def xml_document(
    root: etree._Element, parent: etree._Element, items: Iterable[etree._Element]
) -> bytes:
    """The document of ``root`` with ``items`` as the last children of ``parent``, printed as
    feedgen prints its documents (UTF-8, XML declaration, lxml's pretty printer).

    The items are lent, not copied: one item is in several feeds of a build, and copying every
    item into every document cost about as much as printing them. They are taken out again
    once the document is printed, unchanged (their namespace prefixes are the document's, as
    they are in every feed of the format), so one build's thread must render its feeds one
    after the other, as the builder does.
    """
    lent = list(items)
    parent.extend(lent)
    try:
        return etree.tostring(
            root.getroottree(), pretty_print=True, xml_declaration=True, encoding="UTF-8"
        )
    finally:
        for item in lent:
            parent.remove(item)
