"""Table tests for crawler.normalize.dates with real date strings from Moscow news sites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crawler.normalize.dates import (
    clamp_future,
    day_only,
    is_date_line,
    parse_date,
    parse_modified_from_text,
    to_utc,
)

MSK = timezone(timedelta(hours=3))
NSK = timezone(timedelta(hours=7))
NOW = datetime(2026, 2, 4, 12, 0, tzinfo=MSK)  # Wednesday


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ISO 8601 (mymsk seed has no seconds; vm.ru API has a fraction)
        ("2022-12-12T11:28+03:00", msk(2022, 12, 12, 11, 28)),
        ("2022-12-12T11:28:00+03:00", msk(2022, 12, 12, 11, 28)),
        ("2025-11-28T08:15:30.123Z", datetime(2025, 11, 28, 8, 15, 30, 123000, tzinfo=UTC)),
        (
            "2025-11-28T08:15:30.123456789+00:00",
            datetime(2025, 11, 28, 8, 15, 30, 123456, tzinfo=UTC),
        ),
        ("2022-12-12 11:28:00+0300", msk(2022, 12, 12, 11, 28)),
        ("2022-12-12T11:28:00+03", msk(2022, 12, 12, 11, 28)),
        ("2022-12-12T11:28:00", msk(2022, 12, 12, 11, 28)),
        ("2022-12-12", msk(2022, 12, 12)),
        # RFC 822 from RSS (mos.ru, m24)
        ("Tue, 12 Dec 2022 11:28:00 +0300", msk(2022, 12, 12, 11, 28)),
        ("Tue, 12 Dec 2022 08:28:00 GMT", msk(2022, 12, 12, 11, 28)),
        ("12 Dec 2022 11:28:00 MSK", msk(2022, 12, 12, 11, 28)),
        ("Mon, 12 Dec 2022 03:28:00 EST", msk(2022, 12, 12, 11, 28)),
        ("Mon, 12 Dec 2022 08:28:00 -0000", msk(2022, 12, 12, 11, 28)),
        # unix timestamps (mos.ru date_timestamp), seconds and milliseconds
        (1670833680, msk(2022, 12, 12, 11, 28)),
        (1670833680.0, msk(2022, 12, 12, 11, 28)),
        (1670833680000, msk(2022, 12, 12, 11, 28)),
        ("1670833680", msk(2022, 12, 12, 11, 28)),
        ("1670833680000", msk(2022, 12, 12, 11, 28)),
        # numeric day-first (mosday, district papers), mskagency data-datei
        ("12.12.2022", msk(2022, 12, 12)),
        ("12.12.2022 11:28", msk(2022, 12, 12, 11, 28)),
        ("12.12.2022, 11:28", msk(2022, 12, 12, 11, 28)),
        ("11:28 12.12.2022", msk(2022, 12, 12, 11, 28)),
        ("22/09/2025", msk(2025, 9, 22)),
        ("20251122", msk(2025, 11, 22)),
        ("12.12.22", msk(2022, 12, 12)),
        ("2022/12/12", msk(2022, 12, 12)),
        # Russian month names: genitive, nominative, abbreviations, "г."
        ("12 декабря 2022", msk(2022, 12, 12)),
        ("02 сентября 2025, 22:15", msk(2025, 9, 2, 22, 15)),
        ("28 ноября, 2025", msk(2025, 11, 28)),
        ("12 декабря 2022 г.", msk(2022, 12, 12)),
        ("12 декабря 2022 года в 11:28", msk(2022, 12, 12, 11, 28)),
        ("12 декабря 2021г", msk(2021, 12, 12)),
        ("01 Сен 2023 в 17:36", msk(2023, 9, 1, 17, 36)),
        ("1 сен. 2023", msk(2023, 9, 1)),
        ("5 дек 2024", msk(2024, 12, 5)),
        ("3 нояб. 2024, 09:05", msk(2024, 11, 3, 9, 5)),
        ("12 Декабрь 2022", msk(2022, 12, 12)),
        ("1 МАЯ 2025", msk(2025, 5, 1)),
        ("9 мая 2025 10:00", msk(2025, 5, 9, 10, 0)),
        ("12\u00a0марта\u00a02024,\u00a014:00", msk(2024, 3, 12, 14, 0)),
        # inside longer strings
        ("Опубликовано: 12 декабря 2022, 11:28", msk(2022, 12, 12, 11, 28)),
        ("Автор: Моя Москва 12 декабря 2022", msk(2022, 12, 12)),
        ("Воскресенье, 01 февраля 2026, 23:26 Пасмурно -20°", msk(2026, 2, 1, 23, 26)),
        ("Дата публикации: 12.12.2022", msk(2022, 12, 12)),
        # English
        ("December 12, 2022", msk(2022, 12, 12)),
        ("Dec 12, 2022 at 11:28 PM", msk(2022, 12, 12, 23, 28)),
        ("12 December 2022", msk(2022, 12, 12)),
        # relative to NOW (2026-02-04 12:00 MSK)
        ("сегодня в 10:15", msk(2026, 2, 4, 10, 15)),
        ("Сегодня, 10:15", msk(2026, 2, 4, 10, 15)),
        ("вчера, 10:15", msk(2026, 2, 3, 10, 15)),
        ("Вчера в 23:59", msk(2026, 2, 3, 23, 59)),
        ("позавчера", msk(2026, 2, 2)),
        ("5 минут назад", msk(2026, 2, 4, 11, 55)),
        ("минуту назад", msk(2026, 2, 4, 11, 59)),
        ("час назад", msk(2026, 2, 4, 11, 0)),
        ("3 часа назад", msk(2026, 2, 4, 9, 0)),
        ("11 часов назад", msk(2026, 2, 4, 1, 0)),
        ("полчаса назад", msk(2026, 2, 4, 11, 30)),
        ("2 дня назад", msk(2026, 2, 2, 12, 0)),
        ("только что", NOW),
        ("5 minutes ago", msk(2026, 2, 4, 11, 55)),
        ("yesterday at 10:15", msk(2026, 2, 3, 10, 15)),
        # the forms of Russian city sites' bylines, as the visible-date search finds them
        ("Сегодня в 09:15", msk(2026, 2, 4, 9, 15)),
        ("сегодня, 09:15", msk(2026, 2, 4, 9, 15)),
        ("Вчера в 23:40", msk(2026, 2, 3, 23, 40)),
        ("позавчера, 10:00", msk(2026, 2, 2, 10, 0)),
        ("2 часа назад", msk(2026, 2, 4, 10, 0)),
        ("5 мин. назад", msk(2026, 2, 4, 11, 55)),
        ("Опубликовано: вчера в 23:40", msk(2026, 2, 3, 23, 40)),
        ("today, 09:15", msk(2026, 2, 4, 9, 15)),
        ("an hour ago", msk(2026, 2, 4, 11, 0)),
        # year-less (m24): most recent date not in the future
        ("15 февраля, 05:20", msk(2025, 2, 15, 5, 20)),
        ("03 февраля, 05:20", msk(2026, 2, 3, 5, 20)),
        ("04 февраля, 11:55", msk(2026, 2, 4, 11, 55)),
        ("04 февраля, 12:05", msk(2026, 2, 4, 12, 5)),  # within clock-skew tolerance
        ("04 февраля, 12:30", msk(2025, 2, 4, 12, 30)),
        ("29 февраля, 10:00", msk(2024, 2, 29, 10, 0)),
        ("31 декабря", msk(2025, 12, 31)),
        # bare time and m24's "(обновлено ...)": first time is publication
        ("08:57", msk(2026, 2, 4, 8, 57)),
        ("13:30", msk(2026, 2, 3, 13, 30)),
        ("08:57 (обновлено 04.02.2026 09:45)", msk(2026, 2, 4, 8, 57)),
        ("23:50 (обновлено 04.02.2026 00:30)", msk(2026, 2, 3, 23, 50)),
        ("08:57 (обновлено 20.01.2026 09:45)", msk(2026, 1, 20, 8, 57)),
        ("02 сентября 2025, 22:15 (обновлено 03.09.2025 10:00)", msk(2025, 9, 2, 22, 15)),
        # An a.m./p.m. after the time of any date form, not only a worded English one.
        ("04.02.2026 5:00 pm", msk(2026, 2, 4, 17, 0)),
        ("2026-02-03 5:00 PM", msk(2026, 2, 3, 17, 0)),
        ("2026-02-03 12:30 a.m.", msk(2026, 2, 3, 0, 30)),
        ("2026-02-03 11:30 p.m.", msk(2026, 2, 3, 23, 30)),
        ("3 февраля 2026, 9:15 p.m.", msk(2026, 2, 3, 21, 15)),
        ("3 февраля 2026, 12:30 a.m.", msk(2026, 2, 3, 0, 30)),
        # «14:30 p.m.» is no clock reading: its p.m. is not read.
        ("3 февраля 2026, 14:30 p.m.", msk(2026, 2, 3, 14, 30)),
        # A slashed date whose second number cannot be a month is month first, in any zone.
        ("12/25/2025 9:15 a.m.", msk(2025, 12, 25, 9, 15)),
        ("25/12/2025", msk(2025, 12, 25)),
        # Outside the US a slashed date is day first.
        ("03/02/2026", msk(2026, 2, 3)),
        # A two-digit year, slashed as dotted, alone or with its time (and a.m./p.m.).
        ("03/02/26", msk(2026, 2, 3)),
        ("12/25/25 9:15 PM", msk(2025, 12, 25, 21, 15)),
        ("03.02.26 9:15 pm", msk(2026, 2, 3, 21, 15)),
        # A weekday between the date and its time.
        ("3 февраля 2026 года, вторник, 12:00", msk(2026, 2, 3, 12, 0)),
        # Relative days with a 12-hour clock, and in German (NOW: Wednesday 4 February, 12:00).
        ("Yesterday at 4:30 p.m.", msk(2026, 2, 3, 16, 30)),
        ("Today at 9:15 AM", msk(2026, 2, 4, 9, 15)),
        ("Heute, 09:15 Uhr", msk(2026, 2, 4, 9, 15)),
        ("Gestern, 18:15 Uhr", msk(2026, 2, 3, 18, 15)),
        ("vor 2 Stunden", msk(2026, 2, 4, 10, 0)),
        ("vor einer Stunde", msk(2026, 2, 4, 11, 0)),
    ],
)
def test_parse_date(value: str | int | float, expected: datetime) -> None:
    result = parse_date(value, now=NOW)
    assert result == expected
    assert result is not None and result.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "32.13.2024",
        "31.02.2024",
        "вчера в 25:61",
        "сегодня в 24:00",
        "0001-01-01",
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        0,
        -1,
        float("nan"),
        float("inf"),
        True,
        "12 декабря 1985",
        "12 декабря 2030",
        "2099-01-01",
        "99999999999999999999",
        "В15 межотраслевых объединений входит более 900 организаций.",
        "12 маршрутов",
        "Трамвай №17 и 39 автобусов",
        "Версия 1.2.34",
        "Загрузка ...",
        "/html/head/meta[@name='article:published_time']/@content",
        "32 декабря 2022",
        "12 декабря 2022, 25:00",
        "Tue, 32 Dec 2022 11:28:00 +0300",
        "2022-13-45",
        "2022-12-12T11:28:00+99:99",
    ],
)
def test_parse_date_garbage_is_none(value: object) -> None:
    assert parse_date(value, now=NOW) is None  # type: ignore[arg-type]


def test_naive_values_use_given_tz_and_now_may_be_naive() -> None:
    result = parse_date("12.03.2024 14:00", tz="Asia/Yekaterinburg", now=datetime(2026, 1, 1))
    assert result is not None
    assert to_utc(result) == datetime(2024, 3, 12, 9, 0, tzinfo=UTC)


def test_year_less_uses_now_in_source_tz() -> None:
    # 21:30 UTC on Dec 31 is already Jan 1 in Moscow: "1 января" is today, not last year.
    now = datetime(2025, 12, 31, 21, 30, tzinfo=UTC)
    assert parse_date("1 января, 00:15", now=now) == msk(2026, 1, 1, 0, 15)


def test_relative_dates_are_the_source_zones_days_of_the_fetch_clock() -> None:
    # 22:30 UTC on Feb 4 is 01:30 on Feb 5 in Moscow: «вчера» is Moscow's yesterday, Feb 4.
    fetched = datetime(2026, 2, 4, 22, 30, tzinfo=UTC)
    assert parse_date("вчера, 14:30", now=fetched) == msk(2026, 2, 4, 14, 30)
    assert parse_date("Сегодня в 00:45", now=fetched) == msk(2026, 2, 5, 0, 45)
    assert parse_date("вчера, 14:30", tz="Europe/London", now=fetched) == datetime(
        2026, 2, 3, 14, 30, tzinfo=UTC
    )
    assert parse_date("2 часа назад", now=fetched) == fetched - timedelta(hours=2)


def test_day_only_is_midnight_in_the_values_own_offset() -> None:
    assert day_only(msk(2026, 12, 5))
    assert day_only(datetime(2026, 12, 5, tzinfo=ZoneInfo("Europe/Moscow")))
    assert not day_only(msk(2026, 12, 5, 10, 16))
    assert not day_only(msk(2026, 12, 5, 0, 0) + timedelta(seconds=1))
    # 00:00 UTC shown in Moscow is 03:00: a time of day there.
    assert not day_only(msk(2026, 12, 5, 3, 0))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("08:57 (обновлено 04.02.2026 09:45)", msk(2026, 2, 4, 9, 45)),
        ("02 сентября 2025, 22:15 (обновлено 03 сентября 2025, 10:00)", msk(2025, 9, 3, 10, 0)),
        ("Обновлено: 12.12.2022 11:28", msk(2022, 12, 12, 11, 28)),
        ("02 сентября 2025, 22:15", None),
        ("", None),
        ("(обновлено 99.99.2026)", None),
        # Capitals, «ё» and odd spaces: the keyword check before normalising sees these too.
        ("ОБНОВЛЁН\u00a0 04.02.2026\n09:45", msk(2026, 2, 4, 9, 45)),
        ("Изменено:\t04.02.2026 09:45", msk(2026, 2, 4, 9, 45)),
        ("UPD. 04.02.2026 09:45", msk(2026, 2, 4, 9, 45)),
        ("Updated 04.02.2026 09:45", msk(2026, 2, 4, 9, 45)),
        ("обнов лено 04.02.2026 09:45", None),
    ],
)
def test_parse_modified_from_text(value: str, expected: datetime | None) -> None:
    assert parse_modified_from_text(value, tz="Europe/Moscow", now=NOW) == expected


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (NOW - timedelta(days=1), (NOW - timedelta(days=1), False)),
        (NOW, (NOW, False)),
        (NOW + timedelta(minutes=5), (NOW, False)),
        (NOW + timedelta(minutes=11), (NOW, True)),
        (NOW + timedelta(days=3), (NOW, True)),
    ],
)
def test_clamp_future(dt: datetime, expected: tuple[datetime, bool]) -> None:
    assert clamp_future(dt, NOW) == expected


def test_clamp_future_custom_tolerance_and_naive() -> None:
    assert clamp_future(NOW + timedelta(minutes=5), NOW, tolerance=timedelta(0)) == (NOW, True)
    with pytest.raises(ValueError):
        clamp_future(datetime(2026, 2, 5), NOW)


def test_to_utc() -> None:
    assert to_utc(msk(2022, 12, 12, 11, 28)) == datetime(2022, 12, 12, 8, 28, tzinfo=UTC)
    assert to_utc(msk(2022, 12, 12, 11, 28)).tzinfo is UTC
    with pytest.raises(ValueError):
        to_utc(datetime(2022, 12, 12, 11, 28))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("30 septembre 2018", datetime(2018, 9, 30)),
        ("30 de septiembre de 2018", datetime(2018, 9, 30)),
        ("1er mars 2019", datetime(2019, 3, 1)),
        ("3. Dezember 2020 um 10:15", datetime(2020, 12, 3, 10, 15)),
        ("14 gennaio 2020", datetime(2020, 1, 14)),
    ],
)
def test_foreign_month_words_in_bylines(raw: str, expected: datetime) -> None:
    paris = ZoneInfo("Europe/Paris")
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_date(raw, tz=paris, now=now) == expected.replace(tzinfo=paris)


@pytest.mark.parametrize(
    ("raw", "instant"),
    [
        # A zone named after the time says which clock it is; the source's zone does not.
        ("Dec. 5, 2025 at 9:15 p.m. EST", datetime(2025, 12, 6, 2, 15, tzinfo=UTC)),
        ("Dec 5, 2025 2:30 PM PDT", datetime(2025, 12, 5, 21, 30, tzinfo=UTC)),
        ("5 декабря 2025, 12:00 (мск)", datetime(2025, 12, 5, 9, 0, tzinfo=UTC)),
        ("5 декабря 2025 14:30 GMT+3", datetime(2025, 12, 5, 11, 30, tzinfo=UTC)),
        ("05.12.2025 14:30 UTC", datetime(2025, 12, 5, 14, 30, tzinfo=UTC)),
        ("2025-12-05 14:30 utc", datetime(2025, 12, 5, 14, 30, tzinfo=UTC)),
        ("21. November 2025, 05:00 Uhr MEZ", datetime(2025, 11, 21, 4, 0, tzinfo=UTC)),
        # A time with a dot, vouched for by the zone after it (the Guardian's style).
        ("Saturday 5 December 2025 12.00 GMT", datetime(2025, 12, 5, 12, 0, tzinfo=UTC)),
        # Ambiguous names (CST: US Central or China) and a dot time alone: the source's zone.
        ("Dec. 5, 2025 at 9:15 p.m. CST", datetime(2025, 12, 5, 21, 15, tzinfo=NSK)),
        ("5 декабря 2025 12.00", datetime(2025, 12, 5, 0, 0, tzinfo=NSK)),
        ("5 декабря 2025, 12:00 established", datetime(2025, 12, 5, 12, 0, tzinfo=NSK)),
        # A word after the name: a sentence (French «est»), not a zone.
        ("le 5 décembre 2025 à 14:00 est annulée", datetime(2025, 12, 5, 14, 0, tzinfo=NSK)),
        ("5 декабря 2025 14:30 GMT+99", datetime(2025, 12, 5, 14, 30, tzinfo=NSK)),
        ("Published Dec 5, 2025 9:15 PM EST | Updated", datetime(2025, 12, 6, 2, 15, tzinfo=UTC)),
    ],
)
def test_a_zone_named_after_the_time_is_read(raw: str, instant: datetime) -> None:
    got = parse_date(raw, tz="Asia/Novosibirsk", now=datetime(2026, 1, 1, tzinfo=UTC))
    assert got == instant, got


def test_utc_values_are_shown_in_the_source_zone_other_offsets_kept() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    utc = parse_date("2021-11-04T23:00Z", tz="Europe/Berlin", now=now)
    assert utc is not None and utc.date().isoformat() == "2021-11-05"
    assert utc.utcoffset() == timedelta(hours=1)
    gmt = parse_date("Thu, 04 Nov 2021 23:00:00 GMT", tz="Europe/Moscow", now=now)
    assert gmt is not None and gmt.utcoffset() == timedelta(hours=3)
    own = parse_date("2021-11-04T23:00:00+03:00", tz="Europe/Berlin", now=now)
    assert own is not None and own.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize(
    "line",
    [
        "21. November 2026, 05:00 Uhr",
        "Samstag, 21.11.2026",
        "Mo, 21.11.2026 | 05:00 Uhr",
        "Am 21. November 2026 um 05:00 Uhr",
        "5 декабря 2026 г., 14:30",
        "21.11.2026 г.",
        "четверг, 5 февраля 2026 года, 12:30",
        "вчера в 12:30",
        "Nov. 5, 2026, 2:30 p.m.",
        "November 21, 2026 at 5:00 a.m. ET",
        "Sat, 21 Nov 2026 05:00:00 +0100",
        "2026-11-21 12:00",
        "5 de mayo de 2026",
        "21. November",
        # A dateline naming its place, and its agency.
        "Новосибирск, 5 декабря 2026 г.",
        "Нижний Новгород — 5 декабря 2026",
        "Ростов-на-Дону, 5 декабря",
        "Москва, 5 декабря (РИА Новости)",
        "NOVOSIBIRSK, Dec. 4, 2026 (Reuters)",
        "Kyiv, 5 December 2026 (AP) —",
        "Новосибирск. 5 декабря.",
        "5 декабря 2026 года, Новосибирск",
        "НОВОСИБИРСК, 5 декабря 2026 — РИА Новости.",
        "Москва, 5 декабря 2026. /ТАСС/.",
        # A time before the date, or after a separator, with its zone.
        "10:15, 7 декабря 2026",
        "12:00 (мск), 4 декабря 2026",
        "12:00 по Москве, 4 декабря 2026",
        "4 декабря 2026, 12:00 по московскому времени",
        "06 декабря 2026 | 18:40",
        "14:30 / 05.12.26",
        "2026-12-06 | 18:40",
    ],
)
def test_a_line_that_is_only_a_date(line: str) -> None:
    assert is_date_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Die Linie 12 fährt ab dem 14.05.2024 wieder im Zehn-Minuten-Takt.",
        "21. November 2026: Die Linie 7 fährt zum ersten Mal.",
        "21.11.2026 | 05:00 Uhr | Lesezeit 3 Min",
        "Трамвай прибыл в 12:30, через двадцать минут после отправления",
        "12 маршрутов",
        "1. Mai Demo",  # the pattern's optional "de" must not take half of "Demo"
        "20261121",  # bare numbers are no written date
        "1700000000",
        "Samstag",
        # Words before the date that are no place, after it no agency.
        "в Москве, 5 декабря 2026",
        "В Москве, 5 декабря 2026",  # a sentence's first word: a preposition, not a place
        "Открытие 5 декабря 2026 г.",
        "Ausstellung bis 5. Dezember",
        "5 декабря (по данным мэрии)",
        "Москва, 5 декабря (РИА Новости) — Власти города",
        "Линия откроется, 5 декабря 2026",
        "5 декабря — Новый год",
        "5 декабря — День добровольца",
        "5 декабря 2026 года, в Новосибирске",
        "с 10:00 до 18:00 5 декабря 2026",
    ],
)
def test_a_line_that_says_more_than_a_date(line: str) -> None:
    assert not is_date_line(line)


DEC_NOW = datetime(2026, 12, 7, 20, 30, tzinfo=MSK)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # The time before the date, after a space, comma, «|», «/», «•», «—» or none.
        ("10:15, 7 декабря 2026", msk(2026, 12, 7, 10, 15)),
        ("18:40 06.12.2026", msk(2026, 12, 6, 18, 40)),
        ("18:40 | 06.12.2026", msk(2026, 12, 6, 18, 40)),
        ("18:40 • 6 декабря 2026", msk(2026, 12, 6, 18, 40)),
        ("18:40 — 6 дек. 2026", msk(2026, 12, 6, 18, 40)),
        ("18:40, 06/12/2026", msk(2026, 12, 6, 18, 40)),
        ("18:40, 2026-12-06", msk(2026, 12, 6, 18, 40)),
        ("18:40 2026/12/06", msk(2026, 12, 6, 18, 40)),
        ("18:40, 6 декабря", msk(2026, 12, 6, 18, 40)),
        # Two-digit years, alone or with their time on either side.
        ("14:30 / 05.12.26", msk(2026, 12, 5, 14, 30)),
        ("14:30 05.12.26", msk(2026, 12, 5, 14, 30)),
        ("05.12.26 | 14:30", msk(2026, 12, 5, 14, 30)),
        ("05.12.26, 14:30 (мск)", msk(2026, 12, 5, 14, 30)),
        # The time after the date, after a separator.
        ("06 декабря 2026 | 18:40", msk(2026, 12, 6, 18, 40)),
        ("06.12.2026 | 18:40", msk(2026, 12, 6, 18, 40)),
        ("06.12.2026 / 18:40", msk(2026, 12, 6, 18, 40)),
        ("6 декабря 2026 • 18:40", msk(2026, 12, 6, 18, 40)),
        ("6 декабря 2026 г. — 18:40", msk(2026, 12, 6, 18, 40)),
        ("6 декабря 2026, в 18:40", msk(2026, 12, 6, 18, 40)),
        ("2026-12-06 | 18:40", msk(2026, 12, 6, 18, 40)),
        ("2026/12/06, 18:40", msk(2026, 12, 6, 18, 40)),
        ("6 декабря | 18:40", msk(2026, 12, 6, 18, 40)),
        # English and the other languages the month words cover.
        ("10:15, December 7, 2026", msk(2026, 12, 7, 10, 15)),
        ("10:15 p.m. | Dec. 6, 2026", msk(2026, 12, 6, 22, 15)),
        ("December 6, 2026 | 18:40", msk(2026, 12, 6, 18, 40)),
        ("6 December 2026 / 18:40", msk(2026, 12, 6, 18, 40)),
        ("18:40 Uhr, 6. Dezember 2026", msk(2026, 12, 6, 18, 40)),
        ("6 dicembre 2026 alle 18:40", msk(2026, 12, 6, 18, 40)),
    ],
)
def test_a_time_beside_its_date_in_either_order(value: str, expected: datetime) -> None:
    got = parse_date(value, tz="Europe/Moscow", now=DEC_NOW)
    assert got == expected, got


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        # A zone named with a time before the date is the time's clock, not the source's.
        ("12:00 (мск), 4 декабря 2026", datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
        ("12:00 МСК 4 декабря 2026", datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
        ("12:00 по Москве, 4 декабря 2026", datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
        ("4 декабря 2026, 12:00 по московскому времени", datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
        ("4 декабря 2026, 12:00 по Москве", datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
        ("14:30 GMT+3 | 04.12.2026", datetime(2026, 12, 4, 11, 30, tzinfo=UTC)),
        ("14:30 UTC / 04.12.26", datetime(2026, 12, 4, 14, 30, tzinfo=UTC)),
        ("10:15 a.m. EST, Dec. 4, 2026", datetime(2026, 12, 4, 15, 15, tzinfo=UTC)),
        ("04.12.2026 | 14:30 (MSK)", datetime(2026, 12, 4, 11, 30, tzinfo=UTC)),
    ],
)
def test_a_zone_named_beside_a_time_before_or_after_the_date(value: str, instant: datetime) -> None:
    got = parse_date(value, tz="Asia/Novosibirsk", now=DEC_NOW)
    assert got == instant, got


@pytest.mark.parametrize(
    "value",
    [
        # Ranges, bounds, durations and temperatures: the time is something else's.
        "с 10:00 до 18:00 5 декабря 2026",
        "10:00–18:00, 5 декабря 2026",
        "10:00 - 18:00 05.12.2026",
        "до 18:00, 5 декабря 2026",
        "Длительность 01:30, 5 декабря 2026",
        "5 декабря 2026, 10:00–18:00",
        "5 декабря 2026 | 10:00 - 18:00",
        "05.12.2026 10:00 до 18:00",
        "-3° 14:25 5 декабря 2026",
        "−3 °C 14:25 5 декабря 2026",
        "December 5, 2026 | 10:00-18:00",
        "5 декабря 2026 до 18:00",
    ],
)
def test_a_time_that_belongs_to_something_else_is_not_the_dates(value: str) -> None:
    got = parse_date(value, tz="Europe/Moscow", now=DEC_NOW)
    assert got is not None and got.date().isoformat() == "2026-12-05", got
    assert (got.hour, got.minute) == (0, 0), got


def test_a_us_site_writes_a_slashed_date_month_first() -> None:
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 12, 7, tzinfo=UTC)
    for tz in ("America/New_York", "America/Indiana/Indianapolis"):
        value = parse_date("03/04/2026 5:00 PM", tz=tz, now=now)
        assert value is not None and value.replace(tzinfo=None) == datetime(2026, 3, 4, 17, 0)
    assert parse_date("03/04/2026", tz="America/New_York", now=now) == datetime(
        2026, 3, 4, tzinfo=new_york
    )
    # A two-digit year too: "12/5/26 9:15 AM" is December 5th there, its zone named or not;
    # an a.m./p.m. with no time before it makes it no date.
    for value in ("12/5/26 9:15 AM", "12/5/26 9:15 AM ET"):
        assert parse_date(value, tz="America/New_York", now=now) == datetime(
            2026, 12, 5, 9, 15, tzinfo=new_york
        )
    assert parse_date("12/5/26 pm", tz="America/New_York", now=now) is None
    # Dotted dates are day first there too.
    assert parse_date("03.04.2026", tz="America/New_York", now=now) == datetime(
        2026, 4, 3, tzinfo=new_york
    )


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        # A US zone named without its season is that zone's offset on the day, on any
        # source (an American story on a Moscow site): it was read in the source's zone.
        ("November 21, 2026 at 5:00 a.m. ET", "Europe/Moscow", datetime(2026, 11, 21, 10, 0)),
        ("July 4, 2026, 3:00 p.m. ET", "Europe/Moscow", datetime(2026, 7, 4, 19, 0)),
        ("Dec. 5, 2026 9:15 PM (PT)", "Europe/London", datetime(2026, 12, 6, 5, 15)),
        ("December 5, 2026, 8:00 a.m. CT", "Europe/Moscow", datetime(2026, 12, 5, 14, 0)),
        ("12/5/26 9:15 AM PT", "America/New_York", datetime(2026, 12, 5, 17, 15)),
        (
            "Published Dec. 5, 2026, 9:15 a.m. ET By John Smith",
            "Europe/Moscow",
            datetime(2026, 12, 5, 14, 15),
        ),
        ("12/5/2026 9:15 AM ET By John Smith", "Europe/Moscow", datetime(2026, 12, 5, 14, 15)),
        # Not zones: an abbreviation with its period, "et al.".
        ("Dec. 5, 2026 5:00 p.m. Mt. Vernon", "Europe/Moscow", datetime(2026, 12, 5, 14, 0)),
        ("Dec. 5, 2026 9:15 a.m. et al.", "Europe/Moscow", datetime(2026, 12, 5, 6, 15)),
        ("05/12/2026 14:00 est annulé", "Europe/Paris", datetime(2026, 12, 5, 13, 0)),
        # ... and a slashed date before it is month first, as US sites write it.
        ("12/5/26 9:15 AM ET", "Europe/Moscow", datetime(2026, 12, 5, 14, 15)),
        ("03/04/2026 5:00 PM EST", "Europe/Moscow", datetime(2026, 3, 4, 22, 0)),
        # Without an a.m./p.m., "et" is French for "and": the source's zone and order.
        ("05/12/2026 14:00 et", "Europe/Paris", datetime(2026, 12, 5, 13, 0)),
        ("le 5 décembre 2026 à 14:00 et", "Europe/Paris", datetime(2026, 12, 5, 13, 0)),
        ("03/04/2026 5:00 PM", "Europe/Moscow", datetime(2026, 4, 3, 14, 0)),
    ],
)
def test_a_us_zone_named_without_its_season(value: str, tz: str, expected: datetime) -> None:
    parsed = parse_date(value, tz=tz, now=datetime(2026, 12, 7, tzinfo=UTC))
    assert parsed is not None and parsed.astimezone(UTC) == expected.replace(tzinfo=UTC)
