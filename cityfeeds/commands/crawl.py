"""``cityfeeds crawl``: one-off crawl of the named (or all enabled) sources, then rebuild feeds."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cityfeeds.commands._args import positive_float
from cityfeeds.commands._table import format_dropped, format_table
from cityfeeds.publishing import build_summary, rebuild_feeds
from cityfeeds.service.lock import ServiceLock
from crawler.clock import user_time
from crawler.config import Config
from crawler.lifecycle import INTERRUPTED_EXIT, SourceBusy
from crawler.normalize.urls import host_of, is_private_address
from crawler.supervisor import crawl_subprocess

NAME = "crawl"
DESCRIPTION = """\
Crawl the named sources (default: every enabled source) in a child process, store new and
updated articles, then rebuild all feeds. Prints progress while it runs and a summary table.
Exit status (docs/runs.md): 0 when every source succeeded or was only deferred (the site
asked to come back later), 1 when any failed (the others still publish) or a feed could not
be published, 2 on a configuration error, 75 when a source is already being crawled by
another process (see --wait), 130 when interrupted (Ctrl-C, SIGTERM).

Schedule it from cron instead of running the service, e.g.:
  */30 * * * *  cd /srv/cityfeeds && mkdir -p data && flock -n data/crawl.cron.lock \
.venv/bin/cityfeeds crawl --quiet >> data/crawl.log 2>&1
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sources", nargs="*", metavar="SOURCE", help="source names (see `cityfeeds sources`)"
    )
    parser.add_argument(
        "--no-feeds", action="store_true", help="do not rebuild the feeds afterwards"
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        help="wall-clock limit in seconds (default: [crawl] run_timeout)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait for another crawl of the same sources to end instead of refusing to start",
    )


#: Exit status when a source is already being crawled (EX_TEMPFAIL: try again later).
BUSY_EXIT = 75


def clock() -> datetime:
    """The current time (a module attribute, so tests can fix it)."""
    return datetime.now(UTC)


def run(args: argparse.Namespace, config: Config) -> int:
    return crawl(
        config,
        args.sources,
        timeout=args.timeout,
        feeds=not args.no_feeds,
        quiet=args.quiet,
        verbose=args.verbose,
        wait=args.wait,
    )


def _as_interrupt(_signum: int, _frame: object) -> None:
    # Once: a second SIGTERM must not cut the stop short (its summary, the runs' records).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def stale_service_note(config: Config) -> str | None:
    """One line when a service runs on this data and ``config``'s file is newer than its start
    (an edit since, or another file on the same database).

    The service reads its configuration when it starts and rebuilds the feeds by it: the feeds
    of a source added since (crawled here) would appear, then vanish at its next rebuild (a
    tester's find). None when no service runs here, or the file has not changed since.
    """
    lock = ServiceLock.for_config(config)
    pid, started = lock.holder(), lock.holder_started()
    if pid is None or started is None or config.path is None:
        return None
    try:
        edited = datetime.fromtimestamp(Path(config.path).stat().st_mtime, UTC)
    except OSError:
        return None
    if edited <= started:
        return None
    return (
        f"cityfeeds: a service (pid {pid}) runs on this data with the configuration it read "
        f"when it started ({user_time(started, config.schedule.timezone)}), and {config.path} "
        "is newer: the service's feed rebuilds follow the configuration it read (a source "
        "added since vanishes from the feeds), so restart it with this one if it should "
        "publish what this crawl adds"
    )


def crawl(config: Config, source_names: Sequence[str] = (), **options: Any) -> int:
    """Crawl ``source_names`` (all enabled when empty), print the summary, rebuild the feeds.

    What ``cityfeeds crawl`` does, callable without an argparse namespace (``cityfeeds demo``
    uses it); returns the command's exit status. SIGTERM (kill, systemd stop, a CI timeout) is
    a Ctrl-C throughout: the crawl stops, its runs are recorded, the summary is printed and the
    status is 130 (its default ended this process at once: 143, no summary).
    """
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _as_interrupt) if main_thread else None
    try:
        return _crawl(config, source_names, **options)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)


