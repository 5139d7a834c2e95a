"""Collect ``<meta>`` values once, keyed by ``property``/``name``/``itemprop``/``http-equiv``."""

from __future__ import annotations

from collections import defaultdict

from lxml.etree import _Element as Element

from crawler.extraction import xpaths

# Which layer a meta key belongs to, for provenance.
OPENGRAPH_PREFIXES = ("og:", "article:", "twitter:")


class MetaTags:
    """All ``<meta content>`` values; og:* is found under ``property`` and ``name`` alike."""

    def __init__(self, doc: Element) -> None:
        self._values: dict[str, list[str]] = defaultdict(list)
        for el in xpaths.meta_elements(doc):
            content = el.get("content")
            if content is None:
                continue
            for attr in ("property", "name", "itemprop", "http-equiv"):
                key = el.get(attr)
                if key:
                    self._values[key.strip().lower()].append(content)

    def all(self, *keys: str) -> list[str]:
        """Every value for any of ``keys``, in key order then document order."""
        return [v for key in keys for v in self._values.get(key.lower(), ())]

    def first(self, *keys: str) -> tuple[str, str] | None:
        """The first (key, value) for ``keys`` in the given order of preference."""
        for key in keys:
            values = self._values.get(key.lower())
            if values:
                return key, values[0]
        return None

    @staticmethod
    def layer(key: str) -> str:
        """Provenance of a meta key: ``opengraph`` for og:/article:/twitter:, else ``meta``."""
        return "opengraph" if key.lower().startswith(OPENGRAPH_PREFIXES) else "meta"
