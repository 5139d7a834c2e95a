"""Health of each source and of the service, computed purely from stored runs.

One computation (:func:`compute_status`) serves ``cityfeeds status``, the ``/status`` page and
``/healthz`` (views in :mod:`cityfeeds.status.views`). Reading the store is kept apart
(:mod:`cityfeeds.status.inputs`), so every rule here is tested with plain dicts and an
injected ``now``.

States of a source:

* ``ok``: the last run succeeded and looks like the ones before it.
* ``degraded``: the last run "succeeded" but found no article link at all (its message says
  why: a pattern that matches none of a listing's links, a listing with no links), or far
  fewer than it used to, or most of its articles lost a field (no date, no title) when they
  used not to: the site probably changed its layout; or a feed or sitemap it read was not
  well-formed (often truncated) and was read only in part (``feed_recovered``). Distinct from
  failing: nothing errored.
* ``failing``: the last run failed or was killed (the source may be backing off).
* ``waiting``: the last run was deferred: the site answered 429/503 with a long Retry-After;
  what it stored is kept and the next attempt waits until the given time.
* ``interrupted``: the last run was stopped (Ctrl-C, SIGTERM, its process died); its figures
  are what it did until then.
* ``never run``, ``disabled``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crawler.clock import user_time
from crawler.run_states import LOST, NO_ARTICLE_LINK, untaken_requests
from feeds.build import INDEX_PATH, OPML_PATH

#: Run results that count as a success (``partial``: finished, some pages to fetch again).
OK_RESULTS = ("ok", "degraded", "partial")
FAILED_RESULTS = ("failed", "killed")
#: Neither failure nor success: stopped by us (Ctrl-C, kill, shutdown), or told to come back.
NO_FAULT_RESULTS = ("interrupted", "deferred")
#: Drop reasons that mean "a field the extractor needs is missing" (a layout change).
EXTRACTION_DROPS = ("missing_title", "empty_page", "selector_leak", "bad_encoding")

#: Degraded rule: how many earlier successful runs form the baseline, and how many are needed.
HISTORY_RUNS = 10
MIN_HISTORY = 3
#: "Used to return many": the baseline median of article links found per run.
MIN_BASELINE_LINKS = 5
#: Link count at or below this share of the baseline counts as "returns zero".
COLLAPSE_SHARE = 0.1
#: Field-loss rule: at least this many articles in a run to judge it, a share at or above
#: ``MISSING_SHARE`` now, below ``NORMAL_MISSING_SHARE`` in the baseline.
MIN_ITEMS = 3
MISSING_SHARE = 0.5
NORMAL_MISSING_SHARE = 0.2
#: /healthz turns unhealthy after this many periods (of the slowest source) without a cycle,
HEALTH_PERIODS = 3
#: and never sooner than this: a short interval (or a long crawl) must not read as stale
#: while crawls succeed (``every 0s`` once made the threshold 0).
MIN_HEALTH_SECONDS = 900.0
#: Files a build writes that are pages about the feeds, not feeds: their success alone is no
#: "ok build" (they are written even when every feed fails, e.g. with the disk full).
NOT_FEEDS = (INDEX_PATH, OPML_PATH)


@dataclass
class SourceInputs:
    """What the store knows about one source, plus its schedule."""

    name: str
    enabled: bool
    period: float
    runs: list[dict[str, Any]]  # newest first
    state: dict[str, Any]
    newest_article: datetime | None = None
    next_run: datetime | None = None


@dataclass
class SourceStatus:
    """One row of the status table."""

    name: str
    enabled: bool
    state: str
    running: bool
    last_started: datetime | None
    last_finished: datetime | None
    result: str | None
    pages: int
    new: int
    updated: int
    dropped: dict[str, int]
    errors: int
    consecutive_failures: int
    backoff_until: datetime | None
    next_run: datetime | None
    newest_article: datetime | None
    newest_age: float | None
    skipped_overlaps: int
    last_success: datetime | None
    message: str | None
    reasons: list[str] = field(default_factory=list)
    waiting_until: datetime | None = None  # of a deferred run: the earliest next attempt
    #: Of the last run: the first failure's URL and HTTP status or error class, if any.
    cause: dict[str, Any] | None = None
    #: When the run crawling now started (``running``); the other fields are the last
    #: finished run's.
    running_since: datetime | None = None


@dataclass(frozen=True)
class UnrecordedRun:
    """A scheduled run the store has no record of: its crawl could not start, or its outcome
    could not be written (the database or its disk is full). Only the service knows it."""

    at: datetime
    cause: str  # one line: what went wrong, e.g. "database or disk is full (OperationalError)"
    count: int = 1  # such runs of the source in a row


@dataclass
class Health:
    """Whether the service is doing its job: a successful cycle (crawl + feed build) recently,
    feeds being published, crawls able to start."""

    healthy: bool
    status: str  # ok | starting | degraded | stale | failing
    last_successful_cycle: datetime | None
    last_ok_run: datetime | None
    last_ok_build: datetime | None
    threshold_seconds: float
    started_at: datetime | None = None
    #: Why the status is not ok (None when it is ok or starting).
    reason: str | None = None


@dataclass
class StatusReport:
    """The whole status: sources, health, failed feeds."""

    generated_at: datetime
    timezone: str
    sources: list[SourceStatus]
    health: Health
    feed_failures: dict[str, str]
    scheduler: str | None = None  # e.g. "running (pid 1234)"
    #: Of a service with WebSub hubs: per hub, its notifications (feeds.websub.HubNotifier.stats).
    websub: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The service's runs the store has no record of, by source (only the service knows them:
    #: its /healthz passes them on to `cityfeeds status`).
    unrecorded: dict[str, UnrecordedRun] = field(default_factory=dict)

    def failed_feeds(self) -> list[str]:
        """The feeds whose last build failed: the index page and OPML are no feeds."""
        return sorted(p for p in self.feed_failures if p not in NOT_FEEDS)

    def counts(self) -> dict[str, int]:
        """Number of sources in each state."""
        out: dict[str, int] = {}
        for s in self.sources:
            out[s.state] = out.get(s.state, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601)."""
        return jsonable(asdict(self))


