"""Honour ``Retry-After`` on 429/503: wait briefly in the reactor, or stop the source's run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from crawler.context import get_context
from crawler.middlewares.policy import drain_download_queues, not_fetched, running_engine
from crawler.normalize.dates import parse_retry_after

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class RetryAfterMiddleware:
    """Honour ``Retry-After`` on 429/503 without ever blocking the reactor (scrapy#3849).

    A short wait (up to ``CITYFEEDS_RETRY_AFTER_MAX_WAIT`` seconds) is spent in the reactor
    (``deferLater``) before RetryMiddleware retries, and the host's download slot is slowed to
    match. A longer one stops the source's run at once (close reason ``retry_after``): the run
    is recorded as ``deferred`` with ``retry_after`` seconds in its stats, which the scheduler
    uses as the earliest next attempt. From that moment no request leaves for the host: those
    already queued in its download slot, and any that arrive later, are refused and counted as
    ``not_fetched/retry_after`` (discovered again next run).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("CITYFEEDS_RETRY_AFTER_MAX_WAIT", 10.0)
        self.max_retry_times = crawler.settings.getint("RETRY_TIMES")
        self.closing = False
        self.stopped_hosts: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if self.stopped_hosts and urlparse_cached(request).hostname in self.stopped_hosts:
            raise not_fetched(self.crawler, request, "retry_after")
        return None

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in (429, 503):
            return response
        header = response.headers.get(b"Retry-After")
        if not header:
            return response
        stats = self.crawler.stats
        assert stats is not None
        seconds = parse_retry_after(
            header.decode("latin-1", "replace"), get_context(self.crawler).clock()
        )
        if seconds is None:
            return response
        stats.set_value("cityfeeds/last_status", response.status)
        retries = request.meta.get("retry_times", 0)
        if seconds <= self.max_wait:
            if retries < request.meta.get("max_retry_times", self.max_retry_times):
                self._slow_slot(request, seconds)
                logger.info(
                    "HTTP %s from %s: waiting %.1fs (Retry-After) before retrying",
                    response.status,
                    request.url,
                    seconds,
                )
                await _sleep(seconds)
            return response
        # Too long to wait inside this run: stop the source and let the scheduler back off.
        previous = stats.get_value("cityfeeds/retry_after") or 0
        stats.set_value("cityfeeds/retry_after", int(max(previous, seconds)))
        request.meta["dont_retry"] = True
        self._stop_host(urlparse_cached(request).hostname or "")
        if not self.closing:
            self.closing = True
            logger.warning(
                "HTTP %s from %s with Retry-After %ss: stopping this run, retried later",
                response.status,
                request.url,
                int(seconds),
            )
            assert self.crawler.engine is not None
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="retry_after"))
        return response

    def _stop_host(self, host: str) -> None:
        """Refuse every request for ``host`` from now on, starting with those already queued.

        Requests waiting in a download slot (for DOWNLOAD_DELAY or a free connection) have
        passed ``process_request`` already; they are taken out of the queue and failed here.
        """
        self.stopped_hosts.add(host)
        drain_download_queues(self.crawler, "retry_after", host=host)

    def _slow_slot(self, request: Request, seconds: float) -> None:
        engine = running_engine(self.crawler)
        slot_key = request.meta.get("download_slot")
        if engine is None or slot_key is None:
            return
        slot = engine.downloader.slots.get(slot_key)
        if slot is not None:
            slot.delay = max(slot.delay, seconds)


async def _sleep(seconds: float) -> None:
    # Imported here: importing twisted.internet.reactor installs a reactor, which must be
    # the one Scrapy chose (TWISTED_REACTOR), so only once a crawl is running.
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))  # type: ignore[arg-type]
