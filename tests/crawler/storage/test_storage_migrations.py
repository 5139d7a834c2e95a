"""Migrations (crawler/storage/migrations.py): reopening changes nothing, old databases upgrade."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert, select
from storage_samples import NOW, make

from crawler.models import FeedBuild
from crawler.normalize.html import SANITIZE_POLICY
from crawler.storage import Store, StoreUnavailable
from crawler.storage.migrations import SCHEMA_VERSION
from crawler.storage.schema import metadata, schema_version
from crawler.stories.settings import StorySettings


def test_migrate_is_idempotent(db_url: str) -> None:
    first = Store.open(db_url)
    first.upsert_article(make(1), now=NOW)
    first.close()
    second = Store.open(db_url)
    assert second.count_articles() == 1
    assert second.integrity_check() == "ok"
    second.close()


def test_a_database_of_a_newer_version_is_refused_untouched(db_url: str) -> None:
    # A rollback after an upgrade: this version must not write into a schema it does not know.
    store = Store.open(db_url)
    store.upsert_article(make(1), now=NOW)
    with store.engine.begin() as conn:
        conn.execute(insert(schema_version).values(version=SCHEMA_VERSION + 1))
    store.close()
    with pytest.raises(StoreUnavailable) as refused:
        Store.open(db_url)
    assert refused.value.permanent  # no supervisor restarts a program over it
    message = str(refused.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in message and "newer cityfeeds" in message
    assert "\n" not in message
    engine = create_engine(db_url)
    with engine.connect() as conn:
        versions = sorted(conn.execute(select(schema_version.c.version)).scalars())
    engine.dispose()
    assert versions[-1] == SCHEMA_VERSION + 1  # nothing migrated or removed


def test_a_version_1_database_is_migrated_in_place(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A database as the first release created it: no html_policy column, schema version 1.
    engine = create_engine(db_url)
    old = MetaData()
    added = {"html_policy", "signature", "stamp", "pid", "host", "story_id", "last_ok_at"}
    for table in metadata.sorted_tables:
        if table.name in ("stories", "story_members"):  # created by migration 5
            continue
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
        conn.execute(
            insert(old.tables["http_cache"]).values(
                url="https://vm.ru/sitemap.xml", etag='"a1"', last_modified=None, checked_at=NOW
            )
        )
    engine.dispose()

    with caplog.at_level(logging.WARNING, logger="crawler.storage.migrations"):
        store = Store.open(db_url)
    # Articles stored before stories existed: the upgrade says how to group them.
    assert any("cityfeeds feeds --recluster" in r.getMessage() for r in caplog.records)
    try:
        with store.engine.connect() as conn:
            versions = conn.execute(select(schema_version.c.version)).scalars()
            assert sorted(versions) == [1, 2, 3, 4, 5, 6, 7, 8] and SCHEMA_VERSION == 8
        # Migration 7: validators stored before are not told apart (a sitemap index's hid its
        # child sitemaps): every document is read in full once.
        assert store.get_validators("https://vm.ru/sitemap.xml") == (None, None)
        kept = store.get_article("https://vm.ru/news/1-slug")
        assert kept is not None and kept.title == "Новость 1" and kept.html_policy is None
        store.upsert_article(make(2, html_policy=SANITIZE_POLICY), now=NOW)
        assert store.get_article(make(2).url).html_policy == SANITIZE_POLICY  # type: ignore[union-attr]
        store.record_feed_builds([FeedBuild("all", True, None, 1, "s" * 64, "d" * 64)])
        assert store.feed_signatures() == {"all": ("s" * 64, "d" * 64)}
        run_id = store.start_run("vm", now=NOW, pid=4321, host="crawl-1")
        assert (store.get_run(run_id) or {}).get("pid") == 4321
        # Migration 5: the old article has no story yet; a new one gets one.
        assert store.recent_stories(since=NOW - timedelta(days=3650), min_size=1) == []
        new = store.get_article(make(2).url)
        assert new is not None
        [assigned] = store.assign_stories([(2, new)], settings=StorySettings(), now=NOW)
        assert assigned.new_story
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