# -- rules ---------------------------------------------------------------------------------


def links_found(run: dict[str, Any]) -> int:
    """Article links a run's discovery found (feeds, sitemaps, listings)."""
    stats = run.get("stats") or {}
    return sum(int(v) for k, v in stats.items() if k.startswith("discovered/") and _is_number(v))


def date_fallback_share(run: dict[str, Any]) -> float | None:
    """Share of the run's stored articles that had no usable date; None if too few to judge."""
    stored = int(run.get("new") or 0) + int(run.get("updated") or 0)
    if stored < MIN_ITEMS:
        return None
    return int((run.get("stats") or {}).get("date_fallback") or 0) / stored


def missing_field_share(run: dict[str, Any]) -> float | None:
    """Share of fetched article pages dropped for a missing field; None if too few to judge."""
    dropped = run.get("dropped") or {}
    lost = sum(int(dropped.get(reason) or 0) for reason in EXTRACTION_DROPS)
    pages = int(run.get("pages") or 0)
    if pages < MIN_ITEMS:
        return None
    return lost / pages


def degraded_reasons(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Why the newest successful run looks broken compared with the ones before it ([] if not)."""
    ok = [r for r in runs if r.get("status") in OK_RESULTS]
    if not ok or ok[0] is not next((r for r in runs if r.get("status") != "running"), None):
        return []  # the newest finished run failed: that is "failing", not "degraded"
    latest, history = ok[0], ok[1 : 1 + HISTORY_RUNS]
    reasons = []
    # Its article pages answer errors (the feed still reads): a "partial" run after "partial"
    # run would keep the source ok while nothing new is stored.
    lost = int((latest.get("dropped") or {}).get(LOST) or 0)
    tried = lost + int(latest.get("pages") or 0)
    if lost >= MIN_ITEMS and lost >= tried * MISSING_SHARE:
        reasons.append(f"{lost} of {tried} article pages could not be fetched")
    # A feed answered 304 yields no links but is fine: only judge runs that read everything. A
    # run queued for distributed workers keeps no per-document link counts (the collapse rule
    # is not for it); its workers add the article links they found, and whether they counted
    # them for every document read (``links_counted``: older workers do not).
    stats = latest.get("stats") or {}
    unchanged = bool(int(stats.get("not_modified") or 0))
    no_links = stats.get("article_links") == 0
    queued = stats.get("mode") == "distributed"
    if queued:
        read = int(stats.get("discovery_ok") or 0)
        counted = read > 0 and int(stats.get("links_counted") or 0) >= read
        unchanged = unchanged or not counted
        no_links = counted and not int(stats.get("article_links") or 0)
    baseline = statistics.median(links_found(r) for r in history) if history else 0
    found = links_found(latest)
    collapsed = (
        not queued
        and len(history) >= MIN_HISTORY
        and baseline >= MIN_BASELINE_LINKS
        and not unchanged
        and found <= baseline * COLLAPSE_SHARE
    )
    if collapsed:
        reasons.append(f"found {found} article links (usually {baseline:g})")
    if no_links and not unchanged and not collapsed:
        # No history needed: a first run that found nothing (a pattern that matches none of
        # the links, a listing built by JavaScript) is no healthy source either. The run's
        # message says why.
        reasons.append(NO_ARTICLE_LINK)
    if len(history) < MIN_HISTORY:
        return reasons
    for label, share_of in (
        ("articles without a date", date_fallback_share),
        ("pages dropped for a missing field", missing_field_share),
    ):
        now_share = share_of(latest)
        past = [s for s in (share_of(r) for r in history) if s is not None]
        if now_share is None or len(past) < MIN_HISTORY - 1:
            continue
        usual = statistics.median(past)
        if now_share >= MISSING_SHARE and usual < NORMAL_MISSING_SHARE:
            reasons.append(f"{now_share:.0%} {label} (usually {usual:.0%})")
    return reasons


def recovered_reasons(run: dict[str, Any]) -> list[str]:
    """Why a run read its feeds only in part: a feed or sitemap was not well-formed."""
    stats = run.get("stats") or {}
    if not stats.get("feed_recovered"):
        return []
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted((stats.get("recovered") or {}).items()))
    return [f"read in part: {kinds or 'a document'} not well-formed (truncated?)"]


def _failure_streak(finished: Sequence[dict[str, Any]], recorded: int) -> int:
    """Consecutive failures, so ``failing`` never stands beside ``0`` nor ``ok`` beside ``3``.

    The service keeps a count in the source's state (also failures that left no run row, such
    as a child that died first), but ``cityfeeds crawl`` runs do not touch it: the larger of
    the two while the newest run failed, and 0 once it succeeded. Interrupted and deferred
    runs are skipped: stopping a crawl of a failing source does not make it look healthy.
    """
    streak = 0
    decided = False  # a run that failed or succeeded (an interrupt or a deferral is neither)
    for r in finished:
        if r.get("status") in NO_FAULT_RESULTS:
            continue
        decided = True
        if r.get("status") not in FAILED_RESULTS:
            break
        streak += 1
    if decided and streak == 0:
        return 0
    return max(streak, recorded)


#: How long a run queued for distributed workers may wait for one before it says none came.
UNTAKEN_SECONDS = 900.0


def untaken_reasons(run: dict[str, Any], now: datetime) -> list[str]:
    """Why a run queued for distributed workers looks stuck: no worker has read any of its
    discovery documents ``UNTAKEN_SECONDS`` after it was queued (no worker running, or all on
    another Redis or prefix). It was an ``ok`` run, and ``status --check`` passed."""
    queued, finished = untaken_requests(run), run.get("finished_at")
    if not queued or finished is None:
        return []
    waited = (now - finished).total_seconds()
    if waited < UNTAKEN_SECONDS:
        return []
    return [
        f"no worker has taken its {queued} queued request(s) in {waited / 60:.0f} min "
        "(is a `cityfeeds worker` running on this Redis and prefix?)"
    ]


def source_status(inp: SourceInputs, now: datetime, timezone: str = "UTC") -> SourceStatus:
    """The status row of one source; times in its notes are given in ``timezone``."""
    runs = inp.runs
    running = bool(runs) and runs[0].get("status") == "running"
    finished = [r for r in runs if r.get("status") != "running"]
    last = finished[0] if finished else None
    state_row = inp.state or {}
    failures = _failure_streak(finished, int(state_row.get("consecutive_failures") or 0))
    backoff = state_row.get("backoff_until")
    if backoff is not None and backoff <= now:
        backoff = None
    reasons: list[str] = []
    if not inp.enabled:
        state = "disabled"
    elif last is None:
        state = "never run"
    elif last.get("status") in FAILED_RESULTS:
        state = "failing"
    elif last.get("status") == "deferred":
        state = "waiting"
    elif last.get("status") == "interrupted":
        state = "interrupted"
    else:
        reasons = recovered_reasons(last) + degraded_reasons(runs) + untaken_reasons(last, now)
        state = "degraded" if reasons else "ok"
    last_success = state_row.get("last_success")
    for r in finished:
        if r.get("status") in OK_RESULTS:
            if last_success is None or (r.get("finished_at") and r["finished_at"] > last_success):
                last_success = r.get("finished_at")
            break
    newest = inp.newest_article
    message = (last or {}).get("message")
    if backoff is not None:
        message = f"backing off until {user_time(backoff, timezone)}" + (
            f"; {message}" if message else ""
        )
    return SourceStatus(
        name=inp.name,
        enabled=inp.enabled,
        state=state,
        running=running,
        last_started=(last or {}).get("started_at"),
        last_finished=(last or {}).get("finished_at"),
        result=_result(last, state_row),
        pages=int((last or {}).get("pages") or 0),
        new=int((last or {}).get("new") or 0),
        updated=int((last or {}).get("updated") or 0),
        dropped=dict((last or {}).get("dropped") or {}),
        errors=int((last or {}).get("errors") or 0),
        consecutive_failures=failures,
        backoff_until=backoff,
        next_run=inp.next_run,
        newest_article=newest,
        newest_age=(now - newest).total_seconds() if newest else None,
        skipped_overlaps=int(state_row.get("skipped_overlaps") or 0),
        last_success=last_success,
        message=message,
        reasons=reasons,
        waiting_until=_retry_at(last) if state == "waiting" else None,
        cause=((last or {}).get("stats") or {}).get("cause"),
        running_since=runs[0].get("started_at") if running else None,
    )


def _retry_at(run: dict[str, Any] | None) -> datetime | None:
    """When a deferred run's site said to come back (``retry_at`` in its stats)."""
    value = ((run or {}).get("stats") or {}).get("retry_at")
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def service_health(
    sources: Sequence[SourceStatus],
    feed_builds: Iterable[dict[str, Any]],
    now: datetime,
    *,
    threshold_seconds: float,
    started_at: datetime | None = None,
    unrecorded: str | None = None,
) -> Health:
    """Healthy when a crawl succeeded and the feeds were built within ``threshold_seconds``,
    and some feed still publishes.

    The last successful cycle is the older of "last successful crawl" and "last successful
    feed build" (of a feed: the index page and OPML do not count): both halves must work. A
    service started less than the threshold ago is healthy ("starting") while it runs its
    first cycle. ``failing`` (unhealthy at once, threshold or not): every feed's last build
    failed (nothing is published: the output disk is full, say), or ``unrecorded`` says why
    the service's latest crawl could neither start nor be recorded. ``degraded`` (healthy):
    some feed files failed their last build while others built.
    """
    ok_runs = [s.last_success for s in sources if s.last_success is not None]
    last_ok_run = max(ok_runs) if ok_runs else None
    builds = list(feed_builds)
    feeds = [b for b in builds if b.get("path") not in NOT_FEEDS] or builds
    # A feed's last good build: its latest build if that succeeded, else the one it keeps
    # through failures (so a full disk does not make the last good files look like none).
    built = [
        b["built_at"] if b.get("ok") else b.get("last_ok_at")
        for b in feeds
        if b.get("built_at") and (b.get("ok") or b.get("last_ok_at"))
    ]
    last_ok_build = max(built) if built else None
    # As ``failed_feeds`` in /healthz: feeds only (the reason and the count must agree).
    failed = sorted(str(b.get("path")) for b in feeds if not b.get("ok"))
    cycle = min(last_ok_run, last_ok_build) if last_ok_run and last_ok_build else None
    limit = timedelta(seconds=threshold_seconds)
    reason: str | None = None
    if feeds and all(not b.get("ok") for b in feeds):
        status = "failing"
        reason = f"every feed failed its last build ({len(feeds)}); the last good files are served"
    elif unrecorded is not None:
        status = "failing"
        reason = f"crawls cannot start or be recorded: {unrecorded}"
    elif cycle is None or now - cycle > limit:
        if started_at is not None and now - started_at <= limit:
            status = "starting"
        else:
            status = "stale"
            reason = f"no successful crawl and feed build for over {threshold_seconds:g} s"
    else:
        status = "ok"
    if failed and status in ("ok", "starting"):
        status = "degraded"
        shown = ", ".join(failed[:5]) + (", ..." if len(failed) > 5 else "")
        reason = f"{len(failed)} feed file(s) failed their last build: {shown}"
    return Health(
        healthy=status not in ("stale", "failing"),
        status=status,
        last_successful_cycle=cycle,
        last_ok_run=last_ok_run,
        last_ok_build=last_ok_build,
        threshold_seconds=threshold_seconds,
        started_at=started_at,
        reason=reason,
    )


