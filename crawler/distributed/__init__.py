"""Distributed crawling on Redis: the Scrapy components of a worker of the shared queue.

``cityfeeds enqueue`` pushes each source's discovery requests (feeds, sitemaps, listings) into
the shared queue; ``cityfeeds worker`` processes on any number of machines pop requests from it,
push the article requests they discover back into it, and store into one database (PostgreSQL).
Every request carries its source name in ``meta``, so one worker serves every source.

The package holds what runs inside a worker's Scrapy process, one job per module:

- :mod:`~crawler.distributed.settings`: the Redis keys, ``meta`` fields and Scrapy settings
  every writer and reader of the queue agrees on (the wire format).
- :mod:`~crawler.distributed.serialize`: the ``SCHEDULER_SERIALIZER`` (pickle, allow-list on load).
- :mod:`~crawler.distributed.scheduler`: the ``SCHEDULER`` (scrapy-redis', Scrapy 2.19 shim).
- :mod:`~crawler.distributed.dupefilter`: the ``DUPEFILTER_CLASS`` (per-source TTL filter).
- :mod:`~crawler.distributed.spider`: the spider serving every source from the queue.
- :mod:`~crawler.distributed.run_counts`: what a worker adds to each scheduled run's row.

Queuing sources and running a worker (the orchestration) is the application's job:
``cityfeeds/distributed.py``. scrapy-redis is an optional extra (``cityfeeds[redis]``): only
code that runs distributed imports this package.

Library: scrapy-redis 0.9.1 for the scheduler and queue. On Scrapy 2.19 it needs two small
adjustments, made here rather than by patching it: its scheduler passes ``spider=`` to the stats
collector (deprecated since Scrapy 2.14, one warning per request), and its ``RedisSpider`` feeds
start URLs through ``start_requests`` (removed in 2.16) — so workers do not use ``RedisSpider``;
``enqueue`` writes fully-formed requests straight into the scheduler's queue instead.
"""
