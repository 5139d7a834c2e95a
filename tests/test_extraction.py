"""Unit tests of crawler.extraction: layers, provenance, guards, body, dates, authors, images."""

from __future__ import annotations

import html as htmllib
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.extraction import LAYERS, extract_article
from crawler.extraction.fields import (
    clean_authors,
    cyrillic_share,
    language_code,
    strip_site_suffix,
)
from crawler.models import Article, ArticleData, Hints, PageFacts
from crawler.normalize.html import SANITIZE_POLICY, sanitize_html
from crawler.pages import build_article
from crawler.profile import SourceProfile

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 2, 4, 12, 0, tzinfo=MSK)
URL = "https://example.ru/news/2026/02/04/tram"
PAGES = Path(__file__).parent / "fixtures" / "pages"
PARAGRAPHS = "".join(
    f"<p>Абзац номер {i}: трамваи «Витязь-Москва» вышли на новый маршрут в центре города, "
    f"интервал движения сократился до четырех минут.</p>"
    for i in range(1, 5)
)


def page(head: str = "", body: str = "", *, lang: str = "ru") -> str:
    return (
        f'<html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
        f"<body>{body or '<h1>Трамваи вышли на маршрут</h1><article>' + PARAGRAPHS + '</article>'}"
        "</body></html>"
    )


def extract(html: str | bytes, **kwargs) -> object:
    kwargs.setdefault("now", NOW)
    return extract_article(html, kwargs.pop("url", URL), **kwargs)


# --- layers and provenance ----------------------------------------------------------------------
def test_every_field_has_a_known_provenance_layer() -> None:
    data = extract((PAGES / "jsonld-graph.html").read_bytes(), url="https://citydaily.example/a")
    assert data.title and data.published and data.text and data.authors
    assert set(data.provenance.values()) <= set(LAYERS)
    for name in ("title", "summary", "published", "authors", "section", "tags", "image", "text"):
        assert name in data.provenance, name


@pytest.mark.parametrize("attr", ["property", "name"])
def test_opengraph_is_read_from_property_and_name(attr: str) -> None:
    head = (
        f'<meta {attr}="og:title" content="Заголовок из OpenGraph">'
        f'<meta {attr}="article:published_time" content="2026-02-04T09:30:00+03:00">'
        f'<meta {attr}="og:image" content="/img/photo.jpg">'
    )
    data = extract(page(head))
    assert data.title == "Заголовок из OpenGraph"
    assert data.provenance["title"] == "opengraph"
    assert data.published == datetime(2026, 2, 4, 9, 30, tzinfo=MSK)
    assert data.image == "https://example.ru/img/photo.jpg"


def test_jsonld_beats_opengraph_and_graph_arrays_are_searched() -> None:
    head = (
        '<meta property="og:title" content="OG title">'
        '<script type="application/ld+json">[{"@type": "Organization", "name": "X"},'
        '{"@graph": [{"@type": ["NewsArticle"], "headline": "JSON-LD title",'
        ' "datePublished": "2026-02-01T10:00:00+03:00"}]}]</script>'
    )
    data = extract(page(head))
    assert (data.title, data.provenance["title"]) == ("JSON-LD title", "jsonld")
    assert data.published == datetime(2026, 2, 1, 10, 0, tzinfo=MSK)


def test_jsonld_trailing_commas_are_forgiven_but_not_inside_strings() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Итоги: 1,]",'
        ' "keywords": ["трамвай", "метро",], "datePublished": "2026-02-01T10:00:00+03:00",}'
        "</script>"
    )
    data = extract(page(head))
    assert (data.title, data.provenance["title"]) == ("Итоги: 1,]", "jsonld")
    assert data.published == datetime(2026, 2, 1, 10, 0, tzinfo=MSK)


def test_source_selectors_win_over_metadata() -> None:
    head = '<meta property="og:title" content="OG title">'
    body = '<div class="h">Заголовок по селектору</div><article>' + PARAGRAPHS + "</article>"
    data = extract(page(head, body), selectors={"title": "css:div.h", "body": "article"})
    assert data.title == "Заголовок по селектору"
    assert data.provenance["title"] == data.provenance["text"] == "selector"


def test_xpath_selector_returning_attributes() -> None:
    body = '<span data-ts="2026-02-03T08:00:00+03:00">вчера</span><article>' + PARAGRAPHS
    data = extract(page("", body + "</article>"), selectors={"published": "xpath://span/@data-ts"})
    assert data.published == datetime(2026, 2, 3, 8, 0, tzinfo=MSK)
    assert data.provenance["published"] == "selector"


# --- guards ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "Загрузка ...",
        "/html/head/meta[@name='og:title']/@content",
        "{{ title }}",
        "%TITLE%",
        "[[title]]",
    ],
)
def test_garbage_values_fall_through_to_the_next_layer(bad: str) -> None:
    head = f'<meta property="og:title" content="{bad}"><meta name="description" content="{bad}">'
    data = extract(page(head))
    assert data.title == "Трамваи вышли на маршрут"
    assert data.provenance["title"] == "text"
    assert data.summary is None


def test_selector_that_matches_nothing_falls_back() -> None:
    data = extract(page(), selectors={"title": "xpath:/html/head/meta[@name='og:title']/@content"})
    assert data.title == "Трамваи вышли на маршрут"


def test_seed_record_xpath_strings_never_become_values() -> None:
    html = (PAGES / "seed-record-with-xpaths.html").read_bytes()
    data = extract(
        html, url="https://mymsk.online/posts/id71787-x", now=datetime(2023, 1, 1, tzinfo=MSK)
    )
    assert data.title == "Кластер электромобилестроения появился в Москве"
    assert data.summary == "В 15 межотраслевых объединений входит более 900 организаций."
    for value in (data.title, data.summary, data.text, data.html, data.section, *data.authors):
        assert value and "/html/" not in value and "@content" not in value


