"""The shared queue's ``DUPEFILTER_CLASS``: "fetched recently", per source, in Redis with a TTL."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import scrapy
from scrapy.dupefilters import BaseDupeFilter
from scrapy_redis.connection import get_redis_from_settings

from crawler.distributed.settings import DEFAULT_DUPEFILTER_TTL, SOURCE_META, dupefilter_key
from crawler.normalize.urls import url_identity

logger = logging.getLogger(__name__)


class SourceDupeFilter(BaseDupeFilter):
    """Shared "fetched recently" filter: one Redis key per source and URL, expiring after a TTL.

    ``SET key 1 NX EX ttl`` is atomic, so two workers discovering the same article fetch it
    once. Memory is bounded by the URLs discovered within one TTL, and a URL can be fetched
    again once its key expires — the next crawl cycle re-checks articles still inside the
    refresh window for edits (older ones are skipped by the store's known-URL check).
    """

    def __init__(self, server: Any, prefix: str, ttl: int, debug: bool = False) -> None:
        self.server = server
        self.prefix = prefix
        self.ttl = max(1, int(ttl))
        self.debug = debug
        self.filtered = 0

    @classmethod
    def from_settings(cls, settings: Any) -> SourceDupeFilter:
        """Build from Scrapy settings (``REDIS_URL``, ``SCHEDULER_DUPEFILTER_KEY``, TTL)."""
        return cls(
            get_redis_from_settings(settings),
            settings.get("SCHEDULER_DUPEFILTER_KEY") or dupefilter_key(),
            settings.getint("CITYFEEDS_DUPEFILTER_TTL", DEFAULT_DUPEFILTER_TTL),
            settings.getbool("DUPEFILTER_DEBUG"),
        )

    @classmethod
    def from_crawler(cls, crawler: Any) -> SourceDupeFilter:
        return cls.from_settings(crawler.settings)

    @classmethod
    def from_spider(cls, spider: scrapy.Spider) -> SourceDupeFilter:
        """The constructor scrapy-redis' scheduler calls."""
        return cls.from_settings(spider.settings)

    def key(self, request: scrapy.Request) -> str:
        """The Redis key recording that this request's URL was scheduled."""
        source = request.meta.get(SOURCE_META) or "_"
        try:
            identity = url_identity(request.url)
        except ValueError:
            identity = request.url
        digest = hashlib.sha1(f"{request.method} {identity}".encode()).hexdigest()
        return f"{self.prefix}:{source}:{digest}"

    def request_seen(self, request: scrapy.Request) -> bool:
        return self.server.set(self.key(request), b"1", nx=True, ex=self.ttl) is None

    def clear(self) -> None:
        """Forget every URL (tests, or a deliberate full re-crawl)."""
        for key in self.server.scan_iter(match=f"{self.prefix}:*", count=1000):
            self.server.delete(key)

    def close(self, reason: str = "") -> None:
        # Shared state: other workers still rely on it.
        return None

    def log(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        self.filtered += 1
        if self.debug:
            logger.debug("filtered duplicate request %s", request)
