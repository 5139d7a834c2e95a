"""Find the article object in a page's JSON-LD blocks (``@graph``, arrays and nesting included)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

from lxml.etree import _Element as Element

from crawler.extraction import xpaths

logger = logging.getLogger(__name__)

ARTICLE_TYPES = frozenset(
    {
        "newsarticle",
        "article",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "liveblogposting",
        "report",
        "scholarlyarticle",
        "techarticle",
    }
)
# Raw control characters inside JSON strings are common in CMS output and break json.loads.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# A JSON string, or a comma before a closing bracket (``"datePublished": "…",}``): JavaScript
# accepts that comma and hand-edited templates leave it; JSON does not.
_STRING_OR_TRAILING_COMMA = re.compile(r'"(?:[^"\\]|\\.)*"|,(?=\s*[}\]])')


def _without_trailing_commas(raw: str) -> str:
    """``raw`` less the commas before a closing ``}`` or ``]``, strings left as they are."""
    return _STRING_OR_TRAILING_COMMA.sub(lambda m: "" if m.group(0) == "," else m.group(0), raw)


def _loads(raw: str) -> Any:
    raw = raw.strip().removeprefix("<!--").removesuffix("-->").strip()
    if raw.endswith(";"):
        raw = raw[:-1]
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        pass
    # Repairs tried only on a block that failed, so a valid one costs nothing more.
    raw = _CONTROL_CHARS.sub(" ", raw)
    for attempt in (raw, _without_trailing_commas(raw)):
        try:
            return json.loads(attempt, strict=False)
        except ValueError:
            continue
    logger.debug("unparsable JSON-LD block (%s chars)", len(raw))
    return None


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            child = node.get(key)
            if isinstance(child, (dict, list)):
                yield from _walk(child)


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1].lower() for v in values if v}


def find_article(doc: Element) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Return the best article object and every JSON-LD object of the page.

    When several article objects exist (a page with related-article markup), the one with a
    headline and the longest ``articleBody`` wins, so teasers do not shadow the main story.
    """
    objects: list[dict[str, Any]] = []
    for raw in xpaths.jsonld_scripts(doc):
        data = _loads(raw)
        if data is not None:
            objects.extend(_walk(data))
    articles = [o for o in objects if _types(o) & ARTICLE_TYPES]
    if not articles:
        return None, objects
    best = max(
        articles,
        key=lambda o: (
            bool(o.get("headline") or o.get("name")),
            len(str(o.get("articleBody") or "")),
        ),
    )
    return best, objects


def site_name(objects: list[dict[str, Any]]) -> str | None:
    """The publisher or website name declared in JSON-LD, if any."""
    for obj in objects:
        types = _types(obj)
        if types & {"website", "newsmediaorganization", "organization"} and isinstance(
            obj.get("name"), str
        ):
            return obj["name"]
        publisher = obj.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            return publisher["name"]
    return None


def names(value: Any) -> list[str]:
    """Person or thing names from a JSON-LD value: a string, an object with ``name``, or a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [n for item in value for n in names(item)]
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str):
            return [name]
        if isinstance(name, list):
            return [str(n) for n in name]
    return []


def urls(value: Any) -> list[str]:
    """URLs from a JSON-LD image/url value: a string, an ImageObject, or a list of either."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [u for item in value for u in urls(item)]
    if isinstance(value, dict):
        for key in ("url", "contentUrl", "@id"):
            if isinstance(value.get(key), str):
                return [value[key]]
    return []
