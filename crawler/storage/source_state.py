"""Source state: the scheduler's bookkeeping of each source (failures, backoff, overlaps)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from crawler.storage.engine import Database, retry_locked
from crawler.storage.schema import source_state


class SourceStateStore(Database):
    """The ``source_state`` table: one row per source the scheduler has run."""

    def get_source_state(self, source: str) -> dict[str, Any]:
        """Scheduler bookkeeping of one source (failures, backoff)."""
        with self._read() as conn:
            row = (
                conn.execute(select(source_state).where(source_state.c.source == source))
                .mappings()
                .first()
            )
        if row is None:
            return {
                "source": source,
                "consecutive_failures": 0,
                "backoff_until": None,
                "last_success": None,
                "last_status": None,
                "skipped_overlaps": 0,
            }
        return dict(row)

    def set_source_state(self, source: str, **values: Any) -> None:
        """Update scheduler bookkeeping of one source."""

        def run() -> None:
            with self._write() as conn:
                row = conn.execute(
                    select(source_state.c.source).where(source_state.c.source == source)
                ).first()
                if row is None:
                    conn.execute(insert(source_state).values(source=source, **values))
                else:
                    conn.execute(
                        update(source_state).where(source_state.c.source == source).values(**values)
                    )

        retry_locked(run)
