"""The store on SQLite and PostgreSQL: idempotent upserts, identity, topics, runs, validators."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert, select

import crawler.store as store_module
from crawler.models import Article, FeedBuild, TopicMatch
from crawler.normalize.html import SANITIZE_POLICY
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


def test_run_owner_and_closing_a_run_keeps_its_figures(store: Store) -> None:
    run_id = store.start_run("vm", now=NOW, pid=4321, host="crawl-1")
    other = store.start_run("m24", now=NOW)
    assert [(r["id"], r["pid"], r["host"]) for r in store.running_runs()] == [
        (run_id, 4321, "crawl-1"),
        (other, None, None),
    ]
    store.finish_run(run_id, status="interrupted", stats=RunStats(pages=4, new=2), now=NOW)
    # Only a running row is closed, unless told otherwise; the figures stay either way.
    assert not store.close_run(run_id, status="failed", now=NOW, message="late")
    assert store.close_run(run_id, status="killed", now=NOW, message="timeout", only_running=False)
    run = store.get_run(run_id) or {}
    assert (run["status"], run["message"], run["pages"], run["new"]) == ("killed", "timeout", 4, 2)
    assert store.close_run(other, status="interrupted", now=NOW, message="owner gone")
    assert store.running_runs() == [] and store.get_run(10**6) is None


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


def test_feed_articles_are_the_newest_of_each_selection_loaded_once(store: Store) -> None:
    for n in range(1, 8):
        store.upsert_article(make(n, text="Текст. " * 1000), now=NOW)
    store.upsert_article(make(9, url="https://m24.ru/news/9", source="m24"), now=NOW)
    selections = [(None, None), ("electric-transport", None), (None, "vm"), (None, "nobody")]
    with store.snapshot():
        found = store.feed_articles(selections, limit=3)
    for (topic, source), got in zip(selections, found, strict=True):
        full = store.newest_articles(topic=topic, source=source, limit=3)
        assert [a.url for a in got] == [a.url for a in full]
        for lean, whole in zip(got, full, strict=True):
            assert (lean.title, lean.published, lean.html, lean.authors, lean.source) == (
                whole.title,
                whole.published,
                whole.html,
                whole.authors,
                whole.source,
            )
            assert [(t.id, t.score) for t in lean.topics] == [(t.id, t.score) for t in whole.topics]
            # Only what feeds show: a bounded text, no evidence, no provenance.
            assert whole.text.startswith(lean.text)
            assert len(lean.text) == min(len(whole.text), store_module.FEED_TEXT_CHARS)
            assert all(t.evidence == [] for t in lean.topics)
    assert found[3] == []
    # The same article in several feeds is one object, loaded once.
    shared = {a.url: a for a in found[0]}.keys() & {a.url: a for a in found[2]}.keys()
    assert shared
    for url in shared:
        assert next(a for a in found[0] if a.url == url) is next(
            a for a in found[2] if a.url == url
        )


def test_feed_builds_are_recorded_together_and_replace_the_last_outcome(store: Store) -> None:
    store.record_feed_build("all", False, "OSError: disk full", 0)
    store.record_feed_builds(
        [
            FeedBuild("all", True, None, 3, "s" * 64, "d" * 64),
            FeedBuild("topics/x", False, "boom", 0),
        ]
    )
    rows = {r["path"]: r for r in store.feed_build_status()}
    assert set(rows) == {"all", "topics/x"}
    assert (rows["all"]["ok"], rows["all"]["error"], rows["all"]["items"]) == (True, None, 3)
    assert (rows["topics/x"]["ok"], rows["topics/x"]["error"]) == (False, "boom")
    assert store.feed_signatures() == {"all": ("s" * 64, "d" * 64)}  # of successful builds only
    store.record_feed_builds([FeedBuild("all", True, None, 3)])
    assert store.feed_signatures() == {}
    store.record_feed_builds([])  # nothing to record: no transaction, no error


def test_html_policy_round_trips(store: Store) -> None:
    store.upsert_article(make(1, html_policy=SANITIZE_POLICY), now=NOW)
    store.upsert_article(make(2), now=NOW)
    assert store.get_article(make(1).url).html_policy == SANITIZE_POLICY  # type: ignore[union-attr]
    assert store.get_article(make(2).url).html_policy is None  # type: ignore[union-attr]
    [[first, second]] = store.feed_articles([(None, None)], limit=2)
    assert (first.html_policy, second.html_policy) == (None, SANITIZE_POLICY)


def test_a_version_1_database_is_migrated_in_place(db_url: str) -> None:
    # A database as the first release created it: no html_policy column, schema version 1.
    engine = create_engine(db_url)
    old = MetaData()
    added = {"html_policy", "signature", "stamp", "pid", "host"}  # by migrations 2, 3 and 4
    for table in store_module.metadata.sorted_tables:
        columns = [c._copy() for c in table.columns if c.name not in added]
        Table(table.name, old, *columns)
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(insert(old.tables["schema_version"]).values(version=1))
        values = {
            c.name: v
            for c in old.tables["articles"].columns
            if (v := _v1_row().get(c.name)) is not None or c.nullable
        }
        conn.execute(insert(old.tables["articles"]).values(values))
    engine.dispose()

    store = Store.open(db_url)
    try:
        with store.engine.connect() as conn:
            versions = conn.execute(select(store_module.schema_version.c.version)).scalars()
            assert sorted(versions) == [1, 2, 3, 4] and store_module.SCHEMA_VERSION == 4
        kept = store.get_article("https://vm.ru/news/1-slug")
        assert kept is not None and kept.title == "Новость 1" and kept.html_policy is None
        store.upsert_article(make(2, html_policy=SANITIZE_POLICY), now=NOW)
        assert store.get_article(make(2).url).html_policy == SANITIZE_POLICY  # type: ignore[union-attr]
        store.record_feed_builds([FeedBuild("all", True, None, 1, "s" * 64, "d" * 64)])
        assert store.feed_signatures() == {"all": ("s" * 64, "d" * 64)}
        run_id = store.start_run("vm", now=NOW, pid=4321, host="crawl-1")
        assert (store.get_run(run_id) or {}).get("pid") == 4321
        assert store.integrity_check() == "ok"
    finally:
        store.close()
    Store.open(db_url).close()  # and opening it again changes nothing


def _v1_row() -> dict[str, object]:
    article = make(1)
    return {
        "url": article.url,
        "url_key": "vm.ru/news/1-slug",
        "source": "vm",
        "title": article.title,
        "summary": article.summary,
        "text": article.text,
        "html": article.html,
        "published": article.published,
        "first_seen": NOW,
        "fetched_at": NOW,
        "authors": [],
        "tags": [],
        "provenance": {},
        "flags": [],
        "content_hash": "0" * 64,
    }


def test_workers_add_to_a_run_without_losing_counts(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        run_id = store.start_run("vm", now=NOW)
        store.finish_run(
            run_id, status="ok", stats=RunStats(dropped={"no_title": 1}), now=NOW, message="q"
        )

        def add() -> None:
            # Each thread is a worker with its own connections, as on separate machines.
            for _ in range(10):
                assert store.add_to_run(run_id, {"pages": 2, "new": 1}, {"no_title": 1, "x": 1})

        threads = [threading.Thread(target=add) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        [run] = store.recent_runs("vm")
        assert (run["pages"], run["new"], run["updated"]) == (80, 40, 0)
        assert run["dropped"] == {"no_title": 41, "x": 40}
        assert run["status"] == "ok" and run["message"] == "q"  # the rest is left alone
        assert store.add_to_run(run_id + 1000, {"new": 1}) is False
        with pytest.raises(ValueError, match="status"):
            store.add_to_run(run_id, {"status": 1})
    finally:
        store.close()
