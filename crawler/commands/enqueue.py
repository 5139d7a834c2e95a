"""``cityfeeds enqueue``: seed the shared Redis queue with sources' discovery requests."""

from __future__ import annotations

import argparse
import sys

from crawler.config import Config

NAME = "enqueue"
HELP = "queue the named (default: all enabled) sources for `cityfeeds worker` processes (Redis)"
DESCRIPTION = """\
Push each source's discovery requests (RSS/Atom feeds, sitemaps, listing pages) into the shared
Redis queue. `cityfeeds worker` processes on any machine fetch them, queue the article pages they
discover, and store the articles in the configured database (use PostgreSQL when workers run on
several machines). Run it from cron, e.g.:
  */30 * * * *  cd /srv/cityfeeds && .venv/bin/cityfeeds enqueue
See docs/scaling.md.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cityfeeds enqueue``."""
    parser.add_argument(
        "sources", nargs="*", metavar="SOURCE", help="source names (see `cityfeeds sources`)"
    )
    parser.add_argument(
        "--redis-url", help="Redis URL (default: $CITYFEEDS_REDIS_URL or redis://127.0.0.1:6379/0)"
    )
    parser.add_argument(
        "--prefix", default="cityfeeds", help="Redis key prefix (default: %(default)s)"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """Queue the sources' start requests; 1 when there is nothing to queue."""
    from crawler.distributed import enqueue_sources, queue_length, redis_url_from

    sources = config.select_sources(args.sources)
    if not sources:
        print("cityfeeds: no enabled sources to queue", file=sys.stderr)
        return 1
    redis_url = redis_url_from(args.redis_url)
    counts = enqueue_sources(sources, redis_url=redis_url, prefix=args.prefix)
    for name, n in counts.items():
        print(f"{name}: {n} discovery request(s) queued")
    print(f"{queue_length(redis_url, args.prefix)} request(s) waiting in the shared queue")
    return 0
