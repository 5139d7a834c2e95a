"""Publication dates from real-page evidence: htmldate's layer, URLs, bylines, offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crawler.extraction import extract_article
from crawler.extraction.dates import on_day, page_shows_day
from crawler.extraction.fields import date_from_url

BERLIN = ZoneInfo("Europe/Berlin")
MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2024, 1, 1, tzinfo=UTC)
TEXT = "".join(
    f"<p>Absatz {i}: Die Straßenbahn fährt ab Montag im Zehn-Minuten-Takt durch die Innenstadt, "
    "teilte der Verkehrsverbund mit.</p>"
    for i in range(1, 6)
)


def page(head: str = "", body: str = "") -> bytes:
    return (
        f"<html lang='de'><head><meta charset='utf-8'><title>Straßenbahn</title>{head}</head>"
        f"<body>{body or '<h1>Neue Straßenbahn</h1><article>' + TEXT + '</article>'}</body></html>"
    ).encode()


def published(html: bytes, url: str = "https://example.de/news/strassenbahn", **kw: Any):
    data = extract_article(html, url, now=kw.get("now", NOW), tz=kw.get("tz", "Europe/Berlin"))
    return data.published, data.provenance.get("published")


def test_htmldate_layer_reads_what_the_own_layers_do_not() -> None:
    # No headline to search around, no metadata: the date sits in a footer line.
    body = f"<div class='content'>{TEXT}</div><div class='info'>Erstellt am: 23.12.2016</div>"
    value, layer = published(page(body=body))
    assert layer == "htmldate"
    assert value == datetime(2016, 12, 23, tzinfo=BERLIN)


def test_htmldate_day_takes_the_time_the_page_shows_with_it() -> None:
    # No headline, no metadata: htmldate finds the day, the page shows its time beside it.
    body = f"<div class='date'>23.12.2016, 14:30</div><div class='content'>{TEXT}</div>"
    value, layer = published(page(body=body))
    assert layer == "htmldate"
    assert value == datetime(2016, 12, 23, 14, 30, tzinfo=BERLIN)


def test_date_beside_a_headline_with_no_wrapper_keeps_its_time() -> None:
    # The headline sits right in <body>: its block is the body (read as a window around it).
    body = f"<h1>Neue Straßenbahn</h1><p>7. Dezember 2023, 09:00</p>{TEXT}"
    value, layer = published(page(body=body))
    assert (value, layer) == (datetime(2023, 12, 7, 9, 0, tzinfo=BERLIN), "text")


@pytest.mark.parametrize(
    ("shown", "instant"),
    [
        ("2023-12-07T21:15:00Z", datetime(2023, 12, 7, 21, 15, tzinfo=UTC)),
        ("2023-12-07 21:15:00 +0000", datetime(2023, 12, 7, 21, 15, tzinfo=UTC)),
        ("2023-12-07 21:15 UTC", datetime(2023, 12, 7, 21, 15, tzinfo=UTC)),
        ("2023-12-07 9:15 p.m. EST", datetime(2023, 12, 8, 2, 15, tzinfo=UTC)),
        ("2023-12-07 5:00 PM", datetime(2023, 12, 7, 16, 0, tzinfo=UTC)),
    ],
)
def test_an_iso_date_shown_by_the_headline_keeps_its_offset_and_a_m_p_m(
    shown: str, instant: datetime
) -> None:
    body = f"<h1>Neue Straßenbahn</h1><article><p class='date'>{shown}</p>{TEXT}</article>"
    value, layer = published(page(body=body))
    assert (value, layer) == (instant, "text")


def test_dates_of_other_stories_and_of_comments_are_not_the_pages() -> None:
    article = f"<h1>Neue Straßenbahn</h1><article>{TEXT}"
    for other in (
        # A page's aside and a related block, after the article or inside it.
        "</article><aside><a href='/x'>Andere Meldung</a> <time datetime='2023-11-07T10:00'>"
        "7. November</time></aside>",
        "</article><div class='related'><a href='/x'>Andere Meldung</a> "
        "<time datetime='2023-11-07T10:00'>7. November</time></div>",
        "<aside class='sidebar'><ul><li><a href='/x'>Andere Meldung</a> 1. November 2023</li>"
        "</ul></aside></article>",
        "<div class='read-more'><h3>Lesen Sie auch</h3><a href='/x'>Andere</a> "
        "<span>14. Oktober 2023, 10:00</span></div></article>",
        # Readers' comments that no class names: their heading says what they are.
        "<div class='x-list'><h3>Kommentare (2)</h3><div><b>Max</b>, 5. November 2023 um "
        "12:00<p>Endlich!</p></div></div></article>",
    ):
        assert published(page(body=article + other)) == (None, None), other
    # The page's own date beside them still counts; so does one in the article's own aside.
    shown = "<p class='date'>3. November 2023, 10:00</p>"
    body = (
        f"<h1>Neue Straßenbahn</h1><article>{shown}{TEXT}</article><aside>1. November 2023</aside>"
    )
    assert published(page(body=body)) == (datetime(2023, 11, 3, 10, 0, tzinfo=BERLIN), "text")
    body = (
        "<article><header><h1>Neue Straßenbahn</h1></header><aside class='meta'>"
        f"<time datetime='2023-11-03'>03.11.2023 - 13:30</time></aside>{TEXT}</article>"
    )
    value, _layer = published(page(body=body))
    assert value is not None and value.date().isoformat() == "2023-11-03"


def test_htmldate_does_not_turn_a_us_sites_date_around() -> None:
    # «03/04/2026» on a New York source is March 4th; htmldate reads it day first (April
    # 3rd, possible once April 3rd is past) and must not replace the page's own reading.
    body = f"<h1>Trams arrive</h1><article><p class='date'>03/04/2023</p>{TEXT}</article>"
    html = page(body=body)
    data = extract_article(html, "https://nyc.example.com/news/1", now=NOW, tz="America/New_York")
    assert data.published is not None and data.published.date().isoformat() == "2023-03-04"


def test_the_publication_date_beats_an_events_date_by_the_headline() -> None:
    published_line = "<div class='pub'>Veröffentlicht am 3. November 2023, 10:00</div>"
    expected = (datetime(2023, 11, 3, 10, 0, tzinfo=BERLIN), "text")
    for event in (
        # An event's date nearer the headline: past (labelled publication wins) or to come.
        "<div class='event-date'>1. November 2023, 19:00</div>",
        "<div class='event-date'>15. Dezember 2023, 19:00</div>",
    ):
        body = f"<h1>Konzert</h1><article>{event}{published_line}{TEXT}</article>"
        assert published(page(body=body), now=datetime(2023, 11, 10, tzinfo=UTC)) == expected
    # Unlabelled: a date after the fetch is an event's, never the publication's.
    body = (
        "<h1>Konzert</h1><article><p>Das Konzert findet am 15. Dezember 2023 um 19:00 statt.</p>"
        f"<p class='date'>3. November 2023, 10:00</p>{TEXT}</article>"
    )
    assert published(page(body=body), now=datetime(2023, 11, 10, tzinfo=UTC)) == expected


def test_the_articles_own_aside_keeps_its_date() -> None:
    # No <article>: the aside beside the headline, in the block that holds it, is its byline.
    body = (
        "<div class='article'><h1>Neue Straßenbahn</h1><aside class='meta'><span class='date'>"
        f"3. November 2023, 10:30</span></aside><div class='text'>{TEXT}</div></div>"
        "<aside><time datetime='2023-11-01T09:00'>1. November</time></aside>"
    )
    assert published(page(body=body)) == (datetime(2023, 11, 3, 10, 30, tzinfo=BERLIN), "text")


def test_a_date_without_a_year_that_only_last_year_makes_past_is_an_events() -> None:
    fetched = datetime(2023, 12, 5, 12, tzinfo=UTC)

    def shown(line: str, now: datetime = fetched) -> tuple[datetime | None, str | None]:
        body = f"<h1>Konzert</h1><article><p class='lead'>{line}</p>{TEXT}</article>"
        return published(page(body=body), now=now)

    # «15. Dezember, 19:00» on 5 December is the concert's, not last December's.
    assert shown("Das Konzert findet am 15. Dezember um 19:00 statt.") == (None, None)
    # This year's dates without a year, and last December's bylines in early January, stand.
    assert shown("15. April, 10:15") == (datetime(2023, 4, 15, 10, 15, tzinfo=BERLIN), "text")
    january = datetime(2024, 1, 5, 12, tzinfo=UTC)
    assert shown("28. Dezember, 10:15", january) == (
        datetime(2023, 12, 28, 10, 15, tzinfo=BERLIN),
        "text",
    )


def test_htmldate_guess_of_a_day_the_page_never_shows_is_not_taken() -> None:
    # htmldate turns "März 2019" into a day of its own; the page states no day at all.
    body = f"<div class='content'>{TEXT}</div><div class='info'>Stand: März 2019</div>"
    assert published(page(body=body)) == (None, None)


def test_a_day_only_in_links_to_other_pages_is_not_the_pages_own() -> None:
    # An undated page: its «read also» and sidebar links carry their own stories' days.
    body = (
        f"<div class='content'>{TEXT}</div><div class='also'>Lesen Sie auch: "
        "<a href='/news/2016/12/23/metro.html'>Metro</a></div>"
        "<aside><a href='https://example.de/2017/01/05/tram'>Tram</a></aside>"
    )
    assert published(page(body=body)) == (None, None)
    # The page's own URL still counts: «/2016/12/23/» there is its day.
    url = "https://example.de/2016/12/23/strassenbahn"
    value, _layer = published(page(body=body), url)
    assert value is not None and value.date().isoformat() == "2016-12-23"


def test_page_shows_day_in_numeric_and_worded_forms() -> None:
    day = datetime(2018, 9, 30)
    assert page_shows_day("publié le 30 septembre 2018", day)
    assert page_shows_day("September 30th, 2018", day)
    assert page_shows_day("posted 09/30/2018", day)  # month first
    assert page_shows_day('"dateCreated":"2018-09-30T10:00"', day)
    assert not page_shows_day("30 octobre 2018", day)
    assert not page_shows_day("2018", day)


def test_utc_metadata_is_the_sources_calendar_day() -> None:
    head = '<meta property="article:published_time" content="2021-11-04T23:00Z">'
    value, _layer = published(page(head))
    assert value is not None and value.date().isoformat() == "2021-11-05"
    assert value == datetime(2021, 11, 4, 23, 0, tzinfo=UTC)  # the same instant
    assert value.utcoffset() == timedelta(hours=1)


def test_publishers_own_offset_is_kept() -> None:
    head = '<meta property="article:published_time" content="2023-02-03T23:30:00+05:00">'
    value, _layer = published(page(head), tz="Europe/Moscow")
    assert value is not None and value.utcoffset() == timedelta(hours=5)
    assert value.date().isoformat() == "2023-02-03"


def test_utc_value_takes_the_offset_another_tag_gives_for_the_same_instant() -> None:
    head = '<meta property="article:published_time" content="2023-11-09T02:11:03+00:00">'
    body = (
        "<div><h1>Stabbing</h1><time datetime='2023-11-08T21:11:03-05:00'>November 8, 2023"
        f"</time></div><article>{TEXT}</article>"
    )
    value, _layer = published(page(head, body), "https://whdh.example/news/x", tz="UTC")
    assert value is not None and value.utcoffset() == timedelta(hours=-5)
    assert value.date().isoformat() == "2023-11-08"


def test_utc_instant_is_shown_on_the_day_in_the_url() -> None:
    head = '<meta property="article:published_time" content="2023-11-09T03:00:00Z">'
    url = "https://www.mercurynews.example/2023/11/08/child-dead/"
    value, _layer = published(page(head), url, tz="UTC")
    assert value == datetime(2023, 11, 9, 3, 0, tzinfo=UTC)
    assert value is not None and value.date().isoformat() == "2023-11-08"


def test_on_day_keeps_the_instant_and_the_nearest_offset() -> None:
    value = datetime(2023, 11, 9, 3, 0, tzinfo=UTC)
    shown = on_day(value, value.date() - timedelta(days=1))
    assert shown == value and shown.utcoffset() == timedelta(hours=-4)
    assert on_day(value, value.date() + timedelta(days=5)) is value


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://www.befifty.example/home/2017/7/12/unter-uns", "2017-07-12"),
        ("https://www.thelocal.example/20200428/meet-the-swede", "2020-04-28"),
        ("https://example.de/2019/01/01/ins-neue-jahr/", "2019-01-01"),
        ("https://web.archive.org/web/20130217080612/http://x.de/2012/08/future", None),
    ],
)
def test_date_from_url_forms(url: str, day: str | None) -> None:
    found = date_from_url(url, "Europe/Berlin")
    assert (found.date().isoformat() if found else None) == day


def test_time_element_text_without_datetime_attribute() -> None:
    body = "<h1>Neue Straßenbahn</h1><ul><li><time class='created'>31.03.2020</time></li></ul>"
    value, layer = published(page(body=body + f"<article>{TEXT}</article>"))
    assert (value, layer) == (datetime(2020, 3, 31, tzinfo=BERLIN), "time")


def test_byline_day_beats_a_plain_meta_date_it_never_shows() -> None:
    head = '<meta name="date" content="2021-12-20T11:02:44+01:00">'
    body = f"<div><h1>Riesling</h1><span class='date'>27.01.2022</span><p>{TEXT}</p></div>"
    value, layer = published(page(head, body))
    assert (value, layer) == (datetime(2022, 1, 27, tzinfo=BERLIN), "text")
    shown = body.replace("27.01.2022", "20.12.2021")
    assert published(page(head, shown))[1] == "meta"


def test_bare_day_in_the_story_comes_after_a_dated_byline() -> None:
    body = (
        "<div><h1>Trinkwasser belastet</h1><p>Am Samstag, 29. Oktober warnte die Gemeinde.</p>"
        f"{TEXT}<p>Erstellt am: 01.11.2023</p></div>"
    )
    value, layer = published(page(body=body))
    assert (value, layer) == (datetime(2023, 11, 1, tzinfo=BERLIN), "text")


def test_several_times_away_from_the_headline_are_checked_by_htmldate() -> None:
    # Two <time>s in a list of other stories; the page's own day is in its URL.
    listing = (
        "<ul><li><time datetime='2020-12-03T07:32:49'>3. Dezember 2020</time></li>"
        "<li><time datetime='2017-09-06T10:30:55'>6. September 2017</time></li></ul>"
    )
    url = "https://example.de/2023/10/31/intendanten-wechsel"
    body = f"<h1>Neue Straßenbahn</h1><article>{TEXT}</article><div class='box'>{listing}</div>"
    value, layer = published(page(body=body), url)
    assert layer == "htmldate" and value is not None
    assert value.date().isoformat() == "2023-10-31"
    # In the page's <aside> they are other stories' and never read: the URL's day stands.
    body = f"<h1>Neue Straßenbahn</h1><article>{TEXT}</article><aside>{listing}</aside>"
    value, layer = published(page(body=body), url)
    assert layer == "url" and value is not None
    assert value.date().isoformat() == "2023-10-31"
    # The same <time>s by the headline are the byline: not questioned.
    byline = "<div><h1>Neue Straßenbahn</h1><time datetime='2023-10-30T09:00:00'>x</time></div>"
    near = body.replace("<h1>Neue Straßenbahn</h1>", byline, 1)
    assert published(page(body=near), url)[1] == "time"


def test_readers_comments_dates_are_not_the_articles() -> None:
    # The author box far below the headline shows the day; readers' comments are dated later.
    comments = "".join(
        f"<div class='recipe-comment-box-middle'><time datetime='2020-09-2{d}T12:45:17+02:00'>"
        f"2{d}.09.20 | 12:45</time><p>Danke für den Tipp, klappt prima!</p></div>"
        for d in (2, 3)
    )
    body = (
        "<div class='tips'><div><div><div><div class='headline'><div><h1>Tomaten schneiden</h1>"
        "</div></div></div></div><div class='content'>" + TEXT + "</div>"
        "<div class='userbox'><span>von <a href='/user/1'>Marianne1</a><br> am 20.09.2020</span>"
        f"</div><div id='comments'>{comments}</div></div>"
    )
    value, _layer = published(page(body=body))
    assert value is not None and value.date().isoformat() == "2020-09-20"
    # A link to the comments, or a block of the story's own date and comment count, stays.
    meta = (
        "<div><h1>Tomaten schneiden</h1></div><div class='content'>" + TEXT + "</div>"
        "<div id='wpcom-comments-date'><span class='date'>August 30, 2017</span>"
        "<a class='comments' href='/2017/08/30/tomaten/#respond'>0</a></div>"
    )
    value, _layer = published(page(body=meta))
    assert value is not None and value.date().isoformat() == "2017-08-30"


# --- relative dates of Russian city sites («вчера, 14:30»), against the fetch clock -------------
FETCHED = datetime(2026, 12, 6, 12, 0, tzinfo=MSK)
RU_TEXT = "".join(
    f"<p>Абзац {i}: Мосгортранс перевёл на электробусы ещё три маршрута в Южном округе столицы, "
    "интервал движения сократился до четырёх минут.</p>"
    for i in range(1, 5)
)


def ru_published(head: str = "", byline: str = "", body: str = RU_TEXT):
    html = (
        "<html lang='ru'><head><meta charset='utf-8'><title>Трамваи</title>"
        f"{head}</head><body><main><article><h1>Трамваи вышли на новый маршрут</h1>"
        f"{byline}<div class='article-body'>{body}</div></article></main></body></html>"
    ).encode()
    data = extract_article(html, "https://city.example/news/tram", now=FETCHED, tz="Europe/Moscow")
    return data.published, data.provenance.get("published")


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("<span class='date'>вчера, 14:30</span>", datetime(2026, 12, 5, 14, 30, tzinfo=MSK)),
        ("<div class='meta'>Сегодня в 09:15</div>", datetime(2026, 12, 6, 9, 15, tzinfo=MSK)),
        ("<span>сегодня, 09:15</span>", datetime(2026, 12, 6, 9, 15, tzinfo=MSK)),
        ("<span>Вчера в 23:40</span>", datetime(2026, 12, 5, 23, 40, tzinfo=MSK)),
        ("<span>позавчера, 10:00</span>", datetime(2026, 12, 4, 10, 0, tzinfo=MSK)),
        ("<span>5 минут назад</span>", datetime(2026, 12, 6, 11, 55, tzinfo=MSK)),
        ("<span>2 часа назад</span>", datetime(2026, 12, 6, 10, 0, tzinfo=MSK)),
        ("<span>час назад</span>", datetime(2026, 12, 6, 11, 0, tzinfo=MSK)),
        # a label or a rubric around it, in the same element or split over several
        ("<p>Опубликовано: вчера в 14:30</p>", datetime(2026, 12, 5, 14, 30, tzinfo=MSK)),
        ("<p>Иван Петров, 2 часа назад</p>", datetime(2026, 12, 6, 10, 0, tzinfo=MSK)),
        ("<p>вчера, <b>14:30</b> | Транспорт</p>", datetime(2026, 12, 5, 14, 30, tzinfo=MSK)),
        ("<span>yesterday at 14:30</span>", datetime(2026, 12, 5, 14, 30, tzinfo=MSK)),
    ],
)
def test_a_relative_byline_is_read_against_the_fetch_clock(byline: str, expected: datetime) -> None:
    assert ru_published(byline=byline) == (expected, "text")


def test_a_relative_byline_in_a_time_element_without_datetime() -> None:
    value, layer = ru_published(byline="<time>Вчера в 23:40</time>")
    assert (value, layer) == (datetime(2026, 12, 5, 23, 40, tzinfo=MSK), "time")


@pytest.mark.parametrize(
    "head_or_byline",
    [
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2026-12-04T08:05:00+03:00"}</script>',
        '<meta property="article:published_time" content="2026-12-04T08:05:00+03:00">',
        "<time datetime='2026-12-04T08:05:00+03:00'>4 декабря</time>",
    ],
)
def test_structured_dates_win_over_a_relative_byline(head_or_byline: str) -> None:
    head, byline = (head_or_byline, "") if "<time" not in head_or_byline else ("", head_or_byline)
    value, layer = ru_published(head, byline + "<span>вчера, 14:30</span>")
    assert value == datetime(2026, 12, 4, 8, 5, tzinfo=MSK) and layer != "text"


def test_a_relative_date_inside_a_sentence_is_the_storys_event_not_its_date() -> None:
    prose = "<p>Вчера в 14:00 на Тверской улице столкнулись два автобуса.</p>"
    assert ru_published(body=prose + RU_TEXT) == (None, None)
    # Nor does it override a plain <meta name=date> the byline would (it shows no other day).
    head = '<meta name="date" content="2026-12-06T08:00:00+03:00">'
    assert ru_published(head, body=prose + RU_TEXT) == (
        datetime(2026, 12, 6, 8, 0, tzinfo=MSK),
        "meta",
    )
    # A byline's relative date does: the plain meta tag is often the CMS's save date.
    value, layer = ru_published(head, "<span>вчера, 14:30</span>")
    assert (value, layer) == (datetime(2026, 12, 5, 14, 30, tzinfo=MSK), "text")


@pytest.mark.parametrize("byline", ["<span>вчера</span>", "<span>несколько минут назад</span>"])
def test_relative_words_without_a_time_are_no_date(byline: str) -> None:
    assert ru_published(byline=byline) == (None, None)
