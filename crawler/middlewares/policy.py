"""What the middlewares share: per-source policy, Blocked/NotFetched refusals, queue draining."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from crawler.context import count_drop
from crawler.normalize.urls import host_of, is_private_address, registered_domain_matches

if TYPE_CHECKING:
    from scrapy.core.engine import ExecutionEngine
    from scrapy.crawler import Crawler

HTTP_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class Blocked(IgnoreRequest):
    """A request refused by policy; already counted under ``cityfeeds/dropped/<reason>``.

    Spider errbacks recognise it and do not count the loss a second time.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        #: Why, as a run's ``cause``, when it is not the request itself (its host's robots.txt).
        self.cause: dict[str, Any] | None = None


class NotFetched(IgnoreRequest):
    """A request refused because its run decided to stop; counted under
    ``cityfeeds/not_fetched/<reason>`` (not a drop: the next run fetches it).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def not_fetched(crawler: Crawler, request: Request, reason: str) -> NotFetched:
    """Count ``request`` as not fetched for ``reason`` and return the NotFetched to raise."""
    assert crawler.stats is not None
    crawler.stats.inc_value(f"cityfeeds/not_fetched/{reason}")
    recorder = getattr(crawler, "cityfeeds_recorder", None)
    if recorder is not None:
        recorder.sent(request)  # counted here, not again as left in the scheduler
    return NotFetched(reason, f"not fetched ({reason}): {request.url}")


def running_engine(crawler: Crawler) -> ExecutionEngine | None:
    """The crawler's engine, or None before the crawl has started.

    ``Crawler.engine`` raises RuntimeError until the crawl starts (checked against Scrapy 2.19;
    older versions returned None), and an interrupt can arrive in that window.
    """
    try:
        return crawler.engine
    except RuntimeError:
        return None


def drain_download_queues(crawler: Crawler, reason: str, *, host: str | None = None) -> int:
    """Fail the requests waiting in download slots (of ``host``, or all) as not fetched.

    Requests queued in a slot (for DOWNLOAD_DELAY or a free connection) have passed every
    ``process_request`` already and would still go out after the run decided to stop. Returns
    how many were taken out.
    """
    engine = running_engine(crawler)
    if engine is None:
        return 0
    drained = 0
    for slot in engine.downloader.slots.values():
        waiting = [
            entry
            for entry in slot.queue
            if host is None or urlparse_cached(entry[0]).hostname == host
        ]
        for entry in waiting:
            slot.queue.remove(entry)
            queued_request, deferred = entry
            deferred.errback(not_fetched(crawler, queued_request, reason))
            drained += 1
    return drained


def block(
    crawler: Crawler,
    reason: str,
    url: str,
    why: str,
    *,
    level: int = logging.WARNING,
    request: Request | None = None,
) -> Blocked:
    """Count a refusal under ``cityfeeds/dropped/<reason>`` and return the Blocked to raise
    (``request``: the refused request, whose scheduled run, if any, counts it too)."""
    count_drop(crawler, reason, f"{url}: {why}", level=level, request=request)
    return Blocked(reason, f"{reason}: {url}: {why}")


class SourcePolicy:
    """What a request's source allows: its domains and whether private addresses are fine.

    A spider serving one source answers for all its requests; a distributed worker serves
    every source, so it looks the source up from the request (``policy_for``).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    def _rules(self, request: Request) -> tuple[bool, list[str]]:
        spider = self.crawler.spider
        lookup = getattr(spider, "policy_for", None)
        if lookup is not None:
            allow_private, domains = lookup(request)
            return bool(allow_private), list(domains)
        spec = getattr(spider, "spec", None)
        return (
            bool(getattr(spec, "allow_private", False)),
            list(getattr(spider, "allowed_domains", None) or []),
        )

    async def private_reason(self, url: str, request: Request) -> str | None:
        """Why ``url`` points at a private address (None if public or allowed)."""
        if self._rules(request)[0]:
            return None
        host = host_of(url)
        if is_private_address(host):
            return f"private address {host}"
        ip = await resolve(host)
        if ip is not None and is_private_address(ip):
            return f"{host} resolves to private address {ip}"
        return None

    async def redirect_reason(self, target: str, request: Request) -> str | None:
        """Why a redirect of ``request`` to ``target`` must not be followed (None if it may)."""
        scheme = urlsplit(target).scheme.lower()
        if scheme not in HTTP_SCHEMES:
            return f"scheme {scheme or '?'!r} not allowed"
        domains = self._rules(request)[1]
        if not registered_domain_matches(host_of(target), domains):
            return f"host {host_of(target)} outside allowed domains {domains}"
        return await self.private_reason(target, request)


async def resolve(host: str) -> str | None:
    """The IPv4 address of ``host`` through the reactor's (Scrapy's caching) resolver.

    Scrapy's resolver caches the answer, so the connection that follows normally uses the
    address checked here. A failed lookup returns None: the download itself then fails with a
    clear DNS error instead of being reported as blocked.
    """
    # Imported here: importing twisted.internet.reactor installs a reactor, which must be
    # the one Scrapy chose (TWISTED_REACTOR), so only once a crawl is running.
    from twisted.internet import reactor

    try:
        return str(await maybe_deferred_to_future(reactor.resolve(host)))  # type: ignore[attr-defined,arg-type]
    except Exception:
        return None