# --- titles -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("title", "names", "expected"),
    [
        (
            "Электробусы вышли на линию // Вечерняя Москва",
            ["Вечерняя Москва"],
            "Электробусы вышли на линию",
        ),
        ("Трамваи - Москва 24", ["Москва 24"], "Трамваи"),
        ("Трамваи | Мослента", ["Мослента"], "Трамваи"),
        ("Трамваи — Мослента", ["Мослента"], "Трамваи"),
        ("Итоги года - интервью", ["Мослента"], "Итоги года - интервью"),
        ("Мослента - Трамваи", ["Мослента"], "Трамваи"),
        ("Городские новости: Трамваи", ["Городские новости"], "Трамваи"),
        ("Трамваи: Городские новости", ["Городские новости"], "Трамваи: Городские новости"),
        ("Транспорт: Трамваи", ["Мослента"], "Транспорт: Трамваи"),
    ],
)
def test_strip_site_suffix(title: str, names: list[str], expected: str) -> None:
    assert strip_site_suffix(title, names) == expected


def test_title_suffix_from_og_site_name() -> None:
    head = '<meta property="og:site_name" content="Москва 24"><title>Трамваи - Москва 24</title>'
    assert extract(page(head, "<article>" + PARAGRAPHS + "</article>")).title == "Трамваи"


@pytest.mark.parametrize(
    ("og_title", "h1", "expected"),
    [
        # A section, a date or a site name spelled unlike og:site_name after the headline.
        ("Трамваи вернулись на Бауманскую | Транспорт", "", "Трамваи вернулись на Бауманскую"),
        ("Трамваи вернулись на Бауманскую - Новости Москвы, 05.12.2026", "", None),
        ("Трамваи вернулись на Бауманскую — МСК 24 — Транспорт", "", None),
        ("Трамваи вернулись на Бауманскую-Транспорт-МСК", "", None),
        # A kicker before a colon stays; so does a headline that merely goes on.
        ("Транспорт: трамваи вернулись на Бауманскую", "трамваи вернулись на Бауманскую", "og"),
        ("Трамваи вернулись на Бауманскую после ремонта путей", "", "og"),
        # A compound word is not a suffix: the headline before the hyphen is too short.
        ("Электробус-гигант вышел на линию", "Электробус", "og"),
        # The <h1> far shorter than the title is a logo or a rubric, not the headline.
        ("Трамваи вернулись на Бауманскую | Главное", "Трамваи", "og"),
    ],
)
def test_title_suffix_shown_by_another_candidate(
    og_title: str, h1: str, expected: str | None
) -> None:
    h1 = h1 or "Трамваи вернулись на Бауманскую"
    head = f'<meta property="og:title" content="{og_title}">'
    head += '<meta property="og:site_name" content="Москва 24">'
    data = extract(page(head, f"<h1>{h1}</h1><article>{PARAGRAPHS}</article>"))
    if expected is None:
        expected = "Трамваи вернулись на Бауманскую"
    assert data.title == (og_title if expected == "og" else expected)


# --- dates --------------------------------------------------------------------------------------
def test_future_date_is_clamped_and_flagged() -> None:
    head = '<meta property="article:published_time" content="2027-01-01T00:00:00+03:00">'
    data = extract(page(head))
    assert data.published == NOW
    assert "date_clamped" in data.flags


def test_weather_header_date_is_not_the_publication_date() -> None:
    data = extract(
        (PAGES / "nov-okruga-weather-header.html").read_bytes(),
        url="https://nov-okruga.ru/tramvay/",
        now=datetime(2026, 2, 1, 23, 30, tzinfo=MSK),
    )
    assert data.published == datetime(2026, 1, 28, tzinfo=MSK)
    assert data.provenance["published"] == "text"
    assert data.authors == ["Мария Иванова", "Олег Сидоров"]
    assert "Читать также" not in (data.text or "") and "Загрузка" not in (data.text or "")


def test_m24_updated_line_gives_both_dates() -> None:
    body = (
        "<div><h1>Трамваи</h1><p>08:57 (обновлено 04.02.2026 09:45)</p></div>"
        f"<article>{PARAGRAPHS}</article>"
    )
    data = extract(page("", body), url="https://www.m24.ru/news/transport/04022026/1")
    assert data.published == datetime(2026, 2, 4, 8, 57, tzinfo=MSK)
    assert data.updated == datetime(2026, 2, 4, 9, 45, tzinfo=MSK)


def test_time_element_nearest_the_headline_wins() -> None:
    body = (
        '<div class="teaser"><time datetime="2026-01-01T10:00:00+03:00">1 января</time></div>'
        '<main><h1>Трамваи</h1><time datetime="2026-02-03T07:00:00+03:00">3 февраля</time>'
        f"<article>{PARAGRAPHS}</article></main>"
    )
    data = extract(page("", body))
    assert data.published == datetime(2026, 2, 3, 7, 0, tzinfo=MSK)
    assert data.provenance["published"] == "time"


def test_naive_clock_is_read_in_the_source_zone() -> None:
    head = '<meta property="article:published_time" content="2026-02-04T11:00:00+03:00">'
    data = extract(page(head), now=datetime(2026, 2, 4, 12, 0))
    assert data.published == datetime(2026, 2, 4, 11, 0, tzinfo=MSK)
    assert "date_clamped" not in data.flags


DATE_LINE_URL = "http://127.0.0.1:1/news/d0"  # no day in it: the page's line alone dates it
DATE_LINE_NOW = datetime(2026, 12, 7, 20, 30, tzinfo=MSK)
MSK_OFFSET = timezone(timedelta(hours=3))


