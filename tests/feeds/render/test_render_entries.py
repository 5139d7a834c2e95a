"""Entries are prepared once per build, never reused for a changed article, and cleaned."""

from __future__ import annotations

import html
from dataclasses import fields, replace
from datetime import datetime, timedelta
from urllib.parse import urljoin

import feedparser
import pytest
from feeds_samples import BASE_URL, edited, sample_articles

import feeds.content
from crawler.models import RelatedReport
from crawler.normalize.html import SANITIZE_POLICY
from feeds.render import Entry, EntryCache, prepare_feed
from feeds.render.entries import Related
from tests.feeds.render.render_support import SPEC, render_sample


def test_prepared_entries_are_shared_between_feeds_but_never_when_the_article_changed() -> None:
    cache = EntryCache()
    articles = sample_articles()
    first = prepare_feed(SPEC, articles, base_url=BASE_URL, cache=cache)
    again = prepare_feed(SPEC, [replace(a) for a in articles], base_url=BASE_URL, cache=cache)
    assert [id(e) for e in again.entries] == [id(e) for e in first.entries]
    assert len(cache) == 3 and cache.hits == 3
    changed = prepare_feed(SPEC, [edited(articles[0])], base_url=BASE_URL, cache=cache)
    assert changed.entries[0] is not first.entries[0]
    assert "Дополнение редакции" in changed.entries[0].content_html
    other_language = replace(SPEC, language="en")
    english = prepare_feed(other_language, [articles[2]], base_url=BASE_URL, cache=cache)
    assert english.entries[0].language == "en" and first.entries[2].language == "ru"


def test_an_entry_makes_each_rendered_form_once() -> None:
    entry = prepare_feed(SPEC, sample_articles()[:1], base_url=BASE_URL).entries[0]
    made: list[str] = []

    def make(e: object) -> str:
        made.append("x")
        return f"form {len(made)}"

    assert entry.rendered("test", make) == entry.rendered("test", make) == "form 1"
    assert entry.rendered("other", make) == "form 2"
    assert entry == replace(entry)  # the kept forms are not part of the value


def test_invalid_and_repeated_urls_are_skipped() -> None:
    first = sample_articles()[0]
    articles = [first, replace(first, url="/relative/path"), replace(first, title="again")]
    feed = prepare_feed(SPEC, articles, base_url=BASE_URL)
    assert [e.url for e in feed.entries] == [first.url]
    with pytest.raises(ValueError, match="must end with '/'"):
        prepare_feed(SPEC, articles, base_url=BASE_URL.rstrip("/"))


def test_naive_datetimes_are_taken_as_utc_instead_of_crashing() -> None:
    article = sample_articles()[2]
    article.published = datetime(2024, 3, 11, 6, 15)
    assert not feedparser.parse(render_sample("rss", [article])).bozo


