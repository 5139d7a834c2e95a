"""Item pipelines, one job each: validate, normalize, deduplicate, tag topics, store."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from twisted.internet import task

from crawler.canonical import PageMarks, disown_canonical, same_page
from crawler.context import RUN_STATS, count_drop, get_context, timed
from crawler.models import Article, ArticleItem, Dropped, PageFacts
from crawler.normalize.text import dedup_key
from crawler.normalize.urls import url_identity
from crawler.pages import SECONDARY_FIELDS, extract_error, finish_page, invalid_bytes
from crawler.profile import MAX_HTML_CHARS, MAX_TEXT_CHARS, SourceProfile
from crawler.storage import UpsertResult
from crawler.topics.engine import TopicEngine

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class _Pipeline:
    """Base: keeps the crawler (Scrapy passes no spider to pipeline methods since 2.14)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    def drop(self, reason: str, item: ArticleItem, detail: str = "") -> DropItem:
        """Count the drop and return the DropItem to raise."""
        count_drop(self.crawler, reason, f"{item.response_url} {detail}".strip())
        if item.run_id is not None:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"{RUN_STATS}{item.run_id}/dropped/{reason}")
        return DropItem(f"{reason}: {item.response_url} {detail}".strip())


class ValidatePipeline(_Pipeline):
    """Drop (and count) the pages that are no article; count what processing repaired.

    The checks themselves are :func:`crawler.pages.check_page`, run with the page's
    processing; an item that carries only a raw extraction is processed here.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_text = crawler.settings.getint("CITYFEEDS_MAX_TEXT_CHARS", MAX_TEXT_CHARS)
        self.max_html = crawler.settings.getint("CITYFEEDS_MAX_HTML_CHARS", MAX_HTML_CHARS)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        if item.article is None and item.dropped is None and item.data is not None:
            config = get_context(self.crawler).config
            profile = SourceProfile.from_config(
                config,
                config.source(item.source),
                max_text=self.max_text,
                max_html=self.max_html,
            )
            page = PageFacts(item.response_url, item.fetched_at)
            try:
                result = finish_page(profile, item.data, page, item.hints)
            except Exception as exc:  # one odd page costs that page, not the run
                result = extract_error(page.url, exc)
            if isinstance(result, Dropped):
                item.dropped = result
            else:
                item.article = result
        if item.dropped is not None:
            raise self.drop(item.dropped.reason, item, item.dropped.detail)
        if item.article is None:
            raise self.drop("empty_page", item)
        assert self.crawler.stats is not None
        flags = item.article.flags
        if invalid := invalid_bytes(flags):
            self.crawler.stats.inc_value("cityfeeds/invalid_bytes", invalid)
        for name in SECONDARY_FIELDS:
            if f"garbage_{name}" in flags:
                self.crawler.stats.inc_value(f"cityfeeds/garbage_field/{name}")
        return item


class NormalizePipeline(_Pipeline):
    """Count what normalizing the article changed (see ``crawler.pages.build_article``)."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.article is None:
            return item
        assert self.crawler.stats is not None
        for flag in ("date_fallback", "date_clamped", "text_truncated"):
            if flag in item.article.flags:
                self.crawler.stats.inc_value(f"cityfeeds/{flag}")
        return item


