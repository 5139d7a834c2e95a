"""process_page: one page in, an Article or the reason for none out; every caller agrees."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from cityfeeds.cli import main
from cityfeeds.commands.extract import article_json
from cityfeeds.devtools.fixtures import Fixture, load_fixtures, process_fixture
from crawler.config import load_config
from crawler.discovery import Link
from crawler.models import Article, ArticleData, ArticleItem, Dropped, Hints, PageFacts
from crawler.normalize.urls import canonicalize_url
from crawler.pages import check_page, process_page
from crawler.pipelines import NormalizePipeline, ValidatePipeline
from crawler.profile import SourceProfile, profiles_of
from crawler.spiders.news import NewsSpider

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "cityfeeds.toml"
SITES = ROOT / "tests" / "fixtures" / "sites"
PROFILES = profiles_of(load_config(CONFIG))
TEXT = "Трамвайную линию на Сущёвском Валу закроют на ремонт до конца месяца."
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
URL = "https://news.example/city/trams-1"
PROFILE = SourceProfile(name="news", allowed_domains=("news.example",), language="ru")
PARAGRAPH = "Новые трамваи вышли на маршруты в центре города и на окраинах. " * 6


def _html(title: str = "Новые трамваи вышли на маршруты", body: str = PARAGRAPH) -> bytes:
    return (
        "<html><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><h1>{title}</h1>"
        f"<article><p>{body}</p><p>{body}</p></article></body></html>"
    ).encode()


def test_a_page_becomes_a_normalized_article_of_its_source() -> None:
    article = process_page(PROFILE, _html(), PageFacts(URL, NOW))
    assert isinstance(article, Article)
    assert (article.source, article.url, article.title) == (
        "news",
        URL,
        "Новые трамваи вышли на маршруты",
    )
    assert article.fetched_at == NOW and article.language == "ru"
    # No date on the page and no hint: the fetch time stands in, and says so.
    assert article.published == NOW and "date_fallback" in article.flags


def test_hints_fill_what_the_page_lacks() -> None:
    published = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
    hints = Hints(title="Из ленты", published=published, summary="Кратко из ленты.")
    article = process_page(PROFILE, _html(), PageFacts(URL, NOW), hints)
    assert isinstance(article, Article)
    assert article.published == published and article.provenance["published"] == "feed"
    assert article.summary == "Кратко из ленты." and article.provenance["summary"] == "feed"
    assert article.title == "Новые трамваи вышли на маршруты"  # the page's own title wins


# --- dates: relative bylines and the feed's time over a day-only page date ---------------------
MSK = ZoneInfo("Europe/Moscow")
FETCHED = datetime(2026, 12, 6, 12, 0, tzinfo=MSK)
RU = SourceProfile(name="city", allowed_domains=("city.example",), timezone="Europe/Moscow")
RU_URL = "https://city.example/news/tram"


def _dated_page(head: str = "", byline: str = "") -> bytes:
    """A saved article page whose only dates are ``head``'s metadata and the ``byline``."""
    return (
        "<!DOCTYPE html><html lang='ru'><head><meta charset='utf-8'>"
        f"<title>Трамваи вышли на новый маршрут</title>{head}</head><body><main><article>"
        f"<h1>Трамваи вышли на новый маршрут</h1>{byline}<div class='article-body'>"
        f"<p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div></article></main></body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("<span class='date'>вчера, 14:30</span>", datetime(2026, 12, 5, 14, 30, tzinfo=MSK)),
        ("<span class='date'>Сегодня в 09:15</span>", datetime(2026, 12, 6, 9, 15, tzinfo=MSK)),
        ("<span class='date'>2 часа назад</span>", datetime(2026, 12, 6, 10, 0, tzinfo=MSK)),
    ],
)
def test_a_relative_byline_dates_the_article_not_the_fetch_time(
    byline: str, expected: datetime
) -> None:
    article = process_page(RU, _dated_page(byline=byline), PageFacts(RU_URL, FETCHED))
    assert isinstance(article, Article)
    assert (article.published, article.provenance["published"]) == (expected, "text")
    assert "date_fallback" not in article.flags