@pytest.mark.parametrize(
    ("policy", "sanitized_again"),
    [(None, True), (SANITIZE_POLICY - 1, True), (SANITIZE_POLICY, False)],
)
def test_stored_html_is_sanitized_again_unless_it_has_the_current_policy(
    policy: int | None, sanitized_again: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = feeds.content.sanitize_html

    def counting(html: str, base_url: str) -> str:
        calls.append(html)
        return real(html, base_url)

    monkeypatch.setattr(feeds.content, "sanitize_html", counting)
    body = '<p>Текст <a href="/news/2">ссылка</a></p><script>alert(1)</script>'
    article = replace(sample_articles()[0], html=body, html_policy=policy)
    data = render_sample("rss", [article])
    assert bool(calls) is sanitized_again
    if sanitized_again:
        assert b"alert" not in data
        assert urljoin(article.url, "/news/2").encode() in data  # made absolute


def test_a_story_entry_is_its_article_entry_with_only_the_story_fields_changed() -> None:
    """The story entry is built field by field: a field added to ``Entry`` must be carried over
    (or be one of the story's own), never left at its default."""
    article = replace(sample_articles()[0], image="https://example.org/bus.jpg")
    story = replace(
        article,
        related=[RelatedReport("https://m24.ru/news/9", "Москва 24", "Другие слова")],
        story_updated=article.published + timedelta(hours=3),
    )
    cache = EntryCache()
    plain, entry = cache.get(article, "ru", 5000), cache.get(story, "ru", 5000)
    assert plain is not None and entry is not None
    own = {"updated", "content_html", "related", "article_entry", "_forms"}
    for f in fields(Entry):
        if f.name not in own:
            assert getattr(entry, f.name) == getattr(plain, f.name), f.name
    assert entry.updated == article.published + timedelta(hours=3)  # the story's last join
    assert entry.content_html.startswith(plain.content_html) and "Москва 24" in entry.content_html
    assert entry.related == (Related("https://m24.ru/news/9", "Москва 24", "Другие слова"),)
    assert entry.article_entry is plain


def test_a_story_copy_in_several_feeds_is_found_by_identity_and_an_equal_copy_by_its_key() -> None:
    """The store makes one copy of a story's article per read, held by every feed showing the
    story: found again as that object (a hit), per language and length bound; another copy
    with the same fields gets the same entry and digest through the key, and a copy whose
    story gained a report gets a new entry."""
    article = sample_articles()[0]
    report = RelatedReport("https://m24.ru/news/9", "Москва 24", "Другие слова")
    story = replace(article, related=[report], story_updated=article.published)
    cache = EntryCache()
    entry, digest = cache.get(story, "ru", 5000), cache.digest(story, "ru", 5000)
    hits = cache.hits
    assert cache.get(story, "ru", 5000) is entry and cache.hits == hits + 1
    assert cache.digest(story, "ru", 5000) == digest
    other_language = cache.get(story, "en", 5000)
    assert other_language is not None and other_language is not entry
    shorter = cache.get(story, "ru", 100)
    assert shorter is not None and shorter is not entry
    equal = replace(story)
    assert cache.get(equal, "ru", 5000) is entry and cache.digest(equal, "ru", 5000) == digest
    grown = replace(story, related=[report, RelatedReport("https://vm.ru/1", "vm", "Ещё")])
    bigger = cache.get(grown, "ru", 5000)
    assert bigger is not None and bigger is not entry and len(bigger.related) == 2
    assert cache.digest(grown, "ru", 5000) != digest


def test_a_title_stored_before_titles_were_capped_is_cut_in_the_feed() -> None:
    from crawler.normalize.text import MAX_TITLE_CHARS
    from feeds.content import clean_title

    title = clean_title("Трамвай " + "слово " * 2000, fallback="x")
    assert len(title) <= MAX_TITLE_CHARS and title.endswith("слово…")
    assert clean_title("Короткий заголовок", fallback="x") == "Короткий заголовок"
    assert clean_title("  ", fallback="(без заголовка)") == "(без заголовка)"


@pytest.mark.parametrize(
    ("summary", "shown"),
    [
        # Stored as text: words that look like markup are the story's own.
        (
            "Хакеры вставили код <img src=x onerror=alert(1)> и <script>alert(1)</script> на сайт.",
            "Хакеры вставили код <img src=x onerror=alert(1)> и <script>alert(1)</script> на сайт.",
        ),
        ("Если a<b и c>d, трамваи ходят чаще.", "Если a<b и c>d, трамваи ходят чаще."),
        ("AT&T купила оператора", "AT&T купила оператора"),
        # A description its CMS escaped twice holds formatting markup or entities: read as HTML
        # (cut short too: its opening tag alone).
        ("<p>Электробусы на маршруте <b>м1</b>.</p>", "Электробусы на маршруте м1."),
        ("Первая строка<br>вторая", "Первая строка вторая"),
        ("<p>Мэр Москвы открыл станцию", "Мэр Москвы открыл станцию"),
        ("&laquo;Москва&raquo; и&nbsp;область, 2&lt;3", "«Москва» и область, 2<3"),
    ],
)
def test_a_summary_is_published_as_the_text_it_was_stored_as(summary: str, shown: str) -> None:
    article = replace(sample_articles()[2], summary=summary)
    [entry] = prepare_feed(SPEC, [article], base_url=BASE_URL).entries
    assert entry.summary == entry.description == shown
    # As readers show it: RSS's <description> (and an Atom summary typed html) is HTML there;
    # the text shows as written, with no markup of its own.
    for fmt in ("rss", "atom"):
        [item] = feedparser.parse(render_sample(fmt, [article])).entries
        assert "<" not in item.summary and html.unescape(item.summary) == shown, fmt


def test_an_image_url_with_a_login_is_published_without_it() -> None:
    article = replace(sample_articles()[2], image="http://user:pass@cdn.example.org/x.jpg")
    [entry] = prepare_feed(SPEC, [article], base_url=BASE_URL).entries
    assert entry.image == "http://cdn.example.org/x.jpg"
