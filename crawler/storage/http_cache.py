"""Conditional GET: the ETag and Last-Modified of feed, sitemap and listing URLs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select

from crawler.storage.engine import Database, retry_locked
from crawler.storage.schema import http_cache


class HttpCacheStore(Database):
    """The ``http_cache`` table: validators to send with the next request of a URL."""

    def get_validators(self, url: str) -> tuple[str | None, str | None]:
        """The stored (ETag, Last-Modified) of a feed/sitemap/listing URL."""
        with self._read() as conn:
            row = conn.execute(
                select(http_cache.c.etag, http_cache.c.last_modified).where(http_cache.c.url == url)
            ).first()
        return (row.etag, row.last_modified) if row else (None, None)

    def set_validators(
        self, url: str, etag: str | None, last_modified: str | None, *, now: datetime
    ) -> None:
        """Remember a URL's validators for the next conditional GET."""

        def run() -> None:
            with self._write() as conn:
                conn.execute(delete(http_cache).where(http_cache.c.url == url))
                if etag or last_modified:
                    conn.execute(
                        insert(http_cache).values(
                            url=url, etag=etag, last_modified=last_modified, checked_at=now
                        )
                    )

        retry_locked(run)
