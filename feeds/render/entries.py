"""Articles turned into cleaned, bounded feed entries once per build, shared by every format.

:func:`prepare_feed` turns the articles of one feed into :class:`Entry` values (through an
:class:`EntryCache`, by every feed of a build that holds the same article) and gathers the
feed-level values into a :class:`PreparedFeed`; the format modules only lay them out.
"""

from __future__ import annotations

import hashlib
import html
import logging
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any, NamedTuple, TypeVar, cast
from urllib.parse import urlsplit

from crawler.models import Article
from crawler.normalize.html import SANITIZE_POLICY, html_to_text
from crawler.normalize.text import strip_control_chars
from crawler.normalize.urls import is_http_url
from feeds.content import (
    DEFAULT_MAX_HTML_CHARS,
    MAX_SUMMARY_CHARS,
    absolute_url,
    clean_title,
    plain_excerpt,
    prepare_html,
    to_utc,
)
from feeds.model import FeedSpec

__all__ = [
    "EMPTY_FEED_UPDATED",
    "GENERATOR",
    "GENERATOR_URI",
    "Entry",
    "EntryCache",
    "PreparedFeed",
    "Related",
    "prepare_feed",
]

log = logging.getLogger(__name__)

#: ``updated`` of a feed without entries rendered outside a build (tests, benches), where no
#: ``empty_since`` is given: fixed, so such renders are byte-stable. A build passes its own time
#: instead (:func:`prepare_feed`).
EMPTY_FEED_UPDATED = datetime(2024, 1, 1, tzinfo=UTC)
#: Who made the feed, in every format.
GENERATOR = "cityfeeds"
GENERATOR_URI = "https://github.com/cityfeeds/cityfeeds"
#: Longest feed description (characters).
MAX_FEED_DESCRIPTION_CHARS = 1000

_T = TypeVar("_T")


class Related(NamedTuple):
    """Another source's report of the entry's story: its link, source title and headline.

    A named tuple: made for every report of every story entry of a build, at a third of a
    frozen dataclass's cost.
    """

    url: str
    source: str
    title: str

    @property
    def label(self) -> str:
        """``SOURCE: TITLE``, as an Atom related link's title."""
        return f"{self.source}: {self.title}"


#: The heading of the "also reported by" block in a story entry's HTML.
RELATED_HEADING = "Также сообщают · Also reported by"


@dataclass(frozen=True)
class Entry:
    """An article reduced to what every format needs, already cleaned and bounded.

    ``related``: in a feed showing one entry per story, the story's other reports (their
    block is already part of ``content_html``); ``article_entry`` is then the article's own
    entry this one was made from (its source feed shows it), which the formats may start from.
    """

    url: str
    title: str
    published: datetime
    updated: datetime
    description: str
    content_html: str
    summary: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    image: str | None
    image_type: str | None
    language: str | None
    related: tuple[Related, ...] = ()
    article_entry: Entry | None = field(default=None, repr=False, compare=False)
    _forms: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def rendered(self, form: str, make: Callable[[Entry], _T]) -> _T:
        """``make(self)``, computed once per entry and kept under the name ``form``.

        The same article sits in several feeds of a build (``all``, its source, its topics):
        each format builds its item once and reuses it in every feed. ``form`` must name what
        ``make`` returns (``"rss"``, ``"json"``...), one name per kind of value.
        """
        try:
            return cast(_T, self._forms[form])
        except KeyError:
            value = self._forms[form] = make(self)
            return value

    @property
    def updated_text(self) -> str:
        """``updated`` as Atom's ``<updated>`` and JSON Feed's ``date_modified`` print it
        (ISO 8601; entries' times are UTC in whole seconds already), made once for both:
        ``isoformat`` costs more than the rest of setting the element."""
        return self.rendered("updated-text", _isoformat_updated)


def _isoformat_updated(entry: Entry) -> str:
    return entry.updated.isoformat()


@dataclass(frozen=True)
class PreparedFeed:
    """One feed ready to render: feed-level values and entries shared by every format."""

    spec: FeedSpec
    base_url: str
    site_url: str
    title: str
    description: str
    updated: datetime
    entries: tuple[Entry, ...]
    #: WebSub hubs announced by the feed; each format writes them only when there are some.
    hubs: tuple[str, ...] = ()

    def self_url(self, extension: str) -> str:
        """The public URL of this feed in the format whose files end in ``extension``."""
        return self.spec.url(self.base_url, extension)


