"""Re-checks of recent articles: after the new ones, within a per-run budget, spread over runs.

Articles first seen within ``[crawl] refresh_hours`` are fetched again to pick up edits. They
used to be fetched with the new ones, oldest first, so a new article waited behind the whole
backlog; now the spider queues them here and asks for a few at a time only once it has
nothing else to do (every new article fetched), at most ``recheck_per_run`` of them and for at
most ``recheck_seconds``. A run starts after the key where the previous one stopped, so the
whole window is covered over several runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawler.discovery import Link


@dataclass
class RecheckQueue:
    """The recent articles a run found in its feeds, and what its budget lets it re-check."""

    limit: int  # re-checks per run
    seconds: float  # re-checking time per run, from the first re-check asked for
    cursor: str | None = None  # the last URL key the previous run re-checked
    pending: dict[str, Link] = field(default_factory=dict)
    done: int = 0
    started: datetime | None = None
    last_key: str | None = None

    def add(self, key: str, link: Link) -> None:
        """Queue a recent article (by its URL key) for a re-check."""
        self.pending.setdefault(key, link)

    def take(self, count: int, now: datetime) -> list[Link]:
        """Up to ``count`` articles to re-check now; [] once the budget is spent."""
        if self.started is None:
            self.started = now
        if (now - self.started).total_seconds() >= self.seconds:
            return []
        count = min(count, self.limit - self.done)
        if count <= 0:
            return []
        keys = self._ordered()[:count]
        self.done += len(keys)
        if keys:
            self.last_key = keys[-1]
        return [self.pending.pop(key) for key in keys]

    @property
    def deferred(self) -> int:
        """Recent articles left for a later run."""
        return len(self.pending)

    @property
    def next_cursor(self) -> str | None:
        """Where the next run takes up: the last key re-checked (or the one given)."""
        return self.last_key or self.cursor

    def _ordered(self) -> list[str]:
        """Keys in order, starting after the cursor and wrapping round."""
        keys = sorted(self.pending)
        if self.cursor is None:
            return keys
        after = [k for k in keys if k > self.cursor]
        return after + [k for k in keys if k <= self.cursor]
