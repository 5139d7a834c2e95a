"""Stories in the store (crawler/storage/stories.py): assignment, window, workers, recluster."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from stories_samples import (
    BRIEFS,
    CLOSINGS,
    EBUSES_MARYINO,
    EIGHT_ROUTES_AFISHA,
    EIGHT_ROUTES_RAMBLER,
    EIGHT_ROUTES_RAMBLER_2,
    EIGHT_ROUTES_SMI,
    OPENING_HOSPITAL,
    OPENING_STATION,
    OPENINGS_DIGEST,
    ROUTE_776_M24,
    ROUTE_776_MOS,
    ROUTE_812,
    T0,
    TRAMS_BOULEVARD,
    brief,
    report,
)

from crawler.models import Article
from crawler.storage import Store
from crawler.storage.schema import articles, stories
from crawler.stories.settings import StorySettings

SETTINGS = StorySettings()


def stored(store: Store, *batch: Article) -> list[int]:
    """Store ``batch`` and assign stories as the store step does; the stories' ids."""
    results = store.upsert_articles(list(batch), now=T0)
    pairs = [(r.article_id, a) for r, a in zip(results, batch, strict=True)]
    return [a.story_id for a in store.assign_stories(pairs, settings=SETTINGS, now=T0)]


def test_rewrites_join_one_story_and_look_alikes_get_their_own(store: Store) -> None:
    first, second, other = stored(
        store,
        report(1, "mos", ROUTE_776_MOS),
        report(2, "m24", ROUTE_776_M24, hours=2),
        report(3, "vm", ROUTE_812, hours=3),
    )
    assert first == second != other
    [story] = store.recent_stories(since=T0 - timedelta(days=1), min_size=2)
    assert [m.source for m in story.members] == ["mos", "m24"]
    assert story.members[1].matched_id == story.members[0].article_id
    assert "numbers 776" in story.members[1].evidence


def test_a_report_outside_the_window_starts_a_new_story(store: Store) -> None:
    late = SETTINGS.window_hours + 1
    first, second = stored(
        store, report(1, "mos", ROUTE_776_MOS), report(2, "m24", ROUTE_776_M24, hours=late)
    )
    assert first != second


def test_the_story_keeps_its_first_article_and_moves_updated(store: Store) -> None:
    [first] = stored(store, report(1, "mos", ROUTE_776_MOS))
    later = T0 + timedelta(hours=3)
    results = store.upsert_articles([report(2, "m24", ROUTE_776_M24, hours=3)], now=later)
    store.assign_stories(
        [(results[0].article_id, report(2, "m24", ROUTE_776_M24, hours=3))],
        settings=SETTINGS,
        now=later,
    )
    with store.engine.connect() as conn:
        row = conn.execute(select(stories).where(stories.c.id == first)).one()
        head = conn.execute(select(articles.c.url).where(articles.c.id == row.article_id))
    assert head.scalar() == "https://mos.example.ru/news/1"
    assert row.size == 2 and row.updated == later and row.created == T0


def test_another_process_sees_assignments_made_elsewhere(db_url: str) -> None:
    # Two workers, each with its own Store (and in-memory index), share one database.
    one, two = Store.open(db_url), Store.open(db_url)
    try:
        [a] = stored(one, report(1, "mos", ROUTE_776_MOS))
        [b] = stored(two, report(2, "vm", ROUTE_812, hours=1))
        [c] = stored(one, report(3, "m24", ROUTE_776_M24, hours=2))
        [d] = stored(two, report(4, "m24", ROUTE_812, hours=3, url="https://x.ru/812"))
        assert a == c and b == d and a != b
    finally:
        one.close()
        two.close()


