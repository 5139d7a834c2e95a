"""The schema (crawler/storage/schema.py): datetimes are stored and read back as aware UTC; a
new SQLite store's page size."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from storage_samples import NOW, make

from crawler.storage import Store
from crawler.storage.engine import SQLITE_PAGE_SIZE


def test_datetimes_round_trip_aware_utc(store: Store) -> None:
    store.upsert_article(make(3), now=NOW)
    got = store.get_article(make(3).url)
    assert got is not None
    assert got.published.tzinfo is not None and got.published.utcoffset() == timedelta(0)
    assert got.published == make(3).published


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"):
        store.upsert_article(make(1, published=datetime(2026, 1, 1)), now=NOW)


def _pragma(store: Store, name: str) -> object:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_a_new_sqlite_store_has_large_pages_and_an_older_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    new = Store.open(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert _pragma(new, "page_size") == SQLITE_PAGE_SIZE
        assert _pragma(new, "journal_mode") == "wal"
    finally:
        new.close()
    # A store made by an older version, with SQLite's default pages: opened, migrated and
    # written as before (a WAL database's page size cannot change, and need not).
    path = tmp_path / "older.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE older (a)")
    older = Store.open(f"sqlite:///{path}")
    try:
        assert _pragma(older, "page_size") == 4096
        assert [r.status for r in older.upsert_articles([make(1)], now=NOW)] == ["new"]
        stored = older.get_article(make(1).url)
        assert stored is not None and stored.title == make(1).title
    finally:
        older.close()
