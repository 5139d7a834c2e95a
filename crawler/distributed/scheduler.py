"""The shared queue's ``SCHEDULER``: scrapy-redis' scheduler without Scrapy 2.14+ deprecations."""

from __future__ import annotations

import logging
import pickle

import scrapy
from scrapy_redis.scheduler import Scheduler

from crawler.context import count_drop


class RedisScheduler(Scheduler):
    """scrapy-redis' scheduler, minus the ``spider=`` stats arguments Scrapy 2.14+ deprecates."""

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
        return request
