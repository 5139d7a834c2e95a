"""The ``Store``: one object over every storage area, opened on a URL and migrated on open."""

from __future__ import annotations

from crawler.storage.articles import ArticleStore
from crawler.storage.engine import open_engine, retry_locked
from crawler.storage.feed_builds import FeedBuildStore
from crawler.storage.http_cache import HttpCacheStore
from crawler.storage.migrations import upgrade
from crawler.storage.monitoring import MonitoringStore
from crawler.storage.runs import RunStore
from crawler.storage.source_state import SourceStateStore
from crawler.storage.stories import StoryStore


class Store(
    ArticleStore,
    RunStore,
    HttpCacheStore,
    FeedBuildStore,
    SourceStateStore,
    MonitoringStore,
    StoryStore,
):
    """All database access of cityfeeds. Open one per process (never share across a fork).

    Each storage area is its own class on the shared :class:`crawler.storage.engine.Database`
    (engine and transactions); a new area is one module and one more base here.
    """

    @classmethod
    def open(cls, url: str, *, create: bool = True, busy_timeout: float = 30.0) -> Store:
        """Connect to ``url`` (SQLAlchemy URL) and create or migrate the schema."""
        store = cls(open_engine(url, busy_timeout=busy_timeout))
        if create:
            store.migrate()
        return store

    def migrate(self) -> None:
        """Create the schema, or apply the migrations it lacks."""

        def run() -> None:
            with self._write() as conn:
                upgrade(conn)

        retry_locked(run)
