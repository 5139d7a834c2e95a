"""Progress lines on long crawls: one per running source every few seconds (``cityfeeds crawl``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.normalize.urls import host_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class Progress:
    """Every few seconds, print one progress line per running source (``cityfeeds crawl``)."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None
        self.last_line = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        if not crawler.settings.getbool("CITYFEEDS_PROGRESS"):
            raise NotConfigured
        ext = cls(crawler, crawler.settings.getfloat("CITYFEEDS_PROGRESS_INTERVAL", 5.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.loop = task.LoopingCall(self.report, spider)
        self.loop.start(self.interval, now=False)

    def report(self, spider: Any) -> None:
        assert self.crawler.stats is not None
        s = self.crawler.stats.get_stats()
        if not s.get("downloader/response_count"):
            # A silent host: say once what the crawl waits for, not "0 responses" every 5 s.
            timeout = self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
            spec = getattr(spider, "spec", None)
            host = host_of(spec.url) if spec is not None else "the site"
            line = (
                f"  [{spider.source_name}] waiting for {host} to answer "
                f"(gives up {timeout:g} s after each request)"
            )
        else:
            line = (
                f"  [{spider.source_name}] {s.get('downloader/response_count', 0)} responses, "
                f"{s.get('cityfeeds/pages', 0)} articles fetched, "
                f"{s.get('cityfeeds/new', 0)} new, {s.get('cityfeeds/updated', 0)} updated"
            )
        if line != self.last_line:  # nothing new: no line
            print(line, file=sys.stderr, flush=True)
            self.last_line = line

    def spider_closed(self, spider: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
