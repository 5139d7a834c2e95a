"""The store on SQLite and PostgreSQL: idempotent upserts, identity, topics, runs, validators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.models import Article, TopicMatch
from crawler.store import RunStats, Store

MSK = timezone(timedelta(hours=3))
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make(n: int, **kw: object) -> Article:
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


def test_insert_then_unchanged_then_updated(store: Store) -> None:
    assert store.upsert_article(make(1), now=NOW).status == "new"
    again = store.upsert_article(make(1), now=NOW + timedelta(hours=1))
    assert again.status == "unchanged"
    stored = store.get_article("https://vm.ru/news/1-slug")
    assert stored is not None and stored.first_seen == NOW and stored.updated is None

    later = NOW + timedelta(hours=2)
    edited = make(
        1,
        title="Новость 1 (обновлено)",
        published=datetime(2030, 1, 1, tzinfo=UTC),
        fetched_at=later,
    )
    result = store.upsert_article(edited, now=later)
    assert result.status == "updated" and result.article_id == again.article_id
    stored = store.get_article("https://vm.ru/news/1-slug")
    assert stored is not None
    assert stored.title == "Новость 1 (обновлено)"
    assert stored.published == make(1).published  # publication date never changes
    assert stored.first_seen == NOW
    assert stored.updated == later
    assert store.count_articles() == 1


def test_url_variants_are_one_article(store: Store) -> None:
    store.upsert_article(make(1), now=NOW)
    variant = make(1, url="http://www.vm.ru/news/1-slug", title="Другой заголовок")
    assert store.upsert_article(variant, now=NOW).status == "updated"
    assert store.count_articles() == 1


def test_datetimes_round_trip_aware_utc(store: Store) -> None:
    store.upsert_article(make(3), now=NOW)
    got = store.get_article(make(3).url)
    assert got is not None
    assert got.published.tzinfo is not None and got.published.utcoffset() == timedelta(0)
    assert got.published == make(3).published


def test_newest_by_topic_and_source(store: Store) -> None:
    for n in range(1, 8):
        store.upsert_article(make(n), now=NOW)
    store.upsert_article(make(9, url="https://m24.ru/news/9", source="m24"), now=NOW)
    newest = store.newest_articles(limit=3)
    assert [a.url.rsplit("/", 1)[1] for a in newest] == ["9", "7-slug", "6-slug"]
    topic = store.newest_articles(topic="electric-transport", limit=10)
    assert [a.title for a in topic] == [
        "Новость 9",
        "Новость 7",
        "Новость 5",
        "Новость 3",
        "Новость 1",
    ]
    assert topic[0].topics[0].evidence == ["title: электробус"]
    assert {a.source for a in store.newest_articles(source="m24", limit=10)} == {"m24"}
    assert store.topic_counts() == {"electric-transport": 5}
    assert store.source_counts() == {"vm": 7, "m24": 1}


def test_retag_replaces_topics(store: Store) -> None:
    store.upsert_article(make(1), now=NOW)
    assert store.set_topics(make(1).url, [TopicMatch("road-works", 1.0, ["body: ремонт"])])
    assert not store.set_topics(make(1).url, [TopicMatch("road-works", 1.0, ["body: ремонт"])])
    assert store.topic_counts() == {"road-works": 1}


def test_emoji_and_cyrillic_round_trip(store: Store) -> None:
    store.upsert_article(make(2, title="🚇 Метро «Электрозаводская» — ёлки"), now=NOW)
    got = store.get_article(make(2).url)
    assert got is not None and got.title == "🚇 Метро «Электрозаводская» — ёлки"


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"):
        store.upsert_article(make(1, published=datetime(2026, 1, 1)), now=NOW)


def test_runs_are_recorded(store: Store) -> None:
    run_id = store.start_run("vm", now=NOW)
    stats = RunStats(pages=5, new=3, updated=1, unchanged=1, dropped={"missing_title": 2}, errors=1)
    store.finish_run(run_id, status="ok", stats=stats, now=NOW + timedelta(minutes=1))
    run = store.recent_runs("vm")[0]
    assert (run["status"], run["pages"], run["new"], run["dropped"]) == (
        "ok",
        5,
        3,
        {"missing_title": 2},
    )
    stale = store.start_run("m24", now=NOW)
    assert store.close_stale_runs(now=NOW) == 1
    assert store.recent_runs("m24")[0]["status"] == "killed"
    assert stale


def test_validators_round_trip(store: Store) -> None:
    assert store.get_validators("https://vm.ru/rss") == (None, None)
    store.set_validators("https://vm.ru/rss", '"abc"', "Tue, 01 Dec 2026 10:00:00 GMT", now=NOW)
    assert store.get_validators("https://vm.ru/rss") == ('"abc"', "Tue, 01 Dec 2026 10:00:00 GMT")


def test_known_urls_respect_refresh_window(store: Store) -> None:
    store.upsert_article(make(1), now=NOW - timedelta(days=3))
    store.upsert_article(make(2), now=NOW)
    assert store.known_urls("vm") == {"vm.ru/news/1-slug", "vm.ru/news/2-slug"}
    assert store.known_urls("vm", first_seen_before=NOW - timedelta(days=1)) == {
        "vm.ru/news/1-slug"
    }


def test_migrate_is_idempotent(db_url: str) -> None:
    first = Store.open(db_url)
    first.upsert_article(make(1), now=NOW)
    first.close()
    second = Store.open(db_url)
    assert second.count_articles() == 1
    assert second.integrity_check() == "ok"
    second.close()
