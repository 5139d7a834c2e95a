"""Shared samples for the storage tests: a clock, an article maker, a PostgreSQL lock probe."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import text
from sqlalchemy.engine import Connection

from crawler.models import Article, TopicMatch

MSK = timezone(timedelta(hours=3))
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make(n: int, **kw: object) -> Article:
    """Article ``n`` of the source ``vm`` (odd ones on electric transport); ``kw`` overrides."""
    values: dict = {
        "url": f"https://vm.ru/news/{n}-slug",
        "source": "vm",
        "title": f"Новость {n}",
        "published": datetime(2026, 11, 20, 9, 0, tzinfo=MSK) + timedelta(hours=n),
        "summary": "Кратко",
        "text": "Текст статьи.",
        "html": "<p>Текст статьи.</p>",
        "topics": [TopicMatch("electric-transport", 2.5, ["title: электробус"])] if n % 2 else [],
        "fetched_at": NOW,
    }
    values.update(kw)
    return Article(**values)


def wait_for_lock_wait(conn: Connection, timeout: float = 10.0) -> None:
    """Return once some PostgreSQL session waits on a lock (polled through ``conn``)."""
    deadline = time.monotonic() + timeout
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    while time.monotonic() < deadline:
        if conn.execute(query).scalar():
            return
        time.sleep(0.01)
    raise AssertionError("the concurrent upsert never waited on the uncommitted row")