def test_a_reopened_store_rebuilds_the_index_from_stored_fingerprints(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Store.open(db_url)
    [a] = stored(first, report(1, "mos", ROUTE_776_MOS))
    first.close()
    again = Store.open(db_url)
    try:
        calls: list[str] = []
        real = again._prepare

        def counting(article_id: int, article: Article, settings: StorySettings) -> object:
            calls.append(article.url)
            return real(article_id, article, settings)

        monkeypatch.setattr(again, "_prepare", counting)
        [b] = stored(again, report(2, "m24", ROUTE_776_M24, hours=1))
        # Only the new article was fingerprinted: the stored one came from its saved row.
        assert calls == ["https://m24.example.ru/news/2"]
        assert a == b
    finally:
        again.close()


def test_assigning_twice_changes_nothing(store: Store) -> None:
    [a] = stored(store, report(1, "mos", ROUTE_776_MOS))
    again = store.assign_stories([(1, report(1, "mos", ROUTE_776_MOS))], settings=SETTINGS, now=T0)
    assert again[0].story_id == a and not again[0].new_story
    assert len(store.recent_stories(since=T0 - timedelta(days=1))) == 1


def test_recluster_rebuilds_the_same_stories(store: Store) -> None:
    first = stored(
        store,
        report(1, "mos", ROUTE_776_MOS),
        report(2, "m24", ROUTE_776_M24, hours=2),
        report(3, "vm", ROUTE_812, hours=3),
    )
    seen, count = store.recluster_stories(settings=SETTINGS)
    assert (seen, count) == (3, 2)
    with store.engine.connect() as conn:
        ids = conn.execute(select(articles.c.story_id).order_by(articles.c.id)).scalars().all()
    assert ids[0] == ids[1] != ids[2]
    assert len(set(first)) == 2


def _bare(n: int, source: str, pair: tuple[str, str], **kw: object) -> Article:
    """A report without a summary: its lead is only in its text, which retention drops."""
    return replace(report(n, source, pair, **kw), summary="", text=pair[1])


def test_recluster_keeps_the_stored_fingerprint_of_a_pruned_article(store: Store) -> None:
    # The m24 report joined by its lead (its title says nothing); once pruned, a fingerprint
    # made again from its title alone no longer matches, and the event would show twice.
    batch = [
        _bare(1, "mos", ROUTE_776_MOS),
        _bare(2, "m24", ("Новости транспорта Москвы", ROUTE_776_M24[1]), hours=2),
        _bare(3, "vm", ROUTE_812, hours=3),
    ]
    first, second, other = stored(store, *batch)
    assert first == second != other
    assert store.compact_articles(T0 + timedelta(days=1))[0] == 3
    # One pruned article without a stored membership is fingerprinted from what is left.
    late = _bare(4, "mos", ("Новости транспорта Москвы", ROUTE_776_M24[1]), hours=4)
    store.upsert_articles([late], now=T0)
    store.compact_articles(T0 + timedelta(days=1))

    assert store.recluster_stories(settings=SETTINGS) == (4, 3)
    with store.engine.connect() as conn:
        ids = conn.execute(select(articles.c.story_id).order_by(articles.c.id)).scalars().all()
    assert ids[0] == ids[1] != ids[2]
    assert ids[3] not in (None, ids[0], ids[2])


def test_recluster_with_another_num_perm_remakes_a_pruned_signature(store: Store) -> None:
    stored(
        store,
        _bare(1, "mos", ROUTE_776_MOS),
        _bare(2, "m24", ("Новости транспорта Москвы", ROUTE_776_M24[1]), hours=2),
    )
    store.compact_articles(T0 + timedelta(days=1))
    settings = replace(SETTINGS, num_perm=SETTINGS.num_perm // 2)
    assert store.recluster_stories(settings=settings) == (2, 1)


def test_reports_older_than_the_index_are_matched_against_the_store(store: Store) -> None:
    # A month later (a backfill, a recrawl, the demo's fixed dates): the in-memory index
    # holds only recent reports, so these are matched against the stored window.
    later = T0 + timedelta(days=30)
    batch = [
        report(1, "mos", ROUTE_776_MOS),
        report(2, "m24", ROUTE_776_M24, hours=2),
        report(3, "vm", ROUTE_812, hours=3),
    ]
    results = store.upsert_articles(batch, now=later)
    assigned = store.assign_stories(
        [(r.article_id, a) for r, a in zip(results, batch, strict=True)],
        settings=SETTINGS,
        now=later,
    )
    first, second, other = (a.story_id for a in assigned)
    assert first == second != other
    assert store._story_index is not None and len(store._story_index) == 0


def test_old_days_are_read_once_and_see_other_processes_assignments(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first crawl walks back through old articles in many batches: the stored window of an
    # old day is read once per process and kept, and what another process assigns meanwhile
    # reaches that kept window through the catch-up read.
    later = T0 + timedelta(days=30)
    one, two = Store.open(db_url), Store.open(db_url)
    try:

        def assign(store: Store, article: Article) -> int:
            [result] = store.upsert_articles([article], now=later)
            [done] = store.assign_stories(
                [(result.article_id, article)], settings=SETTINGS, now=later
            )
            return done.story_id

        first = assign(one, report(3, "vm", ROUTE_812, hours=3))
        older = one._older_days
        assert older is not None and list(older.days) == [T0.replace(hour=0)]
        assert len(older.index) == 1
        joined_elsewhere = assign(two, report(1, "mos", ROUTE_776_MOS))
        reads: list[object] = []
        monkeypatch.setattr(older, "_gap", lambda day: reads.append(day))
        joined_here = assign(one, report(2, "m24", ROUTE_776_M24, hours=2))
        assert joined_here == joined_elsewhere != first
        assert one._older_days is older and reads == []  # not read again
        assert len(older.index) == 3  # the other process's report caught up on
    finally:
        one.close()
        two.close()


# Three real reports of the 2026 fare rise (tests/fixtures/stories: riamo.ru, 360.ru, dzen.ru):
# the first two share too few words to join; the third verifies with both, best with 360's (its
# words shared with riamo's are mostly below both headlines, so they count less). Headline and
# lead only, as the outlets published them (no body text).
FARES_RIAMO = (
    "В столице вступили в силу обновленные тарифы на общественный транспорт",
    "Со 2 января в столице вступили в силу обновленные тарифы на проезд в метро, автобусах и "
    "других видах общественного транспорта. Поездка по карте «Тройка» теперь обойдется в 75 "
    "рублей вместо прежних 67.",
)
FARES_360 = (
    "В столице изменились тарифы на проезд в городском транспорте",
    "Стоимость проезда в городском транспорте в Москве проиндексировали с 2 января. Эта мера "
    "необходима, чтобы скомпенсировать подорожание электроэнергии и топлива, а также общую "
    "инфляцию.",
)
FARES_DZEN = (
    "",
    "В столичном департаменте транспорта сообщили, что с пятницы, 2 января, изменилась "
    "стоимость проезда в городском транспорте Москвы. Так, стоимость одной поездки по биометрии "
    "теперь составляет 71 рубль, по банковской карте — 83 рубля.",
)


def bare(n: int, source: str, pair: tuple[str, str], hours: float = 0) -> Article:
    return replace(report(n, source, pair, hours=hours), text="")


def test_a_later_one_report_story_joins_when_a_report_links_it(store: Store) -> None:
    r360, later = stored(store, bare(1, "r360", FARES_360), bare(2, "riamo", FARES_RIAMO))
    assert r360 != later
    results = store.upsert_articles([bare(3, "dzen", FARES_DZEN, hours=1)], now=T0)
    [done] = store.assign_stories(
        [(results[0].article_id, bare(3, "dzen", FARES_DZEN, hours=1))],
        settings=SETTINGS,
        now=T0 + timedelta(hours=1),
    )
    assert done.story_id == r360 and len(done.absorbed) == 1
    [story] = store.recent_stories(since=T0 - timedelta(days=1), min_size=2)
    assert [m.source for m in story.members] == ["r360", "riamo", "dzen"]  # the entry stays
    moved = story.members[1]
    assert moved.evidence[0] == f"moved from story {later}" and moved.matched_id == done.article_id
    with store.engine.connect() as conn:
        assert conn.execute(select(stories.c.size).where(stories.c.id == r360)).scalar() == 3
        assert conn.execute(select(stories.c.id).where(stories.c.id == later)).first() is None


def test_an_earlier_one_report_story_stays_so_no_entry_changes(store: Store) -> None:
    earlier, r360 = stored(store, bare(2, "riamo", FARES_RIAMO), bare(1, "r360", FARES_360))
    [dzen] = stored(store, bare(3, "dzen", FARES_DZEN, hours=1))
    assert dzen == r360 != earlier


def test_another_process_sees_a_one_report_story_move(db_url: str) -> None:
    one, two = Store.open(db_url), Store.open(db_url)
    try:
        r360, _ = stored(one, bare(1, "r360", FARES_360), bare(2, "riamo", FARES_RIAMO))
        [dzen] = stored(two, bare(3, "dzen", FARES_DZEN, hours=1))
        stored(one, report(4, "vm", ROUTE_812, hours=2))  # catches up on the move
        index = one._story_index
        assert index is not None and dzen == r360
        assert {m.story_id for m in index.members.values() if m.source != "vm"} == {r360}
    finally:
        one.close()
        two.close()


def test_a_move_within_one_batch_sees_the_batchs_own_writes(store: Store) -> None:
    # Writes of a batch are sent at its end; a move in the middle of it must see them.
    r360, _, dzen = stored(
        store,
        bare(1, "r360", FARES_360),
        bare(2, "riamo", FARES_RIAMO),
        bare(3, "dzen", FARES_DZEN, hours=1),
    )
    assert r360 == dzen
    [story] = store.recent_stories(since=T0 - timedelta(days=1), min_size=2)
    assert [m.source for m in story.members] == ["r360", "riamo", "dzen"]
    with store.engine.connect() as conn:
        assert conn.execute(select(stories.c.size).where(stories.c.id == r360)).scalar() == 3


def test_a_report_joins_the_older_story_its_one_report_best_match_verifies_with(
    store: Store,
) -> None:
    # Four outlets' figures of one announcement: the first two stay apart (18 districts
    # against 248 routes), the third joins the first, and the fourth matches the second best
    # (a one-report story) and the first story: it joins the first, and the second moves in.
    smi, rambler = stored(
        store, bare(1, "smi", EIGHT_ROUTES_SMI), bare(2, "rambler", EIGHT_ROUTES_RAMBLER)
    )
    [third] = stored(store, bare(3, "rambler", EIGHT_ROUTES_RAMBLER_2))
    assert smi != rambler and third == smi
    results = store.upsert_articles([bare(4, "afisha", EIGHT_ROUTES_AFISHA)], now=T0)
    [done] = store.assign_stories(
        [(results[0].article_id, bare(4, "afisha", EIGHT_ROUTES_AFISHA))], settings=SETTINGS, now=T0
    )
    assert done.story_id == smi and len(done.absorbed) == 1
    [story] = store.recent_stories(since=T0 - timedelta(days=1), min_size=2)
    assert story.members[0].source == "smi"  # the entry stays
    assert len(story.members) == 4
    with store.engine.connect() as conn:
        assert conn.execute(select(stories.c.id).where(stories.c.id == rambler)).first() is None


def _series(route: str) -> tuple[str, str]:
    return (
        f"Новый электробус вышел на маршрут {route} в Москве",
        f"Новый электробус вышел на маршрут {route} в Москве, сообщили в Мосгортрансе.",
    )


def test_one_outlets_look_alike_series_is_not_gathered_by_a_report_naming_no_route(
    store: Store,
) -> None:
    # An outlet's template reports of routes 403, 405 and 406 are rival events; a second
    # outlet's "Электробус будущего вышел на линию" matches them all (it names no route) and
    # once pulled the whole series into one story, hiding three articles from the topic feeds.
    series = stored(
        store,
        report(1, "sitea", _series("403")),
        report(2, "sitea", _series("405"), hours=0.1),
        report(3, "sitea", _series("406"), hours=0.2),
    )
    assert len(set(series)) == 3
    vague = (
        "Новый электробус будущего вышел на линию в Москве",
        "Новый электробус вышел на маршрут в Москве, сообщили в Мосгортрансе.",
    )
    results = store.upsert_articles([report(4, "siteb", vague, hours=1)], now=T0)
    [done] = store.assign_stories(
        [(results[0].article_id, report(4, "siteb", vague, hours=1))], settings=SETTINGS, now=T0
    )
    assert done.absorbed == ()
    stories_now = store.recent_stories(since=T0 - timedelta(days=1), min_size=2)
    assert all(len({m.source for m in s.members}) == len(s.members) for s in stories_now)


@pytest.mark.parametrize("summary", [True, False])
def test_briefs_of_other_events_under_one_closing_paragraph_stay_apart(
    store: Store, summary: bool
) -> None:
    # The tester's case: a tram line and electric buses in Марьино, two outlets, one closing
    # paragraph; similarity 0.39 joined them, and the second disappeared from the feeds.
    trams, buses = stored(
        store,
        brief(1, "sitea", TRAMS_BOULEVARD, summary=summary),
        brief(2, "siteb", EBUSES_MARYINO, hours=1, summary=summary),
    )
    assert trams != buses
    assert store.recent_stories(since=T0 - timedelta(days=1), min_size=2) == []


@pytest.mark.parametrize("closing", CLOSINGS, ids=[f"closing{i}" for i in range(len(CLOSINGS))])
@pytest.mark.parametrize("buses_first", [True, False])
def test_one_sites_briefs_under_one_closing_line_are_not_gathered_into_a_story(
    store: Store, closing: str, buses_first: bool
) -> None:
    # Six short notes of one site (a rink, power tariffs, the e-journal, trams, a road, an
    # exhibition) and another outlet's electric-bus note, all ending with the same line: once
    # four of the notes joined the electric-bus story. Each is its own event.
    notes = [brief(n, "sitea", text, closing, hours=n) for n, text in enumerate(BRIEFS, 1)]
    buses = brief(10, "siteb", EBUSES_MARYINO, closing, hours=0 if buses_first else 7)
    ids = stored(store, *([buses, *notes] if buses_first else [*notes, buses]))
    assert len(set(ids)) == len(ids) == 7
    assert store.recent_stories(since=T0 - timedelta(days=1), min_size=2) == []


def test_rewrites_of_one_event_under_one_closing_line_still_join(store: Store) -> None:
    first, second, other = stored(
        store,
        brief(1, "mos", ROUTE_776_MOS),
        brief(2, "m24", ROUTE_776_M24, hours=2, summary=False),
        brief(3, "vm", ROUTE_812, hours=3),
    )
    assert first == second != other


def test_an_outlets_reports_of_two_events_do_not_join_through_another_outlets_digest(
    store: Store,
) -> None:
    # One outlet reports a hospital and a station opening; another reports both in one text.
    # Each of the first outlet's reports verifies with the digest, not with each other: the
    # station report joined the hospital's story through the digest and left the feeds.
    hospital, digest, station = stored(
        store,
        report(1, "sitea", OPENING_HOSPITAL),
        report(2, "siteb", OPENINGS_DIGEST, hours=1),
        report(3, "sitea", OPENING_STATION, hours=2),
    )
    assert hospital == digest != station


def test_only_the_given_sources_reports_are_listed(store: Store) -> None:
    """A source removed from the config leaves the stories as it leaves the feeds: a story it
    reported first starts at the next report, and sizes count only the kept reports."""
    first, second, third, other = stored(
        store,
        report(1, "mos", ROUTE_776_MOS),
        report(2, "m24", ROUTE_776_M24, hours=2),
        report(3, "vm", ROUTE_776_M24, hours=3),
        report(4, "mos", ROUTE_812, hours=4),
    )
    assert first == second == third != other
    since = T0 - timedelta(days=1)
    [story] = store.recent_stories(since=since, min_size=2, sources=["m24", "vm"])
    assert [m.source for m in story.members] == ["m24", "vm"]
    head, rest = story.members
    assert story.article_id == head.article_id
    assert (head.matched_id, head.evidence) == (None, [])
    assert rest.matched_id is not None and rest.evidence
    # One kept report is not a story of two; a story of the removed source alone is gone.
    assert store.recent_stories(since=since, min_size=2, sources=["vm"]) == []
    [alone] = store.recent_stories(since=since, sources=["vm"])
    assert [m.source for m in alone.members] == ["vm"]
    assert store.recent_stories(since=since, topic="electric-transport", sources=["x"]) == []
    # Without ``sources`` every report is listed, as stored.
    assert len(store.recent_stories(since=since)) == 2


def test_a_batchs_new_stories_get_their_stored_ids_in_report_order(store: Store) -> None:
    # New stories are inserted together at the batch's end: a report joining a story another
    # report of the same batch started, and every returned id, is the stored one.
    batch = [
        report(1, "mos", ROUTE_776_MOS),
        report(2, "vm", ROUTE_812, hours=1),
        report(3, "m24", ROUTE_776_M24, hours=2),
        report(4, "mos", TRAMS_BOULEVARD, hours=3),
    ]
    results = store.upsert_articles(batch, now=T0)
    pairs = [(r.article_id, a) for r, a in zip(results, batch, strict=True)]
    done = store.assign_stories(pairs, settings=SETTINGS, now=T0)
    with store.engine.connect() as conn:
        stored_story = dict(conn.execute(select(articles.c.id, articles.c.story_id)).all())
        rows = conn.execute(select(stories.c.id, stories.c.article_id, stories.c.size)).all()
    assert [a.story_id for a in done] == [stored_story[r.article_id] for r in results]
    assert [a.new_story for a in done] == [True, True, False, True]
    assert done[0].story_id == done[2].story_id
    first = min(r.id for r in rows)
    assert sorted((r.id, r.article_id, r.size) for r in rows) == [
        (first, results[0].article_id, 2),
        (first + 1, results[1].article_id, 1),
        (first + 2, results[3].article_id, 1),
    ]


def test_prepared_fingerprints_are_fingerprinter_ofs(store: Store) -> None:
    # _prepare reads a fingerprint computed ahead through Fingerprinter.read (keeping its JSON
    # form for the member's row): the same fingerprint and stored JSON as Fingerprinter.of,
    # ahead, stale or absent.
    from crawler.stories.features import Fingerprinter

    ahead = Fingerprinter()
    plain = Fingerprinter()
    for n, (title, lead) in enumerate([ROUTE_776_MOS, ROUTE_776_M24, ROUTE_812, *BRIEFS]):
        for kind in ("ahead", "stale", "none"):
            article = report(n, "mos", (title, lead))
            if kind != "none":
                article.fingerprint = ahead.ahead(article.title, article.summary, article.text)
            if kind == "stale":
                article.text += " Дополнено."
            p = store._prepare(n, article, SETTINGS)
            expected = plain.of(article.title, article.summary, article.text, article.fingerprint)
            assert p.fingerprint == expected
            assert (p.stored or p.fingerprint.to_json()) == expected.to_json()
            assert (p.stored is not None) == (kind == "ahead")
