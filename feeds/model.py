"""What a published feed is: its kind, key, titles, language and output path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

FeedKind = Literal["topic", "source", "all"]

# Keys end up in file names and URLs, so only a safe, boring alphabet is allowed.
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_EXTENSION_RE = re.compile(r"^[a-z0-9]{1,10}$")


@dataclass(frozen=True)
class FeedSpec:
    """One feed (in every format): ``path`` is relative to the output dir, without extension.

    Examples: ``FeedSpec("topic", "metro", ..., path="topics/metro")`` is published as
    ``topics/metro.rss``, ``topics/metro.atom`` and ``topics/metro.json``.
    """

    kind: FeedKind
    key: str
    title: str
    description: str
    language: str
    path: str

    def __post_init__(self) -> None:
        if self.kind not in ("topic", "source", "all"):
            raise ValueError(f"unknown feed kind {self.kind!r}")
        if not _KEY_RE.match(self.key):
            raise ValueError(f"feed key {self.key!r} is not a safe file name ([a-z0-9_-])")

    def filename(self, extension: str) -> str:
        """The file name of this feed with ``extension`` (a format's, e.g. ``rss``), relative."""
        if not _EXTENSION_RE.match(extension):
            raise ValueError(f"not a feed file extension: {extension!r}")
        return f"{self.path}.{extension}"

    def url(self, base_url: str, extension: str) -> str:
        """The public, absolute URL of this feed's file with ``extension`` under ``base_url``
        (which ends in ``/``)."""
        return base_url + self.filename(extension)


@dataclass(frozen=True)
class ItemPreview:
    """One latest item shown on the index page."""

    title: str
    url: str
    published: datetime


@dataclass(frozen=True)
class FeedInfo:
    """What the index page and the OPML file say about one feed.

    ``items`` and ``updated`` are ``None`` when the feed could not be read in this build (its last
    good files are still served).
    """

    spec: FeedSpec
    site_url: str
    items: int | None = None
    updated: datetime | None = None
    latest: tuple[ItemPreview, ...] = ()
