"""``cityfeeds run``: the service — scheduled crawls, feed rebuilds, serving, status endpoints."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

from cityfeeds.commands._args import positive_float, positive_int
from cityfeeds.commands.serve import check_port
from cityfeeds.schedule import schedule_period, schedule_zone, source_schedule
from cityfeeds.service import AlreadyRunning, Service, ServiceOptions
from cityfeeds.service.web import ServeError
from crawler.config import Config
from crawler.distributed.settings import DEFAULT_DUPEFILTER_TTL, DEFAULT_PREFIX, redis_url_from

NAME = "run"
DESCRIPTION = """\
Run until stopped (SIGTERM, Ctrl-C, or SIGHUP unless run under nohup): every enabled source is
crawled on its schedule (`schedule` of the source, else [schedule] default, in [schedule]
timezone, with jitter), each crawl in its own child process with the [crawl] run_timeout
wall-clock limit, then the feeds are rebuilt (one rebuild after a burst of crawls). Failing
sources back off exponentially (capped by [schedule] max_backoff, honouring Retry-After).

The feeds are served as by `cityfeeds serve`, plus /healthz (JSON, 503 when no successful
cycle within 3 periods) and /status (HTML), unless [schedule] serve = false or --no-serve.

Only one service may run per database: a second one exits with status 3 and says why.
On SIGTERM, running crawls get --grace seconds to finish, then are stopped; exit status 0.
Exit status 2: configuration error (or no enabled source); 1: it could not start (the port
is taken: --port or --no-serve; the database cannot be opened).
See docs/deploy.md for systemd, Docker and cron setups.

With --distributed, each scheduled run queues the source's discovery requests in Redis for
`cityfeeds worker` processes (on any machine) instead of crawling here (a render = "browser"
source is still crawled here: workers fetch plain HTTP only), and the feeds are rebuilt every
--rebuild-every seconds; see docs/scaling.md.
"""

#: Exit status when another scheduler holds the lock (systemd: RestartPreventExitStatus).
EXIT_ALREADY_RUNNING = 3

logger = logging.getLogger(__name__)


#: ``--rebuild-every``'s default and least value (seconds).
DEFAULT_REBUILD_EVERY = 300.0
MIN_REBUILD_EVERY = 10.0
#: The options that only mean something with ``--distributed``.
_DISTRIBUTED_ONLY = ("redis_url", "prefix", "rebuild_every")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-serve", action="store_true", help="do not serve the feeds over HTTP")
    parser.add_argument("--host", help="address to serve on (default: [schedule] host)")
    parser.add_argument("--port", type=int, help="port to serve on (default: [schedule] port)")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=2,
        help="crawl children at once (default: %(default)s)",
    )
    parser.add_argument(
        "--grace",
        type=positive_float,
        default=60.0,
        help="seconds running crawls may take to finish on SIGTERM (default: %(default)s)",
    )

    parser.add_argument(
        "--distributed",
        action="store_true",
        help="queue each source for `cityfeeds worker`s (Redis) instead of crawling here",
    )
    parser.add_argument(
        "--redis-url", help="with --distributed: Redis URL (default: $CITYFEEDS_REDIS_URL)"
    )
    parser.add_argument(
        "--prefix",
        help=f"with --distributed: Redis key prefix, as the workers' (default: {DEFAULT_PREFIX})",
    )
    parser.add_argument(
        "--rebuild-every",
        type=float,
        help=f"with --distributed: seconds between feed rebuilds, at least {MIN_REBUILD_EVERY:g}"
        f" (default: {DEFAULT_REBUILD_EVERY:g})",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    if args.port is not None and (problem := check_port(args.port)):
        print(problem, file=sys.stderr)
        return 2
    if problem := _distributed_options_problem(args):
        print(f"cityfeeds: {problem}", file=sys.stderr)
        return 2
    if not config.select_sources(None):
        print("cityfeeds: no enabled sources to schedule", file=sys.stderr)
        return 2
    verbose = getattr(args, "verbose", 0)
    if verbose == 0:
        # A service's log is its record: one line per run and rebuild even without -v.
        logging.getLogger("cityfeeds.service").setLevel(logging.INFO)
    options = ServiceOptions(
        workers=max(1, args.workers),
        grace=max(0.0, args.grace),
        serve=False if args.no_serve else None,
        host=args.host,
        port=args.port,
        child_log_level={0: "WARNING", 1: "INFO"}.get(verbose, "DEBUG"),
    )
    crawl = None
    if args.distributed:
        # Lazy: scrapy-redis is an optional extra (cityfeeds[redis]), needed only here.
        from cityfeeds.distributed import enqueue_crawl

        crawl = enqueue_crawl(redis_url_from(args.redis_url), prefix=args.prefix or DEFAULT_PREFIX)
        options.rebuild_every = args.rebuild_every or DEFAULT_REBUILD_EVERY
        if note := short_cycle_note(config):
            logger.warning("%s", note)
    try:
        return Service(config, options, crawl=crawl).run_forever()
    except AlreadyRunning as exc:
        print(f"cityfeeds: {exc}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    except ServeError as exc:
        print(f"cityfeeds: {exc}", file=sys.stderr)
        return 1


def short_cycle_note(config: Config) -> str | None:
    """One line when sources are queued more often than twice the workers' duplicate filter
    keeps a page by default (``--dedupe-ttl``, 900 s): a page fetched in one cycle may still be
    "seen" in the next, and its edits are not fetched (docs/scaling.md). It proposes half the
    shortest period (a TTL equal to the period made every other cycle skip the pages). None
    when no source is."""
    tz, now = schedule_zone(config), datetime.now(UTC)
    short = {
        s.name: period
        for s in config.select_sources(None)
        if (period := schedule_period(source_schedule(config, s), tz, now))
        < 2 * DEFAULT_DUPEFILTER_TTL
    }
    if not short:
        return None
    ttl = max(30, int(min(short.values())) // 2)
    return (
        f"{', '.join(sorted(short))} run more often than twice the time the workers' duplicate "
        f"filter keeps a page by default ({DEFAULT_DUPEFILTER_TTL} s): a page fetched in one "
        f"cycle may be skipped in the next; start the workers with --dedupe-ttl {ttl}, half the "
        "shortest period (docs/scaling.md)"
    )


def _distributed_options_problem(args: argparse.Namespace) -> str | None:
    """Why the ``--distributed`` options given cannot be used, if they cannot."""
    if not args.distributed:
        given = [name for name in _DISTRIBUTED_ONLY if getattr(args, name) is not None]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            return f"{flags}: only with --distributed"
    if args.rebuild_every is not None and not args.rebuild_every >= MIN_REBUILD_EVERY:
        return f"--rebuild-every {args.rebuild_every:g}: at least {MIN_REBUILD_EVERY:g} seconds"
    return None