def _image_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    # An enclosure needs a type; article images without an extension are nearly always JPEG.
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def _text_of(fragment: str | None) -> str:
    """Plain text of an HTML fragment; most summaries are plain text already and skip the parser."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    return html_to_text(fragment)


#: Formatting markup in a summary: a closed pair of text tags, a line break, or a block tag
#: opening it right before its words (a description cut short: «<p>Мэр Москвы…»). A CMS that
#: escapes its description twice leaves such markup in a page's meta; a story that quotes code
#: («вставили <script>…», "a<b и c>d", «<b> и <i> — устаревшие теги») has none.
_FORMATTING_RE = re.compile(
    r"<(p|b|i|em|strong|span|a|div|u|small)(?:\s[^<>]*)?>.*?</\1\s*>|<br\s*/?>"
    r"|^\s*<(?:p|div|h[1-6]|blockquote)(?:\s[^<>]*)?>(?=[^\W\d_]|[«„\x22])",
    re.I | re.S,
)
#: An entity left by escaping twice («&laquo;», «&nbsp;», «&#171;»).
_ENTITY_RE = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,5});")


def _summary_text(summary: str | None) -> str:
    """A stored summary as plain text. The crawl stores it as text, so a summary quoting
    «<script>» or saying «a<b» keeps its words (``html_to_text`` read them as tags and lost
    them); one holding formatting markup (``_FORMATTING_RE``) is read as HTML, and entities
    alone are decoded (the rest of the text stays as written)."""
    if not summary:
        return ""
    if _FORMATTING_RE.search(summary):
        return html_to_text(summary)
    if _ENTITY_RE.search(summary):
        return html.unescape(summary).replace("\xa0", " ")
    return summary


def _prepare_entry(article: Article, language: str, max_html_chars: int) -> Entry | None:
    # Identifiers are only stripped of XML-illegal characters: unescaping or NFC would change them.
    link = _link(article.url, article.title)
    if link is None:
        return None
    url, title = link
    published = to_utc(article.published)
    # An edit never moves the publication date; an "updated" before it is noise from the source.
    updated = max(to_utc(article.updated), published) if article.updated else published
    content_html = prepare_html(
        article.html,
        article_url=url,
        limit=max_html_chars,
        language=language,
        sanitized=article.html_policy == SANITIZE_POLICY,
    )
    summary = plain_excerpt(_summary_text(article.summary), MAX_SUMMARY_CHARS)
    description = summary or plain_excerpt(article.text or _text_of(article.html))
    names = (clean_title(name, fallback="") for name in article.authors)
    authors = tuple(dict.fromkeys(name for name in names if name))
    topic_ids = [strip_control_chars(t.id).strip() for t in article.topics]
    section = clean_title(article.section, fallback="") if article.section else ""
    categories = tuple(dict.fromkeys(c for c in [*topic_ids, section] if c))
    image = absolute_url(article.image, url)
    return Entry(
        url=url,
        title=title,
        published=published,
        updated=updated,
        description=description or title,
        content_html=content_html,
        summary=summary,
        authors=authors,
        categories=categories,
        image=image,
        image_type=_image_type(image) if image else None,
        language=strip_control_chars(language).strip() or None,
    )


def _story_entry(entry: Entry, article: Article, related: tuple[Related, ...]) -> Entry:
    """``entry`` as its story's entry: the other reports (``related``) listed, ``updated`` when
    the last joined. Derived from the article's own entry, which its source feed shows as it
    is."""
    if not related:
        return entry
    updated, story_updated = entry.updated, article.story_updated
    if story_updated is not None:
        if story_updated.tzinfo is not UTC or story_updated.microsecond:
            story_updated = to_utc(story_updated)  # the store's are UTC already, in seconds
        updated = max(updated, story_updated)
    # Every field named (``dataclasses.replace`` costs three times as much, per story entry of
    # every build); a test holds the copied fields to the article entry's.
    return Entry(
        url=entry.url,
        title=entry.title,
        published=entry.published,
        updated=updated,
        description=entry.description,
        content_html=_lead_html(entry) + _related_html(related),
        summary=entry.summary,
        authors=entry.authors,
        categories=entry.categories,
        image=entry.image,
        image_type=entry.image_type,
        language=entry.language,
        related=related,
        article_entry=entry,
    )


def _link(url: str, title: str) -> tuple[str, str] | None:
    """A report's link and headline as its entry shows them; ``None`` without a usable link."""
    url = strip_control_chars(url).strip()
    return (url, clean_title(title, fallback=url)) if is_http_url(url) else None


