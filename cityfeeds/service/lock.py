"""One scheduler per data set: a flock on a lock file plus a PostgreSQL advisory lock."""

from __future__ import annotations

import fcntl
import hashlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from cityfeeds.service.children import process_alive
from crawler.config import Config
from crawler.lifecycle import data_dir


class AlreadyRunning(Exception):
    """Another scheduler holds the lock of this data set."""


def lock_path(config: Config) -> Path:
    """The lock file: next to the SQLite database (named after it), else ``data/scheduler.lock``."""
    url = config.database_url
    if url.startswith("sqlite") and "///" in url:
        path = url.split("///", 1)[1]
        if path and path != ":memory:" and not path.startswith("file:"):
            db = Path(path).resolve()
            return db.with_name(db.name + ".scheduler.lock")
    return data_dir(config) / "scheduler.lock"


def advisory_key(schema: str) -> int:
    """The signed 64-bit key of the PostgreSQL advisory lock for one schema."""
    digest = hashlib.sha256(f"cityfeeds-scheduler:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ServiceLock:
    """Exclusive right to run the scheduler on one data set, released when the process dies.

    ``flock`` on a lock file protects a host; with PostgreSQL, a session advisory lock
    (``pg_try_advisory_lock``) held on a dedicated connection protects every host sharing the
    database. Both are freed by the kernel / server when the process dies, even by SIGKILL,
    so a stale lock never blocks a restart.
    """

    def __init__(self, path: Path, database_url: str | None = None) -> None:
        self.path = path
        self.database_url = database_url
        self._fd: int | None = None
        self._line = ""  # what the lock file says: the pid and the start
        self._pg: Any = None  # (engine, connection) holding the advisory lock

    @classmethod
    def for_config(cls, config: Config) -> ServiceLock:
        """The lock of ``config``'s data set."""
        url = config.database_url
        return cls(lock_path(config), None if url.startswith("sqlite") else url)

    def acquire(self, *, started_at: datetime | None = None) -> None:
        """Take the lock or raise AlreadyRunning naming the holder.

        The lock file holds the pid and ``started_at``, so ``cityfeeds status`` computes the
        service's health exactly as its ``/healthz`` does (``starting`` in the first cycle).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self.holder()
            who = f"pid {holder}" if holder else "another process"
            raise AlreadyRunning(
                f"another cityfeeds scheduler ({who}) is already running on this data "
                f"(lock {self.path}); refusing to start a second one"
            ) from None
        os.ftruncate(fd, 0)
        stamp = f" {started_at.isoformat()}" if started_at is not None else ""
        self._line = f"{os.getpid()}{stamp or ' -'}"
        os.write(fd, f"{self._line}\n".encode())
        self._fd = fd
        if self.database_url:
            try:
                self._acquire_pg()
            except BaseException:
                self.release()
                raise

    def announce(self, url: str) -> None:
        """Add where the holder answers ``/healthz`` (``http://127.0.0.1:8080/``) to the lock file.

        ``cityfeeds status`` asks it there: the service knows what its store cannot show, such
        as runs it could not record with the database disk full.
        """
        if self._fd is None:
            return
        line = f"{self._line} {url}\n".encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, line, 0)

    def _acquire_pg(self) -> None:
        assert self.database_url is not None
        engine = create_engine(self.database_url, poolclass=NullPool)
        conn = engine.connect()
        try:
            schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
            key = advisory_key(str(schema))
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
        except BaseException:
            conn.close()
            engine.dispose()
            raise
        if not got:
            conn.close()
            engine.dispose()
            raise AlreadyRunning(
                "another cityfeeds scheduler holds the PostgreSQL advisory lock of this database "
                f"(schema {schema!r}, key {key}); refusing to start a second one"
            )
        self._pg = (engine, conn)

    def release(self) -> None:
        """Give the lock up (also done by process exit)."""
        if self._pg is not None:
            engine, conn = self._pg
            self._pg = None
            try:
                conn.close()  # closing the session frees its advisory locks
            finally:
                engine.dispose()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def holder(self) -> int | None:
        """The pid written by the holder, if it is still alive (for messages and ``status``)."""
        return self._read()[0]

    def holder_started(self) -> datetime | None:
        """When the live holder started its service (None if unknown or not running)."""
        return self._read()[1]

    def holder_url(self) -> str | None:
        """Where the live holder serves ``/healthz`` (None: not running, or not serving)."""
        return self._read()[2]

    def _read(self) -> tuple[int | None, datetime | None, str | None]:
        try:
            fields = self.path.read_text().split()
            pid = int(fields[0]) if fields else 0
            started = None
            if len(fields) > 1 and fields[1] != "-":
                started = datetime.fromisoformat(fields[1])
            url = fields[2] if len(fields) > 2 and fields[2].startswith("http://") else None
        except (OSError, ValueError):
            return None, None, None
        if pid <= 0 or not process_alive(pid):
            return None, None, None
        return pid, started, url

    def __enter__(self) -> ServiceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
