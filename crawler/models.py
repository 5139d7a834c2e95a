"""Plain data classes shared by page processing, pipelines, storage and feeds (no Scrapy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from crawler.stories.features import Precomputed

#: Request ``meta`` key of the scheduled run (its row in ``runs``) a request was queued for by
#: distributed crawling (part of the shared queue's wire format, crawler.distributed.settings).
RUN_META = "cityfeeds_run"


def run_of_meta(meta: Mapping[str, Any]) -> int | None:
    """The run a request's ``meta`` names; anything but a run id (queued by hand) is none."""
    run_id = meta.get(RUN_META)
    return run_id if type(run_id) is int and run_id > 0 else None


@dataclass
class ArticleData:
    """What extraction found on one article page, before validation.

    Every field may be missing. ``provenance`` maps a field name to the layer that produced it
    (``jsonld``, ``opengraph``, ``meta``, ``time``, ``selector``, ``generic``, ``text``, ``url``,
    ``feed``). ``flags`` records notable events (``date_clamped``, ``date_fallback``, ...).
    """

    url: str
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    html: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    # True when ``text`` is already paragraphs of ``clean_text`` output joined by blank lines
    # (extract_article guarantees it), so normalization does not clean ~15 KB a second time.
    text_clean: bool = False
    # The sanitizer policy ``html`` came out of (``crawler.normalize.html.SANITIZE_POLICY``),
    # ``None`` when it was not sanitized: see ``Article.html_policy``.
    html_policy: int | None = None


@dataclass
class TopicMatch:
    """One topic that matched an article: its id, score and the evidence for it."""

    id: str
    score: float
    evidence: list[str] = field(default_factory=list)


class RelatedReport(NamedTuple):
    """Another source's report of the same story, listed under the story's feed entry."""

    url: str
    source: str  # the source's name as stored; the feed builder shows its title
    title: str


@dataclass(frozen=True)
class ContentDigest:
    """An article's content hash computed ahead (``crawler.storage.articles.content_hash``),
    and a copy of the fields it hashed."""

    fields: tuple[Any, ...]
    digest: str


@dataclass
class Article:
    """A validated, normalized article as stored and published.

    ``url`` is the canonical URL and the article's identity (its feed GUID).
    Datetimes are always time-zone aware. ``html_policy`` is the version of the sanitizer policy
    ``html`` is known to satisfy (``crawler.normalize.html.SANITIZE_POLICY``), ``None`` when
    unknown: feeds sanitize such HTML again.
    """

    url: str
    source: str
    title: str
    published: datetime
    summary: str = ""
    text: str = ""
    html: str = ""
    updated: datetime | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    language: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    html_policy: int | None = None
    topics: list[TopicMatch] = field(default_factory=list)
    first_seen: datetime | None = None
    fetched_at: datetime | None = None
    #: The page's own (canonicalized) URL when its ``rel=canonical`` named another page as
    #: ``url``; None when they are one. Never stored: the store checks the claim with it
    #: (:data:`VIA_CANONICAL_FLAG`).
    fetched_url: str | None = None
    #: The ``url`` that ``topics`` were scored with (an extraction worker tags the articles it
    #: makes); None when not tagged yet. Never stored: TopicsPipeline tags an article again when
    #: its ``url`` changed since (the URL's words count).
    topics_url: str | None = None
    #: The story fingerprint an extraction worker computed (off the crawl process), with a
    #: digest of the fields it read: used when the article is assigned its story while they
    #: are unchanged. Never stored.
    fingerprint: Precomputed | None = None
    #: The content hash an extraction worker computed (off the crawl process), with the fields
    #: it read: the store uses it while they are equal. Never stored; not part of equality.
    content_digest: ContentDigest | None = field(default=None, compare=False, repr=False)
    #: In a feed that shows one entry per story: the story's other reports, in the order they
    #: joined, and when the last one joined (the entry's ``updated`` moves to it). Empty
    #: everywhere else; never stored from here.
    related: list[RelatedReport] = field(default_factory=list)
    story_updated: datetime | None = None


#: Flag of an article stored under the ``rel=canonical`` URL its page named, not under the
#: page's own URL: ``via_canonical:<the page's own URL>``. Another page's claim on that URL:
#: the URL's own page, when it differs, moves it back to its page's URL (crawler.canonical).
VIA_CANONICAL_FLAG = "via_canonical"
#: Flag of an article whose page named as canonical a different article's URL (another title
#: and text): it is stored under its own URL instead.
CANONICAL_IGNORED_FLAG = "canonical_ignored"


@dataclass(frozen=True)
class Hints:
    """What a feed, sitemap or listing said about a link: fallbacks for missing fields."""

    title: str | None = None
    published: datetime | None = None
    summary: str | None = None


@dataclass(frozen=True)
class PageFacts:
    """Where and when a page was fetched, and the charset its headers declared."""

    url: str
    fetched_at: datetime
    header_charset: str | None = None


@dataclass(frozen=True)
class Dropped:
    """A page that yields no article, and why: ``reason`` is counted as ``dropped/<reason>``."""

    reason: str
    detail: str = ""


class FeedBuild(NamedTuple):
    """The outcome of building one published path (a feed's files, the index page, the OPML)."""

    path: str
    ok: bool
    error: str | None
    items: int
    #: Hash of the inputs a feed's files were rendered from (``feeds.render.input_signature``).
    signature: str | None = None
    #: Stamp of the files written: their sizes, mtimes and inodes (``feeds.build.files_stamp``).
    stamp: str | None = None


@dataclass
class ArticleItem:
    """One crawled article page, as it flows through the item pipelines.

    The spider fills ``article`` (or ``dropped``) with what :func:`crawler.pages.process_page`
    made of the page; an item carrying only a raw extraction in ``data`` is finished by
    ``ValidatePipeline``. ``hint_*`` is what the feed/sitemap/listing said about the link.
    """

    source: str
    data: ArticleData | None
    fetched_at: datetime
    response_url: str
    hint_title: str | None = None
    hint_published: datetime | None = None
    hint_summary: str | None = None
    article: Article | None = None
    dropped: Dropped | None = None
    #: The scheduled run the page was queued for (distributed workers): that run's row in the
    #: store collects what became of it (``crawler.distributed.run_counts.RunCounts``).
    run_id: int | None = None

    @property
    def hints(self) -> Hints:
        """The discovery hints as :func:`crawler.pages.process_page` takes them."""
        return Hints(self.hint_title, self.hint_published, self.hint_summary)
