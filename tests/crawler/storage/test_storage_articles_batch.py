"""Batched upserts (``Store.upsert_articles``): one transaction, same outcomes as one by one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from storage_samples import wait_for_lock_wait

from crawler.models import Article, TopicMatch
from crawler.normalize.urls import url_identity
from crawler.storage import Store
from crawler.storage.articles import article_values, content_hash
from crawler.storage.schema import articles

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make(n: int, title: str | None = None, url: str | None = None) -> Article:
    return Article(
        url=url or f"https://vm.ru/news/{n}-slug",
        source="vm",
        title=title or f"Электробус {n}",
        published=NOW - timedelta(hours=n),
        text="Текст.",
        topics=[TopicMatch("electric-transport", 2.0, ["электробус"])] if n % 2 else [],
        fetched_at=NOW,
    )


def test_batch_reports_new_updated_unchanged_in_order(store: Store) -> None:
    first = store.upsert_articles([make(1), make(2)], now=NOW)
    assert [r.status for r in first] == ["new", "new"]
    later = NOW + timedelta(hours=2)
    again = store.upsert_articles([make(3), make(2, "Правка"), make(1)], now=later)
    assert [r.status for r in again] == ["new", "updated", "unchanged"]
    assert again[1].article_id == first[1].article_id  # updated in place
    edited = store.get_article(make(2).url)
    assert edited is not None and edited.title == "Правка"
    assert edited.first_seen == NOW and edited.published == make(2).published  # identity kept
    assert store.topic_counts() == {"electric-transport": 2}
    assert store.upsert_articles([], now=NOW) == []


def test_same_article_twice_in_one_batch(store: Store) -> None:
    variant = make(1, url="https://vm.ru/news/1-slug?utm_source=tg")  # same identity
    results = store.upsert_articles([make(1), variant, make(1, "Правка")], now=NOW)
    assert [r.status for r in results] == ["new", "unchanged", "updated"]
    assert len({r.article_id for r in results}) == 1 and store.count_articles() == 1


def test_failed_batch_stores_nothing(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/b.db")  # type: ignore[str-bytes-safe]
    try:
        bad = make(3)
        bad.published = datetime(2026, 1, 1)  # naive: refused at bind time, mid-batch
        with pytest.raises(Exception):  # noqa: B017 - any error, as long as nothing is kept
            store.upsert_articles([make(1), make(2), bad], now=NOW)
        assert store.count_articles() == 0 and store.known_urls("vm") == set()
    finally:
        store.close()


def test_batch_racing_an_uncommitted_insert_is_re_read(postgres_url: str) -> None:
    """PostgreSQL: another worker inserts one URL of our batch; the batch retries, no error."""
    store = Store.open(postgres_url)
    other = Store.open(postgres_url)
    theirs = make(2)
    try:
        with other.engine.connect() as conn, conn.begin():
            values = article_values(theirs, content_hash(theirs), url_identity(theirs.url))
            conn.execute(insert(articles).values(**values, first_seen=NOW, fetched_at=NOW))
            results: list[object] = []
            thread = threading.Thread(
                target=lambda: results.append(
                    store.upsert_articles([make(1), theirs, make(3)], now=NOW)
                )
            )
            thread.start()
            wait_for_lock_wait(conn)
        thread.join(timeout=10)
        assert [[r.status for r in batch] for batch in results] == [  # type: ignore[attr-defined]
            ["new", "unchanged", "new"]
        ]
        assert store.count_articles() == 3
    finally:
        store.close()
        other.close()


def test_insert_ids_are_the_ids_each_row_got_in_order(store: Store) -> None:
    # SQLite: one executemany, ids read back by the unique key; PostgreSQL: RETURNING in
    # parameter order. Either way the ids one INSERT per row gives, in the rows' order.
    from sqlalchemy import select

    from crawler.storage.engine import insert_ids

    one = make(1)
    with store.engine.begin() as conn:
        conn.execute(insert(articles), [article_values(one, content_hash(one), "k1") | _times()])
        batch = [make(n) for n in (5, 3, 4, 2)]
        rows = [
            article_values(a, content_hash(a), f"k{n}") | _times()
            for n, a in zip((5, 3, 4, 2), batch, strict=True)
        ]
        ids = insert_ids(conn, articles, rows, "url_key")
        stored = {k: i for k, i in conn.execute(select(articles.c.url_key, articles.c.id))}
    assert ids == [stored[f"k{n}"] for n in (5, 3, 4, 2)]
    assert ids == list(range(stored["k1"] + 1, stored["k1"] + 5))
    with store.engine.connect() as conn:
        assert insert_ids(conn, articles, [], "url_key") == []


def _times() -> dict[str, datetime]:
    return {"first_seen": NOW, "fetched_at": NOW}


@pytest.mark.parametrize("n", [0, 1, 500, 501, 1001])
def test_in_chunks_binds_at_most_500_values_and_keeps_them_all_in_order(n: int) -> None:
    from crawler.storage.engine import IN_CHUNK, in_chunks

    values = list(range(n))
    chunks = list(in_chunks(values))
    assert [v for chunk in chunks for v in chunk] == values
    assert all(0 < len(chunk) <= IN_CHUNK == 500 for chunk in chunks)
    assert len(chunks) == -(-n // 500)
