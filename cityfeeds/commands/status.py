"""``cityfeeds status``: per-source last run, result, backoff, next run and freshness; --json."""

from __future__ import annotations

import argparse
import dataclasses
import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from cityfeeds.commands._store import store_for_reading
from cityfeeds.commands._table import format_table
from cityfeeds.service.lock import ServiceLock
from cityfeeds.status.health import Health, UnrecordedRun, compute_status, mark_unrecorded
from cityfeeds.status.inputs import collect_inputs
from cityfeeds.status.views import format_time, table_rows
from crawler.clock import utcnow
from crawler.config import Config
from crawler.lifecycle import close_dead_runs, process_suspended

NAME = "status"
#: The service's health states this command shows: /healthz's, and three of its own (no
#: service; a service stopped by a signal; one that does not answer its /healthz).
#: docs/deploy.md describes each (a test checks both).
HEALTH_STATES = (
    "ok",
    "starting",
    "degraded",
    "stale",
    "failing",
    "stopped",
    "suspended",
    "unresponsive",
)
DESCRIPTION = """\
One row per source: state (ok, degraded, failing, waiting, interrupted, never run, disabled),
last run and its result, pages, new and updated articles, dropped items by reason,
consecutive failures, next run, and the age of the newest article. `degraded` means the last
run succeeded but found no article link at all (its message says why: a pattern matching none
of a listing's links, a listing with no links), or far fewer than it used to, or most articles
lost a field (dates, titles): the site probably changed; or most of its article pages could
not be fetched (the feed reads, the pages answer errors). `waiting` means the site asked to
come back later (429/503 with a long Retry-After): the note says `waiting until HH:MM`. With
--json, the same as a JSON document (plus the service health reported by /healthz).

Below the table, the service's health: ok (a crawl and a feed build succeeded recently),
starting (not yet, but the service has just started), degraded (some feed files failed their
last build, others built), stale (no recent crawl and feed build) or failing (every feed
failed its last build: nothing is published; or its runs cannot be recorded), and why: a
running service that serves HTTP is asked for its /healthz, which also knows what the store
cannot show (runs it could not record with the database disk full). Stopped when no service
runs; suspended when its process is stopped by a signal (SIGSTOP, Ctrl-Z: it crawls and
serves nothing until kill -CONT); unresponsive when it runs but gives no health at its
/healthz within 5 s (hung, its server stopped). Exit status 0, or 1 with --check when the
last cycle is too old (also for cron installs, which run no service), every feed failed, a
feed failed its last build, the service is failing, suspended or unresponsive, or a source
is failing or degraded.
"""
#: How long `status` waits for a running service's /healthz, and how much of it it reads.
ASK_TIMEOUT = 5.0
MAX_ANSWER = 64 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when unhealthy, a feed failed its last build, or a source is failing/degraded",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    now = utcnow()
    lock = ServiceLock.for_config(config)
    holder = lock.holder()
    scheduler = f"running (pid {holder})" if holder else "not running"
    suspended = holder is not None and process_suspended(holder)
    if suspended:
        # Alive and holding its lock, but crawling and serving nothing until SIGCONT.
        scheduler = f"suspended (pid {holder}: stopped by a signal; resume it with kill -CONT)"
    store = store_for_reading(config)
    try:
        # Runs left "running" by crawls that died are shown as what they are: interrupted.
        close_dead_runs(store, now)
        # Without a live scheduler there is no next run to show.
        inputs, builds = collect_inputs(config, store, now, next_runs=None if holder else {})
    finally:
        store.close()
    report = compute_status(
        inputs,
        builds,
        now,
        timezone=config.schedule.timezone or config.timezone,
        # The service's start, so the health is the one its /healthz gives (starting, not stale).
        started_at=lock.holder_started() if holder else None,
        scheduler=scheduler,
    )
    if not holder:
        # No service, no health to report: "ok" would claim it still crawls and serves. The
        # text and --json say the same; ``healthy`` still tells whether the last cycle (crawls
        # run by cron, say) is recent, which is what --check reads.
        report.health = dataclasses.replace(report.health, status="stopped")
    elif suspended:
        # Its last cycle may be recent, but nothing happens until it is resumed: not healthy.
        report.health = dataclasses.replace(
            report.health,
            status="suspended",
            healthy=False,
            reason=f"the service (pid {holder}) is stopped by a signal: resume it with kill -CONT",
        )
    elif (url := lock.holder_url()) is not None:
        report.health, unrecorded = _as_the_service_says(report.health, url, holder)
        # Its rows too: a source whose runs the service could not record is failing there.
        for row in report.sources:
            if row.name in unrecorded:
                mark_unrecorded(row, unrecorded[row.name], report.timezone)
        report.unrecorded = unrecorded
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        headers, rows = table_rows(report)
        print(format_table(headers, rows))
        h = report.health
        print(
            f"\nscheduler: {scheduler}; health: {h.status}; last successful cycle: "
            f"{format_time(h.last_successful_cycle, report.timezone)} ({report.timezone})"
            + (f"\nwhy: {h.reason}" if h.reason else "")
        )
        for path, error in sorted(report.feed_failures.items()):
            print(f"feed {path} failed to build (last good file kept): {error}")
    if args.check:
        bad = [s for s in report.sources if s.state in ("failing", "degraded")]
        # A feed that failed its last build (one bad topic: health "degraded", still 200) fails
        # the check too: its subscribers get no new entries.
        return 1 if bad or report.feed_failures or not report.health.healthy else 0
    return 0


