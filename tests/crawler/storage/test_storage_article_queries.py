"""Reading articles (crawler/storage/article_queries.py): newest per feed, known URLs."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

from sqlalchemy import insert, update
from storage_samples import NOW, make

from crawler.models import Article
from crawler.storage import FEED_TEXT_CHARS, Store
from crawler.storage.schema import articles, stories, story_members


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


def test_known_urls_respect_refresh_window(store: Store) -> None:
    store.upsert_article(make(1), now=NOW - timedelta(days=3))
    store.upsert_article(make(2), now=NOW)
    assert store.known_urls("vm") == {"vm.ru/news/1-slug", "vm.ru/news/2-slug"}
    assert store.known_urls("vm", first_seen_before=NOW - timedelta(days=1)) == {
        "vm.ru/news/1-slug"
    }


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
            assert len(lean.text) == min(len(whole.text), FEED_TEXT_CHARS)
            assert all(t.evidence == [] for t in lean.topics)
    assert found[3] == []
    # The same article in several feeds is one object, loaded once.
    shared = {a.url: a for a in found[0]}.keys() & {a.url: a for a in found[2]}.keys()
    assert shared
    for url in shared:
        assert next(a for a in found[0] if a.url == url) is next(
            a for a in found[2] if a.url == url
        )


def test_the_story_walk_reads_on_past_a_story_filling_a_chunk_and_stops_at_the_last(
    store: Store,
) -> None:
    """A feed of one entry per story walks rows until ``limit`` stories are seen: a story
    longer than the rows read at once (20 here) does not end the walk, and articles without a
    story are entries of their own."""
    for n in range(1, 31):
        store.upsert_article(make(n), now=NOW)
    # Articles 7..30 (the newest 24) are one story first seen as 7; 1..6 have none.
    with store.engine.begin() as conn:
        conn.execute(insert(stories), [{"id": 1, "article_id": 7, "created": NOW, "updated": NOW}])
        conn.execute(update(articles).where(articles.c.id >= 7).values(story_id=1))
        members = [
            {"article_id": n, "seq": n, "published": NOW, "joined_at": NOW, "signature": b""}
            for n in range(7, 31)
        ]
        conn.execute(insert(story_members), [{**m, "fingerprint": {}} for m in members])
        conn.execute(update(stories).values(size=24))
    with store.snapshot():
        [found] = store.feed_articles([(None, None)], limit=3, stories=[True])
    assert [a.url for a in found] == [make(n).url for n in (7, 6, 5)]
    assert [r.url for r in found[0].related] == [make(n).url for n in range(8, 31)]
    assert found[0].story_updated == NOW


def test_a_story_entry_is_a_copy_of_its_first_article_with_the_storys_other_reports(
    store: Store,
) -> None:
    """Every field of the first-seen article is copied to its story entry (the copy is made
    field by field), and only ``related`` and ``story_updated`` are the story's; a story
    without other reports shows the article itself."""
    for n in range(1, 6):
        store.upsert_article(make(n), now=NOW)
    later = NOW + timedelta(hours=2)
    with store.engine.begin() as conn:
        conn.execute(
            insert(stories),
            [
                {"id": 1, "article_id": 2, "created": NOW, "updated": later, "size": 2},
                {"id": 2, "article_id": 4, "created": NOW, "updated": NOW, "size": 1},
            ],
        )
        conn.execute(update(articles).where(articles.c.id.in_([2, 3])).values(story_id=1))
        conn.execute(update(articles).where(articles.c.id == 4).values(story_id=2))
        conn.execute(
            insert(story_members),
            [
                {"article_id": n, "seq": n, "published": NOW, "joined_at": NOW, "signature": b""}
                | {"fingerprint": {}}
                for n in (2, 3, 4)
            ],
        )
    with store.snapshot():
        plain, collapsed = store.feed_articles(
            [(None, None), (None, None)], limit=10, stories=[False, True]
        )
    by_url = {a.url: a for a in plain}
    story = next(a for a in collapsed if a.url == make(2).url)
    article = by_url[story.url]
    assert story is not article
    copied = [f.name for f in fields(Article) if f.name not in ("related", "story_updated")]
    assert {f: getattr(story, f) for f in copied} == {f: getattr(article, f) for f in copied}
    assert [(r.url, r.source, r.title) for r in story.related] == [
        (make(3).url, make(3).source, make(3).title)
    ]
    assert story.story_updated == later
    assert (article.related, article.story_updated) == ([], None)
    # A story of one report is its article, unchanged; the joined report is not an entry.
    assert next(a for a in collapsed if a.url == make(4).url) is by_url[make(4).url]
    assert make(3).url not in {a.url for a in collapsed}


def test_topic_counts_of_the_given_sources_only(store: Store) -> None:
    """With the configured sources, a removed source's articles leave the topic counts, as
    they leave the feeds; its articles stay stored (and counted per source)."""
    for n in (1, 3, 4):
        store.upsert_article(make(n), now=NOW)
    store.upsert_article(make(9, url="https://m24.ru/news/9", source="m24"), now=NOW)
    assert store.topic_counts() == {"electric-transport": 3}
    assert store.topic_counts(sources=["vm"]) == {"electric-transport": 2}
    assert store.topic_counts(sources=["m24", "vm"]) == {"electric-transport": 3}
    assert store.topic_counts(sources=[]) == {}
    assert store.source_counts() == {"vm": 3, "m24": 1}
