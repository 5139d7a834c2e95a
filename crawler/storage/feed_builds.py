"""Feed builds: the outcome of the last build of each feed file, and what it was rendered from."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select

from crawler.models import FeedBuild
from crawler.storage.engine import Database, in_chunks, retry_locked
from crawler.storage.schema import feed_builds


class FeedBuildStore(Database):
    """The ``feed_builds`` table: one row per feed file path."""

    def record_feed_build(self, feed_path: str, ok: bool, error: str | None, items: int) -> None:
        """Remember the outcome of building one feed file."""
        self.record_feed_builds([FeedBuild(feed_path, ok, error, items)])

    def record_feed_builds(self, outcomes: Sequence[FeedBuild]) -> None:
        """Remember the outcomes of a build, in one transaction."""
        if not outcomes:
            return
        now = datetime.now(UTC)
        rows = [{**outcome._asdict(), "built_at": now} for outcome in outcomes]

        def run() -> None:
            with self._write() as conn:
                paths = [r["path"] for r in rows]
                # A failed build keeps the time of the feed's last good one.
                last_ok = dict(
                    conn.execute(
                        select(feed_builds.c.path, feed_builds.c.last_ok_at).where(
                            feed_builds.c.path.in_(paths)
                        )
                    ).all()
                )
                for row in rows:
                    row["last_ok_at"] = now if row["ok"] else last_ok.get(row["path"])
                conn.execute(delete(feed_builds).where(feed_builds.c.path.in_(paths)))
                conn.execute(insert(feed_builds), rows)

        retry_locked(run)

    def feed_signatures(self) -> dict[str, tuple[str, str]]:
        """``(signature, files stamp)`` of the last build of each path that recorded them."""
        query = select(feed_builds.c.path, feed_builds.c.signature, feed_builds.c.stamp).where(
            feed_builds.c.ok.is_(True),
            feed_builds.c.signature.is_not(None),
            feed_builds.c.stamp.is_not(None),
        )
        with self._read() as conn:
            return {r.path: (r.signature, r.stamp) for r in conn.execute(query)}

    def feed_build_paths(self) -> set[str]:
        """Every path with a recorded build, successful or not: the feeds cityfeeds publishes."""
        with self._read() as conn:
            return set(conn.execute(select(feed_builds.c.path)).scalars())

    def forget_feed_builds(self, paths: Collection[str]) -> None:
        """Drop the records of feeds no longer published (a topic or source removed from the
        config), so the status no longer lists them."""
        if not paths:
            return
        wanted = sorted(paths)

        def run() -> None:
            with self._write() as conn:
                for chunk in in_chunks(wanted):
                    conn.execute(delete(feed_builds).where(feed_builds.c.path.in_(chunk)))

        retry_locked(run)

    def feed_build_status(self) -> list[dict[str, Any]]:
        """Outcome of the last build of every feed file."""
        with self._read() as conn:
            return [
                dict(r)
                for r in conn.execute(select(feed_builds).order_by(feed_builds.c.path)).mappings()
            ]
