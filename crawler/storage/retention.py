"""Retention: deleting old run records and dropping the text and HTML of old articles.

Both work in bounded batches, one short write transaction each, so a first prune of a big store
never holds SQLite's write lock for long while crawls are writing.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.sql.elements import ColumnElement

from crawler.storage.engine import Database, retry_locked
from crawler.storage.monitoring import add_pruned_sums
from crawler.storage.schema import articles, runs

#: Rows deleted or compacted per write transaction.
PRUNE_BATCH = 500
#: PostgreSQL advisory lock key held by each batch of a run prune ("prun").
_PRUNE_LOCK = 0x7072756E

#: The flag a compacted article carries: its text and HTML were dropped by retention, so a
#: re-score of its topics (``feeds --retag``) would see only its title and summary.
TEXT_PRUNED_FLAG = "text_pruned"


class RetentionStore(Database):
    """Pruning of ``runs`` and compaction of ``articles`` by age."""

    def _prunable_runs(self, before: datetime) -> ColumnElement[bool]:
        """Runs finished before ``before``, never running and never their source's latest."""
        # "Latest" as the status reads it (recent_runs): by start time, then id.
        newer = runs.alias("newer")
        has_newer = (
            select(newer.c.id)
            .where(
                newer.c.source == runs.c.source,
                or_(
                    newer.c.started_at > runs.c.started_at,
                    and_(newer.c.started_at == runs.c.started_at, newer.c.id > runs.c.id),
                ),
            )
            .exists()
        )
        return and_(
            runs.c.status != "running",
            runs.c.finished_at.is_not(None),
            runs.c.finished_at < before,
            has_newer,
        )

    def prune_runs(
        self, before: datetime, *, dry_run: bool = False, batch: int = PRUNE_BATCH
    ) -> int:
        """Delete the run records that finished before ``before``; returns how many (or, with
        ``dry_run``, would be). Each source's most recent run (the status shows it) and every
        ``running`` run are kept."""
        where = self._prunable_runs(before)
        if dry_run:
            with self._read() as conn:
                return int(conn.execute(select(func.count()).where(where)).scalar_one())
        done = 0
        while True:

            def run() -> int:
                with self._write() as conn:
                    if not self.is_sqlite:
                        # Two prunes at once (the service's and a `cityfeeds prune`) would add
                        # the same runs' sums twice, or race to create a source's row: one at
                        # a time (SQLite's write lock already serializes them).
                        conn.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PRUNE_LOCK}
                        )
                    ids = conn.execute(select(runs.c.id).where(where).limit(batch)).scalars().all()
                    if ids:
                        # Their figures stay in /metrics' run counters, which never go down.
                        add_pruned_sums(conn, self.is_sqlite, ids)
                        conn.execute(delete(runs).where(runs.c.id.in_(ids)))
                    return len(ids)

            n = retry_locked(run)
            done += n
            if n < batch:
                return done

    def _compactable_articles(self, before: datetime) -> ColumnElement[bool]:
        """Articles published and first seen before ``before`` that still hold text or HTML."""
        return and_(
            articles.c.published < before,
            articles.c.first_seen < before,
            or_(articles.c.text != "", articles.c.html != ""),
        )

    def compact_articles(
        self, before: datetime, *, dry_run: bool = False, batch: int = PRUNE_BATCH
    ) -> tuple[int, int]:
        """Empty ``text`` and ``html`` of the articles published and first seen before
        ``before``; returns (articles, characters dropped), done or (``dry_run``) to do.

        The rows stay (their URLs stay known, so a crawl does not fetch them again) and so does
        ``content_hash``: a re-crawl of an unchanged page is "unchanged" and rewrites nothing.
        """
        where = self._compactable_articles(before)
        chars = func.coalesce(
            func.sum(func.length(articles.c.text) + func.length(articles.c.html)), 0
        )
        if dry_run:
            with self._read() as conn:
                row = conn.execute(select(func.count(), chars).where(where)).one()
            return int(row[0]), int(row[1])
        count = dropped = 0
        after = 0  # in id order, so each batch reads on from the last, never the done rows again
        while True:
            # ``after`` moves only once a batch is committed (a retried one reads its rows again).
            n, c, after = retry_locked(
                functools.partial(self._compact_batch, where, after=after, batch=batch)
            )
            count += n
            dropped += c
            if n < batch:
                return count, dropped

    def _compact_batch(
        self, where: ColumnElement[bool], *, after: int, batch: int
    ) -> tuple[int, int, int]:
        """Compact up to ``batch`` articles after id ``after`` in one write transaction;
        (articles, characters dropped, the last id)."""
        with self._write() as conn:
            rows = conn.execute(
                select(
                    articles.c.id,
                    articles.c.flags,
                    (func.length(articles.c.text) + func.length(articles.c.html)).label("chars"),
                )
                .where(where, articles.c.id > after)
                .order_by(articles.c.id)
                .limit(batch)
            ).all()
            if not rows:
                return 0, 0, after
            conn.execute(
                update(articles)
                .where(articles.c.id == bindparam("row_id"))
                .values(text="", html="", flags=bindparam("row_flags")),
                [{"row_id": r.id, "row_flags": _with_flag(r.flags)} for r in rows],
            )
            return len(rows), sum(int(r.chars or 0) for r in rows), rows[-1].id


def _with_flag(flags: Any) -> list[str]:
    """``flags`` with :data:`TEXT_PRUNED_FLAG` added once."""
    kept = [str(f) for f in flags or []]
    return kept if TEXT_PRUNED_FLAG in kept else [*kept, TEXT_PRUNED_FLAG]
