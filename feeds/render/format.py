"""What a feed format is to the rest of cityfeeds: a name, a file, a media type and a renderer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feeds.render.entries import PreparedFeed


@dataclass(frozen=True)
class FeedFormat:
    """One published format; each format module declares one and the registry lists them."""

    #: Registry key, and the format's name in logs.
    name: str
    #: File extension (without the dot) of every feed written in this format.
    extension: str
    #: Media type of the files (``type`` of links to them, ``Content-Type`` when served).
    media_type: str
    #: Human name shown on the index page.
    label: str
    #: The bytes of one prepared feed in this format (never reads the clock).
    render: Callable[[PreparedFeed], bytes]
