"""In-process crawlers for the middleware tests: get_crawler, a one-source spider, a fake engine.

No crawl runs and nothing is fetched: the tests build Requests and Responses and call the
middleware's hooks; what a hook needs from the engine (robots.txt downloads, download slots,
closing the spider) is answered by ``FakeEngine``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T = TypeVar("T")


class SampleSpider(scrapy.Spider):
    """A spider for one source, ``vm`` (vm.ru), as the middlewares see it."""

    name = "sample"
    source_name = "vm"
    allowed_domains = ("vm.ru",)


def make_crawler(
    tmp_path: Path, *, allow_private: bool = False, settings: Mapping[str, Any] | None = None
) -> Crawler:
    """A configured crawler whose spider is open (``crawler.spider``) but which never runs."""
    crawler = get_crawler(
        SampleSpider,
        {
            "CITYFEEDS_CONFIG": str(ROOT / "cityfeeds.toml"),
            "CITYFEEDS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "CITYFEEDS_CLOCK": lambda: NOW,
            "ROBOTSTXT_OBEY": True,
            "USER_AGENT": "cityfeeds-test/1.0",
            **(settings or {}),
        },
    )
    spider = SampleSpider()
    spider.spec = SimpleNamespace(allow_private=allow_private)  # type: ignore[attr-defined]
    crawler.spider = spider
    return crawler


class FakeSlot:
    """A download slot: its delay, jitter and the requests waiting in it."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.jitter = 0.5
        self.queue: deque[tuple[Request, Deferred[Any]]] = deque()


class FakeEngine:
    """The parts of Scrapy's engine the middlewares call, answering from a table of URLs."""

    def __init__(self, answers: Mapping[str, Response | Exception] | None = None) -> None:
        self.answers = dict(answers or {})
        self.downloaded: list[Request] = []
        self.closed: list[str] = []
        self.downloader = SimpleNamespace(slots={}, per_slot_settings={}, active=set())

    async def download_async(self, request: Request) -> Response:
        self.downloaded.append(request)
        answer = self.answers[request.url]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def close_spider_async(self, *, reason: str) -> None:
        self.closed.append(reason)


def queue_in_slot(slot: FakeSlot, request: Request) -> list[Failure]:
    """Put ``request`` in ``slot``'s queue; returns the list its errback failures land in."""
    failures: list[Failure] = []
    deferred: Deferred[Any] = Deferred()
    deferred.addErrback(failures.append)
    slot.queue.append((request, deferred))
    return failures


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one middleware coroutine to the end on a fresh asyncio loop (no reactor needed)."""

    async def main() -> T:
        result = await coro
        await asyncio.sleep(0)  # let tasks the hook scheduled (closing the spider) run
        return result

    return asyncio.run(main())
