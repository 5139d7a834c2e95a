"""Figures for monitoring: sums over the runs and the database's size (read by /metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select, text

from crawler.storage.engine import Database
from crawler.storage.schema import metadata, runs


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
            .where(self._finished(after_id, up_to_id))
            .group_by(runs.c.source, runs.c.status)
            .order_by(runs.c.source, runs.c.status)
        )
        with self._read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def run_key_totals(
        self, column: str, prefix: str = "", *, after_id: int = 0, up_to_id: int | None = None
    ) -> dict[tuple[str, str], int]:
        """Per ``(source, key)``: the sum over finished runs of the numbers in the JSON object
        ``column`` (``dropped`` or ``stats``) under keys starting with ``prefix``.

        The database walks the objects (``json_each``), so runs are never loaded one by one.
        """
        if column not in ("dropped", "stats"):
            raise ValueError(f"not a JSON column of runs: {column!r}")
        each = "json_each" if self.is_sqlite else "json_each_text"
        # ``column`` is one of two names checked above; everything else is a bound parameter.
        query = text(
            f"SELECT r.source, j.key, SUM(CAST(j.value AS BIGINT)) FROM runs AS r, "
            f"{each}(r.{column}) AS j WHERE r.status != 'running' "
            "AND r.id > :after AND r.id <= :up_to "
            "AND substr(j.key, 1, :length) = :prefix GROUP BY r.source, j.key"
        )
        params = {
            "prefix": prefix,
            "length": len(prefix),
            "after": after_id,
            "up_to": up_to_id if up_to_id is not None else 2**62,
        }
        with self._read() as conn:
            rows = conn.execute(query, params).all()
        return {(source, key): int(total or 0) for source, key, total in rows}

    def run_duration_buckets(
        self, bounds: Sequence[float], *, after_id: int = 0, up_to_id: int | None = None
    ) -> dict[str, tuple[list[int], int, float]]:
        """Per source, a histogram of finished runs' durations: cumulative counts of runs that
        took at most each bound (seconds), the number of runs, and the sum of durations."""
        if self.is_sqlite:
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
            .where(self._finished(after_id, up_to_id), runs.c.finished_at.is_not(None))
            .group_by(runs.c.source)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return {row[0]: ([int(n) for n in row[3:]], int(row[1]), float(row[2])) for row in rows}

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
