"""Refuse a 3xx whose ``Location`` leaves the source or reaches a private address."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.middlewares.policy import REDIRECT_STATUSES, SourcePolicy, block

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class RedirectGuardMiddleware:
    """Check a 3xx ``Location`` before Scrapy's RedirectMiddleware builds the next request.

    Scrapy silently hands back a redirect to ``file:``/``data:`` as a 3xx response and follows
    ``dont_filter`` requests to any host; here both are refused and counted as
    ``blocked_redirect`` (GHSA-23j4-mw76-5v7h). A redirect back to a URL of its own chain is
    counted as ``redirect_loop``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.policy = SourcePolicy(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuardMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in REDIRECT_STATUSES or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        raw = location.decode("latin-1").strip()
        if raw.startswith("//"):
            raw = urlparse_cached(request).scheme + ":" + raw
        target = urljoin(request.url, raw)
        why = await self.policy.redirect_reason(target, request)
        if why:
            raise block(
                self.crawler,
                "blocked_redirect",
                target,
                f"{why} (redirected from {request.url})",
                request=request,
            )
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        # Exact URLs (without fragments): "/a" -> "/a/" and http -> https are one article's
        # addresses, and those redirects are how sites say which one is canonical.
        if urldefrag(target).url in {urldefrag(u).url for u in chain}:
            # Scrapy's duplicate filter would drop the next hop without a word: the page was
            # simply gone from the run. Counted and said once, with the loop.
            raise block(
                self.crawler,
                "redirect_loop",
                chain[0],
                " -> ".join([*chain[1:], target]),
                request=request,
            )
        return response
