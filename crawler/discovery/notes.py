"""What a discovery document that gave no article link says about it, in one line each.

A listing whose links all miss the source's pattern, a listing with no link at all, a
``next_page`` rule that finds nothing: the crawl goes on (nothing failed), so these words are
all a user sees of it (the run's message, ``cityfeeds status``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler.normalize.url_patterns import UrlPattern

#: An example URL longer than this is cut (with "…"): the message is one line of a table.
EXAMPLE_CHARS = 100
#: What to put before a path-anchored pattern (``^/story/``) so it matches the absolute URL.
URL_PREFIX = "^https?://[^/]+"


def no_match_note(kind: str, links: list[str], pattern: UrlPattern, setting: str) -> str:
    """Why a ``kind`` (listing, sitemap) gave no article link: its ``links`` all miss
    ``pattern`` (the source's ``setting``, ``article_pattern`` or ``link_pattern``).

    Patterns are searched in the absolute URL; one written for the path (``^/story/\\d+``)
    never matches, so the example is a link whose path it does match, if any, and the note
    says how to anchor it.
    """
    example = _path_match(links, pattern)
    hint = ""
    if example is not None and pattern.pattern.startswith("^/"):
        hint = f"; anchor a path with '{URL_PREFIX}{pattern.pattern[1:]}'"
    if example is None:
        # The deepest link: articles sit deeper than the menu's sections.
        example = max(links, key=lambda url: urlsplit(url).path.rstrip("/").count("/"))
    return (
        f"{kind} read: {len(links)} link{'s' if len(links) != 1 else ''}, none matched "
        f"{setting} '{pattern.pattern}' (matched against the full URL, e.g. "
        f"{_cut(example)}{hint})"
    )


def no_links_note(url: str, *, rendered: bool) -> str:
    """A listing page with no link at all: built by JavaScript, unless a browser built it."""
    why = "" if rendered else ' (built by JavaScript? render = "browser")'
    return f"the listing holds no links{why}: {url}"


def no_next_page_note(url: str) -> str:
    """A listing's ``next_page`` selector matched nothing on its first page."""
    return f"next_page matched nothing on {url}: only the first listing page was read"


def _path_match(links: list[str], pattern: UrlPattern) -> str | None:
    """The first link whose path (and query) ``pattern`` matches, though its URL does not."""
    for url in links:
        parts = urlsplit(url)
        if pattern.search(parts.path + (f"?{parts.query}" if parts.query else "")):
            return url
    return None


def _cut(url: str) -> str:
    return url if len(url) <= EXAMPLE_CHARS else url[: EXAMPLE_CHARS - 1] + "…"
