"""Connections: engine creation, SQLite's connection hooks, transactions and retry-on-locked."""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, create_engine, event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from crawler.storage.schema import schema_version

logger = logging.getLogger(__name__)

T = TypeVar("T")


def open_engine(url: str, *, busy_timeout: float = 30.0) -> Engine:
    """An engine for ``url`` (SQLAlchemy URL); a SQLite file's directory is created if missing."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        pool: dict[str, Any] = {}
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # The most recently used connection first: a long-lived process (the service)
            # keeps one warm page cache instead of filling one per pooled connection in turn.
            pool["pool_use_lifo"] = True
        engine = create_engine(
            url,
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
            json_serializer=_JSON_DUMPS,
            **pool,
        )
        _install_sqlite_hooks(engine, busy_timeout)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=5, json_serializer=_JSON_DUMPS
    )


def json_encoder(**options: Any) -> Callable[[Any], str]:
    """``json.JSONEncoder(**options).encode``, the same text, with its C encoder made once.

    ``JSONEncoder.encode`` makes a new C encoder for every value (~1.5 µs, more than encoding a
    stored article's short lists takes). The one kept here does not check for circular
    references (a shared table of them would not be thread-safe): a value that holds itself
    fails with RecursionError instead of ValueError; nothing stored does.
    """
    plain = json.JSONEncoder(**options)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None or plain.indent is not None:
        return plain.encode
    return _JSONText(plain, make)


class _JSONText:
    """:func:`json_encoder`'s function: an object, not a closure, as psycopg keys its JSON
    dumpers by the function (and warns of a leak for a closure)."""

    __slots__ = ("encoder", "text")

    def __init__(self, plain: json.JSONEncoder, make: Callable[..., Any]) -> None:
        strings = json.encoder
        self.text: Callable[[str], str] = (
            strings.encode_basestring_ascii if plain.ensure_ascii else strings.encode_basestring
        )
        self.encoder = make(
            None,
            plain.default,
            self.text,
            plain.indent,
            plain.key_separator,
            plain.item_separator,
            plain.sort_keys,
            plain.skipkeys,
            plain.allow_nan,
        )

    def __call__(self, value: Any) -> str:
        if isinstance(value, str):
            return self.text(value)
        return "".join(self.encoder(value, 0))


#: JSON columns hold Cyrillic as written: the default \uXXXX escapes took six bytes per letter
#: (evidence, fingerprints and tags three times their size). Both forms read back the same.
#: ``json.dumps(value, ensure_ascii=False)``'s text (several per stored article).
_JSON_DUMPS = json_encoder(ensure_ascii=False)


#: The page size of a new SQLite store. An article row is ~50 KB of text and HTML: with
#: SQLite's default 4 KB pages, a crawl made ~78 ``pwrite`` and ~33 ``pread`` calls per stored
#: article, a quarter of them with 16 KB pages (bench/README.md, "Session 16").
SQLITE_PAGE_SIZE = 16384

#: Values bound in one ``IN (...)``: SQLite caps a statement's bound parameters.
IN_CHUNK = 500


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in runs of at most :data:`IN_CHUNK`, one ``IN (...)`` statement each."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def _install_sqlite_hooks(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        # Before WAL, which fixes the page size of a new database: an existing one keeps its own.
        cur.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
        try:
            cur.execute("PRAGMA journal_mode = WAL")
        except Exception:  # a read-only or in-memory database keeps its journal mode
            logger.debug("could not switch SQLite to WAL", exc_info=True)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("cityfeeds_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def insert_ids(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: str
) -> list[int]:
    """Insert ``rows`` into ``table``; the new rows' ids in order. ``key``: a unique column
    every row gives.

    ``INSERT ... RETURNING`` with its ids in parameter order runs on PostgreSQL as batched
    statements, but SQLite has no form that ties RETURNING rows to parameter order, so
    SQLAlchemy falls back to one statement per row. On SQLite the rows go in one
    ``executemany`` instead (one prepared statement stepped through the rows in order: the
    ids each row got from a statement of its own) and their ids are read back by ``key``.
    """
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in conn.execute(returning, rows).scalars().all()]
    conn.execute(insert(table), rows)
    column = table.c[key]
    keys = [row[key] for row in rows]
    found: dict[Any, int] = {}
    for chunk in in_chunks(keys):
        for value, row_id in conn.execute(select(column, table.c.id).where(column.in_(chunk))):
            found[value] = row_id
    return [int(found[k]) for k in keys]


def retry_locked(fn: Callable[[], T], *, attempts: int = 8) -> T:
    """Run ``fn``; on SQLite "database is locked" wait with jittered backoff and retry."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            logger.warning("database is locked, retrying in %.2fs (attempt %d)", delay, attempt + 1)
            time.sleep(delay + random.uniform(0, delay))
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


class Database:
    """An engine and its transactions: what every storage area of the store is built on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._local = threading.local()

    def close(self) -> None:
        """Release all connections."""
        self.engine.dispose()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite, so it never fails late as BUSY)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(cityfeeds_immediate=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read transaction, or the one of the enclosing :meth:`snapshot` in this thread."""
        pinned = getattr(self._local, "conn", None)
        if pinned is not None:
            yield pinned
            return
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Make every read inside the block see one consistent snapshot of the database."""
        with self.engine.connect() as conn, conn.begin():
            if self.is_sqlite:
                # In WAL mode the snapshot starts at the first read: take it now.
                conn.execute(select(func.count()).select_from(schema_version))
            else:
                conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def integrity_check(self) -> str:
        """'ok' when the database is sound (SQLite's integrity_check; always 'ok' elsewhere)."""
        if not self.is_sqlite:
            return "ok"
        with self.engine.connect() as conn:
            return ", ".join(r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all())
