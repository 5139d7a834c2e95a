"""A stored article copied under a new URL (``stored_copies``): the copy is not stored again."""

from __future__ import annotations

from datetime import timedelta

from storage_samples import NOW, make

from crawler.storage import Store

ORIGINAL = "https://vm.ru/news/1-slug"
COPY = "https://vm.ru/news/101-slug"


def test_a_copy_under_a_new_url_is_a_duplicate_of_the_stored_article(store: Store) -> None:
    [stored] = store.upsert_articles([make(1)], now=NOW)
    later = NOW + timedelta(hours=1)
    # The copy's headline differs only in what the duplicate key ignores.
    copy = make(1, url=COPY, title="НОВОСТЬ 1\u200b")
    [result] = store.upsert_articles([copy], now=later)
    assert (result.status, result.article_id, result.same_as) == (
        "duplicate",
        stored.article_id,
        ORIGINAL,
    )
    assert store.count_articles() == 1 and store.get_article(COPY) is None
    # The same when the batch is stored one by one (a URL twice in it).
    results = store.upsert_articles([make(2), copy, make(2)], now=later)
    assert [r.status for r in results] == ["new", "duplicate", "unchanged"]
    # The stored article itself is still read as itself.
    assert [r.status for r in store.upsert_articles([make(1)], now=later)] == ["unchanged"]


def test_what_is_no_copy_is_stored(store: Store) -> None:
    store.upsert_articles([make(1)], now=NOW)
    published = make(1).published
    others = [
        # Two days' weather: one headline and time, another text.
        make(1, url="https://vm.ru/news/102-slug", text="Оттепель и мокрый снег."),
        # Another source's report of the same press release.
        make(1, url="https://m24.ru/news/1-slug", source="m24"),
        # The same headline and text at another time.
        make(1, url="https://vm.ru/news/103-slug", published=published + timedelta(seconds=20)),
        # Another headline.
        make(1, url="https://vm.ru/news/104-slug", title="Другая новость"),
    ]
    results = store.upsert_articles(others, now=NOW)
    assert [r.status for r in results] == ["new"] * 4
    assert store.count_articles() == 5
