"""The shared queue's ``SCHEDULER``: scrapy-redis' scheduler without Scrapy 2.14+ deprecations."""

from __future__ import annotations

import logging
import pickle

import scrapy
from scrapy_redis.scheduler import Scheduler

from crawler.context import count_drop
from crawler.distributed.settings import SOURCE_META


class RedisScheduler(Scheduler):
    """scrapy-redis' scheduler, minus the ``spider=`` stats arguments Scrapy 2.14+ deprecates,
    handing out only requests of a source the worker serves (the others are counted drops)."""

    def enqueue_request(self, request: scrapy.Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> scrapy.Request | None:
        try:
            request = self.queue.pop(self.idle_before_close)
        except (pickle.UnpicklingError, ValueError, KeyError, AttributeError, TypeError) as exc:
            # A queued request this worker cannot load (refused type, another version's
            # callback): it is gone from the queue, so it is counted and logged, not lost.
            count_drop(
                self.spider.crawler, "bad_queued_request", str(exc)[:200], level=logging.ERROR
            )
            return None
        if request and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        serves = getattr(self.spider, "serves", None)
        if request is not None and serves is not None and not serves(request):
            # Queued under a newer config than this worker's: not fetched (its source's
            # policy is unknown), counted in the worker's run and in the run it was queued for.
            count_drop(
                self.spider.crawler,
                "unknown_source",
                f"{request.url}: source {request.meta.get(SOURCE_META)!r} is not in this "
                "worker's config",
                request=request,
            )
            return None
        return request
