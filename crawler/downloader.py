"""Scrapy's downloader, with each host's concurrency limit kept under the asyncio reactor.

Scrapy 2.19's ``Downloader._process_queue`` starts a slot's queued requests while the slot has
free transfer places, and counts a request as transferring only once the coroutine that
downloads it runs. Under the asyncio reactor that coroutine is a task that starts later, so one
call starts every request queued for the slot: with ``CONCURRENT_REQUESTS_PER_DOMAIN`` 8 and
``CONCURRENT_REQUESTS`` 16, a busy crawl sent up to 16 requests at once to one host, and
Twisted's pool, which keeps at most 8 idle connections per host, closed the others after one
response and opened new ones (875 connections for 2,003 requests on the bench site).
:class:`Downloader` counts each request as transferring when it is started. A download delay
was never affected: Scrapy starts one request per delay.

The fix replaces a private method of Scrapy's and so relies on Scrapy's
internals: tests/crawler/test_downloader.py crawls a loopback site and fails if a host ever
gets more requests at once than its limit, so a Scrapy release that renames the method (and
so bypasses this one) without fixing the bug is caught.
"""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader as ScrapyDownloader
from scrapy.core.downloader import Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro

__all__ = ["Downloader"]


class Downloader(ScrapyDownloader):
    """Scrapy's ``Downloader`` whose slots never start more requests than their concurrency."""

    def _process_queue(self, slot: Slot) -> None:
        # Scrapy's method, but for the marked line.
        if slot.latercall:
            return
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            # Counted now: the task that downloads it (and adds it again) starts later.
            slot.transferring.add(request)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:
                self._process_queue(slot)
                break
