"""Cross-source story clustering (pure: no Scrapy, no database).

A report's :class:`Fingerprint` (content lemmas, numbers, dates, places, names) is hashed with
MinHash; a :class:`StoryIndex` of the window's reports offers LSH candidates, and
:func:`compare` verifies each, keeping apart look-alike events with different numbers, dates or
places. Storage (``crawler.storage.stories``) persists fingerprints and story ids.
"""

from __future__ import annotations

from crawler.stories.features import TEXT_CHARS, Fingerprint, Fingerprinter, fingerprint
from crawler.stories.index import (
    Match,
    Member,
    StoryIndex,
    minhash,
    signature_bytes,
    signature_from_bytes,
)
from crawler.stories.settings import StorySettings
from crawler.stories.verify import Verdict, compare

__all__ = [
    "TEXT_CHARS",
    "Fingerprint",
    "Fingerprinter",
    "Match",
    "Member",
    "StoryIndex",
    "StorySettings",
    "Verdict",
    "compare",
    "fingerprint",
    "minhash",
    "signature_bytes",
    "signature_from_bytes",
]
