"""BrowserGuardMiddleware: which requests are rendered; page-side SSRF, robots and size rules."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response

from crawler.browser import SETTLE_CAP_SECONDS
from crawler.browser.page import META_BLOCKED, META_HOSTS, META_ROBOTS, PageTooLarge, settle
from crawler.context import count_drop
from crawler.middlewares.policy import HTTP_SCHEMES, Blocked
from crawler.normalize.urls import host_of, registered_domain_matches

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.middlewares.robots import PoliteRobotsTxtMiddleware

#: Request meta set by NewsSpider: what a request is for.
META_KIND = "cityfeeds_kind"


class BrowserGuardMiddleware:
    """Send a render source's listing pages (and, with ``render_articles``, its articles) to
    the browser, each guarded; count the requests pages tried and were refused.

    Installed only in crawls with a rendered source (``crawler.browser.browser_settings``),
    right after SafetyMiddleware, which has already checked the page's own URL. Refused page
    requests count as ``blocked_private`` or ``blocked_scheme``, like the crawl's own; those to
    the crawled site that its robots.txt forbids, as ``robots_disallowed``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.cap = min(SETTLE_CAP_SECONDS, settings.getfloat("DOWNLOAD_TIMEOUT", 30))
        self.max_chars = settings.getint("DOWNLOAD_MAXSIZE", 8 * 1024 * 1024)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spec = getattr(self.crawler.spider, "spec", None)
        if spec is None or not getattr(spec, "render", ""):
            return None
        kind = request.meta.get(META_KIND)
        if kind != "listing" and not (kind == "article" and spec.render_articles):
            return None
        from scrapy_playwright.page import PageMethod  # the optional extra: present here

        # A private source (tests, intranet) may reach its own host; never any other.
        hosts = [host_of(request.url)] if spec.allow_private else []
        request.meta["playwright"] = True
        request.meta[META_HOSTS] = hosts
        request.meta["playwright_context_kwargs"] = {
            "user_agent": self.crawler.settings.get("USER_AGENT"),
            "service_workers": "block",
            "accept_downloads": False,
        }
        request.meta[META_ROBOTS] = partial(self._robots_allow, tuple(spec.allowed_domains))
        request.meta["playwright_page_init_callback"] = "crawler.browser.page.guard_page"
        request.meta["playwright_page_goto_kwargs"] = {"wait_until": "domcontentloaded"}
        request.meta["playwright_page_methods"] = [
            PageMethod(settle, self.cap, spec.render_wait, self.max_chars, self._stopping)
        ]
        return None

    async def _robots_allow(self, domains: tuple[str, ...], url: str, page_url: str) -> bool:
        """Whether robots.txt lets the page at ``page_url`` request ``url`` of the crawled site.

        The crawl's own rules and user agent (PoliteRobotsTxtMiddleware, which counts and logs
        a refusal); hosts outside the source's ``allowed_domains`` (CDNs) are not the site's.
        """
        robots: PoliteRobotsTxtMiddleware | None = getattr(self.crawler, "cityfeeds_robots", None)
        if robots is None or urlsplit(url).scheme not in HTTP_SCHEMES:
            return True
        if not registered_domain_matches(host_of(url), list(domains)):
            return True
        try:
            await robots.check_url(url, requested_by=page_url)
        except Blocked:
            return False
        return True

    def _stopping(self) -> bool:
        """True once the crawl is shutting down (SIGTERM, Ctrl-C, run timeout)."""
        engine = self.crawler.engine
        return engine is None or not engine.running

    def process_response(self, request: Request, response: Response) -> Response:
        self._count(request)
        if response.url.startswith("chrome-error:"):
            # The page navigated itself somewhere refused (a private address): what is left
            # is Chromium's error page, reported under the page that was asked for.
            return response.replace(url=request.url)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._count(request)
        if isinstance(exception, PageTooLarge):
            count_drop(self.crawler, "too_large", f"{request.url}: {exception}", request=request)
        return None

    def _count(self, request: Request) -> None:
        for what in request.meta.pop(META_BLOCKED, []):
            why = what.rpartition(": ")[2]
            reason = "blocked_scheme" if why.startswith("scheme") else "blocked_private"
            count_drop(
                self.crawler,
                reason,
                f"{what} (requested by the page {request.url})",
                request=request,
            )
