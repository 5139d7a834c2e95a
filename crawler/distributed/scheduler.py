"""The shared queue's ``SCHEDULER``: scrapy-redis' scheduler without Scrapy 2.14+ deprecations."""

from __future__ import annotations

import scrapy
from scrapy_redis.scheduler import Scheduler


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
        request = self.queue.pop(self.idle_before_close)
        if request and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request
