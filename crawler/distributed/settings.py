"""The contract of the shared queue: Redis keys, request ``meta`` fields and a worker's settings.

Everything that writes to the queue (``cityfeeds enqueue``, the service in distributed mode) and
everything that reads it (workers, possibly of another version) agrees on these names, so they
are the wire format: change them only together with a note in docs/scaling.md.
"""

from __future__ import annotations

import os
from typing import Any

# Name under which a worker's own run (all sources together) is recorded in ``runs``: defined
# with the source-name rule, which reserves it for workers.
from crawler.config import ConfigError
from crawler.config.sources import WORKER_RUN_NAME as WORKER_RUN_NAME

# ``meta`` key of the scheduled run a request was queued for (defined with the run id it
# carries, next to ArticleItem.run_id; part of this wire format).
from crawler.models import RUN_META as RUN_META

#: ``meta`` key naming the source a request belongs to.
SOURCE_META = "cityfeeds_source"
#: ``meta`` key of an article request the spider has already entered in the shared duplicate
#: filter (so that only pages fetched this cycle count against the page cap): the scheduler
#: removes it and does not ask the filter again. Never queued.
CLAIMED_META = "cityfeeds_claimed"
#: How often a worker adds what became of each run's pages to that run's row.
RUN_FLUSH_SECONDS = 15.0
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "cityfeeds"
#: Default life of a duplicate-filter entry: half a crawl cycle (the default schedule, 30 min).
#: A key set while one cycle fetched a page is gone when the next cycle finds it, whatever the
#: schedule's jitter; at one whole cycle, a page fetched late in one cycle was still "seen"
#: early in the next, so every other cycle fetched it (a tester's find).
DEFAULT_DUPEFILTER_TTL = 900
#: How often an idle worker looks at the shared queue (Scrapy's own heartbeat is 5 s).
DEFAULT_POLL_INTERVAL = 0.5

#: Dotted paths of the worker's Scrapy components (documented in docs/scaling.md).
SCHEDULER = "crawler.distributed.scheduler.RedisScheduler"
SCHEDULER_SERIALIZER = "crawler.distributed.serialize"
DUPEFILTER_CLASS = "crawler.distributed.dupefilter.SourceDupeFilter"


def redis_url_from(value: str | None = None) -> str:
    """``value``, else ``$CITYFEEDS_REDIS_URL``, else the local default; ConfigError (one line)
    when it is no Redis URL, before any source's run records a failure for it."""
    url = value or os.environ.get("CITYFEEDS_REDIS_URL") or DEFAULT_REDIS_URL
    try:
        from redis.connection import parse_url
    except ModuleNotFoundError:  # the optional extra: the command says how to install it
        return url
    try:
        parse_url(url)
    except ValueError as exc:
        raise ConfigError(f"Redis URL {url!r}: {exc}") from None
    return url


def queue_key(prefix: str = DEFAULT_PREFIX) -> str:
    """The Redis key of the shared request queue."""
    return f"{prefix}:requests"


def dupefilter_key(prefix: str = DEFAULT_PREFIX) -> str:
    """The prefix of the duplicate filter's Redis keys (``<it>:<source>:<sha1>``)."""
    return f"{prefix}:seen"


def distributed_settings(
    redis_url: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    exit_when_idle: float | None = None,
    dupefilter_ttl: int = DEFAULT_DUPEFILTER_TTL,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> dict[str, Any]:
    """Scrapy settings that turn a crawl into a worker of the shared Redis queue."""
    return {
        "SCHEDULER": SCHEDULER,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": queue_key(prefix),
        "SCHEDULER_SERIALIZER": SCHEDULER_SERIALIZER,
        # The queue is shared: one worker stopping must never flush it for the others.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        "DUPEFILTER_CLASS": DUPEFILTER_CLASS,
        "SCHEDULER_DUPEFILTER_KEY": dupefilter_key(prefix),
        "REDIS_URL": redis_url,
        "CITYFEEDS_DUPEFILTER_TTL": dupefilter_ttl,
        "CITYFEEDS_EXIT_WHEN_IDLE": exit_when_idle or 0,
        "CITYFEEDS_POLL_INTERVAL": poll_interval,
        # A worker runs until idle (or forever): the per-run wall-clock limit does not apply.
        "CLOSESPIDER_TIMEOUT": 0,
    }