def _dated_page(line: str) -> str:
    return page(
        body=f'<article><h1>Трамваи вышли на маршрут</h1><div class="article__date">{line}</div>'
        f'<div class="article__body">{PARAGRAPHS}</div></article>'
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("10:15, 7 декабря 2026", datetime(2026, 12, 7, 10, 15, tzinfo=MSK)),
        ("18:40 06.12.2026", datetime(2026, 12, 6, 18, 40, tzinfo=MSK)),
        ("06 декабря 2026 | 18:40", datetime(2026, 12, 6, 18, 40, tzinfo=MSK)),
        ("14:30 / 05.12.26", datetime(2026, 12, 5, 14, 30, tzinfo=MSK)),
        ("12:00 (мск), 4 декабря 2026", datetime(2026, 12, 4, 12, 0, tzinfo=MSK_OFFSET)),
        ("05.12.2026 • 14:30", datetime(2026, 12, 5, 14, 30, tzinfo=MSK)),
        ("10:15 a.m. | Dec. 6, 2026", datetime(2026, 12, 6, 10, 15, tzinfo=MSK)),
        ("4 декабря 2026, 12:00 (мск)", datetime(2026, 12, 4, 12, 0, tzinfo=MSK_OFFSET)),
        ("06.12.2026 в 18:40", datetime(2026, 12, 6, 18, 40, tzinfo=MSK)),
        # A time that is a range's or a bound's is not the article's: the day alone.
        ("Выставка: с 10:00 до 18:00 5 декабря 2026", datetime(2026, 12, 5, tzinfo=MSK)),
        ("5 декабря 2026, 10:00–18:00", datetime(2026, 12, 5, tzinfo=MSK)),
    ],
)
def test_a_date_line_with_its_time_on_either_side(line: str, expected: datetime) -> None:
    data = extract(_dated_page(line), url=DATE_LINE_URL, now=DATE_LINE_NOW)
    assert data.published == expected, data.published
    assert data.published.utcoffset() == expected.utcoffset()


def test_a_time_and_zone_on_the_page_win_over_a_feed_time_of_the_same_day() -> None:
    # The feed says 12:00 GMT (a CMS that labels Moscow time GMT); the page says 12:00 MSK.
    data = extract(_dated_page("12:00 (мск), 4 декабря 2026"), url=DATE_LINE_URL, now=DATE_LINE_NOW)
    profile = SourceProfile(name="vm", allowed_domains=("127.0.0.1",))
    feed_time = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    article = build_article(
        data, profile, PageFacts(DATE_LINE_URL, DATE_LINE_NOW), Hints(published=feed_time)
    )
    assert article.published == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert article.provenance["published"] == "text"