BAD_META = '<meta property="article:published_time" content="2026-12-05T25:61:00+03:00">'
# A block cut short: htmldate still reads its day.
CUT_JSONLD = (
    '<script type="application/ld+json">{"@type": "NewsArticle", '
    '"datePublished": "2026-12-05T10:16:00+03:00", "author": {"name": </script>'
)
FEED_DATE = datetime(2026, 12, 5, 10, 16, tzinfo=timezone(timedelta(hours=3)))


@pytest.mark.parametrize(
    ("head", "byline", "page_layer"),
    [
        (BAD_META, "<span class='date'>5 декабря 2026</span>", "text"),
        (BAD_META + CUT_JSONLD, "", "htmldate"),
    ],
)
def test_the_feeds_time_beats_a_day_only_page_date_on_the_same_day(
    head: str, byline: str, page_layer: str
) -> None:
    page = _dated_page(head, byline)
    alone = process_page(RU, page, PageFacts(RU_URL, FETCHED))
    assert isinstance(alone, Article)  # without a hint: the page's day, at midnight
    assert alone.published == datetime(2026, 12, 5, tzinfo=MSK)
    assert alone.provenance["published"] == page_layer
    article = process_page(RU, page, PageFacts(RU_URL, FETCHED), Hints(published=FEED_DATE))
    assert isinstance(article, Article)
    assert (article.published, article.provenance["published"]) == (FEED_DATE, "feed")
    assert "date_fallback" not in article.flags


def test_a_trailing_comma_in_json_ld_is_forgiven_so_the_page_has_its_exact_time() -> None:
    trailing_comma = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2026-12-05T10:16:00+03:00",}</script>'
    )
    article = process_page(RU, _dated_page(BAD_META + trailing_comma), PageFacts(RU_URL, FETCHED))
    assert isinstance(article, Article)
    assert article.published == datetime(2026, 12, 5, 10, 16, tzinfo=MSK)
    assert article.provenance["published"] == "jsonld"


@pytest.mark.parametrize(
    ("head", "byline", "hint", "expected"),
    [
        # The feed's date is another day: the page's own day stands.
        (
            BAD_META,
            "<span>5 декабря 2026</span>",
            datetime(2026, 12, 4, 23, 30, tzinfo=MSK),
            datetime(2026, 12, 5, tzinfo=MSK),
        ),
        # The sitemap's date is a day too: nothing more precise to take.
        (
            BAD_META,
            "<span>5 декабря 2026</span>",
            datetime(2026, 12, 5, tzinfo=MSK),
            datetime(2026, 12, 5, tzinfo=MSK),
        ),
        # The page has its own time: it is the page's word, whatever the feed says.
        (
            '<meta property="article:published_time" content="2026-12-05T09:00:00+03:00">',
            "",
            FEED_DATE,
            datetime(2026, 12, 5, 9, 0, tzinfo=MSK),
        ),
        # Same day in UTC, the day before in Moscow (the page's zone): not the page's day.
        (
            BAD_META,
            "<span>5 декабря 2026</span>",
            datetime(2026, 12, 5, 22, 0, tzinfo=UTC),
            datetime(2026, 12, 5, tzinfo=MSK),
        ),
    ],
)
def test_the_feeds_date_does_not_replace_a_page_date_it_does_not_refine(
    head: str, byline: str, hint: datetime, expected: datetime
) -> None:
    page = _dated_page(head, byline)
    article = process_page(RU, page, PageFacts(RU_URL, FETCHED), Hints(published=hint))
    assert isinstance(article, Article)
    assert article.published == expected and article.provenance["published"] != "feed"