def mark_unrecorded(status: SourceStatus, run: UnrecordedRun, timezone: str = "UTC") -> None:
    """Show on a source's row a scheduled run of it that the store has no record of."""
    status.state = "failing"
    status.consecutive_failures = max(status.consecutive_failures, run.count)
    status.message = f"{user_time(run.at, timezone)}: not run or not recorded: {run.cause}" + (
        f"; last recorded run: {status.message}" if status.message else ""
    )
    status.reasons = []


def compute_status(
    inputs: Sequence[SourceInputs],
    feed_builds: Sequence[dict[str, Any]],
    now: datetime,
    *,
    timezone: str = "UTC",
    started_at: datetime | None = None,
    scheduler: str | None = None,
    unrecorded: Mapping[str, UnrecordedRun] | None = None,
    unrecorded_latest: bool = False,
) -> StatusReport:
    """The full status report (pure: everything comes in as arguments).

    ``unrecorded``: the service's runs the store could not record, by source (rows of those
    sources say so); ``unrecorded_latest``: the service's latest run was one of them (the
    service is ``failing`` until a run is recorded again).
    """
    sources = [source_status(i, now, timezone) for i in inputs]
    unrecorded = unrecorded or {}
    for row in sources:
        if row.name in unrecorded:
            mark_unrecorded(row, unrecorded[row.name], timezone)
    latest = max(unrecorded.values(), key=lambda r: r.at, default=None)
    periods = [i.period for i in inputs if i.enabled] or [i.period for i in inputs] or [1800.0]
    health = service_health(
        sources,
        feed_builds,
        now,
        threshold_seconds=health_threshold(periods),
        started_at=started_at,
        unrecorded=latest.cause if latest is not None and unrecorded_latest else None,
    )
    failures = {b["path"]: b.get("error") or "failed" for b in feed_builds if not b.get("ok")}
    return StatusReport(
        now, timezone, sources, health, failures, scheduler, unrecorded=dict(unrecorded)
    )


def health_threshold(periods: Sequence[float]) -> float:
    """Seconds without a successful cycle after which the service is ``stale``."""
    return max(HEALTH_PERIODS * max(periods, default=0.0), MIN_HEALTH_SECONDS)


def _result(last: dict[str, Any] | None, state_row: dict[str, Any]) -> str | None:
    if last is None:
        return None
    # A child stopped at its wall-clock limit records "failed" (Scrapy's own shutdown);
    # the scheduler knows it was killed.
    if last.get("status") == "failed" and state_row.get("last_status") == "killed":
        return "killed"
    return last.get("status")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 strings, ready for ``json.dumps``."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
