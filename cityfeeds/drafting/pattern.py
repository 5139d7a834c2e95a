"""Group a site's links by the shape of their paths and turn chosen shapes into one regex."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

# Segment classes, most specific first: each is (name, test, regex written into the pattern).
_DIGITS = re.compile(r"^\d+$")
_DIGITS_SLUG = re.compile(r"^\d+-[^/]+$")
_SLUG = re.compile(r"^[\w%.~-]+$")
_STATIC = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|css|js|pdf|zip|mp[34]|ico|xml|rss|json)$", re.I)
_PAGE_EXT = re.compile(r"^(.+?)(\.s?html?|\.php)$", re.I)
SLUG_REGEX = r"[\w%.~-]+"


@dataclass
class LinkGroup:
    """Links whose paths share one shape, e.g. ``/news/<digits>-<slug>``."""

    shape: tuple[str, ...]
    regex: str  # the path part, anchored at the start of the path
    urls: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The shape in a readable form: ``/news/{n}-{slug}``."""
        return "/" + "/".join(self.shape)


def _segment(value: str) -> tuple[str, str] | None:
    """(label, regex) of a variable path segment, or None when it reads as a fixed word."""
    text = unquote(value)
    ext = ""
    match = _PAGE_EXT.match(text)
    if match:
        text, ext = match.group(1), match.group(2)
    ext_re = re.escape(ext)
    if _DIGITS.match(text):
        return "{n}" + ext, r"\d+" + ext_re
    if _DIGITS_SLUG.match(text):
        return "{n}-{slug}" + ext, r"\d+-" + SLUG_REGEX + ext_re
    has_digit = any(c.isdigit() for c in text)
    has_alpha = any(c.isalpha() for c in text)
    # A slug: several words joined by dashes, or letters mixed with an id (a1b2c3).
    if _SLUG.match(value) and (text.count("-") + text.count("_") >= 2 or (has_digit and has_alpha)):
        return "{slug}" + ext, SLUG_REGEX + ext_re
    if ext and _SLUG.match(value):
        return "{slug}" + ext, SLUG_REGEX + ext_re
    return None


def shape_of(url: str) -> tuple[tuple[str, ...], str] | None:
    """A link's path shape and its regex; None for the home page, static files and queries
    that name no article by one numeric id."""
    parts = urlsplit(url)
    path = parts.path
    if _STATIC.search(path):
        return None
    if parts.query:
        return _query_shape(path, parts.query)
    segments = [s for s in path.split("/") if s]
    if not segments:
        return None
    labels, regexes = [], []
    for segment in segments:
        found = _segment(segment)
        if found is None:
            labels.append(segment)
            regexes.append(re.escape(segment))
        else:
            labels.append(found[0])
            regexes.append(found[1])
    if all(label == seg for label, seg in zip(labels, segments, strict=True)):
        return None  # fixed words only: a section, not an article
    slash = "/?" if path.endswith("/") else ""
    return tuple(labels), "/" + "/".join(regexes) + slash


def _query_shape(path: str, query: str) -> tuple[tuple[str, ...], str] | None:
    """The shape of a link whose query names the article (``/index.php?newsid=700&lang=ru``):
    one parameter with a numeric id, the others fixed words, in any order; None otherwise."""
    params = parse_qsl(query, keep_blank_values=True)
    ids = [key for key, value in params if _DIGITS.match(value) and len(value) >= 2]
    if len(ids) != 1 or len({key for key, _ in params}) != len(params):
        return None
    key, path = ids[0], path or "/"
    regex = rf"{re.escape(path)}\?(?:[^#]*&)?{re.escape(key)}=\d+(?:&[^#]*)?"
    return (f"{path.lstrip('/')}?{key}={{n}}",), regex


def group_links(urls: list[str]) -> list[LinkGroup]:
    """Links grouped by path shape, biggest group first (ties: first seen)."""
    groups: dict[tuple[str, ...], LinkGroup] = {}
    members: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for url in urls:
        found = shape_of(url)
        if found is None or url in members[found[0]]:
            continue
        shape, regex = found
        group = groups.setdefault(shape, LinkGroup(shape, regex))
        if regex.endswith("/?") and not group.regex.endswith("/?"):
            group.regex += "/?"
        members[shape].add(url)
        group.urls.append(url)
    return sorted(groups.values(), key=lambda g: -len(g.urls))


def combined_pattern(groups: list[LinkGroup]) -> str:
    """One ``article_pattern`` matching exactly the given groups' shapes (any host)."""
    paths = sorted({g.regex for g in groups})
    body = paths[0] if len(paths) == 1 else "(?:" + "|".join(paths) + ")"
    return rf"^https?://[^/]+{body}$"