def test_limits_come_from_the_profile() -> None:
    small = SourceProfile(name="news", allowed_domains=("news.example",), max_text=200)
    article = process_page(small, _html(), PageFacts(URL, NOW))
    assert isinstance(article, Article)
    assert len(article.text) <= 200 and "text_truncated" in article.flags


@pytest.mark.parametrize(
    ("body", "url", "reason"),
    [
        (b"<html><body></body></html>", URL, "empty_page"),
        (_html(), "ftp://news.example/1", "bad_url"),
    ],
)
def test_pages_that_are_no_article_are_dropped_with_a_reason(
    body: bytes, url: str, reason: str
) -> None:
    result = process_page(PROFILE, body, PageFacts(url, NOW))
    assert isinstance(result, Dropped) and result.reason == reason


def test_a_leaked_title_drops_the_page() -> None:
    data = ArticleData(url=URL, title="{{ article.title }}", text=TEXT)
    dropped = check_page(PROFILE, data, PageFacts(URL, NOW))
    assert dropped is not None and dropped.reason == "selector_leak"


def test_a_leaked_value_in_a_secondary_field_costs_that_field_only() -> None:
    data = ArticleData(url=URL, title="Заголовок", text=TEXT, section="{{ section }}")
    assert check_page(PROFILE, data, PageFacts(URL, NOW)) is None
    assert data.section is None and "garbage_section" in data.flags


def _spider_article(config: Any, source: str, body: bytes, url: str, at: datetime) -> Any:
    crawler = get_crawler(
        NewsSpider,
        {"CITYFEEDS_CONFIG": str(CONFIG), "CITYFEEDS_CLOCK": lambda: at},
    )
    spider = NewsSpider.from_crawler(crawler, source=source, config=config)
    request = Request(url, meta={"cityfeeds_link": Link(url=url)})
    response = HtmlResponse(url, body=body, headers={"Content-Type": "text/html"}, request=request)
    (item,) = list(spider.parse_article_inline(response))
    assert isinstance(item, ArticleItem) and item.dropped is None
    return item.article


def test_spider_extract_and_fixtures_make_the_same_article_of_the_same_page() -> None:
    config = load_config(CONFIG)
    fixture = next(f for f in load_fixtures(SITES) if f.source == "m24")
    body = fixture.body()

    from_fixture = process_fixture(fixture, profiles_of(config)["m24"])
    from_spider = _spider_article(config, "m24", body, fixture.url, fixture.fetched_at)
    from_extract = article_json(
        config, body, fixture.url, source=config.source("m24"), now=fixture.fetched_at
    )
    assert isinstance(from_fixture, Article) and isinstance(from_extract, dict)
    assert from_spider == from_fixture
    fields = asdict(from_fixture)
    shown = {k: v for k, v in from_extract.items() if k not in ("topics", "published", "updated")}
    assert shown == {k: fields[k] for k in shown}
    assert from_extract["published"] == from_fixture.published.isoformat()


@pytest.mark.parametrize("fixture", load_fixtures(SITES), ids=lambda f: f"{f.source}/{f.name}")
def test_every_saved_page_is_an_article_of_its_source(fixture: Fixture) -> None:
    article = process_fixture(fixture, PROFILES.get(fixture.source))
    assert isinstance(article, Article), article
    assert article.source == fixture.source and article.title


def test_validate_pipeline_drops_what_processing_rejected_and_finishes_raw_items() -> None:
    crawler = get_crawler(NewsSpider, {"CITYFEEDS_CONFIG": str(CONFIG)})
    NewsSpider.from_crawler(crawler, source="vm", config=load_config(CONFIG))
    validate, normalize = ValidatePipeline(crawler), NormalizePipeline(crawler)
    url = "https://vm.ru/news/1-tram"
    dropped = ArticleItem("vm", None, NOW, url, dropped=Dropped("missing_title"))
    with pytest.raises(Exception, match="missing_title"):
        validate.process_item(dropped)
    raw = ArticleItem("vm", ArticleData(url=url, title="Трамваи", text=TEXT), NOW, url)
    item = normalize.process_item(validate.process_item(raw))
    assert item.article is not None and item.article.source == "vm"
    assert crawler.stats is not None
    assert crawler.stats.get_value("cityfeeds/dropped/missing_title") == 1
    assert crawler.stats.get_value("cityfeeds/date_fallback") == 1