def _as_the_service_says(
    health: Health, url: str, pid: int
) -> tuple[Health, dict[str, UnrecordedRun]]:
    """``health`` as the running service's ``/healthz`` at ``url`` gives it, or unresponsive;
    and the runs it could not record, by source.

    The service computes the same health from the same store, and adds what only it knows:
    runs it could not record (its database or disk full) make it failing, and those sources
    too. A service that holds its lock but gives no such answer (hung, its server stopped, or
    another program on the port) is not doing its job either: ``unresponsive``, unhealthy.
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    try:
        try:
            with opener.open(url + "healthz", timeout=ASK_TIMEOUT) as response:
                body = response.read(MAX_ANSWER)
        except urllib.error.HTTPError as exc:  # 503: unhealthy, with the same JSON body
            body = exc.read(MAX_ANSWER)
    except (OSError, ValueError) as exc:
        cause = getattr(exc, "reason", None) or exc
        said = f"the service (pid {pid}) did not answer {url}healthz: {cause}"
        return _unresponsive(health, _one_line(said, 500)), {}
    answer = _health_answer(body, pid)
    if answer is None:
        return _unresponsive(
            health, f"the service (pid {pid}) gave no health of its own at {url}healthz"
        ), {}
    status, healthy, reason, unrecorded = answer
    return dataclasses.replace(health, status=status, healthy=healthy, reason=reason), unrecorded


def _unresponsive(health: Health, reason: str) -> Health:
    return dataclasses.replace(health, status="unresponsive", healthy=False, reason=reason)


def _health_answer(
    body: bytes, pid: int
) -> tuple[str, bool, str | None, dict[str, UnrecordedRun]] | None:
    """(status, healthy, reason, runs not recorded by source) of a /healthz answer by the
    service ``pid``, or None when the answer is no such thing (not JSON, other types, another
    process's)."""
    try:
        said = json.loads(body)
    except ValueError:
        return None
    if not isinstance(said, dict):
        return None
    status, healthy, reason = said.get("status"), said.get("healthy"), said.get("reason")
    if not isinstance(status, str) or not isinstance(healthy, bool):
        return None
    if said.get("pid") not in (None, pid) or not isinstance(reason, str | None):
        return None
    return (
        _one_line(status, 40),
        healthy,
        _one_line(reason, 500) if reason else None,
        _not_recorded(said.get("not_recorded")),
    )


def _not_recorded(said: Any) -> dict[str, UnrecordedRun]:
    """The runs a service's /healthz says it could not record, by source; entries that are
    not what it writes (see ``health_json``) are left out."""
    out: dict[str, UnrecordedRun] = {}
    if not isinstance(said, dict):
        return out
    for name, run in said.items():
        if not isinstance(run, dict):
            continue
        at, cause, count = run.get("at"), run.get("cause"), run.get("count")
        if not isinstance(at, str) or not isinstance(cause, str) or type(count) is not int:
            continue
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            continue
        if when.tzinfo is None or count < 1:
            continue
        out[str(name)] = UnrecordedRun(when, _one_line(cause, 500), count)
    return out


def _one_line(text: str, limit: int) -> str:
    """``text`` without control characters or line breaks, at most ``limit`` characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:limit]
