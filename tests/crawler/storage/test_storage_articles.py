"""Storing articles (crawler/storage/articles.py): idempotent upserts, identity, re-tagging."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from storage_samples import NOW, make

from crawler.models import TopicMatch
from crawler.normalize.html import SANITIZE_POLICY
from crawler.storage import Store


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


def test_retag_replaces_topics(store: Store) -> None:
    store.upsert_article(make(1), now=NOW)
    assert store.set_topics(make(1).url, [TopicMatch("road-works", 1.0, ["body: ремонт"])])
    assert not store.set_topics(make(1).url, [TopicMatch("road-works", 1.0, ["body: ремонт"])])
    assert store.topic_counts() == {"road-works": 1}


def test_emoji_and_cyrillic_round_trip(store: Store) -> None:
    store.upsert_article(make(2, title="🚇 Метро «Электрозаводская» — ёлки"), now=NOW)
    got = store.get_article(make(2).url)
    assert got is not None and got.title == "🚇 Метро «Электрозаводская» — ёлки"


def test_json_columns_keep_cyrillic_as_text(store: Store) -> None:
    """Evidence and tags are stored as written, not as \\uXXXX escapes: six bytes per Cyrillic
    letter made ``article_topics`` three times its size (1.5 KB of evidence per row)."""
    evidence = ["body: электробус* ← «электробусы»"]
    topics = [TopicMatch("electric-transport", 2.0, evidence)]
    store.upsert_article(make(1, tags=["Транспорт"], topics=topics), now=NOW)
    cast = "::text" if store.engine.dialect.name == "postgresql" else ""
    with store.engine.connect() as conn:
        raw = conn.exec_driver_sql(f"SELECT evidence{cast} FROM article_topics").scalar_one()
        tags = conn.exec_driver_sql(f"SELECT tags{cast} FROM articles").scalar_one()
    assert raw == json.dumps(evidence, ensure_ascii=False) and tags == '["Транспорт"]'
    got = store.get_article(make(1).url)
    assert got is not None and got.tags == ["Транспорт"] and got.topics == topics


def test_html_policy_round_trips(store: Store) -> None:
    store.upsert_article(make(1, html_policy=SANITIZE_POLICY), now=NOW)
    store.upsert_article(make(2), now=NOW)
    assert store.get_article(make(1).url).html_policy == SANITIZE_POLICY  # type: ignore[union-attr]
    assert store.get_article(make(2).url).html_policy is None  # type: ignore[union-attr]
    [[first, second]] = store.feed_articles([(None, None)], limit=2)
    assert (first.html_policy, second.html_policy) == (None, SANITIZE_POLICY)


def test_an_update_that_throws_most_of_the_text_away_is_refused(store: Store) -> None:
    long_text = "Трамвайную линию на Сущёвском Валу закроют на ремонт. " * 10  # ~550 chars
    first = store.upsert_article(make(2, text=long_text), now=NOW)
    later = NOW + timedelta(hours=1)
    error_page = make(2, title="Ошибка", text="Service temporarily unavailable", fetched_at=later)
    # One by one and in a batch: the stored article stays as it was.
    assert store.upsert_article(error_page, now=later).status == "refused"
    assert [r.status for r in store.upsert_articles([error_page, make(3)], now=later)] == [
        "refused",
        "new",
    ]
    stored = store.get_article("https://vm.ru/news/2-slug")
    assert stored is not None and stored.title == "Новость 2" and stored.text == long_text
    # A real edit that keeps most of the text is an update; so is any edit of a short text.
    edit = make(2, title="Новость 2 (обновлено)", text=long_text[:400], fetched_at=later)
    assert store.upsert_article(edit, now=later).status == "updated"
    assert store.upsert_article(make(4), now=NOW).status == "new"
    assert store.upsert_article(make(4, text="Иначе."), now=later).status == "updated"
    assert first.status == "new"


def test_a_feed_summary_stays_unless_the_feed_cut_it_short(store: Store) -> None:
    text = "Маршрут трамвая № 9 продлят до Новослободской улицы. Работы начнутся весной."
    first = "Маршрут трамвая № 9 продлят до Новослободской улицы. Работы начнутся весной."
    whole, cut = "Трамвай пойдёт дальше.", "Маршрут трамвая № 9…"
    for n, feed_summary, expected in ((1, whole, whole), (3, cut, first)):
        from_feed = make(n, text=text, summary=feed_summary, provenance={"summary": "feed"})
        store.upsert_article(from_feed, now=NOW)
        # The next run reached the page through a sitemap: the first sentences stand in.
        from_text = make(n, text=text, summary=first, provenance={"summary": "text"})
        store.upsert_article(from_text, now=NOW + timedelta(hours=1))
        stored = store.get_article(make(n).url)
        assert stored is not None and stored.summary == expected