def test_extract_reports_a_page_a_crawl_would_drop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "empty.html"
    page.write_bytes(b"<html><body></body></html>")
    url = "https://vm.ru/news/1-empty"
    assert main(["--config", str(CONFIG), "extract", str(page), "--url", url]) == 1
    assert "is no article (empty_page)" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "2026-11-20T09:30:00+03:00", "Фото: ТАСС"])
def test_a_headline_without_text_is_dropped_as_no_text(text: str) -> None:
    data = ArticleData(url=URL, title="Видео: новый электробус на Тверской", text=text)
    assert check_page(PROFILE, data, PageFacts(URL, NOW)) == Dropped(
        "no_text", "title='Видео: новый электробус на Тверской'"
    )
    # The feed's description stands in for the missing text.
    hints = Hints(summary="Электробус нового поколения проехал по Тверской улице.")
    assert check_page(PROFILE, data, PageFacts(URL, NOW), hints) is None


HEADLINES = [
    "На маршрут № 776 вышли новые электробусы большой вместимости",
    "Трамваи «Витязь-М» начали ходить по Шаболовке после ремонта путей",
    "В Новой Москве открыли двадцать станций быстрой зарядки электромобилей",
    "На МЦД-2 вышли электропоезда «Иволга 4.0» с новыми вагонами",
]
SECTION_INDEX = (
    '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
    "<title>Транспорт — Новости Москвы</title>"
    '<meta property="og:description" content="Все новости о транспорте Москвы: метро,'
    ' электробусы, трамваи."></head><body><nav><a href="/">Главная</a>'
    ' <a href="/news/">Новости</a></nav><h1>Транспорт</h1><ul class="news-list">'
    + "".join(f'<li><a href="/news/{i}">{h}</a></li>' for i, h in enumerate(HEADLINES))
    + '</ul><a class="next" href="/news/?page=2">Дальше</a></body></html>'
)


def test_a_section_index_is_dropped_as_a_link_list_not_published_as_news() -> None:
    # Its "body" is other pages' headlines, and its description and the fetch time as a date
    # would make it look like a fresh article in every topic its headlines mention.
    url = "https://news.example/transport/"
    found = process_page(PROFILE, SECTION_INDEX.encode(), PageFacts(url, NOW))
    assert found == Dropped("link_list", "title='Транспорт'")