# --- authors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["Автор: Иван Петров и Анна Смирнова"], ["Иван Петров", "Анна Смирнова"]),
        (["Текст: Иван Петров, Анна Смирнова"], ["Иван Петров", "Анна Смирнова"]),
        (["By Jane Roe and John Doe"], ["Jane Roe", "John Doe"]),
        (["Иван Петров", "Вечерняя Москва"], ["Иван Петров"]),
        (["Вечерняя Москва"], ["Вечерняя Москва"]),
        (["https://facebook.com/someone"], []),
        # Picture credits name who made the picture, not who wrote the text.
        (["Текст: Иван Петров, фото: Анна Смирнова"], ["Иван Петров"]),
        (["Иван Петров", "Фото: Анна Смирнова"], ["Иван Петров"]),
        (
            ["Emma Mackenzie", "(Image: Getty Images)", "(Image: Getty Images/iStockphoto)"],
            ["Emma Mackenzie"],
        ),
        (["Mads Rasmussen/Ritzau Scanpix", "Иван Петров"], ["Иван Петров"]),
        (["Иллюстрация: Shutterstock"], []),
        # A name that merely starts like a credit word stays.
        (["Фотина Иванова"], ["Фотина Иванова"]),
        # Labels inside one byline: what follows a credit label, up to an author label, goes.
        (["Текст: Иван Петров Фото: Анна Смирнова"], ["Иван Петров"]),
        (["Фото: Анна Смирнова Текст: Иван Петров"], ["Иван Петров"]),
        (["Автор: Иван Петров | Фото: Анна Смирнова"], ["Иван Петров"]),
        (["Автор фото: Анна Смирнова"], []),
        (["Текст и фото: Иван Петров"], ["Иван Петров"]),
        (["Видео: Пётр Ким"], []),
        (["Источник: ТАСС"], []),
        (["Photo by Jane Roe"], []),
        # Job titles and CMS accounts are not names.
        (["Иван Петров, корреспондент"], ["Иван Петров"]),
        (["Анна Смирнова, специальный корреспондент"], ["Анна Смирнова"]),
        (["by admin"], []),
        (["Jane Roe, Senior Reporter"], ["Jane Roe"]),
        # A byline's date, its label or a credit without a colon is no name (bylines show the
        # date beside the names, or alone in an element named byline).
        (["вчера в 10:15"], []),
        (["сегодня в 23:50"], []),
        (["в понедельник в 10:00"], []),
        (["2 часа назад"], []),
        (["12:00 (мск)"], []),
        (["Опубликовано"], []),
        (["Published"], []),
        (["Опубликовано: 07.12.2026 09:00"], []),
        (["December 5, 2026 5:00 PM"], []),
        (["By Jane Roe | March 4, 2026 5:00 PM"], ["Jane Roe"]),
        (["Published 5 December 2026 by Jane Roe"], ["Jane Roe"]),
        (["Иван Петров, 7 декабря 2026, 09:00"], ["Иван Петров"]),
        (["Иван Петров 7 декабря 2026 09:00"], ["Иван Петров"]),
        (["Фото Иван Петров"], []),
        (["Источник СПб Новости"], []),
        # Names that hold a month word stay; so does the newsroom as a byline.
        (["Theresa May"], ["Theresa May"]),
        (["Мая Петрова"], ["Мая Петрова"]),
        (["Редакция"], ["Редакция"]),
        # Labels before the names: publication, editing and interview verbs, in three languages.
        (["Опубликовано: Иван Петров"], ["Иван Петров"]),
        (["Опубликовал: Иван Петров"], ["Иван Петров"]),
        (["Изменено: Иван Петров"], ["Иван Петров"]),
        (["Записала Анна Смирнова"], ["Анна Смирнова"]),
        (["Беседовал Иван Петров"], ["Иван Петров"]),
        (["Материал подготовил: Иван Петров"], ["Иван Петров"]),
        (["Автор материала: Иван Петров"], ["Иван Петров"]),
        (["Posted by John Smith"], ["John Smith"]),
        (["Published: John Smith"], ["John Smith"]),
        (["Reporting by John Smith"], ["John Smith"]),
        (["Last updated by John Smith"], ["John Smith"]),
        (["Contributor: John Smith"], ["John Smith"]),
        (["Veröffentlicht von Max Mustermann"], ["Max Mustermann"]),
        (["Ein Beitrag von Max Mustermann"], ["Max Mustermann"]),
        # What a date leaves beside the name: a weekday, a relative day, a zone, a bare clock.
        (["Иван Петров, 5 марта, среда"], ["Иван Петров"]),
        (["Иван Петров в среду"], ["Иван Петров"]),
        (["By John Smith, Wed"], ["John Smith"]),
        (["Max Mustermann, vor 2 Stunden"], ["Max Mustermann"]),
        (["Max Mustermann, gestern"], ["Max Mustermann"]),
        (["By John Smith, Mar. 4, 2026, 5:00 p.m. ET"], ["John Smith"]),
        (["By April Ryan | 5 p.m. March 4, 2026"], ["April Ryan"]),
        (["By August Wilson Mar 4"], ["August Wilson"]),
        # Job titles after the name, and separators or brackets left around it.
        (["Иван Петров, корреспондент отдела «Город»"], ["Иван Петров"]),
        (["Von Max Mustermann, Redakteur"], ["Max Mustermann"]),
        (["Иван Петров / 5 марта 2026, 10:00"], ["Иван Петров"]),
        (["Иван Петров • 5 марта 2026"], ["Иван Петров"]),
        (["Иван Петров (Фото: ТАСС)"], ["Иван Петров"]),
        (["Иван Петров (фото)"], ["Иван Петров"]),
        (["By John Smith on March 4, 2026"], ["John Smith"]),
        (["John Smith • Published March 4, 2026 5:00 PM ET"], ["John Smith"]),
        (["John Smith Updated 9:15 p.m. EST March 4, 2026"], ["John Smith"]),
        (["Иван Петров / РИА Новости"], ["Иван Петров", "РИА Новости"]),
        # Credits introduced by "by" rather than a colon.
        (["Story by John Smith Photos by Jane Doe"], ["John Smith"]),
        (["Words by John Smith, pictures by Jane Doe"], ["John Smith"]),
        # A name's last word is not a connector a date left («Le», «Um», an initial «В»).
        (["By Thanh Le and Kim Um"], ["Thanh Le", "Kim Um"]),
        (["Автор: Петров В"], ["Петров В"]),
        (["Thanh Le, 5 марта 2026"], ["Thanh Le"]),
        # One label per name: «Di» after "By" is a name ("di" opens Italian bylines).
        (["By Di Zhang and Da Silva"], ["Di Zhang", "Da Silva"]),
        (["Von Di Lorenzo"], ["Di Lorenzo"]),
        # Credit labels with a spaced dash, and a credit naming an agency in lower case.
        (["Текст — Анна Смирнова / Фото — Пётр Ким"], ["Анна Смирнова"]),
        (["Иван Петров, фото - Пётр Ким"], ["Иван Петров"]),
        (["Текст: Anna Schmidt, Foto dpa"], ["Anna Schmidt"]),
        (["Von dpa"], ["dpa"]),
        # Labels one after another go; after a bare "by", a name's "Di" stays, in every name.
        (["Опубликовано: Автор: Иван Петров"], ["Иван Петров"]),
        (["Updated: By John Smith"], ["John Smith"]),
        (["Автор: Текст: Анна Смирнова"], ["Анна Смирнова"]),
        (["By Di Zhang and Di Wu"], ["Di Zhang", "Di Wu"]),
        (["John Smith, Di Maio"], ["John Smith", "Di Maio"]),
        # An English label word with a dash is a surname ("Louise Story - NYT").
        (["Louise Story - NYT, Photo: AP"], ["Louise Story - NYT"]),
        # An initial keeps its period; a surname that is a weekday stays.
        (["Петров И.И."], ["Петров И.И."]),
        (["Марина Среда"], ["Марина Среда"]),
        (["May Li"], ["May Li"]),
    ],
)
def test_clean_authors(raw: list[str], expected: list[str]) -> None:
    assert clean_authors(raw, ["Вечерняя Москва"]) == expected


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("Автор: Иван Петров", ["Иван Петров"]),
        ("Текст — Анна Смирнова", ["Анна Смирнова"]),
        ("By John Smith", ["John Smith"]),
        ("Автор: Иван Петров, фото: Пётр Ким", ["Иван Петров"]),
        # No label, a label before no name, or a long paragraph: no byline.
        ("Иван Петров", []),
        ("By 2030, the city will run only electric buses", []),
        ("Фото: Пётр Ким", []),
        ("Автор: Иван Петров. " + "Трамваи вышли на новый маршрут в центре города. " * 3, []),
        # A lead sentence or a caption opening with "By" is no byline: only full names are.
        ("By December, the new line will reach Kommunarka.", []),
        ("By Sunday evening, crews had cleared the tracks", []),
        ("By Order of the Mayor, trams stop at 23:00", []),
        ("By Moscow standards, the new station is small.", []),
        ("By Ivan Petrov / AP Photo", []),
        ("By The Numbers", []),
        ("By Ludwig van Beethoven", ["Ludwig van Beethoven"]),
        ("By Tuesday Night", []),
        # A person, then an agency, an outlet or a place: the person (the second re-check).
        ("Автор: Анна Смирнова, ТАСС", ["Анна Смирнова"]),
        ("By John Smith, The Associated Press", ["John Smith"]),
        ("Von Hans Müller, dpa", ["Hans Müller"]),
        ("By Jane Roe, Staff", ["Jane Roe"]),
        ("Por María de los Ángeles Pérez", ["María de los Ángeles Pérez"]),
        ("Por Juan Carlos de la Fuente", ["Juan Carlos de la Fuente"]),
        ("By Jean d'Ormesson", ["Jean d'Ormesson"]),
        # After the publication date on the same line (the date is read as the date).
        ("Опубликовано: 5 декабря 2026, 12:00 Автор: Иван Петров", ["Иван Петров"]),
        ("Опубликовано: 5 декабря 2026 | Автор: Иван Петров", ["Иван Петров"]),
        ("Обновлено: 5 декабря 2026, 12:00 · Текст: Анна Смирнова", ["Анна Смирнова"]),
        ("Published Dec. 5, 2026, 9:15 a.m. ET By John Smith", ["John Smith"]),
        ("Опубликовано: 5 декабря 2026, 12:00 Автор пишет о трамваях", []),
        ("Опубликовано: Иван Петров", []),
        # A label with no date, or no person after "By" (the third re-check).
        ("Published by Penguin Random House", []),
        ("Updated Dec. 5, 2026 By Order Of The Mayor", []),
        ("By Order Of The Mayor", []),
    ],
)
def test_a_byline_labelled_in_its_text_by_the_headline(byline: str, expected: list[str]) -> None:
    # A plain <p> that no class names as a byline («Автор: …», "By …"), beside the headline.
    html = page(body=f"<div><h1>Трамваи вышли на маршрут</h1><p>{byline}</p>{PARAGRAPHS}</div>")
    data = extract(html)
    assert data.authors == expected
    assert data.provenance.get("authors") == ("text" if expected else None)


