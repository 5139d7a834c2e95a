"""Concurrent upserts: two processes storing the same URLs leave one row each, never an error."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from storage_samples import wait_for_lock_wait

from crawler.models import Article, TopicMatch
from crawler.normalize.urls import url_identity
from crawler.storage import Store
from crawler.storage.articles import article_values, content_hash
from crawler.storage.schema import articles

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
URLS = 40


def make(n: int) -> Article:
    return Article(
        url=f"https://vm.ru/news/{n}-slug",
        source="vm",
        title=f"Электробус {n}",
        published=NOW - timedelta(hours=n),
        text="Текст.",
        topics=[TopicMatch("electric-transport", 2.0, ["электробус"])],
        fetched_at=NOW,
    )


def _worker(
    url: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue
) -> None:
    store = Store.open(url)
    try:
        barrier.wait(timeout=30)
        out.put([store.upsert_article(make(n), now=NOW).status for n in range(URLS)])
    except Exception as exc:  # reported to the parent, which fails the test with it
        out.put(repr(exc))
    finally:
        store.close()


def test_two_processes_store_the_same_urls(db_url: str) -> None:
    Store.open(db_url).close()  # create the schema before the race
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(db_url, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(isinstance(r, list) for r in results), results
    # Each URL is new for exactly one process and unchanged for the other.
    for n in range(URLS):
        assert sorted(r[n] for r in results) == ["new", "unchanged"], n
    store = Store.open(db_url)
    try:
        assert store.count_articles() == URLS
        assert store.topic_counts() == {"electric-transport": URLS}
    finally:
        store.close()


def test_insert_racing_an_uncommitted_insert_is_not_an_error(postgres_url: str) -> None:
    """Deterministic race on PostgreSQL: our INSERT waits on another open transaction's row."""
    store = Store.open(postgres_url)
    other = Store.open(postgres_url)
    article = make(1)
    try:
        with other.engine.connect() as conn, conn.begin():
            values = article_values(article, content_hash(article), url_identity(article.url))
            conn.execute(insert(articles).values(**values, first_seen=NOW, fetched_at=NOW))
            results: list[object] = []
            thread = threading.Thread(
                target=lambda: results.append(store.upsert_article(article, now=NOW))
            )
            thread.start()
            wait_for_lock_wait(conn)  # the upsert read "absent" and now blocks on the unique index
        thread.join(timeout=10)  # the other transaction committed: the upsert re-reads
        assert [getattr(r, "status", r) for r in results] == ["unchanged"]
        assert store.count_articles() == 1
    finally:
        store.close()
        other.close()
