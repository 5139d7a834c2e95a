"""Crawl runs: their start, their end with figures, additions from workers, and stale ones."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from crawler.run_states import kept_causes, queued_state
from crawler.storage.engine import Database, retry_locked
from crawler.storage.schema import runs


@dataclass
class RunStats:
    """What one crawl run did; stored in ``runs``."""

    pages: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class RunStore(Database):
    """The ``runs`` table: one row per crawl run of a source."""

    def start_run(
        self, source: str, *, now: datetime, pid: int | None = None, host: str | None = None
    ) -> int:
        """Record the start of a crawl run owned by process ``pid`` on ``host``; returns its id."""

        def run() -> int:
            with self._write() as conn:
                inserted = conn.execute(
                    insert(runs).values(
                        source=source,
                        started_at=now,
                        status="running",
                        dropped={},
                        stats={},
                        pid=pid,
                        host=host,
                    )
                ).inserted_primary_key
                assert inserted is not None
                return int(inserted[0])

        return retry_locked(run)

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        stats: RunStats,
        now: datetime,
        message: str | None = None,
    ) -> None:
        """Record the end of a crawl run with its figures."""

        def run() -> None:
            with self._write() as conn:
                conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id)
                    .values(finished_at=now, status=status, message=message, **_figures(stats))
                )

        retry_locked(run)

    def record_figures(self, run_id: int, stats: RunStats) -> bool:
        """Record a running crawl's figures so far; ``False`` once the run is no longer running.

        A crawl writes them every few seconds, so a run whose process is killed outright keeps
        what it had done (``status``, the metrics) instead of zeros.
        """

        def run() -> bool:
            with self._write() as conn:
                query = update(runs).where(runs.c.id == run_id, runs.c.status == "running")
                return bool(conn.execute(query.values(**_figures(stats))).rowcount)

        return bool(retry_locked(run))

    def add_to_run(
        self,
        run_id: int,
        counts: dict[str, int],
        dropped: dict[str, int] | None = None,
        *,
        judge: bool = False,
        discovery: Mapping[str, int] | None = None,
        causes: Sequence[dict[str, Any]] = (),
        skipped: Mapping[str, int] | None = None,
        links: Mapping[str, int] | None = None,
        limits: tuple[float, int] = (0.0, 0),
    ) -> bool:
        """Add figures to a recorded run: ``counts`` of ``pages``, ``new``, ``updated``,
        ``unchanged`` and ``errors``, and ``dropped`` by reason; ``False`` if it does not exist.

        ``discovery``: the queued run's discovery documents read (``ok``) and not read
        (``failed``), kept in its stats (``discovery_ok``, ``discovery_failed``); ``causes``:
        why they were not read, merged into ``stats.causes`` and ``stats.cause`` as a crawl run
        keeps them. ``skipped``: links not followed, by reason, added to the run's
        ``skipped/<reason>`` stats as a crawl run counts them (``skipped/page_cap``).
        ``links``: added to the run's stats as they are (``article_links``, ``not_modified``,
        ``links_counted``: the documents whose links were counted), so a queued run whose
        documents gave no article link says so, as a crawl run does.
        ``limits``: the crawl's request timeout and size limit, for the message.

        Distributed workers on several machines add what became of the pages queued for one
        scheduled run; each addition is one transaction, and the row is locked while the
        ``dropped`` reasons are merged, so concurrent additions never lose a count. With
        ``judge`` (the workers' additions to a queued run) an ``ok`` or ``partial`` run's state
        and message are decided again from the merged drops and discovery figures, by the rule
        of a crawl run (:func:`crawler.run_states.queued_state`), in the same transaction:
        ``failed`` once every queued discovery request has failed and none was read.
        """
        unknown = set(counts) - {"pages", "new", "updated", "unchanged", "errors"}
        if unknown:
            raise ValueError(f"not run figures: {sorted(unknown)}")

        def run() -> bool:
            with self._write() as conn:
                query = select(runs.c.dropped, runs.c.status, runs.c.stats).where(
                    runs.c.id == run_id
                )
                row = conn.execute(query if self.is_sqlite else query.with_for_update()).first()
                if row is None:
                    return False
                values: dict[str, Any] = {
                    name: getattr(runs.c, name) + int(n) for name, n in counts.items() if n
                }
                merged = Counter(row.dropped or {})
                if dropped:
                    merged.update({k: int(v) for k, v in dropped.items()})
                    values["dropped"] = dict(sorted(merged.items()))
                stats = dict(row.stats or {})
                if discovery or causes:
                    stats = _merge_discovery(stats, discovery or {}, causes)
                    values["stats"] = stats
                for reason, n in (skipped or {}).items():
                    key = f"skipped/{reason}"
                    stats[key] = int(stats.get(key) or 0) + int(n)
                    values["stats"] = stats
                for key, n in (links or {}).items():
                    stats[key] = int(stats.get(key) or 0) + int(n)
                    values["stats"] = stats
                if judge and row.status in FINISHED_STATES:
                    values["status"], values["message"] = _queued_state(merged, stats, limits)
                if values:
                    conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
                return True

        return retry_locked(run)

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """One run as a dict, or None."""
        with self._read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        return dict(row) if row is not None else None

    def running_runs(self) -> list[dict[str, Any]]:
        """Runs still marked ``running`` (live, or left so by a process that died)."""
        with self._read() as conn:
            query = select(runs).where(runs.c.status == "running").order_by(runs.c.id)
            return [dict(r) for r in conn.execute(query).mappings()]

    def close_run(
        self, run_id: int, *, status: str, now: datetime, message: str, only_running: bool = True
    ) -> bool:
        """Set a run's final status and message, keeping the figures it already has.

        With ``only_running`` (the default) a run another process has already closed is left
        alone; returns whether the row changed.
        """

        def run() -> bool:
            with self._write() as conn:
                query = update(runs).where(runs.c.id == run_id)
                if only_running:
                    query = query.where(runs.c.status == "running")
                values: dict[str, Any] = {"status": status, "message": message}
                if only_running:
                    values["finished_at"] = now
                return bool(conn.execute(query.values(**values)).rowcount)

        return bool(retry_locked(run))

    def close_stale_runs(self, *, now: datetime, message: str = "process died") -> int:
        """Mark runs left 'running' by a killed process as killed; returns how many."""

        def run() -> int:
            with self._write() as conn:
                return conn.execute(
                    update(runs)
                    .where(runs.c.status == "running")
                    .values(status="killed", finished_at=now, message=message)
                ).rowcount

        return retry_locked(run)

    def recent_runs(self, source: str | None = None, *, limit: int = 20) -> list[dict[str, Any]]:
        """The latest runs, newest first, as dicts."""
        query = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        if source is not None:
            query = query.where(runs.c.source == source)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


#: States of a run that ran to its end, decided from its figures (crawler.run_states).
FINISHED_STATES = ("ok", "partial")


def _figures(stats: RunStats) -> dict[str, Any]:
    """The columns of a run row that hold ``stats``."""
    return {
        "pages": stats.pages,
        "new": stats.new,
        "updated": stats.updated,
        "unchanged": stats.unchanged,
        "dropped": dict(sorted(stats.dropped.items())),
        "errors": stats.errors,
        "stats": _jsonable(stats.extra),
    }


def _merge_discovery(
    stats: dict[str, Any], discovery: Mapping[str, int], causes: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A queued run's ``stats`` with a worker's discovery figures and causes added.

    The causes are kept as a crawl run keeps them: the first (``cause``) and the distinct
    ones, up to :data:`crawler.run_states.MAX_CAUSES` (``causes``).
    """
    merged = dict(stats)
    for outcome in ("ok", "failed"):
        if discovery.get(outcome):
            key = f"discovery_{outcome}"
            merged[key] = int(merged.get(key) or 0) + int(discovery[outcome])
    kept = kept_causes(merged.get("causes") or [], *(dict(c) for c in causes))
    if kept:
        merged["causes"] = kept
        merged.setdefault("cause", kept[0])
    return _jsonable(merged)


def _queued_state(
    dropped: Counter[str], stats: dict[str, Any], limits: tuple[float, int]
) -> tuple[str, str | None]:
    """State and message of a run queued for workers, from what its workers added."""
    return queued_state(
        dropped,
        queued=int(stats.get("queued") or 0),
        read=int(stats.get("discovery_ok") or 0),
        not_read=int(stats.get("discovery_failed") or 0),
        causes=stats.get("causes") or [],
        limits=limits,
        links=int(stats.get("article_links") or 0),
        links_counted=int(stats.get("links_counted") or 0),
        not_modified=int(stats.get("not_modified") or 0),
    )


def _jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it (crawl stats carry datetimes and tuples)."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))
