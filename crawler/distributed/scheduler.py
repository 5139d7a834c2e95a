"""The shared queue's ``SCHEDULER``: scrapy-redis' scheduler without Scrapy 2.14+ deprecations."""

from __future__ import annotations

import logging
import pickle
import time
import warnings
from collections.abc import Callable

import scrapy
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from scrapy.exceptions import ScrapyDeprecationWarning
from scrapy_redis.scheduler import Scheduler

from crawler.context import count_drop
from crawler.distributed.settings import CLAIMED_META, SOURCE_META

logger = logging.getLogger(__name__)

#: What Redis going away raises (refused, reset, timed out, still loading its data after a
#: restart); any other error is a bug and stays loud.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
#: The first wait before asking Redis again once it went away; it doubles up to the longest.
RETRY_FIRST = 1.0
RETRY_LONGEST = 30.0
#: Drop reason of a discovered request that could not be queued while Redis was away.
QUEUE_DOWN = "queue_unavailable"


class RedisOutage:
    """Whether the shared Redis answers, as the scheduler last found it.

    While it does not, the scheduler asks it again only after a wait that doubles from
    :data:`RETRY_FIRST` to :data:`RETRY_LONGEST`, and says so in one line when it goes away and
    one when it is back (each refused call was a traceback: thousands of lines a minute).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.wait = 0.0

    def ready(self) -> bool:
        """Whether to ask Redis now: it answered last time, or the wait is over."""
        return self.down_since is None or self.clock() >= self.retry_at

    def failed(self, exc: Exception) -> None:
        """Redis did not answer: wait longer before the next try (logged once per outage)."""
        now = self.clock()
        if self.down_since is None:
            self.down_since, self.wait = now, RETRY_FIRST
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            logger.error(
                "shared queue: Redis is unreachable (%s); waiting for it, asking again up to "
                "every %.0fs",
                why,
                RETRY_LONGEST,
            )
        else:
            self.wait = min(self.wait * 2, RETRY_LONGEST)
        self.retry_at = now + self.wait

    def answered(self) -> None:
        """Redis answered: say so if it had gone away."""
        if self.down_since is not None:
            logger.warning(
                "shared queue: Redis is back after %.0fs", self.clock() - self.down_since
            )
            self.down_since = None


class RedisScheduler(Scheduler):
    """scrapy-redis' scheduler, minus the ``spider=`` stats arguments Scrapy 2.14+ deprecates,
    handing out only requests of a source the worker serves (the others are counted drops),
    and waiting out a Redis outage (:class:`RedisOutage`) instead of failing every call."""

    outage: RedisOutage

    def open(self, spider: scrapy.Spider) -> None:
        self.outage = RedisOutage()
        with warnings.catch_warnings():
            # scrapy-redis says "Resuming crawl (N requests scheduled)" with Spider.log(),
            # which Scrapy 2.19 deprecates: a warning at every worker start, about a library.
            warnings.filterwarnings(
                "ignore", r"Spider\.log\(\) is deprecated", ScrapyDeprecationWarning
            )
            super().open(spider)

    def enqueue_request(self, request: scrapy.Request) -> bool:
        if not self.outage.ready():
            return self._not_queued(request)
        try:
            claimed = request.meta.pop(CLAIMED_META, False)  # the spider asked the filter
            if not (request.dont_filter or claimed) and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            self.queue.push(request)
        except REDIS_DOWN as exc:
            self.outage.failed(exc)
            return self._not_queued(request)
        self.outage.answered()
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def _not_queued(self, request: scrapy.Request) -> bool:
        # Lost for this cycle (a later one discovers it again): counted in its run, not logged
        # per request (the outage is, once).
        count_drop(
            self.spider.crawler, QUEUE_DOWN, request.url, level=logging.DEBUG, request=request
        )
        return False

    def has_pending_requests(self) -> bool:
        if not self.outage.ready():
            return False  # nothing this worker can take now; a service worker keeps waiting
        try:
            pending = len(self) > 0
        except REDIS_DOWN as exc:
            self.outage.failed(exc)
            return False
        self.outage.answered()
        return pending

    def next_request(self) -> scrapy.Request | None:
        if not self.outage.ready():
            return None
        try:
            request = self.queue.pop(self.idle_before_close)
        except REDIS_DOWN as exc:
            self.outage.failed(exc)
            return None
        except (pickle.UnpicklingError, ValueError, KeyError, AttributeError, TypeError) as exc:
            # A queued request this worker cannot load (refused type, another version's
            # callback): it is gone from the queue, so it is counted and logged, not lost.
            count_drop(
                self.spider.crawler, "bad_queued_request", str(exc)[:200], level=logging.ERROR
            )
            return None
        self.outage.answered()
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
