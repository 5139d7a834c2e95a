"""``cityfeeds enqueue``: seed the shared Redis queue with sources' discovery requests."""

from __future__ import annotations

import argparse
import sys

from crawler.config import Config, ConfigError
from crawler.config.validators import check_database_url
from crawler.distributed.settings import DEFAULT_PREFIX, redis_url_from
from crawler.storage import Store

NAME = "enqueue"
DESCRIPTION = """\
Push each source's discovery requests (RSS/Atom feeds, sitemaps, listing pages) into the shared
Redis queue. `cityfeeds worker` processes on any machine fetch them, queue the article pages they
discover, and store the articles in the configured database (use PostgreSQL when workers run on
several machines). Each source's queuing is recorded as its run (`cityfeeds status`), and the
workers add the pages they fetch for it and the articles stored to that run. Run it from cron,
e.g.:
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
        "--database-url",
        help="database URL the runs are recorded in, the workers' (default: "
        "$CITYFEEDS_DATABASE_URL or the config's)",
    )
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help="Redis key prefix (default: %(default)s)"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """Queue the sources' start requests as recorded runs; 1 when nothing could be queued."""
    # Lazy: it imports scrapy-redis, an optional extra (cityfeeds[redis]) the other commands
    # do without.
    from cityfeeds.distributed import enqueue_recorded, queue_length

    sources = config.select_sources(args.sources)
    rendered = [s.name for s in sources if s.render]
    if rendered:
        # Workers fetch plain HTTP only: a rendered listing would yield no links there.
        print(
            f'cityfeeds: not queued: {", ".join(rendered)} set render = "browser", which '
            "only `cityfeeds crawl` and `cityfeeds run` support",
            file=sys.stderr,
        )
        sources = [s for s in sources if not s.render]
    if not sources:
        print("cityfeeds: no enabled sources to queue", file=sys.stderr)
        return 1
    redis_url = redis_url_from(args.redis_url)
    try:
        database_url = check_database_url(args.database_url or config.database_url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    store = Store.open(database_url)
    try:
        runs = enqueue_recorded(
            config, [s.name for s in sources], redis_url=redis_url, prefix=args.prefix, store=store
        )
    finally:
        store.close()
    for name, run in runs.items():
        print(f"{name}: {run['message']}")
    failed = [name for name, run in runs.items() if run["status"] != "ok"]
    if failed:
        print(f"cityfeeds: could not queue {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{queue_length(redis_url, args.prefix)} request(s) waiting in the shared queue")
    return 0
