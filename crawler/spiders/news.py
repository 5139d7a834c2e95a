"""NewsSpider: the one generic spider; a source definition from cityfeeds.toml drives it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES
from twisted.python.failure import Failure

from crawler.config import Config, SourceSpec, load_config
from crawler.context import count_drop, get_context
from crawler.crawl_settings import POLITENESS_KEYS, politeness_settings
from crawler.discovery import (
    DiscoveryError,
    Feed,
    Link,
    Sitemap,
    UnsafeXMLError,
    listing_links,
    parse_feed,
    parse_sitemap,
)
from crawler.middlewares.policy import Blocked, NotFetched
from crawler.normalize.urls import host_of, registered_domain_matches, url_identity
from crawler.spiders.article_pages import ArticlePages
from crawler.spiders.responses import (
    content_type,
    failure_text,
    is_html,
    note_retry_after,
)

MAX_SITEMAP_DEPTH = 3
# update_settings fills in settings up to the project's priority, never a command line's.
OVERRIDABLE = SETTINGS_PRIORITIES["project"]


class NewsSpider(ArticlePages, scrapy.Spider):
    """Crawl one configured source: discover article links, then process each article page.

    Discovery (feeds, sitemaps, listings) is here; the article pages are handled by
    :class:`~crawler.spiders.article_pages.ArticlePages`.

    Run it with ``cityfeeds crawl NAME`` or ``scrapy crawl news -a source=NAME``.
    """

    name = "news"

    def __init__(self, source: str | None = None, *args: Any, **kwargs: Any) -> None:
        if not source:
            raise ValueError("NewsSpider needs a source: scrapy crawl news -a source=NAME")
        super().__init__(*args, **kwargs)
        self.source_name = source
        self.article_requests = 0
        self.sitemaps_seen: set[str] = set()
        self.discovery_ok = 0
        self.discovery_failed = 0
        self.extracting = 0  # pages in the extraction pool now (an interrupt counts them)

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        if all((settings.getpriority(key) or 0) > OVERRIDABLE for key in POLITENESS_KEYS):
            return  # set from the loaded config already (crawler.runner): no second reading
        config = load_config(settings.get("CITYFEEDS_CONFIG") or None)
        for key, value in politeness_settings(config).items():
            if settings.getpriority(key) is None or settings.getpriority(key) <= OVERRIDABLE:
                settings.set(key, value, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        """The spider of ``source``; ``config`` is the crawl's loaded configuration, if any."""
        config: Config | None = kwargs.pop("config", None)
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        ctx = get_context(crawler, config)
        spider.spec = ctx.config.source(spider.source_name)
        ctx.source = spider.spec
        spider.allowed_domains = list(spider.spec.allowed_domains)
        spider.max_pages = spider.spec.max_pages_per_run or ctx.config.crawl.max_pages_per_run
        spider.max_listing_pages = ctx.config.crawl.max_listing_pages
        spider.pattern = (
            re.compile(spider.spec.article_pattern) if spider.spec.article_pattern else None
        )
        spider.refresh = timedelta(hours=ctx.config.crawl.refresh_hours)
        return spider

    # -- discovery -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        ctx = get_context(self.crawler)
        self.now = ctx.clock()
        # Incremental: articles stored before the refresh window are not fetched again.
        self.known = ctx.store.known_urls(
            self.source_name, first_seen_before=self.now - self.refresh
        )
        for request in self.discovery_requests():
            yield request

    def discovery_requests(self) -> list[scrapy.Request]:
        """The feed, sitemap and listing requests that start a crawl of this source.

        Needs only ``self.spec``, so ``cityfeeds enqueue`` builds the same requests for workers.
        """
        spec: SourceSpec = self.spec
        requests = [
            self._discovery_request(url, self.parse_feed, kind="feed") for url in spec.feeds
        ]
        for url in spec.sitemaps:
            self.sitemaps_seen.add(url)
            requests.append(
                self._discovery_request(url, self.parse_sitemap, kind="sitemap", depth=0)
            )
        for i, listing in enumerate(spec.listings):
            requests.append(
                self._discovery_request(
                    listing.url, self.parse_listing, kind="listing", listing=i, page=1
                )
            )
        if not (spec.feeds or spec.sitemaps or spec.listings):
            requests.append(
                self._discovery_request(
                    spec.url, self.parse_listing, kind="listing", listing=None, page=1
                )
            )
        return requests

    def _discovery_request(
        self, url: str, callback: Any, *, kind: str, **meta: Any
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.discovery_error,
            dont_filter=True,
            priority=10,
            meta={
                "cityfeeds_kind": kind,
                "cityfeeds_conditional": True,
                "handle_httpstatus_list": [304],
                **meta,
            },
        )

    def _not_modified(self, response: Response) -> bool:
        if response.status == 304:
            self.discovery_ok += 1
            self.crawler.stats.inc_value("cityfeeds/not_modified")
            return True
        return False

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """Article links of an RSS/Atom feed (a 304 costs no parsing)."""
        if self._not_modified(response):
            return
        try:
            feed = parse_feed(
                response.body,
                response.url,
                tz=self.spec.timezone,
                now=self.now,
                content_type=content_type(response),
            )
        except (UnsafeXMLError, DiscoveryError) as exc:
            self._bad_document(response, "feed", exc)
            return
        if feed.recovered and not feed.links:
            # Broken beyond repair: nothing whole was left to read.
            self._bad_document(response, "feed", DiscoveryError("not well-formed, no entry read"))
            return
        self.discovery_ok += 1
        self._count_reading(response, "feed", feed)
        self.crawler.stats.inc_value("cityfeeds/discovered/feed", len(feed.links))
        for link in feed.links:
            yield from self._article_request(link, check_pattern=False)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Links of a sitemap; nested sitemap indexes followed to a bounded depth, once each."""
        if self._not_modified(response):
            return
        try:
            sitemap = parse_sitemap(
                response.body,
                response.url,
                tz=self.spec.timezone,
                now=self.now,
                content_type=content_type(response),
            )
        except (UnsafeXMLError, DiscoveryError) as exc:
            self._bad_document(response, "sitemap", exc)
            return
        self.discovery_ok += 1
        self._count_reading(response, "sitemap", sitemap)
        depth = response.meta.get("depth", 0)
        for url in sitemap.sitemaps:
            if url in self.sitemaps_seen:
                continue
            if depth + 1 > MAX_SITEMAP_DEPTH:
                count_drop(self.crawler, "sitemap_depth", url, level=20)
                continue
            self.sitemaps_seen.add(url)
            yield self._discovery_request(url, self.parse_sitemap, kind="sitemap", depth=depth + 1)
        # Newest first, so a page cap keeps the freshest articles.
        links = sorted(
            sitemap.links,
            key=lambda lk: lk.published.timestamp() if lk.published else 0,
            reverse=True,
        )
        self.crawler.stats.inc_value("cityfeeds/discovered/sitemap", len(links))
        for link in links:
            yield from self._article_request(link, check_pattern=True)

    def _count_reading(self, response: Response, kind: str, doc: Feed | Sitemap) -> None:
        """Count what reading a feed or sitemap lost: entries without a link, bad bytes, bad XML."""
        stats = self.crawler.stats
        if doc.skipped:
            stats.inc_value(f"cityfeeds/skipped/{kind}_entry_no_link", doc.skipped)
        if doc.invalid_bytes:
            stats.inc_value("cityfeeds/invalid_bytes", doc.invalid_bytes)
        if doc.recovered:
            # Not well-formed (often truncated): what was whole is kept, the rest may be lost.
            stats.inc_value(f"cityfeeds/recovered/{kind}")
            self.logger.warning(
                "[%s] %s is not well-formed XML (kept what was whole): %s",
                self.source_name,
                kind,
                response.url,
            )

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """Article links of an HTML listing page, then its next page up to the pagination cap."""
        if self._not_modified(response):
            return
        index = response.meta.get("listing")
        listing = self.spec.listings[index] if index is not None else None
        pattern = (
            re.compile(listing.link_pattern) if listing and listing.link_pattern else self.pattern
        )
        if not is_html(response):
            self._bad_document(response, "listing", ValueError("not an HTML page"))
            return
        self.discovery_ok += 1
        links = listing_links(response.text, response.url, pattern=pattern)
        self.crawler.stats.inc_value("cityfeeds/discovered/listing", len(links))
        for url in links:
            yield from self._article_request(Link(url=url), check_pattern=pattern is None)
        page = response.meta.get("page", 1)
        cap = (
            listing.max_pages if listing and listing.max_pages else None
        ) or self.max_listing_pages
        if listing and listing.next_page and page < cap:
            next_url = self._next_page_url(listing.next_page, response, page + 1)
            if next_url:
                yield self._discovery_request(
                    next_url, self.parse_listing, kind="listing", listing=index, page=page + 1
                )

    @staticmethod
    def _next_page_url(rule: str, response: Response, page: int) -> str | None:
        if "{page}" in rule:
            return rule.replace("{page}", str(page))
        if rule.startswith("xpath:"):
            href = response.xpath(rule.removeprefix("xpath:")).get()
        else:
            href = response.css(rule.removeprefix("css:")).attrib.get("href")
        return response.urljoin(href) if href else None

    def _article_request(self, link: Link, *, check_pattern: bool) -> Iterator[scrapy.Request]:
        stats = self.crawler.stats
        if not registered_domain_matches(host_of(link.url), self.allowed_domains):
            stats.inc_value("cityfeeds/skipped/offsite")
            return
        if check_pattern and self.pattern is not None and not self.pattern.search(link.url):
            stats.inc_value("cityfeeds/skipped/not_article")
            return
        if url_identity(link.url) in self.known:
            stats.inc_value("cityfeeds/requests_avoided")
            return
        if self.article_requests >= self.max_pages:
            stats.inc_value("cityfeeds/skipped/page_cap")
            return
        self.article_requests += 1
        yield scrapy.Request(
            link.url,
            callback=self.parse_article,
            errback=self.article_error,
            meta={"cityfeeds_kind": "article", "cityfeeds_link": link},
        )

    # -- errors ----------------------------------------------------------------------------

    def _bad_document(self, response: Response, kind: str, exc: Exception) -> None:
        self.discovery_failed += 1
        reason = "unsafe_xml" if isinstance(exc, UnsafeXMLError) else f"bad_{kind}"
        count_drop(self.crawler, reason, f"{response.url}: {exc}")
        self.crawler.stats.inc_value("cityfeeds/source_errors")

    def discovery_error(self, failure: Failure) -> None:
        """A feed/sitemap/listing could not be fetched: counted; the run may still succeed."""
        if isinstance(failure.value, NotFetched):
            return  # the run stopped before this request left: counted as not fetched
        self.discovery_failed += 1
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("cityfeeds/errors/discovery")
        # A policy block was logged where it happened; other failures are logged here, once.
        log = self.logger.info if isinstance(failure.value, Blocked) else self.logger.warning
        log("[%s] cannot fetch %s: %s", self.source_name, request.url, failure_text(failure))
        note_retry_after(self.crawler.stats, failure)

    def article_error(self, failure: Failure) -> None:
        """An article page could not be fetched: counted and logged, never silently lost."""
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, NotFetched):
            return  # the run stopped before this request left: counted as not fetched
        self.crawler.stats.inc_value("cityfeeds/errors/article")
        if not isinstance(failure.value, Blocked):  # a policy block is counted where it happened
            count_drop(self.crawler, "fetch_error", f"{request.url}: {failure_text(failure)}")
        note_retry_after(self.crawler.stats, failure)
