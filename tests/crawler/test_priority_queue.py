"""The counted priority queues give requests in Scrapy's order, with Scrapy's lengths."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.pqueues import DownloaderAwarePriorityQueue, ScrapyPriorityQueue
from scrapy.squeues import FifoMemoryQueue, LifoMemoryQueue
from scrapy.utils.test import get_crawler

from crawler.priority_queue import CountedDownloaderAwarePriorityQueue, CountedPriorityQueue
from crawler.settings import SCHEDULER_PRIORITY_QUEUE


def _crawler() -> Any:
    crawler = get_crawler()
    # DownloaderAwarePriorityQueue asks the downloader for slots and their active requests.
    downloader = SimpleNamespace(slots={}, get_slot_key=lambda r: urlsplit(r.url).hostname)
    crawler.engine = SimpleNamespace(downloader=downloader)
    return crawler


def _requests(rng: random.Random, n: int) -> list[Request]:
    """Articles ranked in their document (one priority each), discovery, start requests."""
    requests = []
    for i in range(n):
        kind = rng.random()
        host = rng.choice(["a.example", "b.example"])
        if kind < 0.7:
            priority = 9 - rng.randrange(200)
        else:
            priority = rng.choice([10, 0, -1])
        meta = {"is_start_request": True} if kind > 0.9 else {}
        requests.append(Request(f"https://{host}/{i}", priority=priority, meta=meta))
    return requests


def _drain(queue: Any, requests: list[Request], rng: random.Random) -> list[tuple[str, int]]:
    """Pushes and pops interleaved as a crawl does them: each pop with the length after it."""
    out: list[tuple[str, int]] = []
    pending = list(requests)
    for _ in range(4 * len(requests)):  # bounded: a queue that never empties fails the test
        if not (pending or len(queue)):
            break
        if pending and rng.random() < 0.6:
            queue.push(pending.pop(0))
            out.append(("push", len(queue)))
            continue
        request = queue.pop()
        out.append((request.url if request is not None else "-", len(queue)))
    return out


@pytest.mark.parametrize(
    ("scrapys", "ours"),
    [
        (ScrapyPriorityQueue, CountedPriorityQueue),
        (DownloaderAwarePriorityQueue, CountedDownloaderAwarePriorityQueue),
    ],
)
@pytest.mark.parametrize("seed", range(5))
def test_requests_come_out_in_scrapys_order(scrapys: Any, ours: Any, seed: int) -> None:
    requests = _requests(random.Random(seed), 600)
    runs = []
    for cls in (scrapys, ours):
        queue = cls.from_crawler(_crawler(), LifoMemoryQueue, "", start_queue_cls=FifoMemoryQueue)
        runs.append(_drain(queue, requests, random.Random(seed)))
    assert runs[0] == runs[1]
    assert sum(1 for url, _ in runs[1] if url.startswith("https://")) == len(requests)


def test_the_crawl_uses_the_counted_queue() -> None:
    assert SCHEDULER_PRIORITY_QUEUE == (
        f"{CountedDownloaderAwarePriorityQueue.__module__}."
        f"{CountedDownloaderAwarePriorityQueue.__qualname__}"
    )