def test_extract_says_a_listing_page_is_no_article(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "section.html"
    page.write_text(SECTION_INDEX, encoding="utf-8")
    url = "https://vm.ru/news/transport/"
    assert main(["--config", str(CONFIG), "extract", str(page), "--url", url]) == 1
    assert "is no article (link_list: title='Транспорт')" in capsys.readouterr().err


def test_a_story_with_linked_lines_is_no_link_list() -> None:
    from crawler.extraction.body import is_link_list

    headlines = [f"Заголовок другой новости номер {i}" for i in range(4)]
    story = ["Электробусы вышли на маршрут в понедельник утром, сообщили в департаменте."] * 3
    assert is_link_list(headlines, set(headlines))
    # Two linked lines ("read also") under three of the story's own: an article.
    assert not is_link_list(story + headlines[:2], set(headlines))
    # Fewer than three lines are never judged a listing.
    assert not is_link_list(headlines[:2], set(headlines))


@pytest.mark.parametrize("control", ["\x0b", "\x01", "\x0c", "\x1f", "\x08"])
def test_control_characters_in_a_page_cost_nothing(control: str) -> None:
    # libxml2 keeps them in text nodes; lxml then refuses to set such text (dropping a box
    # inside the paragraph moved its tail), which once failed the page and the source's run.
    story = "Объезд новой дороги откроют для автомобилей и электробусов в понедельник утром."
    page = (
        "<html><head><title>Объезд на Тверской</title></head><body><article>"
        f"<h1>Объезд на Тверской</h1><p>Текст<script>x</script>{control} {story}</p>"
        f"<p>Второй абзац{control} про трамваи и электробусы на Тверской улице.</p>"
        "<p>Третий абзац новости о транспорте Москвы и о пассажирах метро.</p>"
        "</article></body></html>"
    )
    found = process_page(PROFILE, page.encode(), PageFacts(URL, NOW))
    assert isinstance(found, Article), found
    assert story in found.text and control not in found.text + (found.html or "")


def test_an_error_on_one_page_drops_that_page_with_its_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("All strings must be XML compatible")

    monkeypatch.setattr("crawler.pages.extract_article", broken)
    found = process_page(PROFILE, b"<html><body><p>x</p></body></html>", PageFacts(URL, NOW))
    assert found == Dropped("extract_error", "ValueError: All strings must be XML compatible")


def test_a_page_cut_off_after_its_headline_is_no_article() -> None:
    # A truncated response (complete by its Content-Length): menu links and the headline's
    # start were once published as the article, tagged into every topic the menu named.
    page = (
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
        '<meta property="og:title" content="Новые электробусы вышли на маршрут"></head><body>'
        '<header><a href="/">Городские новости</a><nav><ul><li><a href="/news/">Все новости</a>'
        '</li><li><a href="/roads/">Дороги</a></li><li><a href="/transport/">Транспорт</a></li>'
        '<li><a href="/city/">Город</a></li></ul></nav></header><main><article>'
        "<h1>Новые электробусы вышли на маршр"
    )
    found = process_page(PROFILE, page.encode(), PageFacts(URL, NOW))
    assert isinstance(found, Dropped) and found.reason == "link_list"


@pytest.mark.parametrize(
    ("canonical", "outcome"),
    [
        ("https://m.news.example/city/trams-1", "claim"),  # the mobile copy's URL
        ("https://news.example/news/trams-1", "claim"),  # the same slug under another path
        ("https://news.example/news/trams-1/", "claim"),
        ("https://NEWS.example/city/trams-1/", "same-site"),  # the same page: its identity
        ("https://news.example/city/trams-1?utm_source=tg", "same"),
        ("https://other.example/city/trams-1", "ignored"),  # another site: not this one's URL
        ("https://news.example/city/trams-0", "ignored"),  # another article: no copy of it
        ("https://news.example/city", "ignored"),  # a section
    ],
)
def test_a_canonical_naming_another_page_is_a_claim_only_when_its_url_is_kin(
    canonical: str, outcome: str
) -> None:
    _check_canonical(URL, canonical, outcome)


@pytest.mark.parametrize(
    ("url", "canonical", "outcome"),
    [
        # One script, two articles: the query picks the article.
        (
            "https://news.example/news/show_article?id=12345",
            "https://news.example/news/show_article?id=99999",
            "ignored",
        ),
        # The same article shown another way: the canonical's parameters and more.
        (
            "https://news.example/news/show_article?id=12345&print=1",
            "https://news.example/news/show_article?id=12345",
            "claim",
        ),
        # A day's archive is no copy of an article of that day.
        (
            "https://news.example/news/2026/03/05/tramvai",
            "https://news.example/news/2026/03/05/",
            "ignored",
        ),
        # The AMP copy of a query-addressed article is still that article (one identity).
        (
            "https://news.example/amp/news/show_article?id=12345",
            "https://news.example/news/show_article?id=12345",
            "same-site",
        ),
    ],
)
def test_a_query_or_a_days_archive_is_no_kin(url: str, canonical: str, outcome: str) -> None:
    _check_canonical(url, canonical, outcome)


def _check_canonical(url: str, canonical: str, outcome: str) -> None:
    head = f'<link rel="canonical" href="{canonical}">'
    page = _html().replace(b"<title>", head.encode() + b"<title>")
    article = process_page(PROFILE, page, PageFacts(url, NOW))
    assert isinstance(article, Article)
    own = canonicalize_url(url)
    claims = [f for f in article.flags if f.startswith("via_canonical")]
    if outcome == "claim":
        # Stored under the canonical, unless the store holds another article there
        # (crawler.canonical); the flag keeps the page's own URL to move it back.
        assert article.url == canonical and article.fetched_url == own
        assert claims == [f"via_canonical:{own}"]
    else:
        # The same page under its canonical's form (its trailing slash), or under its own URL.
        expected = canonicalize_url(canonical) if outcome == "same-site" else own
        assert article.url == expected and article.fetched_url is None and not claims
        assert ("canonical_ignored" in article.flags) is (outcome == "ignored")
        if outcome == "ignored":
            assert article.provenance["canonical_url"] == "url"  # the page's own, not the tag's


def test_a_canonical_on_another_site_is_ignored_and_says_so() -> None:
    head = '<link rel="canonical" href="https://other.example.com/city/trams-1">'
    page = _html().replace(b"<title>", head.encode() + b"<title>")
    article = process_page(PROFILE, page, PageFacts(URL, NOW))
    assert isinstance(article, Article)
    assert article.url == URL and article.provenance["canonical_url"] == "url"
    assert "canonical_ignored" in article.flags


def test_a_date_minutes_ahead_is_the_fetch_time_and_says_so() -> None:
    # The site's clock runs three minutes ahead: published = the fetch time, flagged.
    ahead = (NOW + timedelta(minutes=3)).isoformat()
    head = f'<meta property="article:published_time" content="{ahead}">'
    page = _html().replace(b"<title>", head.encode() + b"<title>")
    article = process_page(PROFILE, page, PageFacts(URL, NOW))
    assert isinstance(article, Article)
    assert article.published == NOW
    assert "date_skew" in article.flags and "date_clamped" not in article.flags


@pytest.mark.parametrize(
    ("line", "local"),
    [
        ("Изменено: 19.11.2026 17:00", "2026-11-19T17:00:00+03:00"),
        ("Updated: November 19, 2026 5:00 PM", "2026-11-19T17:00:00+03:00"),
        ("Aktualisiert: 19. November 2026, 17:00 Uhr", "2026-11-19T17:00:00+03:00"),
        # A label without a colon, with the word that introduces the date.
        ("Aktualisiert am 19.11.2026 um 17:00 Uhr", "2026-11-19T17:00:00+03:00"),
        ("Updated on Nov. 19, 2026 at 5:00 p.m.", "2026-11-19T17:00:00+03:00"),
    ],
)
def test_an_update_line_is_the_date_of_a_page_without_another(line: str, local: str) -> None:
    # htmldate finds the update's day too: that is no publication date of its own.
    page = _html().replace(b"<article>", f"<article><p>{line}</p>".encode())
    article = process_page(PROFILE, page, PageFacts(URL, NOW + timedelta(days=1)))
    assert isinstance(article, Article)
    assert article.published == datetime.fromisoformat(local)
    assert "date_from_update" in article.flags


def test_a_us_pages_update_line_is_its_date_whichever_way_htmldate_reads_it() -> None:
    # «11/04/2026» is November 4th on a New York source; htmldate reads it as April 11th.
    profile = SourceProfile(
        name="news", allowed_domains=("news.example",), language="en", timezone="America/New_York"
    )
    page = _html().replace(b"<article>", b"<article><p>Updated: 11/04/2026 9:15 a.m.</p>")
    article = process_page(profile, page, PageFacts(URL, NOW))
    assert isinstance(article, Article)
    assert article.published == datetime(2026, 11, 4, 9, 15, tzinfo=ZoneInfo("America/New_York"))
    assert "date_from_update" in article.flags


def test_a_page_that_shows_only_its_update_is_dated_then() -> None:
    update = "<p>Обновлено: 19 ноября 2026, 17:00</p>"
    page = _html().replace(b"<article>", b"<article>" + update.encode())
    article = process_page(PROFILE, page, PageFacts(URL, NOW))
    assert isinstance(article, Article)
    # Not the fetch time, which would also make the stated update the earlier of the two.
    assert article.published == datetime(2026, 11, 19, 14, 0, tzinfo=UTC)
    assert "date_from_update" in article.flags and "date_fallback" not in article.flags


@pytest.mark.parametrize(
    ("url", "canonical", "stored", "fetched_url"),
    [
        # Bitrix and WordPress article URLs end in "/": the slashless form answers 404 there
        ("https://news.example/news/detail/12345/", None, "", None),
        ("https://news.example/2026/12/06/tramvai-lesnaya/", "", "", None),
        ("https://news.example/news/detail/12345/?utm_source=tg#top", None, "-tracking", None),
        # the accepted canonical's form wins over the fetched one, slash or not
        ("https://news.example/city/trams-1", "https://news.example/city/trams-1/", "+", None),
        ("https://news.example/city/trams-1/", "https://news.example/city/trams-1", "+", None),
        # an AMP copy whose canonical ends in "/"
        (
            "https://news.example/city/trams-1/amp/",
            "https://news.example/city/trams-1/",
            "+",
            None,
        ),
        (
            "https://news.example/amp/2026/12/06/tramvai-lesnaya/",
            "https://news.example/2026/12/06/tramvai-lesnaya/",
            "+",
            None,
        ),
        # a mobile copy's claim on the canonical: both keep their slash
        (
            "https://m.news.example/news/detail/12345/",
            "https://news.example/news/detail/12345/",
            "+",
            "https://m.news.example/news/detail/12345/",
        ),
    ],
)
def test_the_url_stored_and_published_keeps_the_sites_trailing_slash(
    url: str, canonical: str | None, stored: str, fetched_url: str | None
) -> None:
    profile = SourceProfile(name="news", allowed_domains=("news.example",), language="ru")
    page = _html()
    if canonical is not None:
        head = f'<link rel="canonical" href="{canonical or url}">'
        page = page.replace(b"<title>", head.encode() + b"<title>")
    article = process_page(profile, page, PageFacts(url, NOW))
    assert isinstance(article, Article)
    expected = {"": url, "-tracking": url.partition("?")[0], "+": canonical}[stored]
    assert article.url == expected and article.fetched_url == fetched_url


@pytest.mark.parametrize(
    ("base", "link"),
    [
        ("https://archive.old-news.example/2026/", "https://archive.old-news.example/2026/map"),
        ("https://evil.test/", "https://news.example/city/map"),
    ],
)
def test_base_href_is_trusted_on_the_sources_allowed_domains(base: str, link: str) -> None:
    # The profile's allowed_domains, not only the page's own host, bound which base is believed.
    profile = SourceProfile(name="news", allowed_domains=("news.example", "old-news.example"))
    html = _html().replace(b"<title>", f'<base href="{base}"><title>'.encode())
    more = "<p>Схема <a href='map'>новых маршрутов</a> трамваев опубликована на сайте.</p>"
    html = html.replace(b"</article>", more.encode() + b"</article>")
    article = process_page(profile, html, PageFacts(URL, NOW))
    assert isinstance(article, Article)
    assert f'href="{link}"' in (article.html or "")


def test_no_text_says_when_the_page_was_nested_too_deep() -> None:
    deep = "<div>" * 3000 + f"<p>{PARAGRAPH}</p>" + "</div>" * 3000
    html = _html().replace(b"<article>", deep.encode() + b"<article>")
    dropped = process_page(PROFILE, html, PageFacts(URL, NOW))
    assert isinstance(dropped, Dropped) and dropped.reason == "no_text"
    assert "nested deeper than the parser reads" in dropped.detail
