"""The SQLite file the service opened: noticed when it is deleted or replaced while it runs.

A process keeps the file it opened, even once its name is gone: the service would go on
reading and writing a deleted file (or the old one, after a backup was restored over it)
while its crawl children, which open the database by its name, create and fill another. Its
bookkeeping, /healthz and feeds would then say nothing of what the crawls do.
"""

from __future__ import annotations

import os
from pathlib import Path

from crawler.config import sqlite_file


def _identity(path: Path) -> tuple[int, int] | None:
    """``(device, inode)`` of the file at ``path``, or None when there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


class DatabaseFile:
    """The identity (device and inode) of the SQLite file a store was opened on."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._opened = _identity(path) if path is not None else None

    @classmethod
    def of(cls, database_url: str) -> DatabaseFile:
        """The file of ``database_url`` as it is now (nothing to watch for PostgreSQL or an
        in-memory database)."""
        return cls(sqlite_file(database_url))

    def problem(self) -> str | None:
        """Why the file at the path is no longer the one opened (deleted, or another file put
        there), or None. A stat that fails for another reason (permissions) says nothing."""
        if self.path is None or self._opened is None:
            return None
        try:
            now = _identity(self.path)
        except OSError:
            return None
        if now is None:
            return f"the database file {self.path} was deleted while the service ran"
        if now != self._opened:
            return (
                f"the database file {self.path} was replaced by another file while the service"
                " ran (a restored backup?)"
            )
        return None
