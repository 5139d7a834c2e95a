"""The article object in a page's JSON hydration data (Next.js ``__NEXT_DATA__`` and the like).

Server-rendered apps ship the article they render as JSON in a ``<script type="application/json">``
(``id="__NEXT_DATA__"`` on Next.js pages): the story's HTML and, beside it, its dates, authors,
lead and cover image, often with no OpenGraph or JSON-LD on the page. The object holding the
body HTML is the article; its keys (or its parent's, when the body sits in ``content.html``)
give the fields the page's metadata lacks. Read only when the metadata layers found nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from lxml import etree

from crawler.extraction import jsonld

logger = logging.getLogger(__name__)

#: Keys of each field, most telling first (camelCase, snake_case and schema.org spellings).
KEYS: dict[str, tuple[str, ...]] = {
    "published": (
        "publishedAt", "published_at", "datePublished", "publishDate", "publish_date",
        "publicationDate", "pubDate", "published", "createdAt", "created_at", "date",
    ),
    "updated": ("updatedAt", "updated_at", "dateModified", "modifiedAt", "modified_at", "modified"),
    "authors": ("authors", "author", "creators", "creator", "byline"),
    "summary": ("lead", "excerpt", "description", "subtitle", "summary", "announce", "anons"),
    "image": ("cover", "image", "mainImage", "main_image", "picture", "photo", "preview"),
}  # fmt: skip

_SCRIPT_MAX_CHARS = 4_000_000  # past this, a state dump rather than one page's props
_BODY_MIN_CHARS = 200
_MAX_DEPTH = 40


def hydration_scripts(doc: etree._Element) -> Iterator[str]:
    """The text of each ``<script type="application/json">`` (JSON-LD is read elsewhere)."""
    for script in doc.iter("script"):
        kind = (script.get("type") or "").strip().lower()
        if kind != "application/json":
            continue  # its text (often the page's scripts, kilobytes of them) is not read
        code = script.text
        if code and len(code) <= _SCRIPT_MAX_CHARS:
            yield code


def find_article(doc: etree._Element) -> dict[str, Any] | None:
    """The article's fields (as :data:`KEYS` name them) from the page's hydration data."""
    best: tuple[int, dict[str, Any], dict[str, Any] | None] | None = None
    for code in hydration_scripts(doc):
        try:
            data = json.loads(code)
        except ValueError:
            continue
        for size, obj, parent in _bodies(data, None, 0):
            if best is None or size > best[0]:
                best = size, obj, parent
    if best is None:
        return None
    _, obj, parent = best
    found: dict[str, Any] = {}
    for field, keys in KEYS.items():
        for source in (obj, parent or {}):
            value = next((source[k] for k in keys if source.get(k) not in (None, "", [], {})), None)
            if value is not None:
                found[field] = value
                break
    return found


def _bodies(
    value: Any, parent: dict[str, Any] | None, depth: int
) -> Iterator[tuple[int, dict[str, Any], dict[str, Any] | None]]:
    """Every dict holding an HTML string with paragraphs, with that string's length."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        for item in value.values():
            if (
                isinstance(item, str)
                and len(item) >= _BODY_MIN_CHARS
                and item.count("<p") >= 2
                and item.lstrip().startswith("<")
            ):
                yield len(item), value, parent
            elif isinstance(item, dict | list):
                yield from _bodies(item, value, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _bodies(item, parent, depth + 1)


def author_names(value: Any) -> list[str]:
    """Names from an ``authors`` value: strings, ``{"name": …}`` objects, or lists of either."""
    if isinstance(value, dict) and "name" not in value:
        # {"firstName": "Дмитрий", "lastName": "Орлов"}
        parts = [value.get(k) for k in ("firstName", "first_name", "lastName", "last_name")]
        joined = " ".join(p for p in parts if isinstance(p, str) and p)
        return [joined] if joined else []
    if isinstance(value, list):
        return [n for item in value for n in author_names(item)]
    return jsonld.names(value)


def image_url(value: Any) -> str | None:
    """The URL of an ``image``/``cover`` value: a string or an object with ``url``/``src``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return next((u for u in map(image_url, value) if u), None)
    if isinstance(value, dict):
        for key in ("url", "src", "contentUrl", "original", "href"):
            if isinstance(value.get(key), str):
                return value[key]
    return None
