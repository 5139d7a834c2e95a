"""A stored article's URL keeps the site's trailing slash, and never alternates between runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from storage_samples import NOW, make

from crawler.storage import Store

BITRIX = "https://www.mos.ru/news/detail/12345/"
WORDPRESS = "https://vm.ru/2026/12/06/tramvai-lesnaya/"
LONG_TEXT = "Трамвайную линию на Лесной улице закроют на ремонт до конца месяца. " * 10


def stored_url(store: Store, url: str) -> str:
    """The URL (the feeds' link and GUID) the store holds for ``url``'s article."""
    article = store.get_article(url)
    assert article is not None
    return article.url


@pytest.mark.parametrize("site_url", [BITRIX, WORDPRESS])
def test_the_sites_slash_is_stored_and_published(store: Store, site_url: str) -> None:
    store.upsert_article(make(1, url=site_url), now=NOW)
    assert stored_url(store, site_url) == site_url
    assert [a.url for a in store.iter_articles()] == [site_url]


@pytest.mark.parametrize("site_url", [BITRIX, WORDPRESS])
def test_a_row_stored_slashless_takes_the_slash_once_and_keeps_it(
    store: Store, site_url: str
) -> None:
    # What older versions stored: every URL without its trailing slash.
    old = site_url.rstrip("/")
    first = store.upsert_article(make(1, url=old), now=NOW)
    # The same page read again under the site's form: the link is repaired, nothing else.
    again = store.upsert_article(make(1, url=site_url), now=NOW + timedelta(hours=1))
    assert again.status == "unchanged" and again.article_id == first.article_id
    assert stored_url(store, old) == site_url
    # The site links both forms: run after run, the URL (the GUID) stays the slash form.
    for hours, url in enumerate([old, site_url, old, old, site_url], start=2):
        result = store.upsert_article(make(1, url=url), now=NOW + timedelta(hours=hours))
        assert result.status == "unchanged" and result.article_id == first.article_id
        assert stored_url(store, old) == site_url
    assert store.count_articles() == 1


def test_a_row_stored_with_the_slash_keeps_it_when_linked_without(store: Store) -> None:
    store.upsert_article(make(1, url=BITRIX), now=NOW)
    slashless = make(1, url=BITRIX.rstrip("/"), title="Новость 1 (обновлено)")
    assert store.upsert_article(slashless, now=NOW).status == "updated"
    stored = store.get_article(BITRIX)
    assert stored is not None and stored.url == BITRIX and stored.title == slashless.title


def test_the_repair_goes_with_an_edit_and_past_a_refused_update(store: Store) -> None:
    old = BITRIX.rstrip("/")
    store.upsert_article(make(1, url=old, text=LONG_TEXT), now=NOW)
    edited = make(1, url=BITRIX, text=LONG_TEXT, title="Новость 1 (обновлено)")
    assert store.upsert_article(edited, now=NOW).status == "updated"
    assert stored_url(store, BITRIX) == BITRIX

    other = WORDPRESS.rstrip("/")
    store.upsert_article(make(2, url=other, text=LONG_TEXT), now=NOW)
    # An error page under the article's URL: its text is refused, the site's form still is news.
    error_page = make(2, url=WORDPRESS, text="Сервис временно недоступен.")
    assert store.upsert_article(error_page, now=NOW).status == "refused"
    stored = store.get_article(WORDPRESS)
    assert stored is not None and stored.url == WORDPRESS and stored.text == LONG_TEXT


def test_a_batch_with_both_forms_stores_one_article_under_the_slash(store: Store) -> None:
    old = BITRIX.rstrip("/")
    for forms in ([old, BITRIX], [BITRIX, old]):
        store.upsert_articles([make(1, url=u) for u in forms], now=NOW)
        assert store.count_articles() == 1 and stored_url(store, old) == BITRIX


def test_a_batch_repairs_old_rows_among_new_ones(store: Store) -> None:
    store.upsert_article(make(1, url=BITRIX.rstrip("/")), now=NOW)
    results = store.upsert_articles([make(1, url=BITRIX), make(2, url=WORDPRESS)], now=NOW)
    assert [r.status for r in results] == ["unchanged", "new"]
    assert {a.url for a in store.iter_articles()} == {BITRIX, WORDPRESS}


@pytest.mark.parametrize(
    "fetched",
    [
        "https://mos.ru/news/detail/12345/",  # another host form: the row keeps its own
        "http://www.mos.ru/news/detail/12345/",  # another scheme
    ],
)
def test_only_the_slash_is_repaired(store: Store, fetched: str) -> None:
    old = BITRIX.rstrip("/")
    store.upsert_article(make(1, url=old), now=NOW)
    assert store.upsert_article(make(1, url=fetched), now=NOW).status == "unchanged"
    assert stored_url(store, old) == old
