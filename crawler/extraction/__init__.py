"""Pure article extraction: page bytes + URL -> ArticleData, metadata first, generic text last."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from crawler.models import ArticleData

__all__ = ["LAYERS", "ArticleData", "extract_article"]

# Provenance layer names, most trusted first (``selector`` wins whenever it yields a value).
LAYERS = (
    "selector",
    "jsonld",
    "opengraph",
    "meta",
    "time",
    "heuristic",
    "script",
    "text",
    "url",
    "htmldate",
    "generic",
)


def extract_article(
    body: bytes | str,
    url: str,
    *,
    now: datetime,
    tz: str = "Europe/Moscow",
    selectors: Mapping[str, str] | None = None,
    site_names: Sequence[str] = (),
    header_charset: str | None = None,
    use_generic: bool = True,
    allowed_domains: Sequence[str] = (),
) -> ArticleData:
    """Extract an article's fields from one saved or fetched page.

    ``body`` is the raw response (bytes are decoded with ``header_charset`` and the page's own
    declarations) or already-decoded text; ``url`` is the page address and the base for relative
    links. ``now`` is the injected clock: dates after it are clamped (flag ``date_clamped``, or
    ``date_skew`` for minutes ahead)
    and year-less dates are placed in the past relative to it. ``selectors`` are the source's own
    ``css:``/``xpath:``/bare-CSS expressions per field (title, summary, body, published, updated,
    authors, section, tags, image); they win whenever they yield a usable value. ``site_names``
    helps strip ``" // Вечерняя Москва"``-style title suffixes and site-name bylines.
    ``use_generic=False`` runs trafilatura only when no body is found otherwise.
    ``allowed_domains`` (default: the page's own host) bound which ``<base href>`` relative links
    and images in the article resolve against; another host's or a non-HTTP base is ignored.

    ``provenance`` names the layer of every field found: ``selector``, ``jsonld``, ``opengraph``
    (og:*, article:*, twitter:*), ``meta`` (other meta tags, ``<link>``, ``<html lang>``,
    ``itemprop``), ``time`` (``<time datetime>``), ``heuristic`` (own main-text finder),
    ``script`` (the article's HTML kept as a string in a script, an app's hydration state, when
    the markup shows too little), ``text`` (visible text: headline, byline, dates near the
    title), ``url`` (date in the URL, or the URL itself as canonical), ``htmldate`` (htmldate's
    date search) and ``generic`` (trafilatura).
    """
    from crawler.extraction.core import extract  # keeps package import light for callers

    return extract(
        body,
        url,
        now=now,
        tz=tz,
        selectors=selectors,
        site_names=site_names,
        header_charset=header_charset,
        use_generic=use_generic,
        allowed_domains=allowed_domains,
    )
