"""An article's content hash computed ahead (in an extraction worker) is the one the store
would compute, is taken while the fields it hashed are equal, and never once one changed."""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from storage_samples import make

from crawler.models import Article, ContentDigest
from crawler.storage import Store
from crawler.storage.articles import content_hash, content_hash_ahead, stored_hash

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PLANTED = "0" * 64


def _article() -> Article:
    return make(
        1,
        title="Электробусы вышли на маршрут «Тверская — Лесная»",
        text="Первые электробусы вышли на линию. " * 300,
        html="<p>Первые электробусы вышли на линию.</p>" * 300,
        authors=["Анна Петрова"],
        section="Транспорт",
        tags=["электробус", "Москва"],
        image="https://vm.ru/i/1.jpg",
    )


def test_the_hash_is_the_one_stored_before_it_could_be_computed_ahead() -> None:
    """Stored hashes stay valid: the same text is hashed as before, so an unchanged article
    read again is "unchanged", not an edit of every stored article."""
    article = _article()
    fields = [
        article.title,
        article.summary,
        article.text,
        article.html,
        article.authors,
        article.section,
        article.tags,
        article.image,
    ]
    before = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    expected = hashlib.sha256(before.encode("utf-8")).hexdigest()
    assert content_hash(article) == expected
    assert content_hash_ahead(article).digest == expected == stored_hash(article)


def test_a_hash_computed_ahead_is_taken_while_the_fields_are_equal() -> None:
    article = _article()
    ahead = content_hash_ahead(article)
    # As it comes back from a worker: the article and its hash in one pickle, so the hashed
    # strings are the article's own (the hash adds a few hundred bytes, not the text again).
    received = replace(article, content_digest=ahead)
    size = len(pickle.dumps(received))
    assert size - len(pickle.dumps(article)) < 400 < len(article.text)
    received = pickle.loads(pickle.dumps(received))
    digest = received.content_digest
    assert digest is not None and digest.fields[2] is received.text
    # Taken, not computed again: a planted digest shows which one the store used.
    planted = ContentDigest(digest.fields, PLANTED)
    received.content_digest = planted
    assert stored_hash(received) == PLANTED
    # Fields equal in value, though other objects (a text built again), are the same fields.
    equal = _article()
    assert equal.text == received.text and equal.text is not received.text
    equal.content_digest = planted
    assert stored_hash(equal) == PLANTED


def test_a_hash_computed_ahead_is_not_taken_once_a_field_changed() -> None:
    changes: list[dict[str, Any]] = [
        {"title": "Правка"},
        {"summary": "Описание из ленты"},  # the store can keep a feed's summary
        {"text": _article().text + "Дополнение."},
        {"html": "<p>Другой текст.</p>"},
        {"authors": ["Иван Сидоров"]},
        {"section": None},
        {"tags": []},
        {"image": None},
    ]
    for change in changes:
        article = _article()
        article.content_digest = ContentDigest(content_hash_ahead(article).fields, PLANTED)
        for name, value in change.items():
            setattr(article, name, value)
        assert stored_hash(article) == content_hash(article) != PLANTED, change
    # Lists edited in place (a pipeline appending a tag) are caught too.
    article = _article()
    article.content_digest = ContentDigest(content_hash_ahead(article).fields, PLANTED)
    article.tags.append("трамвай")
    article.authors[0] = "Иван Сидоров"
    assert stored_hash(article) == content_hash(article) != PLANTED
    article.content_digest = None
    assert stored_hash(article) == content_hash(article)


def test_the_store_keeps_the_hash_it_would_have_computed(store: Store) -> None:
    article, fresh = _article(), _article()
    article.content_digest = content_hash_ahead(article)
    assert [r.status for r in store.upsert_articles([article], now=NOW)] == ["new"]
    # Read again, hashed in place: the same hash, so unchanged.
    assert [r.status for r in store.upsert_articles([fresh], now=NOW)] == ["unchanged"]
    # A wrong hash computed ahead for other fields is never taken: the edit is stored.
    edited = _article()
    edited.title = "Правка"
    edited.content_digest = content_hash_ahead(_article())
    assert [r.status for r in store.upsert_articles([edited], now=NOW)] == ["updated"]
    stored = store.get_article(edited.url)
    assert stored is not None and stored.title == "Правка"
