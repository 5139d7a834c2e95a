"""What the middlewares share: counted refusals and draining the download queues."""

from __future__ import annotations

from pathlib import Path

from mw_samples import FakeEngine, FakeSlot, make_crawler, queue_in_slot
from scrapy.http import Request

from crawler.middlewares.policy import Blocked, NotFetched, block, drain_download_queues


def test_block_counts_the_drop_by_reason(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path)
    exc = block(crawler, "blocked_private", "http://10.0.0.1/", "private address 10.0.0.1")
    assert isinstance(exc, Blocked) and exc.reason == "blocked_private"
    assert crawler.stats.get_value("cityfeeds/dropped/blocked_private") == 1


def test_drain_takes_a_hosts_waiting_requests_out_as_not_fetched(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path)
    crawler.engine = engine = FakeEngine()  # type: ignore[assignment]
    engine.downloader.slots = {"vm.ru": (vm := FakeSlot()), "m24.ru": (m24 := FakeSlot())}
    vm_failures = queue_in_slot(vm, Request("https://vm.ru/news/1"))
    m24_failures = queue_in_slot(m24, Request("https://m24.ru/news/1"))
    assert drain_download_queues(crawler, "retry_after", host="vm.ru") == 1
    assert not vm.queue and len(m24.queue) == 1 and m24_failures == []
    assert isinstance(vm_failures[0].value, NotFetched)
    assert drain_download_queues(crawler, "interrupted") == 1
    assert crawler.stats.get_value("cityfeeds/not_fetched/retry_after") == 1
    assert crawler.stats.get_value("cityfeeds/not_fetched/interrupted") == 1


def test_drain_without_an_engine_is_a_no_op(tmp_path: Path) -> None:
    assert drain_download_queues(make_crawler(tmp_path), "interrupted") == 0
