"""Fault catalogue F10: the shared queue of distributed workers (crawler.distributed).

Every request a worker pops either loads (dates in a source's zone included) or is counted as
dropped with its reason; none disappears without a trace.
"""

from __future__ import annotations

import pickle
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import scrapy
from scrapy.utils.test import get_crawler

from crawler.discovery import Link
from crawler.distributed import serialize
from crawler.distributed.scheduler import RedisOutage, RedisScheduler
from crawler.distributed.serialize import loads
from crawler.distributed.spider import DistributedNewsSpider

pytestmark = [pytest.mark.fault]


def test_f10_a_link_dated_in_a_zone_travels_through_the_queue() -> None:
    """A date-only sitemap ``lastmod`` or a zone-less feed date is placed in the source's zone;
    its ZoneInfo pickles through ``getattr(ZoneInfo, "_unpickle")``, which must load."""
    published = datetime(2026, 12, 5, tzinfo=ZoneInfo("Europe/Moscow"))
    link = Link(url="https://vm.ru/news/2", title="Т", published=published)
    request = scrapy.Request("https://vm.ru/news/2", meta={"cityfeeds_link": link})
    loaded = loads(serialize.dumps(request.to_dict()))
    assert loaded["meta"]["cityfeeds_link"] == link
    assert loaded["meta"]["cityfeeds_link"].published.tzinfo is ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize("target", [("os", "system"), ("builtins", "eval")])
def test_f10_getattr_loads_nothing_but_the_zone_reduction(target: tuple[str, str]) -> None:
    # getattr(<allowed class>, name) for any other name is refused too.
    payload = pickle.dumps(_GetattrOf(ZoneInfo, target[1]), protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        loads(payload)


class _GetattrOf:
    """Pickles as ``getattr(obj, name)``: what a hostile queue entry could send."""

    def __init__(self, obj: object, name: str) -> None:
        self.obj, self.name = obj, name

    def __reduce__(self) -> tuple[object, tuple[object, str]]:
        return getattr, (self.obj, self.name)


def test_f10_a_queued_request_that_cannot_load_is_counted_not_lost() -> None:
    """The worker's scheduler pops an entry it cannot load (a refused type): the page is
    counted as dropped (``bad_queued_request``) and logged, and the crawl goes on."""

    class Unloadable:
        def pop(self, timeout: int = 0) -> None:
            raise pickle.UnpicklingError("refusing to load os.system from the shared queue")

    crawler = get_crawler(DistributedNewsSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    scheduler = RedisScheduler.__new__(RedisScheduler)
    scheduler.queue, scheduler.idle_before_close, scheduler.stats = Unloadable(), 0, crawler.stats
    scheduler.outage = RedisOutage()
    scheduler.spider = DistributedNewsSpider.from_crawler(crawler)
    assert scheduler.next_request() is None
    assert crawler.stats.get_value("cityfeeds/dropped/bad_queued_request") == 1  # type: ignore[union-attr]