#: Finds a character ``html.escape`` replaces; most headlines, titles and links have none.
_HTML_SPECIAL = re.compile("[&<>\"']").search


def _escape(text: str) -> str:
    """``html.escape(text)``, skipping its five replacements when none would change a thing."""
    return escape(text) if _HTML_SPECIAL(text) else text


def _lead_html(entry: Entry) -> str:
    """What a story entry's content shows before the related block: the article's HTML, or,
    when it has none (retention pruned it, or the source gave only text), its summary, since
    readers showing the content would otherwise show the related block alone."""
    if entry.content_html:
        return entry.content_html
    # ``description`` falls back to the title, which the reader shows already.
    lead = entry.summary or (entry.description if entry.description != entry.title else "")
    return f"<p>{_escape(lead)}</p>" if lead else ""


def _related_html(related: Sequence[Related]) -> str:
    """The "also reported by" block: one line per report, source title and linked headline."""
    lines = "".join(
        [
            f'<li>{_escape(r.source)}: <a href="{_escape(r.url)}">{_escape(r.title)}</a></li>'
            for r in related
        ]
    )
    return f"<p>{RELATED_HEADING}:</p><ul>{lines}</ul>"


def _entry_key(article: Article, language: str, max_html_chars: int) -> tuple[Any, ...]:
    """Every article field an entry is made of, plus the language and the length bound."""
    return (
        article.url,
        article.title,
        article.published,
        article.updated,
        article.summary,
        article.text,
        article.html,
        article.html_policy == SANITIZE_POLICY,
        tuple(article.authors),
        article.section,
        article.image,
        tuple(t.id for t in article.topics),
        language,
        max_html_chars,
    )


def _story_key(article: Article) -> tuple[Any, ...]:
    """What a story entry adds to the article's own entry."""
    return (tuple(article.related), article.story_updated)


def _sha256(parts: tuple[Any, ...]) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        # Strings (bodies of kilobytes) and digests are hashed as they are; the rest by repr.
        if type(part) is str:
            data = b"s" + part.encode("utf-8", "surrogatepass")
        elif type(part) is bytes:
            data = b"b" + part
        else:
            data = b"r" + repr(part).encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.digest()


