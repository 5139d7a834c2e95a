"""Conditional GET for discovery URLs: send stored validators, keep new ones for a good run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.http import Response

from crawler.context import get_context

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class ConditionalGetMiddleware:
    """Send ``If-None-Match``/``If-Modified-Since`` for discovery URLs; remember new validators.

    Validators are saved only when the run ends well (see ``RunRecorder``): if article fetches
    failed, the next run must see the feed again rather than a 304 that hides the lost links.
    Nor are they saved for a document the spider rejected or for a sitemap index
    (:meth:`forget`).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pending: dict[str, tuple[str | None, str | None]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        mw = cls(crawler)
        crawler.cityfeeds_conditional = mw  # type: ignore[attr-defined]
        return mw

    def process_request(self, request: Request) -> None:
        if not request.meta.get("cityfeeds_conditional"):
            return None
        etag, last_modified = get_context(self.crawler).store.get_validators(request.url)
        if etag:
            request.headers.setdefault(b"If-None-Match", etag.encode("latin-1", "replace"))
        if last_modified:
            request.headers.setdefault(
                b"If-Modified-Since", last_modified.encode("latin-1", "replace")
            )
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("cityfeeds_conditional") and response.status == 200:
            etag = response.headers.get(b"ETag")
            last_modified = response.headers.get(b"Last-Modified")
            if etag or last_modified:
                self.pending[request.url] = (
                    etag.decode("latin-1") if etag else None,
                    last_modified.decode("latin-1") if last_modified else None,
                )
        return response

    def forget(self, url: str) -> None:
        """Keep no validators from this run for ``url``: a document the crawl rejected (a
        broken or unsafe feed would answer 304 and pass for read), or a sitemap index (a 304
        would hide the child sitemaps, where its new articles are). The ones stored before, of
        a document read whole, stay."""
        self.pending.pop(url, None)

    def commit(self) -> None:
        """Store the validators seen in this run (called when the run succeeded)."""
        ctx = get_context(self.crawler)
        for url, (etag, last_modified) in self.pending.items():
            ctx.store.set_validators(url, etag, last_modified, now=ctx.clock())
        self.pending.clear()

    def process_exception(self, request: Request, exception: Exception) -> Any:
        return None
