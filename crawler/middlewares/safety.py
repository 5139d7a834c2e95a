"""The SSRF guard: only http(s), and no request or redirect hop to a private address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.utils.httpobj import urlparse_cached

from crawler.middlewares.policy import HTTP_SCHEMES, SourcePolicy, block

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class SafetyMiddleware:
    """Only http(s); no request and no redirect hop to private, loopback or link-local addresses.

    Runs first among the request-side middlewares. Direct requests are counted as
    ``blocked_private``/``blocked_scheme``; any hop of a redirect chain (3xx or meta refresh)
    that leaves the source's allowed domains or reaches a private address as
    ``blocked_redirect``. Sources with ``allow_private = true`` (tests, the demo, intranet
    sites) skip the address check but keep the scheme and domain rules.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.policy = SourcePolicy(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        scheme = urlparse_cached(request).scheme
        if scheme not in HTTP_SCHEMES:
            raise block(
                self.crawler,
                "blocked_scheme",
                request.url,
                f"scheme {scheme!r} not allowed",
                request=request,
            )
        if request.meta.get("redirect_urls"):
            why = await self.policy.redirect_reason(request.url, request)
            if why:
                raise block(self.crawler, "blocked_redirect", request.url, why, request=request)
            return None
        why = await self.policy.private_reason(request.url, request)
        if why:
            raise block(self.crawler, "blocked_private", request.url, why, request=request)
        return None
