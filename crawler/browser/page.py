"""What a rendered page may do: SSRF and robots.txt rules, no images, a capped settle wait."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from crawler.normalize.urls import host_of, is_private_address

logger = logging.getLogger(__name__)

#: Resource types a listing never needs: aborted before they are downloaded.
SKIPPED_RESOURCES = frozenset({"image", "font", "media"})
SETTLE_STEP_SECONDS = 0.5
PAGE_SCHEMES = frozenset({"http", "https", "ws", "wss"})
#: Request meta: hosts a page may reach even when private (the source's own, allow_private).
META_HOSTS = "cityfeeds_browser_hosts"
#: Request meta: what the page tried and was refused, counted by BrowserGuardMiddleware.
META_BLOCKED = "cityfeeds_browser_blocked"
#: Request meta: ``async (url, page_url) -> bool``, whether robots.txt lets the page request
#: ``url`` (it counts a refusal itself); absent when robots.txt is not obeyed.
META_ROBOTS = "cityfeeds_browser_robots"


#: How long reading a settled page's HTML may take (an endless loop keeps the page's main
#: thread, which serializes the DOM, busy for good).
CONTENT_WAIT_SECONDS = 5.0


class PageTooLarge(ValueError):
    """A rendered page grew past the crawl's response size limit."""


class PageStuck(RuntimeError):
    """A rendered page whose scripts keep it too busy to be read."""


def unwanted_request(request: Any) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: images, fonts and media are not downloaded."""
    return str(request.resource_type) in SKIPPED_RESOURCES


async def blocked_reason(url: str, allowed_hosts: list[str]) -> str | None:
    """Why a page must not reach ``url`` (None if it may): its scheme or a private address."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in PAGE_SCHEMES:
        return f"scheme {scheme or '?'!r} not allowed"
    host = host_of(url)
    if host in allowed_hosts:
        return None
    if is_private_address(host):
        return f"private address {host}"
    try:
        ipaddress.ip_address(host)
        return None  # a public IP literal
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # the browser reports the DNS failure itself
    for info in infos:
        if is_private_address(str(info[4][0])):
            return f"{host} resolves to private address {info[4][0]}"
    return None


async def guard_page(page: Any, request: Any) -> None:
    """``playwright_page_init_callback``: route every request and WebSocket the page makes.

    A request passes the SSRF rules (``blocked_reason``), then, if it is for the crawled
    site, its robots.txt (``META_ROBOTS``); a WebSocket, the SSRF rules only.

    Registered after scrapy-playwright's own route, so it runs first (Playwright runs the
    last registered route first) and hands allowed requests on with ``fallback``.
    """
    allowed = list(request.meta.get(META_HOSTS) or [])
    blocked: list[str] = request.meta.setdefault(META_BLOCKED, [])
    robots_allow = request.meta.get(META_ROBOTS)

    async def on_request(route: Any) -> None:
        url = route.request.url
        try:
            why = await blocked_reason(url, allowed)
            # The page's URL itself passed robots.txt in the downloader already.
            robots_ok = (
                why is not None
                or robots_allow is None
                or url == request.url
                or await robots_allow(url, request.url)
            )
        except Exception:
            # A request left unrouted would hang the page: refuse what could not be checked.
            logger.exception("page %s: could not check %s: refused", request.url, url)
            await route.abort("blockedbyclient")
            return
        if why is None and robots_ok:
            await route.fallback()
            return
        if why is not None:  # a robots.txt refusal is counted and logged where it is made
            blocked.append(f"{url}: {why}")
            logger.info("page %s: blocked %s (%s)", request.url, url, why)
        await route.abort("blockedbyclient")

    async def on_websocket(ws: Any) -> None:
        why = await blocked_reason(ws.url, allowed)
        if why is None:
            ws.connect_to_server()
            return
        blocked.append(f"{ws.url}: {why}")
        logger.info("page %s: blocked WebSocket %s (%s)", request.url, ws.url, why)
        await ws.close()

    await page.route(re.compile(r".*"), on_request)
    await page.route_web_socket(re.compile(r".*"), on_websocket)


async def settle(
    page: Any,
    cap: float,
    selector: str,
    max_chars: int,
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Wait for the document, then for ``selector`` or for the network to go quiet, at most
    ``cap`` seconds in all.

    When the cap is hit the page is used as it is (some pages never go quiet; a script file
    that never arrives stops the document's parsing where it stands). The wait is cut into
    short steps so a crawl that is shutting down (``stopping()``) does not keep the browser
    for the rest of the cap. A page whose scripts keep it busy is refused
    (:func:`page_html`); one that grew past ``max_chars``, like an oversized HTTP response.
    """
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    loop = asyncio.get_running_loop()
    deadline = loop.time() + cap
    loaded = False
    while (left := deadline - loop.time()) > 0 and not stopping():
        step = min(left, SETTLE_STEP_SECONDS) * 1000
        try:
            if not loaded:
                await page.wait_for_load_state("domcontentloaded", timeout=step)
                loaded = True
                continue
            if selector:
                await page.wait_for_selector(selector, timeout=step)
            else:
                await page.wait_for_load_state("networkidle", timeout=step)
            break
        except PlaywrightTimeout:
            continue
    else:
        logger.info("page %s did not settle: used as it is", page.url)
    size = len(await page_html(page))
    if size > max_chars:
        raise PageTooLarge(f"rendered page of {size} characters is over the {max_chars} limit")


async def page_html(page: Any) -> str:
    """The page's HTML as it is now; ``PageStuck`` when it cannot be read within
    :data:`CONTENT_WAIT_SECONDS`. Reading it needs the page's main thread, which a script
    that never ends (``while (true) {}``) keeps busy for good: the page is then refused at
    once, not waited for until the run's timeout (DevTools cannot stop such a script from a
    new session: its messages wait for the same thread)."""
    try:
        return str(await asyncio.wait_for(page.content(), CONTENT_WAIT_SECONDS))
    except TimeoutError:
        raise PageStuck("its scripts keep the page busy (an endless loop?)") from None
