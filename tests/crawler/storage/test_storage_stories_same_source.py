"""Stories in the store: one outlet's rival reports never share a story, whatever bridges them.

A story gathers different outlets' reports of one event; two reports of one outlet that
disagree on a number, date, place or event are rival events (a series of route launches) and
each keeps its own entry, whatever order the reports arrive in, whether they join through a
report that names no number (of the same outlet or another) and whether they come in as the
new report or move in as a one-report story.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import timedelta

import pytest
from stories_samples import (
    T0,
    TEMPLATE_OTHER,
    TEMPLATE_SERIES,
    TEMPLATE_TIMETABLE,
    report,
    template_page,
)

from crawler.models import Article
from crawler.storage import Store
from crawler.stories.features import Fingerprinter
from crawler.stories.settings import StorySettings
from crawler.stories.verify import compare

SETTINGS = StorySettings()


def _template_site_a() -> list[Article]:
    """The tester's source a: a numberless timetable and four route pages, an hour apart."""
    pages = [template_page(1, "a", TEMPLATE_TIMETABLE, hours=1)]
    pages += [template_page(2 + k, "a", t, hours=2 + k) for k, t in enumerate(TEMPLATE_SERIES)]
    return pages


def _template_site_b() -> list[Article]:
    """The tester's source b: one report that names no route."""
    return [template_page(10, "b", TEMPLATE_OTHER, hours=8)]


def _series(route: str) -> tuple[str, str]:
    return (
        f"Новый электробус вышел на маршрут {route} в Москве",
        f"Новый электробус вышел на маршрут {route} в Москве, сообщили в Мосгортрансе.",
    )


def _route_series() -> list[Article]:
    """One outlet's route series, its own numberless report, and another outlet's (README)."""
    return [
        report(1, "sitea", _series("403")),
        report(2, "sitea", _series("405"), hours=0.1),
        report(3, "sitea", _series("406"), hours=0.2),
        report(
            4,
            "sitea",
            (
                "Новые электробусы вышли на маршруты в Москве",
                "Новые электробусы вышли на маршруты в Москве, сообщили в Мосгортрансе.",
            ),
            hours=0.3,
        ),
        report(
            5,
            "siteb",
            (
                "Новый электробус будущего вышел на линию в Москве",
                "Новый электробус вышел на маршрут в Москве, сообщили в Мосгортрансе.",
            ),
            hours=1,
        ),
    ]


def _crawl(store: Store, *batches: Sequence[Article]) -> None:
    """Store and assign each batch as one crawl's store step does, a minute apart."""
    for n, batch in enumerate(batches):
        now = T0 + timedelta(hours=12, minutes=n)
        results = store.upsert_articles(list(batch), now=now)
        pairs = [(r.article_id, a) for r, a in zip(results, batch, strict=True)]
        store.assign_stories(pairs, settings=SETTINGS, now=now)


def _rivals_together(store: Store, pages: Sequence[Article]) -> list[tuple[str, str]]:
    """Pairs of one source's reports that share a story although their verdict is apart."""
    fingerprint = Fingerprinter()
    by_url = {p.url: fingerprint(p.title, p.summary, p.text) for p in pages}
    found = []
    for story in store.recent_stories(since=T0 - timedelta(days=3), min_size=2, limit=1000):
        for x, y in itertools.combinations(story.members, 2):
            if x.source == y.source and compare(by_url[x.url], by_url[y.url], SETTINGS).apart:
                found.append((x.title, y.title))
    return found


def _entries(store: Store) -> int:
    """How many entries ``all`` shows: one per story."""
    return len(store.recent_stories(since=T0 - timedelta(days=3), limit=1000))


#: Each site's pages of its two sources, and how many of them are rival reports of one source.
SITES = {"template": (_template_site_a, _template_site_b, 4), "routes": (_route_series, list, 3)}


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("b_first", [False, True], ids=["a-then-b", "b-then-a"])
def test_two_crawls_never_gather_one_outlets_rival_reports(
    store: Store, site: str, b_first: bool
) -> None:
    # The tester's case: `crawl a; crawl b; stories` gave one story of all six reports, and
    # `all` one entry; the numberless timetable of source a verified with each route page, so
    # every page moved in (or joined) after it, checked against the story's first member only.
    make_a, make_b, rivals = SITES[site]
    a, b = make_a(), make_b()
    _crawl(store, *([b, a] if b_first else [a, b]))
    assert _rivals_together(store, a + b) == []
    assert _entries(store) >= rivals  # each rival report keeps its entry
    store.recluster_stories(settings=SETTINGS)  # `feeds --recluster`
    assert _rivals_together(store, a + b) == []
    assert _entries(store) >= rivals


def _orders(pages: Sequence[Article], every: int) -> list[tuple[Article, ...]]:
    return list(itertools.permutations(pages))[::every]


@pytest.mark.parametrize("batched", [False, True], ids=["one-by-one", "one-batch"])
@pytest.mark.parametrize(
    "order",
    [
        *_orders(_template_site_a() + _template_site_b(), 37),
        *_orders(_route_series(), 7),
    ],
    ids=lambda order: "-".join(p.url.rsplit("/", 1)[1] + p.source[-1] for p in order),
)
def test_no_arrival_order_gathers_one_outlets_rival_reports(
    sqlite_store: Store, order: tuple[Article, ...], batched: bool
) -> None:
    if batched:
        _crawl(sqlite_store, order)
    else:
        _crawl(sqlite_store, *([p] for p in order))
    assert _rivals_together(sqlite_store, order) == []