class DedupePipeline(_Pipeline):
    """Drop the second copy of an article within a source's run (same URL identity, or same
    title+time).

    Per source: a distributed worker's one process serves every source, and two outlets
    running one press release are two articles (a story joins them), not a duplicate. Per run:
    a worker lives for weeks, and the next cycle's re-check of an article is no copy of this
    one's (its edit must be stored); what it keeps of the runs it served is bounded
    (``MAX_RUNS``, the least recently used go first).
    """

    #: Runs whose pages a process remembers at once: a crawl's sources' runs all run at once, and
    #: a worker interleaves its sources' runs.
    MAX_RUNS = 256

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.runs: OrderedDict[tuple[str, int | None], _RunSeen] = OrderedDict()

    def _run_seen(self, item: ArticleItem) -> _RunSeen:
        key = (item.source, item.run_id)
        seen = self.runs.get(key)
        if seen is None:
            seen = self.runs[key] = _RunSeen({}, {})
            while len(self.runs) > self.MAX_RUNS:
                self.runs.popitem(last=False)
        else:
            self.runs.move_to_end(key)
        return seen

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.article is None:
            return item
        article = item.article
        run = self._run_seen(item)
        key = url_identity(article.url)
        seen = run.urls.get(key)
        if seen is not None and not same_page(seen.marks, article):
            # One URL, two different articles: a page that named the other's URL as its
            # canonical keeps its own (crawler.canonical); the page at its own URL is no
            # duplicate of an earlier claim on it.
            if article.fetched_url:
                disown_canonical(article)
                key = url_identity(article.url)
                seen = run.urls.get(key)
            elif seen.claim:
                seen = None
        title_key = (dedup_key(article.title), article.published.strftime("%Y%m%d%H%M"))
        # The page each key was first seen on: a drop names the page it repeats.
        first = seen.page if seen is not None else run.titles.get(title_key)
        if first is not None and not (seen is None and self._stored(article)):
            raise self.drop("duplicate", item, f"(same as {first})")
        run.urls[key] = _Seen(
            item.response_url,
            PageMarks.of(article.text),
            bool(article.fetched_url),
        )
        run.titles[title_key] = item.response_url
        return item

    def _stored(self, article: Article) -> bool:
        """Whether ``article``'s URL is stored: a re-check of a stored article is no copy of a
        new URL with its headline and minute seen earlier in the run. When that new URL's page
        is the same article, the store drops it as the copy
        (``crawler.storage.articles.stored_copies``); the stored one is re-checked as usual.
        Asked only when a headline and minute repeat within a run."""
        return get_context(self.crawler).store.has_article(article.url)


class _RunSeen(NamedTuple):
    """The articles of one source's run so far: by URL identity, and by title and minute."""

    urls: dict[str, _Seen]
    titles: dict[tuple[str, str], str]


class _Seen(NamedTuple):
    """What the duplicate check keeps of the first article under a URL (not the article)."""

    page: str
    marks: PageMarks
    claim: bool  # stored under the URL because its page named it as canonical


class TopicsPipeline(_Pipeline):
    """Score the article against every configured topic and keep the matches with evidence.

    An article an extraction worker tagged already (``crawler.workpool``: off the crawl
    process) is kept as it is, unless its URL changed since (``DedupePipeline`` can move it).
    """

    def open_spider(self) -> None:
        ctx = get_context(self.crawler)
        self.engine = TopicEngine(ctx.config.topics)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.article is None:
            return item
        article = item.article
        if article.topics_url == article.url:
            return item
        source = get_context(self.crawler).config.source(article.source)
        with timed(self.crawler, "topics"):
            self.engine.tag(article, city=source.city)
        return item


