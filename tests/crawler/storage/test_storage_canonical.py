"""A page that names another article's URL as its canonical never replaces that article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.models import Article
from crawler.storage import Store

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REAL = "https://vm.ru/news/57-real"
FAKE = "https://vm.ru/news/78-fake"
REAL_TEXT = "Первые электробусы вышли на маршрут 904 в Новой Москве. " * 6
FAKE_TEXT = "Маршрут электробусов отменили, сообщил неизвестный источник. " * 30


def real(**kw: object) -> Article:
    fields: dict[str, object] = {
        "url": REAL,
        "source": "vm",
        "title": "Электробусы вышли на маршрут 904",
        "published": NOW - timedelta(hours=2),
        "text": REAL_TEXT,
        "fetched_at": NOW,
    }
    return Article(**{**fields, **kw})  # type: ignore[arg-type]


def claim(**kw: object) -> Article:
    """The page at FAKE whose rel=canonical names REAL (as build_article makes it)."""
    fields: dict[str, object] = {
        "title": "Электробусы отменены навсегда",
        "text": FAKE_TEXT,
        "fetched_url": FAKE,
        "flags": [f"via_canonical:{FAKE}"],
    }
    return real(**{**fields, **kw})


def test_a_claim_on_a_stored_article_is_stored_under_its_own_url(store: Store) -> None:
    stored = store.upsert_articles([real()], now=NOW)[0]
    fake = claim()
    result = store.upsert_articles([fake], now=NOW)[0]
    assert result.status == "new" and result.article_id != stored.article_id
    assert fake.url == FAKE and fake.fetched_url is None
    kept = store.get_article(REAL)
    assert kept is not None and kept.title == "Электробусы вышли на маршрут 904"
    assert kept.text == REAL_TEXT
    mine = store.get_article(FAKE)
    assert mine is not None and mine.title == "Электробусы отменены навсегда"
    assert "canonical_ignored" in mine.flags and "via_canonical" not in mine.flags
    # The next run: the same again, no flip-flop.
    again = store.upsert_articles([claim()], now=NOW + timedelta(hours=1))[0]
    assert again.status == "unchanged" and again.article_id == result.article_id


def test_a_copy_of_the_same_page_updates_the_article(store: Store) -> None:
    # An AMP or mobile copy: the same text, maybe under an edited headline.
    first = store.upsert_articles([real()], now=NOW)[0]
    copy = claim(title="На маршрут 904 вышли электробусы", text=REAL_TEXT)
    updated = store.upsert_articles([copy], now=NOW)[0]
    assert updated.status == "updated" and updated.article_id == first.article_id
    assert copy.url == REAL and store.count_articles() == 1


def test_a_shared_headline_or_opening_is_no_copy(store: Store) -> None:
    # Two days' weather under one headline; two stories under one notice.
    store.upsert_articles([real()], now=NOW)
    same_headline = claim(title="Электробусы вышли на маршрут 904")
    notice = REAL_TEXT[:300]
    same_opening = claim(text=notice + FAKE_TEXT)
    store.upsert_articles([real(text=notice + REAL_TEXT)], now=NOW)
    for page in (same_headline, same_opening):
        store.upsert_articles([page], now=NOW)
        assert page.url == FAKE and "canonical_ignored" in page.flags
    kept = store.get_article(REAL)
    assert kept is not None and kept.text == notice + REAL_TEXT


def test_the_page_at_its_own_url_moves_an_earlier_claim_back_to_its_page(store: Store) -> None:
    # The claim came first (nothing was stored under REAL): it stands, flagged with its page's
    # URL. The real page, even much shorter (the shrink guard is for versions of one page),
    # moves it back there, keeping its row, and is stored as new.
    claimed = store.upsert_articles([claim()], now=NOW)[0]
    taken = store.get_article(REAL)
    assert taken is not None and f"via_canonical:{FAKE}" in taken.flags
    page = real()
    assert store.upsert_articles([page], now=NOW)[0].status == "new"
    stored = store.get_article(REAL)
    assert stored is not None and stored.title == "Электробусы вышли на маршрут 904"
    moved = store.get_article(FAKE)
    assert moved is not None and moved.title == "Электробусы отменены навсегда"
    assert moved.flags == ["canonical_ignored"] and moved.first_seen == NOW
    again = store.upsert_articles([claim()], now=NOW)[0]  # the claim's page: its own row now
    assert again.status == "unchanged" and again.article_id == claimed.article_id
    assert store.count_articles() == 2


def test_the_page_at_its_own_url_replaces_a_claim_whose_page_is_stored_too(
    store: Store,
) -> None:
    store.upsert_articles([claim()], now=NOW)
    # The claim's own page stored meanwhile under its URL (say, before its canonical changed).
    store.upsert_articles([real(url=FAKE, title="Электробусы отменены навсегда")], now=NOW)
    assert store.upsert_articles([real()], now=NOW)[0].status == "updated"
    stored = store.get_article(REAL)
    assert stored is not None and stored.title == "Электробусы вышли на маршрут 904"
    assert store.count_articles() == 2


def test_a_much_shorter_version_of_an_article_is_still_refused(store: Store) -> None:
    # The shrink guard stands for the article's own page (a site's error page under its URL).
    store.upsert_articles([real(text=FAKE_TEXT)], now=NOW)
    error_page = real(text="Сервис временно недоступен.")
    assert store.upsert_articles([error_page], now=NOW)[0].status == "refused"


def test_a_claim_and_the_page_it_names_in_one_batch(store: Store) -> None:
    fake, page = claim(), real()
    results = store.upsert_articles([fake, page], now=NOW)
    assert [r.status for r in results] == ["new", "new"]
    assert fake.url == FAKE and page.url == REAL and store.count_articles() == 2