# --- images, language, canonical --------------------------------------------------------------
@pytest.mark.parametrize(
    "image",
    ["https://www.mskagency.ru/i/social_logo_700.png", "/static/site-logo.jpg", "/favicon.png"],
)
def test_logos_and_favicon_are_not_article_images(image: str) -> None:
    head = f'<link rel="icon" href="/favicon.png"><meta property="og:image" content="{image}">'
    assert extract(page(head)).image is None


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        # What a feed's enclosure (a URI) needs: spaces, quotes, brackets, Cyrillic encoded.
        (
            "/img/lead photo &quot;q&quot;.webp?x=1&amp;y=2",
            "/img/lead%20photo%20%22q%22.webp?x=1&y=2",
        ),
        ("/img/a|b{c}.jpg", "/img/a%7Cb%7Bc%7D.jpg"),
        ("/img/фото.jpg", "/img/%D1%84%D0%BE%D1%82%D0%BE.jpg"),
        # No client could fetch these: no image, and the article is kept.
        ("http://[::1/x.jpg", None),
        ("http://ex]ample.com/x.jpg", None),
        ("//[fe80::1%25eth0/x.jpg", None),
        ("http://exa mple.com/x.jpg", None),
        ("http://%zz/x.jpg", None),
        ("http://xn--/x.jpg", None),
        ("http://a..b/x.jpg", None),
        ("http://[::1]:abc/x.jpg", None),
    ],
)
@pytest.mark.parametrize("tag", ["og", "jsonld"])
def test_lead_image_urls_are_encoded_or_refused(image: str, expected: str | None, tag: str) -> None:
    if tag == "og":
        head = f'<meta property="og:image" content="{image}">'
    else:
        value = htmllib.unescape(image).replace('"', '\\"')
        head = (
            '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Трамваи",'
            f' "image": "{value}"}}</script>'
        )
    data = extract(page(head))
    assert data.title  # the article is kept
    assert data.image == (f"https://example.ru{expected}" if expected else None)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<link itemprop="image" href="/img/lead.jpg">', "/img/lead.jpg"),
        ('<meta itemprop="image" content="/img/lead.jpg">', "/img/lead.jpg"),
        ('<img itemprop="image" src="/img/lead.jpg">', "/img/lead.jpg"),
        (
            '<div itemprop="image" itemscope itemtype="https://schema.org/ImageObject">'
            '<meta itemprop="url" content="/img/lead.jpg"></div>',
            "/img/lead.jpg",
        ),
        # The author's photo is not the article's image.
        (
            '<div itemprop="author" itemscope itemtype="https://schema.org/Person">'
            '<img itemprop="image" src="/img/author.jpg"><span itemprop="name">Иван</span></div>',
            None,
        ),
    ],
)
def test_microdata_image_of_the_article(markup: str, expected: str | None) -> None:
    body = (
        '<div itemscope itemtype="https://schema.org/NewsArticle"><h1 itemprop="headline">'
        f"Трамваи</h1>{markup}<article>{PARAGRAPHS}</article></div>"
    )
    data = extract(page("", body))
    assert data.image == (f"https://example.ru{expected}" if expected else None)


LEAD = "<p>Мосгортранс перевёл на электробусы ещё три маршрута в Южном округе столицы утром.</p>"
TAIL = "<p>Зарядные станции поставят на конечных остановках всех новых маршрутов города.</p>"


def test_a_data_table_keeps_its_rows_as_lines() -> None:
    table = (
        "<table><thead><tr><th>Маршрут</th><th>Интервал</th></tr></thead><tbody>"
        "<tr><td>С 1 декабря маршрут Т25 переводят на электробусы, интервал семь минут.</td></tr>"
        "<tr><td>Т25</td><td>7 минут</td></tr><tr><td>904</td><td></td></tr></tbody></table>"
    )
    data = extract(page("", f"<h1>Маршруты</h1><article>{LEAD}{table}{TAIL}</article>"))
    paragraphs = (data.text or "").split("\n\n")
    assert paragraphs[1:-1] == [
        "Маршрут | Интервал",
        "С 1 декабря маршрут Т25 переводят на электробусы, интервал семь минут.",
        "Т25 | 7 минут",
        "904",
    ]
    assert "<p>Т25 | 7 минут</p>" in (data.html or "")


def test_a_layout_table_is_read_through_to_its_paragraphs() -> None:
    layout = f"<table><tr><td>{LEAD}{TAIL}</td></tr></table>"
    data = extract(page("", f"<h1>Маршруты</h1><article>{layout}</article>"))
    assert "|" not in (data.text or "") and data.text == LEAD[3:-4] + "\n\n" + TAIL[3:-4]


