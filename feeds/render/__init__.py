"""Feeds as RSS 2.0, Atom 1.0 and JSON Feed 1.1 bytes: one module per format behind a registry.

Rendering is two steps so the expensive part runs once: :func:`prepare_feed` (``entries.py``)
turns articles into cleaned, bounded entries shared by every format (and, through an
:class:`EntryCache`, by every feed of a build that holds the same article); each format's
``render`` (``rss.py``, ``atom.py``, ``jsonfeed.py``) lays one prepared feed out. ``FORMATS``
(``registry.py``) lists the formats; ``feedgen_xml.py`` is the only module using feedgen.

Adding a format: a module declaring a :class:`FeedFormat` (name, file extension, media type,
label, render function), and its line in ``registry.py``; the builder, the index page, the
OPML file, the stale-file cleanup, the server and the renderer fingerprint follow the registry.
"""

from __future__ import annotations

from feeds.render.entries import Entry, EntryCache, PreparedFeed, prepare_feed
from feeds.render.format import FeedFormat
from feeds.render.registry import FORMATS, render
from feeds.render.signature import input_signature, renderer_fingerprint

__all__ = [
    "FORMATS",
    "Entry",
    "EntryCache",
    "FeedFormat",
    "PreparedFeed",
    "input_signature",
    "prepare_feed",
    "render",
    "renderer_fingerprint",
]
