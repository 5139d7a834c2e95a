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

Scrapy keeps its slots per crawler, and cityfeeds runs one crawler per source: two sources on
one host (two sections of one site) each got the host's whole limit and delay. A
:class:`HostGate` per host, shared by every crawler of the process, holds a request until
the host has a free place and its delay since the last request started has passed.

The fix replaces a private method of Scrapy's and so relies on Scrapy's
internals: tests/crawler/test_downloader.py crawls a loopback site and fails if a host ever
gets more requests at once than its limit, so a Scrapy release that renames the method (and
so bypasses this one) without fixing the bug is caught.
"""

from __future__ import annotations

import asyncio
from time import monotonic
from typing import TYPE_CHECKING

from scrapy.core.downloader import Downloader as ScrapyDownloader
from scrapy.core.downloader import Slot
from scrapy.utils.asyncio import call_later, is_asyncio_available
from scrapy.utils.defer import _schedule_coro

from crawler.middlewares.robots import META_ROBOTS

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

__all__ = ["Downloader", "HostGate"]


class HostGate:
    """One host's places and pace, shared by every crawler of this process.

    A request takes one of ``concurrency`` places for its download, and starts no sooner than
    the slot's delay after the request before it, whichever crawler sent that one.
    """

    def __init__(self, concurrency: int) -> None:
        self.places = asyncio.Semaphore(concurrency)
        self.next_start = 0.0
        #: The event loop it serves: a process crawls in one, but tests may run several.
        self.loop = asyncio.get_running_loop()

    async def pace(self, delay: float) -> None:
        """Wait for this request's start: ``delay`` after the previous one's.

        The start is reserved before waiting, so requests waiting together start one delay
        apart, not all at once when the first wait ends.
        """
        start = max(monotonic(), self.next_start)
        self.next_start = start + delay
        if (wait := start - monotonic()) > 0:
            await asyncio.sleep(wait)


#: The host gates of this process, by download slot key (the host, unless a request names its
#: own slot).
GATES: dict[str, HostGate] = {}


class Downloader(ScrapyDownloader):
    """Scrapy's ``Downloader`` whose slots never start more requests than their concurrency,
    with each host's limit and delay kept across the crawlers of the process."""

    async def _download(self, slot: Slot, request: Request) -> Response:
        # robots.txt passes the gate (one per host and crawler, and Scrapy's slot still holds
        # it): a page rendered in the browser holds its place while it waits for the requests
        # it makes, which wait for their host's robots.txt; through a gate full of such pages,
        # no robots.txt would ever come.
        if request.meta.get(META_ROBOTS) or not is_asyncio_available():
            return await super()._download(slot, request)
        key = self.get_slot_key(request)
        gate = GATES.get(key)
        if gate is None or gate.loop is not asyncio.get_running_loop():
            gate = GATES[key] = HostGate(slot.concurrency)
        async with gate.places:
            await gate.pace(slot.download_delay())
            return await super()._download(slot, request)

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