def test_lists_stay_lists_in_the_html() -> None:
    lists = (
        "<p>Изменения:</p><ul><li>маршрут Т25 станет электробусным с первого декабря</li>"
        "<li>маршрут 904 продлят до станции Саларьево</li></ul>"
        "<ol><li>первый пункт плана с подробностями</li><li>второй пункт плана с деталями</li></ol>"
    )
    data = extract(page("", f"<h1>Маршруты</h1><article>{LEAD}{lists}{TAIL}</article>"))
    html = re.sub(r"\s+", "", data.html or "")
    assert "<ul><li>маршрутТ25" in html and "Саларьево</li></ul><ol><li>первый" in html
    assert "деталями</li></ol><p>Зарядные" in html
    assert "маршрут 904 продлят до станции Саларьево" in (data.text or "").split("\n\n")


def _next_page(props: dict) -> str:
    data = {"props": {"pageProps": props}, "page": "/news/[slug]", "buildId": "x"}
    script = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return (
        '<html lang="ru"><head><meta charset="utf-8"><title>Трамваи вернулись</title></head>'
        f'<body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">'
        f"{script}</script></body></html>"
    )


@pytest.mark.parametrize("nested", [False, True])
def test_next_js_hydration_data_gives_dates_authors_lead_and_image(nested: bool) -> None:
    body = PARAGRAPHS
    article: dict = {
        "title": "Трамваи вернулись",
        "publishedAt": "2026-02-03T15:20:00.000Z",
        "updatedAt": 1770141600000,  # milliseconds: 2026-02-03T18:00:00Z
        "authors": [{"name": "Дмитрий Орлов"}, {"firstName": "Анна", "lastName": "Смирнова"}],
        "lead": "<p>Трамваи <b>вернулись</b> на Бауманскую улицу.</p>",
        "cover": {"url": "/img/cover.jpg", "width": 1200},
    }
    # The body sits beside the fields, or one level down ("content": {"html": …}).
    article.update({"content": {"html": body}} if nested else {"contentHtml": body})
    data = extract(_next_page({"article": article, "related": [{"title": "Другое"}]}))
    assert data.published == datetime(2026, 2, 3, 18, 20, tzinfo=MSK)
    assert data.updated == datetime(2026, 2, 3, 21, 0, tzinfo=MSK)
    assert data.authors == ["Дмитрий Орлов", "Анна Смирнова"]
    assert data.summary == "Трамваи вернулись на Бауманскую улицу."
    assert data.image == "https://example.ru/img/cover.jpg"
    assert data.provenance["published"] == "script"


def test_hydration_data_does_not_override_metadata() -> None:
    article = {
        "publishedAt": "2020-01-01T00:00:00Z",
        "contentHtml": PARAGRAPHS,
    }
    html = _next_page({"article": article}).replace(
        "</head>",
        '<meta property="article:published_time" content="2026-02-04T11:00:00+03:00"></head>',
    )
    assert extract(html).published == datetime(2026, 2, 4, 11, 0, tzinfo=MSK)


@pytest.mark.parametrize("base", ["http://[::1/", "http://ex]ample.com/", "http://a..b/"])
def test_a_base_href_no_browser_could_use_is_ignored(base: str) -> None:
    body = (
        f'<h1>Трамваи</h1><article>{PARAGRAPHS}<p><a href="/news/2">Далее</a> и ещё</p></article>'
    )
    data = extract(page(f'<base href="{base}">', body))
    assert data.title == "Трамваи"  # the article is kept
    assert 'href="https://example.ru/news/2"' in (data.html or "")


@pytest.mark.parametrize(
    ("raw", "code"), [("ru-RU", "ru"), ("ru_RU", "ru"), ("EN", "en"), ("x", None)]
)
def test_language_code(raw: str, code: str | None) -> None:
    assert language_code(raw) == code


@pytest.mark.parametrize(
    "text",
    [
        "Москва, 12 мая: трамваи «Витязь-М» и e-Largus на МЦД-2_3",
        "Crème brûlée à la française, Größe über Müller: 25 €",
        "x² + ½ = Ⅻ; snake_case, ١٢٣ and 4th; і ї є ґ; Ѣ ѣ Ӓ; 日本語",
        "",
        "12 345 — !?",
        # The edges of the Cyrillic block (U+0400, U+04FF) and its neighbours; a lone surrogate.
        "Ѐ ӿ Ԁ Ͽ ԯ Ꙁ ᲀ \ud800 ok",
    ],
)
def test_cyrillic_share_counts_letters_as_the_unicode_classes_say(text: str) -> None:
    # Letters are what ``[^\W\d_]`` matches and Cyrillic what ``[\u0400-\u04ff]`` does, counted
    # by deleting the rest: the share must be the one the per-letter definition gives.
    letters = len(re.findall(r"[^\W\d_]", text))
    cyrillic = len(re.findall(r"[\u0400-\u04ff]", text))
    assert cyrillic_share(text) == (cyrillic / letters if letters else 0.0)


def test_declared_language_is_checked_against_the_text() -> None:
    assert extract(page(lang="en")).language == "ru"
    assert extract(page(lang="en")).provenance["language"] == "text"
    assert extract(page(lang="ru-RU")).language == "ru"


def test_canonical_url_is_absolute_and_canonical() -> None:
    head = '<link rel="canonical" href="/amp/news/1/?utm_source=x">'
    data = extract(page(head))
    assert data.canonical_url == "https://example.ru/news/1/"  # the site's trailing slash kept
    assert data.provenance["canonical_url"] == "meta"
    assert extract(page()).provenance["canonical_url"] == "url"


def test_a_canonical_left_at_http_keeps_the_pages_https() -> None:
    # The page was fetched over https (URL below); its CMS still writes http:// canonicals.
    data = extract(page('<link rel="canonical" href="http://example.ru/news/1">'))
    assert data.canonical_url == "https://example.ru/news/1"
    # The site's other name (www. or not) is the same server.
    data = extract(page('<link rel="canonical" href="http://www.example.ru/news/1">'))
    assert data.canonical_url == "https://www.example.ru/news/1"
    # Another host's http canonical is its own business.
    data = extract(page('<link rel="canonical" href="http://mirror.example.org/news/1">'))
    assert data.canonical_url == "http://mirror.example.org/news/1"


