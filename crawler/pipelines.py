"""Item pipelines, one job each: validate, normalize, deduplicate, tag topics, store."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from twisted.internet import task

from crawler.article import MAX_HTML_CHARS, MAX_TEXT_CHARS, Hints, build_article
from crawler.context import RUN_STATS, count_drop, get_context
from crawler.items import ArticleItem
from crawler.normalize.encoding import looks_like_mojibake
from crawler.normalize.text import clean_text, dedup_key, is_garbage_value
from crawler.normalize.urls import is_http_url, url_identity
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
    """Require a URL and a real title; reject selector/template leaks (never published)."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        data = item.data
        if not is_http_url(item.response_url):
            raise self.drop("bad_url", item)
        title = data.title if data.title is not None else item.hint_title
        if "empty_page" in data.flags or not (data.title or data.text or data.html):
            # Even with a title from the feed: an empty page is a failed fetch, not an article.
            raise self.drop("empty_page", item)
        if title is not None and is_garbage_value(title) and title.strip():
            raise self.drop("selector_leak", item, f"title={title[:80]!r}")
        if title is None or not clean_text(title):
            raise self.drop("missing_title", item)
        if looks_like_mojibake(title):
            # decode_html tried BOM, header, <meta> and detection; a still-garbled title
            # would be published as garbage, so the page is dropped and counted instead.
            raise self.drop("bad_encoding", item, f"title={title[:80]!r}")
        invalid = sum(
            int(f.partition(":")[2] or 0) for f in data.flags if f.startswith("invalid_bytes:")
        )
        if invalid:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("cityfeeds/invalid_bytes", invalid)
        for name in ("summary", "text", "section", "image"):
            value = getattr(data, name)
            if isinstance(value, str) and value.strip() and is_garbage_value(value):
                # A leaked value in a secondary field costs that field, not the article.
                logger.warning(
                    "[%s] %s looks like an unevaluated selector: %r", item.source, name, value[:80]
                )
                setattr(data, name, None)
                item.flags.append(f"garbage_{name}")
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value(f"cityfeeds/garbage_field/{name}")
        data.authors = [a for a in data.authors if not is_garbage_value(a)]
        data.tags = [t for t in data.tags if not is_garbage_value(t)]
        return item


class NormalizePipeline(_Pipeline):
    """Turn the extraction plus discovery hints into a clean ``Article`` (see crawler.article)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_text = crawler.settings.getint("CITYFEEDS_MAX_TEXT_CHARS", MAX_TEXT_CHARS)
        self.max_html = crawler.settings.getint("CITYFEEDS_MAX_HTML_CHARS", MAX_HTML_CHARS)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        source = get_context(self.crawler).config.source(item.source)
        item.article = build_article(
            item.data,
            source=item.source,
            response_url=item.response_url,
            fetched_at=item.fetched_at,
            allowed_domains=source.allowed_domains,
            default_language=source.language,
            hints=Hints(item.hint_title, item.hint_published, item.hint_summary),
            extra_flags=item.flags,
            max_text=self.max_text,
            max_html=self.max_html,
        )
        assert self.crawler.stats is not None
        for flag in ("date_fallback", "date_clamped", "text_truncated"):
            if flag in item.article.flags:
                self.crawler.stats.inc_value(f"cityfeeds/{flag}")
        return item


class DedupePipeline(_Pipeline):
    """Drop the second copy of an article within a run (same URL identity, or same title+time)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.seen_urls: set[str] = set()
        self.seen_titles: set[tuple[str, str]] = set()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.article is None:
            return item
        article = item.article
        key = url_identity(article.url)
        title_key = (dedup_key(article.title), article.published.strftime("%Y%m%d%H%M"))
        if key in self.seen_urls or title_key in self.seen_titles:
            raise self.drop("duplicate", item, f"(same as {article.url})")
        self.seen_urls.add(key)
        self.seen_titles.add(title_key)
        return item


class TopicsPipeline(_Pipeline):
    """Score the article against every configured topic and keep the matches with evidence."""

    def open_spider(self) -> None:
        ctx = get_context(self.crawler)
        self.engine = TopicEngine(ctx.config.topics)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem) or item.article is None:
            return item
        article = item.article
        source = get_context(self.crawler).config.source(article.source)
        article.topics = self.engine.classify_article(article, city=source.city)
        return item


class StorePipeline(_Pipeline):
    """Upsert articles in batches; a storage failure stops the crawl loudly instead of losing items.

    Articles are buffered and written ``CITYFEEDS_STORE_BATCH`` at a time (or after
    ``CITYFEEDS_STORE_FLUSH_SECONDS``, and when the spider closes), each batch in one write
    transaction: one commit per batch instead of one per article. A crash loses at most the
    unflushed batch, and loses it cleanly: those URLs are not stored, so the next run fetches
    them again. The new/updated/unchanged stats are counted when a batch is written.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.failed = False
        self.batch_size = max(1, crawler.settings.getint("CITYFEEDS_STORE_BATCH", 50))
        self.flush_seconds = crawler.settings.getfloat("CITYFEEDS_STORE_FLUSH_SECONDS", 1.0)
        self.pending: list[ArticleItem] = []
        self.timer: Any = None
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
        if len(self.pending) >= self.batch_size:
            self.flush()
        return item

    def flush(self, *, closing: bool = False) -> None:
        """Write the buffered articles in one transaction and count what happened to each."""
        if not self.pending or self.failed:
            return
        batch, self.pending = self.pending, []
        ctx = get_context(self.crawler)
        stats = self.crawler.stats
        assert stats is not None
        try:
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
            stats.inc_value(f"cityfeeds/{result.status}")
            if item.run_id is not None:
                stats.inc_value(f"{RUN_STATS}{item.run_id}/{result.status}")


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
