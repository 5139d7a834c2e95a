"""The older-days path of story assignment (crawler/storage/stories.py): reports published
before the live index's window are matched against the stored members of their own window.

The reference is the live path itself: the same stream assigned with a clock at its earliest
report, so the live index holds every member and checks each report's window per candidate,
must give the same stories, matches and evidence as the stream assigned a month after its
latest report, when every report takes the older-days path (days read from the store, kept,
evicted and read again). (A day read in the middle of a batch once missed the batch's earlier
reports, not yet written: a crawl walking back lost the matches across each day's boundary.)
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawler.models import Article
from crawler.storage import Store
from crawler.storage import stories as stories_module
from crawler.storage.schema import articles, story_members
from crawler.storage.stories import _OUTSIDE_DAYS, StoryAssignment, StoryStore, _OlderDays
from crawler.stories.settings import StorySettings

SETTINGS = StorySettings()
LABELLED = Path(__file__).resolve().parents[2] / "fixtures/stories/labelled.jsonl"
START = datetime(2026, 1, 5, tzinfo=UTC)


def _stream() -> list[Article]:
    """The labelled reports (real rewrites and look-alikes), their dates packed onto
    consecutive days so each 72-hour window holds several events, at hours spread over the
    day (some reports sit next to a day's boundary)."""
    records = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines() if line]
    dates = sorted({str(r["published"]) for r in records if r["published"]})
    day_of = {d: i for i, d in enumerate(dates)}
    out = []
    for i, r in enumerate(records):
        day = day_of[str(r["published"])] if r["published"] else i % len(dates)
        when = START + timedelta(days=day, hours=(i * 7) % 24, minutes=(i * 13) % 60)
        out.append(
            Article(
                url=f"https://{r['outlet']}/news/{i}",
                source=str(r["outlet"]),
                title=str(r["title"]),
                summary=str(r["lead"]),
                text=str(r["lead"]),
                published=when,
            )
        )
    return out


def _assign(
    stores: Sequence[Store], stream: Sequence[Article], now: datetime, batch: int
) -> list[StoryAssignment]:
    """Store and assign ``stream`` in batches, taking turns among ``stores`` (workers)."""
    done: list[StoryAssignment] = []
    for n, first in enumerate(range(0, len(stream), batch)):
        store = stores[n % len(stores)]
        part = list(stream[first : first + batch])
        results = store.upsert_articles(part, now=now)
        pairs = [(r.article_id, a) for r, a in zip(results, part, strict=True)]
        done += store.assign_stories(pairs, settings=SETTINGS, now=now)
    return done


def _by_head(assigned: Sequence[StoryAssignment]) -> list[tuple[object, ...]]:
    """Assignments with each story named by its first article: story ids are the backend's
    (SQLite reuses a moved story's id, a PostgreSQL sequence does not)."""
    head: dict[int, int] = {}
    out = []
    for a in assigned:
        if a.new_story:
            head[a.story_id] = a.article_id
        out.append(
            (a.article_id, head[a.story_id], a.new_story, a.matched_id, a.evidence, a.absorbed)
        )
    return out


def _order(stream: list[Article], order: str) -> list[Article]:
    if order == "shuffled":
        return random.Random(15).sample(stream, len(stream))
    return sorted(stream, key=lambda a: a.published, reverse=True)  # a crawl walking back