# --- body ---------------------------------------------------------------------------------------
def test_body_drops_boilerplate_and_keeps_paragraphs() -> None:
    body = (
        "<h1>Трамваи</h1><article>"
        + PARAGRAPHS
        + '<div class="share-bar"><a href="https://vk.com/share">ВКонтакте</a></div>'
        + '<p>Читать также: <a href="/other">Другая новость</a></p>'
        + '<ul class="related-news"><li><a href="/x">Похожая новость про метро</a></li></ul>'
        + '<div class="cookie-banner">Мы используем cookie-файлы на этом сайте</div>'
        + '<p>Подробности — <a href="/detail">на сайте</a> департамента.</p></article>'
    )
    data = extract(page("", body))
    paragraphs = data.text.split("\n\n")
    assert paragraphs[0].startswith("Абзац номер 1") and len(paragraphs) == 5
    assert paragraphs[-1] == "Подробности — на сайте департамента."
    for junk in ("ВКонтакте", "Читать также", "Похожая", "cookie"):
        assert junk not in data.text and junk not in data.html
    assert 'href="https://example.ru/detail"' in data.html
    assert data.provenance["text"] == "heuristic"


@pytest.mark.parametrize("markup", ["jsonld", "og-property", "og-name", "plain"])
def test_demo_site_article_body_is_its_paragraphs(markup: str) -> None:
    # A short story: rubric, <h1>, <time>, a bold lead, two paragraphs, a byline and a related
    # box. Fundus' convention (the summary is part of the body) puts the lead first.
    from cityfeeds.devtools.demo_site import STORIES, article_path, build_site

    base = "http://127.0.0.1:8000"
    story = next(s for s in STORIES if s.markup == markup)
    body, _type = build_site(base)[article_path(story)]
    data = extract(body, url=base + article_path(story), use_generic=False)
    expected = [story.lead, *story.paragraphs]
    assert data.text == "\n\n".join(expected)
    assert data.provenance["text"] == data.provenance["html"] == "heuristic"
    assert data.html.count("<p>") == len(expected)
    for paragraph in expected:
        assert paragraph in data.html
    for junk in (story.section, story.title, "Автор:", "Читать также", str(story.published.year)):
        assert junk not in data.text and junk not in data.html
    # The crawl's default (generic extractor allowed) gives the same body.
    assert extract(body, url=base + article_path(story)).text == data.text


def test_link_wrapped_teaser_cards_and_repeated_blocks_are_not_body() -> None:
    teaser = (
        '<a href="/other"><div class="card"><h3>Другая новость о метро</h3>'
        "<p>Короткий анонс другой новости, который повторяет формат абзаца статьи.</p></div></a>"
    )
    quote = "<p>Цитата, которую редакция показала дважды: в тексте и во врезке рядом.</p>"
    data = extract(page("", "<h1>Трамваи</h1><article>" + PARAGRAPHS + quote + teaser + quote))
    assert "Другая новость" not in data.text and "анонс" not in data.text
    assert data.text.count("Цитата") == 1 and data.html.count("Цитата") == 1


def test_use_generic_false_skips_trafilatura_for_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    import crawler.extraction.body as body_mod

    calls: list[str] = []
    real = body_mod.generic
    monkeypatch.setattr(body_mod, "generic", lambda html, url: calls.append(url) or real(html, url))
    data = extract(page(), use_generic=False)
    assert data.text and calls == []
    # Without any body container the generic extractor still runs, even with use_generic=False.
    short = page("", "<div><div>" + "Текст статьи без абзацев. " * 40 + "</div></div>")
    extract(short, use_generic=False)
    assert calls == [URL]


def test_bytes_are_decoded_with_the_header_charset() -> None:
    html = page('<meta property="og:title" content="Трамваи и электробусы">').encode("cp1251")
    data = extract(html, header_charset="windows-1251")
    assert data.title == "Трамваи и электробусы"


def test_empty_page_gives_only_the_url() -> None:
    data = extract(b"   ")
    assert data.title is None and data.canonical_url == "https://example.ru/news/2026/02/04/tram"
    assert "empty_page" in data.flags


def test_generic_date_needs_the_day_on_the_page() -> None:
    """htmldate turns a lone year into January 1st: such a date is not taken (catalogue B4)."""
    page = (
        "<html lang='ru'><head><title>Дата</title></head><body><article><h1>Заголовок статьи</h1>"
        "<p class='date'>32.13.2024</p>"
        + "<p>Мосгортранс перевёл на электробусы ещё три маршрута в Южном округе столицы.</p>" * 5
        + "</article></body></html>"
    ).encode()
    data = extract_article(page, "https://vm.ru/news/1-x", now=NOW)
    assert data.published is None
    shown = page.replace(b"32.13.2024", b"Do 25.04.24 | 14:07 Uhr")
    data = extract_article(shown, "https://vm.ru/news/1-x", now=NOW)
    assert data.published is not None and (data.published.month, data.published.day) == (4, 25)


# --- sanitizer policy recorded with the body ------------------------------------------------------


def test_extracted_html_records_the_sanitizer_policy_it_satisfies() -> None:
    body = (
        "<h1>Трамваи вышли на маршрут</h1><article>" + PARAGRAPHS + "<script>x()</script></article>"
    )
    data = extract(page(body=body))
    assert data.html and "<script" not in data.html
    assert data.html_policy == SANITIZE_POLICY
    assert data.html == sanitize_html(data.html, URL)  # what the policy promises: a fixed point
    article = _build(data)
    assert (article.html, article.html_policy) == (data.html, SANITIZE_POLICY)


