"""JSON Feed 1.1, laid out exactly like ``json.dumps(doc, ensure_ascii=False, indent=2)``.

Each entry's item is encoded once per build and reused in every feed holding it. With
``indent``, ``json.dumps`` falls back to its pure-Python encoder, several times slower than the
small encoder here (:func:`encode`), which walks the few small dicts and lists of a feed and
encodes strings with the C function ``json.dumps(ensure_ascii=False)`` itself uses. A test holds
it to ``json.dumps`` byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from feeds.content import rfc3339
from feeds.render.entries import GENERATOR, Entry, PreparedFeed, Related
from feeds.render.format import FeedFormat

__all__ = ["JSON_FEED", "Encoded", "encode", "render_json"]

JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"
#: Indentation of an item's closing brace: items sit two levels deep (document -> "items").
_ITEM_INDENT = " " * 4
#: Indentation of an item's members' lines, one level deeper.
_MEMBER_INDENT = _ITEM_INDENT + "  "

_scalar = json.JSONEncoder(ensure_ascii=False).encode
_string: Callable[[str], str] = (
    getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring
)


class Encoded(str):
    """JSON text already encoded by :func:`encode` at the depth where it is placed."""

    __slots__ = ()


def encode(value: object, indent: str = "") -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)``, byte for byte, lines after the first
    indented by ``indent``; :class:`Encoded` values are written as they are."""
    kind = type(value)
    if kind is str:
        return _string(value)  # type: ignore[arg-type]
    if kind is Encoded:
        return value  # type: ignore[return-value]
    inner = indent + "  "
    separator = ",\n" + inner
    # One f-string per value: a chain of ``+`` copied the whole value (a feed's items: the
    # whole document) once per operand.
    if isinstance(value, dict) and value:
        members = [f"{_string(k)}: {encode(v, inner)}" for k, v in value.items()]
        return f"{{\n{inner}{separator.join(members)}\n{indent}}}"
    if isinstance(value, list) and value:
        members = [encode(v, inner) for v in value]
        return f"[\n{inner}{separator.join(members)}\n{indent}]"
    return _scalar(value)


def _member(key: str, value: object) -> str:
    """One ``"key": value`` line of an item, laid out as :func:`encode` lays out the item."""
    return f"{_string(key)}: {encode(value, _MEMBER_INDENT)}"


def _build_members(entry: Entry) -> dict[str, str]:
    base = entry.article_entry
    if base is not None and base.content_html and entry.content_html:
        # A story entry differs from its article's entry (built for the source feed anyway)
        # only in its content, ``updated`` and related reports: its article's members with
        # those changed, instead of encoding every member again. A test holds it to
        # ``json.dumps`` of the item built anew.
        members = dict(_members(base))
        content, added = base.content_html, entry.content_html
        if added.startswith(content):
            # Its content is the article's with the related block added: JSON escapes each
            # character alone, so the article's encoded string is continued, not redone.
            tail = _string(added[len(content) :])[1:]
            members["content_html"] = members["content_html"][:-1] + tail
        else:
            members["content_html"] = _member("content_html", added)
        # ``updated`` of an entry is in UTC without microseconds already (what rfc3339 makes),
        # and its ISO form needs no JSON escaping.
        members["date_modified"] = f'"date_modified": "{entry.updated_text}"'
    else:
        item: dict[str, object] = {"id": entry.url, "url": entry.url, "title": entry.title}
        if entry.content_html:
            item["content_html"] = entry.content_html
        else:
            item["content_text"] = entry.description
        if entry.summary:
            item["summary"] = entry.summary
        if entry.image:
            item["image"] = entry.image
        item["date_published"] = rfc3339(entry.published)
        item["date_modified"] = rfc3339(entry.updated)
        if entry.authors:
            item["authors"] = [{"name": a} for a in entry.authors]
        if entry.categories:
            item["tags"] = list(entry.categories)
        if entry.language:
            item["language"] = entry.language
        members = {k: f"{_string(k)}: {encode(v, _MEMBER_INDENT)}" for k, v in item.items()}
    if entry.related:
        # A JSON Feed extension (an underscore key): the story's other reports.
        members["_cityfeeds"] = _related_member(entry.related)
    return members


#: Between an item's members.
_MEMBER_SEPARATOR = ",\n" + _MEMBER_INDENT
#: Indentation of the lines of ``"_cityfeeds": {"related": [{...}]}`` in an item, by depth.
_EXT_INDENT = _MEMBER_INDENT + "  "
_LIST_INDENT = _EXT_INDENT + "  "
_REPORT_INDENT = _LIST_INDENT + "  "


def _related_member(related: Sequence[Related]) -> str:
    """``"_cityfeeds": {"related": [...]}`` as :func:`_member` lays it out, written directly:
    this member is the only one a story item encodes anew per report, and the generic walk
    costs several calls per value. A test holds it to ``json.dumps``."""
    reports = (",\n" + _LIST_INDENT).join(
        [
            "{\n"
            f'{_REPORT_INDENT}"url": {_string(r.url)},\n'
            f'{_REPORT_INDENT}"source": {_string(r.source)},\n'
            f'{_REPORT_INDENT}"title": {_string(r.title)}\n'
            f"{_LIST_INDENT}}}"
            for r in related
        ]
    )
    return (
        '"_cityfeeds": {\n'
        f'{_EXT_INDENT}"related": [\n{_LIST_INDENT}{reports}\n{_EXT_INDENT}]\n'
        f"{_MEMBER_INDENT}}}"
    )


def _members(entry: Entry) -> dict[str, str]:
    """The item's members by key, each a ``"key": value`` line, made once per entry."""
    return entry.rendered("json-members", _build_members)


def _item(entry: Entry) -> Encoded:
    lines = _MEMBER_SEPARATOR.join(_members(entry).values())
    # One f-string: each ``+`` copied the whole item again.
    return Encoded(f"{{\n{_MEMBER_INDENT}{lines}\n{_ITEM_INDENT}}}")


def render_json(feed: PreparedFeed) -> bytes:
    """JSON Feed 1.1 bytes of a prepared feed."""
    doc: dict[str, object] = {
        "version": JSONFEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.site_url,
        "feed_url": feed.self_url(JSON_FEED.extension),
        "description": feed.description,
        "language": feed.spec.language,
        "authors": [{"name": GENERATOR, "url": feed.base_url}],
    }
    if feed.hubs:
        doc["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
    items = [entry.rendered("json", _item) for entry in feed.entries]
    if not items:
        doc["items"] = []
        return f"{encode(doc)}\n".encode()
    # The items are nearly all of the document: joined once, with the members before them
    # and the separators, as :func:`encode` would lay out ``doc["items"] = items`` (nesting
    # its joins copied the whole document once per level).
    pieces = ["{\n  ", ",\n  ".join(_member_lines(doc)), ',\n  "items": [\n' + _ITEM_INDENT]
    for item in items:
        pieces += (item, _ITEM_SEPARATOR)
    pieces[-1] = "\n  ]\n}\n"
    return "".join(pieces).encode()


#: Between the items of a document's ``items`` array.
_ITEM_SEPARATOR = ",\n" + _ITEM_INDENT


def _member_lines(doc: dict[str, object]) -> list[str]:
    """The document's members (but its items) as :func:`encode` lays them out at depth one."""
    return [f"{_string(key)}: {encode(value, '  ')}" for key, value in doc.items()]


JSON_FEED = FeedFormat(
    name="json",
    extension="json",
    media_type="application/feed+json",
    label="JSON Feed",
    render=render_json,
)