def _crawl(
    config: Config,
    source_names: Sequence[str] = (),
    *,
    timeout: float | None = None,
    feeds: bool = True,
    quiet: bool = False,
    verbose: int = 0,
    wait: bool = False,
) -> int:
    sources = config.select_sources(list(source_names))
    if not sources:
        print("cityfeeds: no enabled sources to crawl", file=sys.stderr)
        return 1
    names = [s.name for s in sources]
    if note := stale_service_note(config):
        print(note, file=sys.stderr, flush=True)
    if not quiet:
        print(f"Crawling {len(names)} source(s): {', '.join(names)}", file=sys.stderr, flush=True)
    log_level = {0: "WARNING", 1: "INFO"}.get(verbose, "DEBUG")
    try:
        outcome = crawl_subprocess(
            config,
            names,
            timeout=timeout,
            progress=not quiet,
            log_level=log_level,
            wait=wait,
        )
    except SourceBusy as exc:
        print(f"cityfeeds: not crawling: {exc} (use --wait to wait for it)", file=sys.stderr)
        return BUSY_EXIT
    rows = []
    finished = clock().astimezone(ZoneInfo(config.timezone))
    # Headed by the time: a cron log of --quiet runs is a dated list, not a pile of tables.
    print(f"Crawl finished {finished:%Y-%m-%d %H:%M:%S %z}: {len(names)} source(s)")
    for name in names:
        run = outcome.runs.get(name, {})
        seconds = ""
        if run.get("finished_at") and run.get("started_at"):
            seconds = f"{(run['finished_at'] - run['started_at']).total_seconds():.1f}s"
        rows.append(
            [
                name,
                run.get("status", "?"),
                run.get("pages", 0),
                run.get("new", 0),
                run.get("updated", 0),
                run.get("unchanged", 0),
                format_dropped(run.get("dropped")),
                run.get("errors", 0),
                (run.get("stats") or {}).get("requests", 0),
                (run.get("stats") or {}).get("requests_avoided", 0),
                _human_bytes((run.get("stats") or {}).get("bytes", 0)),
                seconds,
                run.get("message") or "",
            ]
        )
    print(
        format_table(
            [
                "source",
                "status",
                "pages",
                "new",
                "updated",
                "unchanged",
                "dropped",
                "errors",
                "requests",
                "avoided",
                "bytes",
                "time",
                "message",
            ],
            rows,
        )
    )
    failed = outcome.failed_sources()
    if outcome.interrupted:
        # Stored articles are published by the next crawl or `cityfeeds feeds`.
        print("cityfeeds: crawl interrupted; runs recorded as interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT
    feeds_failed = False
    if feeds:
        report = rebuild_feeds(config)
        print(build_summary(report))
        feeds_failed = not report.ok
    for name in outcome.deferred_sources():
        retry_at = (outcome.runs[name].get("stats") or {}).get("retry_at")
        at = user_time(retry_at, config.schedule.timezone) if retry_at else "later"
        print(
            f"cityfeeds: {name} deferred: the site asked to come back later; "
            f"next attempt not before {at}",
            file=sys.stderr,
        )
    if failed:
        print(f"cityfeeds: {len(failed)} source(s) failed: {', '.join(failed)}", file=sys.stderr)
        if len(failed) == len(names) and all(
            looks_offline(config, name, outcome.runs.get(name, {})) for name in failed
        ):
            print(
                "cityfeeds: no site could be reached over the network (no internet here, or the "
                "sites are blocked?); `cityfeeds demo` runs the whole pipeline offline",
                file=sys.stderr,
            )
        return 1
    if feeds_failed:
        print("cityfeeds: some feeds could not be published (see above)", file=sys.stderr)
        return 1
    return 0


#: Network errors that say this machine may have no network: a public host with no DNS entry,
#: refusing or unreachable. A timeout is a slow site (its message says it did not answer in
#: N s), and a loopback or private host is a local server that is down, not a missing network.
OFFLINE_ERRORS = frozenset({"dns", "refused", "unreachable"})


def looks_offline(config: Config, name: str, run: dict[str, Any]) -> bool:
    """Whether source ``name``'s failed ``run`` could mean there is no network here."""
    stats = run.get("stats") or {}
    if stats.get("network_error") not in OFFLINE_ERRORS:
        return False
    url = (stats.get("cause") or {}).get("url") or config.source(name).url
    return not is_private_address(host_of(url))


def _human_bytes(n: int) -> str:
    """``1.2 MiB``-style size of what a run downloaded."""
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MiB"