def test_html_of_unknown_origin_keeps_an_unknown_policy_and_rebuilt_html_is_escaped_text() -> None:
    unknown = ArticleData(url=URL, title="Заголовок", text="Первый <b>абзац</b>.", html="<p>x</p>")
    assert _build(unknown).html_policy is None
    rebuilt = _build(replace(unknown, html=None))
    assert rebuilt.html == "<p>Первый &lt;b&gt;абзац&lt;/b&gt;.</p>"
    assert rebuilt.html_policy == SANITIZE_POLICY
    assert _build(replace(unknown, html=None, text="")).html_policy is None  # no HTML at all


def _build(data: ArticleData) -> Article:
    profile = SourceProfile(name="vm", allowed_domains=("example.ru",))
    return build_article(data, profile, PageFacts(URL, NOW))


def test_a_long_inline_script_is_not_taken_for_a_tag_with_many_attributes() -> None:
    # "i<n.length" opens no tag: 80 KB of minified code after it (no < or >) is script text,
    # which the hostile-markup check (a tag with over 2,000 attributes) must not count.
    from crawler.extraction.core import parse_document

    script = b"for(i=0;i<n.length;i++){" + b"var a = b + c ; " * 5000 + b"}"
    page = b"<html><head><script>" + script + b"</script></head><body><p>Text</p></body></html>"
    doc, _, _ = parse_document(page, "utf-8")
    assert doc is not None
    hostile = b"<html><body><p " + b" ".join(b"a%d=x" % i for i in range(2500)) + b">t</p></html>"
    with pytest.raises(ValueError, match="2500 attributes"):
        parse_document(hostile, "utf-8")


# --- <base href> --------------------------------------------------------------------------------
BASE_BODY = (
    "<h1>Трамваи вышли на маршрут</h1><article>"
    + PARAGRAPHS
    + '<p>Схема: <a href="scheme.html">маршрут</a> <img src="pic.jpg" alt="схема"></p></article>'
)


@pytest.mark.parametrize(
    ("base", "allowed", "resolved"),
    [
        # A base on the source's domain is what the browser resolves against.
        ("https://citydaily.example/sub/dir/", (), "https://citydaily.example/sub/dir/"),
        ("/sub/dir/", (), "https://citydaily.example/sub/dir/"),
        ("https://static.citydaily.example/x/", (), "https://static.citydaily.example/x/"),
        ("https://cdn.example/x/", ("citydaily.example", "cdn.example"), "https://cdn.example/x/"),
        # Not http(s), or another host: ignored, the page URL stays the base.
        ("javascript:alert(20)//", (), "https://citydaily.example/news/"),
        ("https://evil.test/", (), "https://citydaily.example/news/"),
        ("https://evil.test/", ("citydaily.example",), "https://citydaily.example/news/"),
    ],
)
def test_base_href_on_allowed_domains_resolves_links_and_images(
    base: str, allowed: tuple[str, ...], resolved: str
) -> None:
    head = f'<base href="{base}"><meta property="og:image" content="lead.jpg">'
    data = extract(
        page(head, BASE_BODY), url="https://citydaily.example/news/1.html", allowed_domains=allowed
    )
    assert f'href="{resolved}scheme.html"' in data.html
    assert f'src="{resolved}pic.jpg"' in data.html
    assert data.image == f"{resolved}lead.jpg"


# --- deep nesting -------------------------------------------------------------------------------
def test_an_article_nested_past_libxml2s_default_depth_keeps_its_text() -> None:
    # 260 nested <div>s: libxml2 stops at 256 unless told huge_tree (B29).
    data = extract((PAGES / "nested-260-deep.html").read_bytes(), url="http://127.0.0.1/news/x")
    assert data.text and data.text.startswith("В Москве на маршруты вышли новые электробусы.")
    assert "nesting_too_deep" not in data.flags


def test_a_page_nested_past_the_parsers_limit_says_so() -> None:
    deep = "<div>" * 3000 + PARAGRAPHS + "</div>" * 3000
    data = extract(page("<title>Трамваи вышли на маршрут</title>", deep))
    assert "nesting_too_deep" in data.flags
    assert "nesting_too_deep" not in extract(page()).flags


# --- images (README "Images") -------------------------------------------------------------------
FIGURE = '<figure><img src="/fig.jpg" alt="Фото"><figcaption>Подпись к фото</figcaption></figure>'
INLINE = '<p>Схема маршрута <img src="/inline.jpg" alt="схема"> опубликована на сайте города.</p>'


@pytest.mark.parametrize("selectors", [None, {"body": "css:article"}])
def test_figures_stay_out_of_the_html_inline_images_stay_in(selectors: dict | None) -> None:
    body = f"<h1>Трамваи вышли на маршрут</h1><article>{FIGURE}{PARAGRAPHS}{INLINE}</article>"
    data = extract(page("", body), url="https://example.ru/news/1", selectors=selectors)
    assert 'src="https://example.ru/inline.jpg"' in data.html
    assert "fig.jpg" not in data.html and "Подпись к фото" not in data.html
    # The lead image comes from metadata only: a figure does not stand in for it.
    assert data.image is None
    with_meta = page('<meta property="og:image" content="/lead.jpg">', body)
    assert extract(with_meta, url="https://example.ru/news/1").image == (
        "https://example.ru/lead.jpg"
    )


@pytest.mark.parametrize(
    "shown",
    ["Dec. 5, 2026, 9:15 a.m. ET", "12/5/2026 9:15 AM ET", "Published Dec. 5, 2026, 9:15 a.m. ET"],
)
def test_a_us_zone_in_the_page_text_is_read_with_its_date(shown: str) -> None:
    # The text's date pattern stopped before "ET": read as the source's (Moscow) time, and
    # "12/5/2026" day first.
    html = page(
        body=f"<div><h1>Трамваи вышли на маршрут</h1><span>{shown}</span>{PARAGRAPHS}</div>"
    )
    published = extract(html, now=datetime(2026, 12, 7, 23, 0, tzinfo=UTC)).published
    assert published is not None and published.isoformat() == "2026-12-05T09:15:00-05:00"