class EntryCache:
    """Prepared entries of one build, so an article in several feeds is cleaned only once.

    The key is every article field an entry is made of, plus the language and length bound:
    a changed article can never be served from the cache, whatever the store's ids or hashes
    say, and comparing the key costs a ``memcmp`` of strings already in memory. Use one cache
    per build (it holds every entry it has seen, with the items the formats made of it).
    """

    def __init__(self, source_titles: Mapping[str, str] | None = None) -> None:
        """``source_titles``: the title a story's other reports show for each source name
        («Москва 24» for ``m24``); a name without one is shown as it is."""
        self._source_titles = dict(source_titles or {})
        self._entries: dict[tuple[Any, ...], Entry | None] = {}
        self._digests: dict[tuple[Any, ...], bytes] = {}
        # Cleaned links and headlines (:func:`_link`) by their raw values, and source titles:
        # a story's other reports are mostly articles of this build's other feeds.
        self._links: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._sources: dict[str, str] = {}
        # Story entries and digests by the identity of the story's copy of its article: the
        # store makes one copy per story and read, held by every feed showing the story, so
        # its key (every field and the story's reports) is built and hashed once, not once
        # per feed. Each value holds the copy, so its id is not reused while the cache lives.
        self._story_entries: dict[tuple[int, str, int], tuple[Article, Entry]] = {}
        self._story_digests: dict[tuple[int, str, int], tuple[Article, bytes]] = {}
        self.hits = 0

    def get(self, article: Article, language: str, max_html_chars: int) -> Entry | None:
        """The entry of ``article`` (``None`` if it cannot be published), prepared at most once."""
        if article.related:
            known = self._story_entries.get((id(article), language, max_html_chars))
            if known is not None and known[0] is article:
                self.hits += 1
                return known[1]
        key = _entry_key(article, language, max_html_chars)
        try:
            entry = self._entries[key]
        except KeyError:
            entry = self._entries[key] = _prepare_entry(article, language, max_html_chars)
            link = (entry.url, entry.title) if entry is not None else None
            self._links[article.url, article.title] = link
        else:
            self.hits += 1
        if entry is None or not article.related:
            return entry
        story_key = (*key, *_story_key(article))
        story = self._entries.get(story_key)  # a story entry is never None
        if story is None:
            related = self._related(article)
            story = self._entries[story_key] = _story_entry(entry, article, related)
        self._story_entries[id(article), language, max_html_chars] = (article, story)
        return story

    def _related(self, article: Article) -> tuple[Related, ...]:
        """The story's other reports with a usable link, cleaned like entry titles."""
        found = []
        for report in article.related:
            try:
                link = self._links[report.url, report.title]
            except KeyError:
                link = self._links[report.url, report.title] = _link(report.url, report.title)
            if link is not None:
                source = self._sources.get(report.source)
                if source is None:
                    title = self._source_titles.get(report.source, report.source)
                    source = self._sources[report.source] = clean_title(title, fallback="")
                found.append(Related(link[0], source, link[1]))
        return tuple(found)

    def digest(self, article: Article, language: str, max_html_chars: int) -> bytes:
        """SHA-256 of everything the entry of ``article`` is made of, computed at most once.

        A story entry's digest is that of its article's entry followed by the story's part
        (its other reports and ``updated``): the article's text is hashed once per build, not
        again for each story entry made of it.
        """
        if article.related:
            known = self._story_digests.get((id(article), language, max_html_chars))
            if known is not None and known[0] is article:
                return known[1]
        key = _entry_key(article, language, max_html_chars)
        plain = self._digests.get(key)
        if plain is None:
            plain = self._digests[key] = _sha256(key)
        if not article.related:
            return plain
        story_key = (plain, *_story_key(article))  # the article's digest stands for its key
        story = self._digests.get(story_key)
        if story is None:
            # The article's digest (fixed length), the lengths of the reports' texts and the
            # time, then the texts joined: unambiguous, and no repr of every character of the
            # headlines (repr checks each one is printable) nor of the time (a datetime's repr
            # costs more than hashing all the rest).
            titles = self._source_titles  # what the entry shows, so what its digest covers
            texts = [
                text
                for url, source, title in article.related
                for text in (url, titles.get(source, source), title)
            ]
            updated = article.story_updated
            digest = hashlib.sha256(plain)
            digest.update(
                f"{list(map(len, texts))}{updated.isoformat() if updated else ''}".encode()
            )
            digest.update("\x00".join(texts).encode("utf-8", "surrogatepass"))
            story = self._digests[story_key] = digest.digest()
        self._story_digests[id(article), language, max_html_chars] = (article, story)
        return story

    def __len__(self) -> int:
        return len(self._entries)


def prepare_feed(
    spec: FeedSpec,
    articles: Sequence[Article],
    *,
    base_url: str,
    site_url: str | None = None,
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS,
    cache: EntryCache | None = None,
    hubs: Sequence[str] = (),
    empty_since: datetime | None = None,
) -> PreparedFeed:
    """Clean and bound ``articles`` (already newest first) once for all formats of ``spec``.

    Articles without an absolute http(s) URL and repeated URLs are logged and skipped. The
    feed's ``updated`` (RSS ``lastBuildDate``, Atom ``updated``) is its newest entry's, from the
    data; a feed without entries has none to take it from, and takes ``empty_since`` (default
    :data:`EMPTY_FEED_UPDATED`): the builder passes the time of the build that renders it
    empty (see :meth:`feeds.build._Build.render` for why that time, and why it is stable).
    """
    if not base_url.endswith("/"):
        raise ValueError(f"base_url must end with '/': {base_url!r}")
    cache = cache if cache is not None else EntryCache()
    entries: list[Entry] = []
    seen: set[str] = set()
    for article in articles:
        entry = cache.get(article, article.language or spec.language, max_html_chars)
        if entry is None:
            log.warning(
                "feed %s: skipping article with a non-absolute URL %r", spec.path, article.url
            )
            continue
        if entry.url in seen:
            log.warning("feed %s: duplicate article %s skipped", spec.path, entry.url)
            continue
        seen.add(entry.url)
        entries.append(entry)
    # From the data, never now(): rebuilding without new data must give identical bytes
    # (docs/reliability.md C5).
    updated = max((e.updated for e in entries), default=empty_since or EMPTY_FEED_UPDATED)
    return PreparedFeed(
        spec=spec,
        base_url=base_url,
        site_url=site_url or base_url,
        title=clean_title(spec.title, fallback=spec.key),
        description=plain_excerpt(spec.description, MAX_FEED_DESCRIPTION_CHARS) or spec.title,
        updated=updated,
        entries=tuple(entries),
        hubs=tuple(hubs),
    )