@pytest.mark.parametrize(
    ("order", "workers"), [("shuffled", 1), ("newest first", 1), ("shuffled", 2)]
)
def test_the_older_days_path_assigns_as_the_live_index_does(
    db_url: str, tmp_path: Path, order: str, workers: int
) -> None:
    stream = _order(_stream(), order)
    newest = max(a.published for a in stream)
    reference = Store.open(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        expected = _assign([reference], stream, min(a.published for a in stream), batch=10)
        assert reference._story_index is not None
        assert len(reference._story_index) == len(stream)  # all in the live index
    finally:
        reference.close()
    stores = [Store.open(db_url) for _ in range(workers)]
    try:
        got = _assign(stores, stream, newest + timedelta(days=30), batch=10)
        assert all(s._story_index is not None and len(s._story_index) == 0 for s in stores)
    finally:
        for s in stores:
            s.close()
    # The stream is worth comparing: stories of several reports, moves, new stories.
    assert sum(not a.new_story for a in expected) > 40
    assert any(a.absorbed for a in expected)
    assert _by_head(got) == _by_head(expected)


def _held_in_store(store: Store, older: _OlderDays) -> set[int]:
    """The stored members (with a story) within the kept days' windows."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(story_members.c.article_id, story_members.c.published)
            .join(articles, articles.c.id == story_members.c.article_id)
            .where(articles.c.story_id.is_not(None))
        ).all()
    return {int(r.article_id) for r in rows if older.holds(_aware(r.published))}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@pytest.mark.parametrize("order", ["newest first", "shuffled"])
def test_the_kept_days_are_bounded_and_hold_each_stored_member_of_their_windows_once(
    store: Store, order: str
) -> None:
    # A crawl walking back through old days, or reports of any old day in any order: at most
    # _OUTSIDE_DAYS days are kept, the least recently used evicted, and the one index holds
    # exactly the stored members within the kept days' windows (none of an evicted day's
    # window that no kept day needs).
    stream = _order(_stream(), order)[:160]
    now = max(a.published for a in stream) + timedelta(days=30)
    seen_days: set[datetime] = set()
    for first in range(0, len(stream), 10):
        _assign([store], stream[first : first + 10], now, batch=10)
        older = store._older_days
        assert older is not None
        seen_days |= set(older.days)
        assert len(older.days) <= _OUTSIDE_DAYS
        assert set(older.index.members) == _held_in_store(store, older)
        if order == "newest first":  # the newest days go first
            assert list(older.days) == sorted(older.days, reverse=True)
    assert len(seen_days) > 3 * _OUTSIDE_DAYS


def test_a_days_store_read_is_capped_at_the_newest_rows(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process's window of one old day is larger than the cap: a report of that day
    # reads the newest _OUTSIDE_LIMIT of its members, not all of them.
    monkeypatch.setattr(stories_module, "_OUTSIDE_LIMIT", 4)
    stream = _stream()[:12]
    day = START + timedelta(days=1)
    old = [replace(a, published=day + timedelta(hours=i)) for i, a in enumerate(stream)]
    now = day + timedelta(days=40)
    one, two = Store.open(db_url), Store.open(db_url)
    try:
        _assign([one], old[:11], now, batch=11)
        _assign([two], old[11:], now, batch=1)
        older = two._older_days
        assert older is not None
        read = sorted(m.published for m in older.index.members.values())
        assert len(read) == 4 + 1  # the cap, and the report itself
        assert read == [a.published for a in old[7:]]
    finally:
        one.close()
        two.close()


def test_a_failed_batch_leaves_nothing_of_it_in_the_kept_days(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch's reports were added to the kept days as they were assigned; the rollback
    # drops the kept days with the live index, and the batch assigned again gives what it
    # gives without the failure.
    stream = _order(_stream(), "shuffled")[:60]
    now = max(a.published for a in stream) + timedelta(days=30)
    reference = Store.open(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        expected = _by_head(_assign([reference], stream, now, batch=30))
    finally:
        reference.close()
    store = Store.open(db_url)
    try:
        first = _assign([store], stream[:30], now, batch=30)
        real = StoryStore._assign_one
        calls = []

        def failing(self: StoryStore, *args: Any, **kwargs: Any) -> StoryAssignment:
            calls.append(1)
            if len(calls) == 20:
                raise RuntimeError("the connection dropped")
            return real(self, *args, **kwargs)

        monkeypatch.setattr(StoryStore, "_assign_one", failing)
        with pytest.raises(RuntimeError):
            _assign([store], stream[30:], now, batch=30)
        assert store._older_days is None and store._story_index is None
        monkeypatch.setattr(StoryStore, "_assign_one", real)
        again = _assign([store], stream[30:], now, batch=30)
    finally:
        store.close()
    assert _by_head(first + again) == expected
