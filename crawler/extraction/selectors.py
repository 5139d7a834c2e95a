"""Compile and apply a source's own selectors (``css:<sel>``, ``xpath:<expr>`` or bare CSS)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import TypeAlias

from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.etree import _Element as Element

logger = logging.getLogger(__name__)

SELECTOR_FIELDS = frozenset(
    {"title", "summary", "body", "published", "updated", "authors", "section", "tags", "image"}
)
Compiled: TypeAlias = etree.XPath  # CSSSelector is a subclass


@lru_cache(maxsize=512)
def compile_selector(spec: str) -> Compiled | None:
    """Compile one selector string; ``None`` (logged) when it is empty or invalid."""
    spec = spec.strip()
    try:
        if spec.startswith("xpath:"):
            return etree.XPath(spec[6:].strip(), smart_strings=False)
        if spec.startswith("css:"):
            spec = spec[4:].strip()
        if not spec:
            return None
        return CSSSelector(spec)
    except (etree.XPathSyntaxError, etree.XPathError, SyntaxError, ValueError) as exc:
        logger.warning("invalid selector %r: %s", spec, exc)
        return None


def compile_selectors(selectors: Mapping[str, str] | None) -> dict[str, Compiled]:
    """Compile the known fields of a selector mapping, skipping unknown or invalid ones."""
    compiled: dict[str, Compiled] = {}
    for name, spec in (selectors or {}).items():
        if name not in SELECTOR_FIELDS:
            logger.warning("unknown selector field %r ignored", name)
            continue
        if isinstance(spec, str) and (sel := compile_selector(spec)) is not None:
            compiled[name] = sel
    return compiled


def select(compiled: Compiled, doc: Element) -> list[Element | str]:
    """Evaluate a compiled selector; XPath may return elements, strings or a scalar."""
    try:
        result = compiled(doc)
    except etree.XPathEvalError as exc:
        logger.warning("selector failed: %s", exc)
        return []
    if isinstance(result, list):
        return [r for r in result if isinstance(r, (str, etree._Element))]
    if isinstance(result, str):
        return [result]
    return []


def element_value(node: Element | str, *attrs: str) -> str:
    """The text of a selected node: an attribute among ``attrs`` if present, else its text."""
    if isinstance(node, str):
        return node
    for attr in attrs:
        value = node.get(attr)
        if value:
            return value
    return " ".join(node.itertext())
