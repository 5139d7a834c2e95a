"""The article half of NewsSpider: each page processed by ``crawler.pages.process_page``."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.config import SourceSpec
from crawler.context import count_drop, count_timings, get_context
from crawler.models import Article, ArticleItem, Dropped, PageFacts
from crawler.profile import MAX_HTML_CHARS, MAX_TEXT_CHARS, SourceProfile
from crawler.spiders.responses import content_type, header_charset, is_html, link_hints
from crawler.timing import Timings
from crawler.workpool import (
    ArticleWork,
    BrokenProcessPool,
    ExtractionPool,
    default_workers,
    release_pool,
    shared_pool,
    timed_process_page,
)


class ArticlePages:
    """Spider methods that turn article responses into items (a mixin of ``NewsSpider``).

    The spider provides ``crawler``, ``spec`` (the source being served: the distributed
    worker swaps it per request), ``source_name`` and the ``extracting`` counter.
    """

    crawler: Crawler
    spec: SourceSpec
    source_name: str
    extracting: int
    #: Whether ``parse_article`` sends pages to the extraction workers (the distributed
    #: worker processes them in its own thread: it starts no pool).
    extracts_in_workers = True
    # Class-level defaults: DistributedNewsSpider does not run NewsSpider's __init__.
    _pool: ExtractionPool | None = None
    _profiles: dict[str, SourceProfile] | None = None

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        """Process one article page (:func:`crawler.pages.process_page`, pure code).

        A coroutine: the processing runs in the worker processes of ``crawler.workpool``
        (``CITYFEEDS_EXTRACT_WORKERS``) while the reactor keeps downloading.
        """
        if not self._extractable(response):
            return
        page = self._page_facts(response)
        self.extracting += 1
        timings: Timings = {}
        try:
            result = await self._extraction_pool().process_page(
                self.profile(), response.body, page, link_hints(response), timings
            )
        except BrokenProcessPool:
            # A worker died (a crash in a native parser, or killed): the page is not stored,
            # so it stays unknown and the next run fetches it again.
            count_drop(
                self.crawler,
                "extract_crash",
                response.url,
                level=logging.ERROR,
                request=response.request,
            )
            return
        finally:
            self.extracting -= 1
            count_timings(self.crawler, timings)
        yield self._article_item(response, page, result)

    def parse_article_inline(self, response: Response) -> Iterator[Any]:
        """``parse_article`` in the calling thread, for callers that need a plain generator."""
        if not self._extractable(response):
            return
        page = self._page_facts(response)
        result, timings = timed_process_page(
            self.profile(), response.body, page, link_hints(response)
        )
        count_timings(self.crawler, timings)
        yield self._article_item(response, page, result)

    def _extractable(self, response: Response) -> bool:
        self.crawler.stats.inc_value("cityfeeds/pages")
        if not response.body.strip():
            count_drop(self.crawler, "empty_page", response.url, request=response.request)
            return False
        if not is_html(response):
            count_drop(
                self.crawler,
                "unsupported_type",
                f"{response.url} {content_type(response)}",
                request=response.request,
            )
            return False
        if "dataloss" in response.flags:
            count_drop(self.crawler, "dataloss", response.url, request=response.request)
            return False
        return True

    def profile(self) -> SourceProfile:
        """The page-processing profile of the source being served, built once per source.

        Keyed by name: the distributed worker swaps ``self.spec`` per request.
        """
        if self._profiles is None:
            self._profiles = {}
        profile = self._profiles.get(self.spec.name)
        if profile is None:
            settings = self.crawler.settings
            profile = self._profiles[self.spec.name] = SourceProfile.from_config(
                get_context(self.crawler).config,
                self.spec,
                max_text=settings.getint("CITYFEEDS_MAX_TEXT_CHARS", MAX_TEXT_CHARS),
                max_html=settings.getint("CITYFEEDS_MAX_HTML_CHARS", MAX_HTML_CHARS),
            )
        return profile

    def _page_facts(self, response: Response) -> PageFacts:
        return PageFacts(
            url=response.url,
            fetched_at=get_context(self.crawler).clock(),
            header_charset=header_charset(response),
        )

    def _article_item(
        self, response: Response, page: PageFacts, result: Article | Dropped
    ) -> ArticleItem:
        hints = link_hints(response)
        return ArticleItem(
            source=self.source_name,
            data=None,
            fetched_at=page.fetched_at,
            response_url=response.url,
            hint_title=hints.title,
            hint_published=hints.published,
            hint_summary=hints.summary,
            article=result if isinstance(result, Article) else None,
            dropped=result if isinstance(result, Dropped) else None,
        )

    def warm_pool(self) -> None:
        """Start the extraction workers now (in the background), when pages go to them."""
        if self.extracts_in_workers:
            self._extraction_pool().warm()

    def _extraction_pool(self) -> ExtractionPool:
        if self._pool is None:
            # The setting, else the environment (as for CITYFEEDS_DATABASE_URL), else by cores.
            workers = self.crawler.settings.get("CITYFEEDS_EXTRACT_WORKERS")
            if workers in (None, ""):
                workers = os.environ.get("CITYFEEDS_EXTRACT_WORKERS")
            size = default_workers() if workers in (None, "") else int(workers)
            # The workers tag topics and fingerprint stories too, off the crawl process.
            self._pool = shared_pool(size, ArticleWork.of(get_context(self.crawler).config))
        return self._pool

    def closed(self, reason: str) -> None:
        """Let the crawl's extraction workers go (the last spider to close stops them)."""
        if self._pool is not None:
            release_pool(self._pool)
            self._pool = None
