"""A repeat of an event on another day is another story, whichever report it matches best.

A tester's find: a tram derailed on one street on Thursday (reported by two outlets, one
naming the date, one the date and «в среду»), and again on Saturday («В пятницу ... вновь
сошёл»). The repeat matched the report that named no weekday, and joined the story, although
the story's other report named another day. A report that names another day (a date, a day
of the week) than a member of a story keeps that story from taking the new report.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from stories_samples import T0

from crawler.models import Article
from crawler.storage import Store
from crawler.stories.features import Fingerprinter
from crawler.stories.settings import StorySettings
from crawler.stories.verify import compare

SETTINGS = StorySettings()
BODY_A = (
    "Трамвай маршрута 9 сошёл с рельсов у дома 12 на улице Лесной в 7:40. Пассажиров высадили, "
    "пострадавших нет. Движение трамваев по улице Лесной было остановлено на два часа. Для "
    "пассажиров запустили компенсационные автобусы. Причины схода вагона выясняет комиссия "
    "Мосгортранса."
)
FIRST = (
    "Трамвай сошёл с рельсов на улице Лесной",
    "Утром 3 декабря трамвай маршрута 9 сошёл с рельсов на улице Лесной, пострадавших нет.",
    BODY_A,
)
SAME_EVENT = (
    "На Лесной улице с рельсов сошёл трамвай девятого маршрута",
    "В среду утром, 3 декабря, на улице Лесной трамвай № 9 сошёл с путей; никто не пострадал.",
    "Инцидент произошёл около 7:40 у дома 12 по Лесной улице: вагон девятого маршрута сошёл с "
    "рельсов. По данным Мосгортранса, пострадавших нет, пассажиров пересадили на "
    "компенсационные автобусы, движение трамваев на Лесной восстановили через два часа.",
)
REPEAT = (
    "Трамвай снова сошёл с рельсов на улице Лесной",
    "В пятницу утром трамвай маршрута 9 вновь сошёл с рельсов на улице Лесной у дома 12. "
    "Пострадавших нет.",
    "Вагон девятого маршрута сошёл с рельсов у дома 12 на улице Лесной. Пассажиров высадили. "
    "Движение трамваев по Лесной улице остановили, запущены компенсационные автобусы. Причины "
    "выясняет комиссия Мосгортранса.",
)


def _page(n: int, source: str, parts: tuple[str, str, str], hours: float) -> Article:
    title, lead, body = parts
    return Article(
        url=f"https://{source}.example.ru/news/{n}",
        source=source,
        title=title,
        summary=lead,
        text=f"{lead}\n\n{body}",
        published=T0 + timedelta(hours=hours),
        fetched_at=T0 + timedelta(hours=hours),
    )


def _assign(store: Store, pages: list[Article]) -> dict[str, int]:
    for n, page in enumerate(pages):
        now = T0 + timedelta(hours=60, minutes=n)
        [result] = store.upsert_articles([page], now=now)
        store.assign_stories([(result.article_id, page)], settings=SETTINGS, now=now)
    stories = store.recent_stories(since=T0 - timedelta(days=3), min_size=1, limit=100)
    return {m.url: s.id for s in stories for m in s.members}


def test_days_of_the_week_that_differ_tell_two_events_apart() -> None:
    fingerprint = Fingerprinter()
    same, repeat = fingerprint(*SAME_EVENT), fingerprint(*REPEAT)
    verdict = compare(repeat, same, SETTINGS)
    assert not verdict.joined and verdict.another_day
    assert "apart: days пятниц ≠ среду" in verdict.evidence


@pytest.mark.parametrize("order", [(0, 1, 2), (1, 0, 2)])
def test_a_repeat_on_another_day_stays_out_of_the_first_days_story(
    sqlite_store: Store, order: tuple[int, int, int]
) -> None:
    pages = [
        _page(101, "a", FIRST, hours=0),
        _page(201, "b", SAME_EVENT, hours=1),
        _page(301, "c", REPEAT, hours=50),
    ]
    story_of = _assign(sqlite_store, [pages[i] for i in order])
    first, same, repeat = (story_of[p.url] for p in pages)
    assert first == same  # one event, two outlets: one story
    assert repeat != first


ROUTE_39 = (
    "Вагон маршрута № 39 сошёл с рельсов на Шаболовке у дома 20. Пассажиров высадили, "
    "пострадавших нет. Движение трамваев по Шаболовке остановили на полтора часа, запустили "
    "компенсационные автобусы. Причины выясняет комиссия Мосгортранса."
)
TODAY = (
    "Трамвай сошёл с рельсов на Шаболовке",
    "Сегодня трамвай маршрута № 39 сошёл с рельсов на Шаболовке, пострадавших нет.",
    ROUTE_39,
)
YESTERDAY = (
    "На Шаболовке трамвай 39-го маршрута сошёл с рельсов",
    "Вчера, в четверг, трамвай маршрута № 39 сошёл с рельсов на Шаболовке.",
    ROUTE_39,
)
SATURDAY = (
    "Трамвай снова сошёл с рельсов на Шаболовке",
    "В субботу трамвай маршрута № 39 снова сошёл с рельсов на Шаболовке.",
    ROUTE_39,
)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_no_story_holds_reports_that_name_two_days_in_any_order(
    sqlite_store: Store, order: tuple[int, int, int]
) -> None:
    """A tester's find: stored Saturday's repeat first, then Friday's «вчера, в четверг»
    report (apart from it), then Thursday's own report naming no day: that one joined the
    repeat's story, and Friday's one-report story moved in after it, so one story held
    «в четверг» and «в субботу». A report naming another day than one of a story's reports
    it knows of no longer moves in. (Thursday's report naming no day may still join the
    repeat when stored after it: a report that names no day says nothing against it.)"""
    pages = [
        _page(401, "o1", TODAY, hours=3),
        _page(402, "o2", YESTERDAY, hours=24),
        _page(403, "o3", SATURDAY, hours=50),
    ]
    story_of = _assign(sqlite_store, [pages[i] for i in order])
    assert story_of[pages[1].url] != story_of[pages[2].url]
