"""``cityfeeds worker``: a crawl worker fed by the shared Redis queue (distributed crawling)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from urllib.parse import urlsplit

from cityfeeds.commands import LOG_HANDLER
from cityfeeds.commands._args import positive_float, positive_int
from crawler.config import Config
from crawler.distributed.settings import DEFAULT_DUPEFILTER_TTL, DEFAULT_PREFIX, redis_url_from
from crawler.lifecycle import INTERRUPTED_EXIT, tune_gc
from crawler.storage import Store

NAME = "worker"
DESCRIPTION = """\
Take requests from the shared Redis queue filled by `cityfeeds enqueue`, fetch and extract them,
queue the article pages discovered on feeds, sitemaps and listings, and store the articles in the
configured database. Start any number of workers on any number of machines against one Redis and
one PostgreSQL (CITYFEEDS_DATABASE_URL). A shared duplicate filter fetches each URL once per
--dedupe-ttl seconds across all workers.

Service style (default): wait for work forever. Cron style: --exit-when-idle SECONDS.
Workers do not rebuild feeds: run `cityfeeds feeds` (or the service) for that. See docs/scaling.md.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cityfeeds worker``."""
    parser.add_argument(
        "--redis-url", help="Redis URL (default: $CITYFEEDS_REDIS_URL or redis://127.0.0.1:6379/0)"
    )
    parser.add_argument(
        "--database-url", help="database URL (default: $CITYFEEDS_DATABASE_URL or the config's)"
    )
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help="Redis key prefix (default: %(default)s)"
    )
    parser.add_argument(
        "--exit-when-idle",
        type=positive_float,
        metavar="SECONDS",
        help="exit after the queue has been empty this long (default: wait forever)",
    )
    parser.add_argument(
        "--dedupe-ttl",
        type=int,
        default=DEFAULT_DUPEFILTER_TTL,
        metavar="SECONDS",
        help="fetch a URL at most once per SECONDS across all workers: about half the "
        "enqueue interval, more than one crawl's duration (default: %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        help="concurrent requests of this worker (default: 16)",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the worker in this process until idle or interrupted."""
    # Lazy: it imports scrapy-redis, an optional extra (cityfeeds[redis]) the other commands
    # do without.
    from cityfeeds.distributed import redis_unreachable, run_worker

    redis_url = redis_url_from(args.redis_url)
    # Checked first: Scrapy would log the refused connection as tracebacks and exit 0.
    if why := redis_unreachable(redis_url):
        parts = urlsplit(redis_url)
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # no password
        print(f"cityfeeds: cannot reach Redis at {shown}: {why}", file=sys.stderr)
        return 1
    database_url = args.database_url or os.environ.get("CITYFEEDS_DATABASE_URL")
    # Checked first too: a worker whose store cannot be opened took the queue's requests and
    # failed them all, then exited 0 (StoreUnavailable: one line, exit 1).
    Store.open(database_url or config.database_url).close()
    log_level = {0: "WARNING", 1: "INFO"}.get(args.verbose, "DEBUG")
    # Scrapy's root handler logs the crawl at ``log_level``, as in a crawl child. The command
    # line's own would print every line a second time, and Scrapy's loggers, which Scrapy
    # sets to DEBUG, through it (whole scraped items in the journal).
    for handler in [h for h in logging.root.handlers if h.get_name() == LOG_HANDLER]:
        logging.root.removeHandler(handler)
    tune_gc()  # this process is the crawl process (crawler.lifecycle.tune_gc)
    reason = run_worker(
        config,
        redis_url=redis_url,
        database_url=database_url,
        prefix=args.prefix,
        exit_when_idle=args.exit_when_idle,
        dupefilter_ttl=args.dedupe_ttl,
        concurrency=args.concurrency,
        log_level=log_level,
    )
    # As `cityfeeds crawl`: a worker stopped by a signal exits 130 (its run says interrupted).
    if reason == "shutdown":
        return INTERRUPTED_EXIT
    if reason == "store_error":
        # The store went away mid-run (the batch is dropped and counted as store_error): not
        # a success, so a supervisor (systemd's Restart=on-failure) starts the worker again.
        print("cityfeeds: the worker stopped: the store failed (see the log)", file=sys.stderr)
        return 1
    return 0