class StorePipeline(_Pipeline):
    """Upsert articles in batches and assign each new one its story; a storage failure stops the
    crawl loudly instead of losing items.

    Articles are buffered and written ``CITYFEEDS_STORE_BATCH`` at a time (or after
    ``CITYFEEDS_STORE_FLUSH_SECONDS``, and when the spider closes), each batch in one write
    transaction: one commit per batch instead of one per article. The first article after a
    quiet spell (no write for ``CITYFEEDS_STORE_FLUSH_SECONDS``) is written at once: a
    scheduled run's new article is stored the moment it is ready, while bursts are still
    batched. A crash loses at most the unflushed batch, and loses it cleanly: those URLs are
    not stored, so the next run fetches them again. The new/updated/unchanged stats are
    counted when a batch is written.

    Story assignment (``[stories] enabled``) happens here, right after the batch commits, not in
    a pipeline of its own: it needs the ids the batch was stored under, and must run where
    writes are serialized with other workers'. It is a second transaction: a failure there is
    logged and counted (``cityfeeds/story_error``) but keeps the stored articles, which then
    show as their own entries until ``cityfeeds feeds --recluster``.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.failed = False
        self.batch_size = max(1, crawler.settings.getint("CITYFEEDS_STORE_BATCH", 50))
        self.flush_seconds = crawler.settings.getfloat("CITYFEEDS_STORE_FLUSH_SECONDS", 1.0)
        self.pending: list[ArticleItem] = []
        self.timer: Any = None
        self.monotonic = time.monotonic
        self.last_write = float("-inf")
        # RunRecorder flushes the batch itself when an interrupt cannot wait for close_spider.
        crawler.cityfeeds_store = self  # type: ignore[attr-defined]

    def open_spider(self) -> None:
        if self.batch_size > 1 and self.flush_seconds > 0:
            # A slow crawl still stores what it has within about a second.
            self.timer = task.LoopingCall(self.flush)
            self.timer.start(self.flush_seconds, now=False)

    def close_spider(self) -> None:
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        # Scrapy closes pipelines before it sends spider_closed, so RunRecorder sees these.
        self.flush(closing=True)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.article is None:
            return item
        if self.failed:
            raise self.drop("store_error", item, "(store unavailable earlier in this run)")
        self.pending.append(item)
        if len(self.pending) >= self.batch_size or self._quiet():
            self.flush()
        return item

    def _quiet(self) -> bool:
        """Whether the one article pending follows a spell without writes (store it now)."""
        return (
            self.flush_seconds > 0
            and len(self.pending) == 1
            and self.monotonic() - self.last_write >= self.flush_seconds
        )

    def flush(self, *, closing: bool = False) -> None:
        """Write the buffered articles in one transaction and count what happened to each."""
        if not self.pending or self.failed:
            return
        batch, self.pending = self.pending, []
        self.last_write = self.monotonic()
        ctx = get_context(self.crawler)
        stats = self.crawler.stats
        assert stats is not None
        try:
            with timed(self.crawler, "store"):
                results = ctx.store.upsert_articles(
                    [i.article for i in batch if i.article], now=ctx.clock()
                )
        except (OperationalError, SQLAlchemyError, OSError) as exc:
            self.failed = True
            first_line = str(exc).splitlines()[0]
            stats.set_value("cityfeeds/store_error", first_line[:300])
            logger.error(
                "[%s] cannot store a batch of %d articles: %s", batch[0].source, len(batch), exc
            )
            # The whole batch was rolled back: every article in it is counted as dropped.
            for item in batch:
                self.drop("store_error", item, first_line[:200])
            if not closing:  # when already closing, the store_error stat fails the run
                _close_spider(self.crawler, "store_error")
            return
        for item, result in zip(batch, results, strict=True):
            if result.status == "refused":
                # The stored version stays: a site's error page is no edit of the article.
                self.drop("shrunk_update", item, "(the stored text is much longer: kept)")
                continue
            if result.status == "duplicate":
                # A copy of an article stored in an earlier run, under a new URL.
                self.drop("duplicate", item, f"(same as {result.same_as})")
                continue
            stats.inc_value(f"cityfeeds/{result.status}")
            if item.run_id is not None:
                stats.inc_value(f"{RUN_STATS}{item.run_id}/{result.status}")
        if ctx.config.stories.enabled:
            with timed(self.crawler, "stories"):
                self._assign_stories(batch, results)

    def _assign_stories(self, batch: list[ArticleItem], results: list[UpsertResult]) -> None:
        ctx = get_context(self.crawler)
        stats = self.crawler.stats
        assert stats is not None
        new = [
            (result.article_id, item.article)
            for item, result in zip(batch, results, strict=True)
            if result.status == "new" and item.article is not None
        ]
        try:
            assigned = ctx.store.assign_stories(
                new, settings=ctx.config.stories.settings(), now=ctx.clock()
            )
        except Exception as exc:  # the articles are stored: never lose the crawl over stories
            stats.inc_value("cityfeeds/story_error")
            logger.exception(
                "[%s] cannot assign stories to %d articles: %s", batch[0].source, len(new), exc
            )
            return
        joined = sum(1 for a in assigned if not a.new_story)
        if joined:
            stats.inc_value("cityfeeds/story_joined", joined)


def _close_spider(crawler: Crawler, reason: str) -> None:
    assert crawler.engine is not None
    deferred_from_coro(crawler.engine.close_spider_async(reason=reason))


__all__ = [
    "DedupePipeline",
    "NormalizePipeline",
    "StorePipeline",
    "TopicsPipeline",
    "ValidatePipeline",
]
