"""Figures for monitoring: sums over the runs and the database's size (read by /metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, case, func, select, text
from sqlalchemy.engine import Connection

from crawler.storage.engine import Database
from crawler.storage.schema import metadata, pruned_runs, runs

#: The bounds (seconds) of the run duration histogram /metrics exports; the sums of pruned runs
#: keep their counts per bound.
RUN_DURATION_BOUNDS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)

#: Sums over runs: (source, status) -> figures; (source, key) -> sum of ``dropped``; (source,
#: key) -> sum of ``stats`` errors; source -> (cumulative counts per bound, runs, seconds).
RunFigures = tuple[
    dict[tuple[str, str], dict[str, int]],
    dict[tuple[str, str], int],
    dict[tuple[str, str], int],
    dict[str, tuple[list[int], int, float]],
]


class MonitoringStore(Database):
    """Sums over finished runs, computed by the database, and the size of the store.

    Each sum takes the id range ``after_id < id <= up_to_id``, so a caller can keep the sums of
    settled runs and only ask for the newer ones (see :meth:`settled_run_id`).
    """

    def settled_run_id(self, *, finished_before: datetime, after_id: int = 0) -> int:
        """The highest run id ``W`` such that every run up to ``W`` finished before
        ``finished_before`` (its figures will not change any more); at least ``after_id``."""
        unsettled = (
            select(func.min(runs.c.id))
            .where(runs.c.id > after_id)
            .where(
                (runs.c.status == "running")
                | runs.c.finished_at.is_(None)
                | (runs.c.finished_at >= finished_before)
            )
        )
        with self._read() as conn:
            first = conn.execute(unsettled).scalar()
            if first is not None:
                return max(after_id, int(first) - 1)
            last = conn.execute(select(func.max(runs.c.id))).scalar()
        return max(after_id, int(last or 0))

    @staticmethod
    def _finished(after_id: int, up_to_id: int | None) -> Any:
        condition = (runs.c.status != "running") & (runs.c.id > after_id)
        return condition if up_to_id is None else condition & (runs.c.id <= up_to_id)

    def run_totals(self, *, after_id: int = 0, up_to_id: int | None = None) -> list[dict[str, Any]]:
        """Sums over finished runs, per source and final status.

        Keys: ``source``, ``status``, ``runs``, ``pages``, ``new``, ``updated``, ``unchanged``,
        ``errors`` and the sums of the ``requests``, ``bytes``, ``requests_avoided`` and
        ``not_modified`` figures of ``runs.stats``.
        """
        with self._read() as conn:
            return _run_totals(conn, self._finished(after_id, up_to_id))

    def pruned_sums(self) -> RunFigures:
        """What the runs retention deleted would add to :meth:`run_totals`,
        :meth:`run_key_totals` (``dropped``, ``stats`` errors) and :meth:`run_duration_buckets`
        (``pruned_runs``, filled by :func:`add_pruned_sums`)."""
        totals: dict[tuple[str, str], dict[str, int]] = {}
        dropped: dict[tuple[str, str], int] = {}
        stats: dict[tuple[str, str], int] = {}
        durations: dict[str, tuple[list[int], int, float]] = {}
        with self._read() as conn:
            rows = conn.execute(select(pruned_runs)).all()
        for row in rows:
            for status, figures in (row.totals or {}).items():
                totals[row.source, status] = {k: int(v) for k, v in figures.items()}
            dropped.update({(row.source, k): int(v) for k, v in (row.dropped or {}).items()})
            stats.update({(row.source, k): int(v) for k, v in (row.stats or {}).items()})
            kept = row.durations or {}
            if kept.get("bounds") == list(RUN_DURATION_BOUNDS):
                durations[row.source] = (
                    [int(n) for n in kept["counts"]],
                    int(kept["runs"]),
                    float(kept["seconds"]),
                )
        return totals, dropped, stats, durations

    def run_key_totals(
        self, column: str, prefix: str = "", *, after_id: int = 0, up_to_id: int | None = None
    ) -> dict[tuple[str, str], int]:
        """Per ``(source, key)``: the sum over finished runs of the numbers in the JSON object
        ``column`` (``dropped`` or ``stats``) under keys starting with ``prefix``.

        The database walks the objects (``json_each``), so runs are never loaded one by one.
        """
        with self._read() as conn:
            return _key_totals(
                conn, self.is_sqlite, column, prefix, after_id=after_id, up_to_id=up_to_id
            )

    def run_duration_buckets(
        self, bounds: Sequence[float], *, after_id: int = 0, up_to_id: int | None = None
    ) -> dict[str, tuple[list[int], int, float]]:
        """Per source, a histogram of finished runs' durations: cumulative counts of runs that
        took at most each bound (seconds), the number of runs, and the sum of durations."""
        with self._read() as conn:
            return _duration_buckets(
                conn, self.is_sqlite, bounds, self._finished(after_id, up_to_id)
            )

    def size_bytes(self) -> int | None:
        """Bytes the database takes on disk (SQLite: the files; PostgreSQL: cityfeeds' tables
        with their indexes); None when unknown (an in-memory database)."""
        if self.is_sqlite:
            database = self.engine.url.database or ""
            if not database or database == ":memory:" or database.startswith("file:"):
                return None
            files = [Path(database + suffix) for suffix in ("", "-wal", "-shm")]
            return sum(f.stat().st_size for f in files if f.exists())
        query = text("SELECT COALESCE(SUM(pg_total_relation_size(CAST(:t AS regclass))), 0)")
        with self._read() as conn:
            return sum(
                int(conn.execute(query, {"t": t.name}).scalar() or 0)
                for t in metadata.sorted_tables
            )


def _run_totals(conn: Connection, finished: Any) -> list[dict[str, Any]]:
    figures = ("requests", "bytes", "requests_avoided", "not_modified")
    query = (
        select(
            runs.c.source,
            runs.c.status,
            func.count().label("runs"),
            *(
                func.coalesce(func.sum(getattr(runs.c, name)), 0).label(name)
                for name in ("pages", "new", "updated", "unchanged", "errors")
            ),
            *(
                func.coalesce(func.sum(runs.c.stats[key].as_integer()), 0).label(key)
                for key in figures
            ),
        )
        .where(finished)
        .group_by(runs.c.source, runs.c.status)
        .order_by(runs.c.source, runs.c.status)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def _key_totals(
    conn: Connection,
    is_sqlite: bool,
    column: str,
    prefix: str,
    *,
    after_id: int = 0,
    up_to_id: int | None = None,
    ids: Sequence[int] | None = None,
) -> dict[tuple[str, str], int]:
    if column not in ("dropped", "stats"):
        raise ValueError(f"not a JSON column of runs: {column!r}")
    each = "json_each" if is_sqlite else "json_each_text"
    which = "r.id IN :ids" if ids is not None else "r.id > :after AND r.id <= :up_to"
    # ``column`` is one of two names checked above; everything else is a bound parameter.
    query = text(
        f"SELECT r.source, j.key, SUM(CAST(j.value AS BIGINT)) FROM runs AS r, "
        f"{each}(r.{column}) AS j WHERE r.status != 'running' AND {which} "
        "AND substr(j.key, 1, :length) = :prefix GROUP BY r.source, j.key"
    )
    params: dict[str, Any] = {"prefix": prefix, "length": len(prefix)}
    if ids is not None:
        query = query.bindparams(bindparam("ids", expanding=True))
        params["ids"] = list(ids)
    else:
        params["after"] = after_id
        params["up_to"] = up_to_id if up_to_id is not None else 2**62
    rows = conn.execute(query, params).all()
    return {(source, key): int(total or 0) for source, key, total in rows}


def _duration_buckets(
    conn: Connection, is_sqlite: bool, bounds: Sequence[float], finished: Any
) -> dict[str, tuple[list[int], int, float]]:
    if is_sqlite:
        # Rounded to the millisecond: julianday's floating point would put a 60 s run
        # just above the 60 s bucket.
        seconds: Any = func.round(
            (func.julianday(runs.c.finished_at) - func.julianday(runs.c.started_at)) * 86400.0,
            3,
        )
    else:
        seconds = func.extract("epoch", runs.c.finished_at - runs.c.started_at)
    query = (
        select(
            runs.c.source,
            func.count(),
            func.coalesce(func.sum(seconds), 0.0),
            *(func.coalesce(func.sum(case((seconds <= b, 1), else_=0)), 0) for b in bounds),
        )
        .where(finished, runs.c.finished_at.is_not(None))
        .group_by(runs.c.source)
    )
    rows = conn.execute(query).all()
    return {row[0]: ([int(n) for n in row[3:]], int(row[1]), float(row[2])) for row in rows}


def add_pruned_sums(conn: Connection, is_sqlite: bool, ids: Sequence[int]) -> None:
    """Add the figures of the runs ``ids`` (about to be deleted, in ``conn``'s write
    transaction) to ``pruned_runs``."""
    finished = (runs.c.status != "running") & runs.c.id.in_(ids)
    totals = _run_totals(conn, finished)
    dropped = _key_totals(conn, is_sqlite, "dropped", "", ids=ids)
    stats = _key_totals(conn, is_sqlite, "stats", "errors/", ids=ids)
    durations = _duration_buckets(conn, is_sqlite, RUN_DURATION_BOUNDS, finished)
    sources = {r["source"] for r in totals} | {s for s, _ in dropped} | set(durations)
    for source in sources:
        row = conn.execute(select(pruned_runs).where(pruned_runs.c.source == source)).first()
        kept_totals = dict(row.totals) if row is not None else {}
        for figures in (r for r in totals if r["source"] == source):
            counted = {k: v for k, v in figures.items() if k not in ("source", "status")}
            kept_totals[figures["status"]] = _plus(kept_totals.get(figures["status"]), counted)
        kept_dropped = _plus(row.dropped if row is not None else None, _of(source, dropped))
        kept_stats = _plus(row.stats if row is not None else None, _of(source, stats))
        kept = dict(row.durations) if row is not None else {}
        if kept.get("bounds") != list(RUN_DURATION_BOUNDS):
            kept = {
                "bounds": list(RUN_DURATION_BOUNDS),
                "counts": [0] * len(RUN_DURATION_BOUNDS),
                "runs": 0,
                "seconds": 0.0,
            }
        if source in durations:
            counts, n, seconds = durations[source]
            kept["counts"] = [a + b for a, b in zip(kept["counts"], counts, strict=True)]
            kept["runs"] += n
            kept["seconds"] += seconds
        values = {
            "totals": kept_totals,
            "dropped": kept_dropped,
            "stats": kept_stats,
            "durations": kept,
        }
        if row is None:
            conn.execute(pruned_runs.insert().values(source=source, **values))
        else:
            conn.execute(
                pruned_runs.update().where(pruned_runs.c.source == source).values(**values)
            )


def _plus(kept: dict[str, Any] | None, added: dict[str, int]) -> dict[str, int]:
    """``kept`` (a JSON object of sums) with ``added`` added, key by key."""
    total = {key: int(value) for key, value in (kept or {}).items()}
    for key, value in added.items():
        total[key] = total.get(key, 0) + int(value or 0)
    return total


def _of(source: str, sums: dict[tuple[str, str], int]) -> dict[str, int]:
    """The sums of ``source`` among sums by (source, key), by key."""
    return {key: n for (s, key), n in sums.items() if s == source}
