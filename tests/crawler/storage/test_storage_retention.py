"""Retention (crawler/storage/retention.py): old runs deleted, old articles' text dropped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from storage_samples import NOW, make

from crawler.models import TopicMatch
from crawler.storage import TEXT_PRUNED_FLAG, RunStats, Store, retag_all
from crawler.storage.schema import articles, runs, story_members
from crawler.stories.settings import StorySettings

DAY = timedelta(days=1)


def _run(store: Store, source: str, *, started: int, finished: int | None) -> int:
    """A run of ``source`` started ``started`` days before NOW, finished ``finished`` days
    before NOW (None: still running)."""
    run_id = store.start_run(source, now=NOW - started * DAY)
    if finished is not None:
        store.finish_run(run_id, status="ok", stats=RunStats(), now=NOW - finished * DAY)
    return run_id


def _run_ids(store: Store) -> set[int]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(runs.c.id)).scalars())


def test_old_runs_are_deleted_but_each_sources_latest_and_running_ones_stay(store: Store) -> None:
    old = [_run(store, "vm", started=400 - i, finished=400 - i) for i in range(5)]
    recent = _run(store, "vm", started=3, finished=3)
    alone = _run(store, "m24", started=300, finished=300)  # m24's latest: kept however old
    stuck = _run(store, "mosru", started=500, finished=None)  # running: never deleted
    older_mosru = _run(store, "mosru", started=600, finished=599)
    cutoff = NOW - 180 * DAY

    assert store.prune_runs(cutoff, dry_run=True) == 6
    assert len(_run_ids(store)) == 9  # a dry run changes nothing

    # Batches of 2: the loop must go on until nothing is left, not stop after one.
    assert store.prune_runs(cutoff, batch=2) == 6
    assert _run_ids(store) == {recent, alone, stuck}
    assert not set(old) & _run_ids(store) and older_mosru not in _run_ids(store)
    assert store.prune_runs(cutoff) == 0
    assert [r["id"] for r in store.recent_runs("m24")] == [alone]


def _hashes(store: Store) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(articles.c.url, articles.c.content_hash)).all()
    return {r.url: r.content_hash for r in rows}


def _text_of(store: Store, url: str) -> tuple[str, str]:
    stored = store.get_article(url)
    assert stored is not None
    return stored.text, stored.html


def test_old_articles_lose_text_and_html_but_keep_their_row(store: Store) -> None:
    first_seen = NOW - 40 * DAY
    old = [make(n, published=first_seen - n * DAY) for n in (1, 2, 3)]
    store.upsert_articles(old, now=first_seen)
    # Published long ago but first seen lately (a sitemap's old page found now): kept whole.
    late = make(4, published=NOW - 400 * DAY)
    store.upsert_article(late, now=NOW - DAY)
    # First seen long ago, published lately (dates as sites give them): kept whole too.
    recent = make(5, published=NOW - DAY)
    store.upsert_article(recent, now=first_seen)
    hashes_before = _hashes(store)
    cutoff = NOW - 30 * DAY
    chars = 3 * (len("Текст статьи.") + len("<p>Текст статьи.</p>"))

    assert store.compact_articles(cutoff, dry_run=True) == (3, chars)
    assert _text_of(store, old[0].url) == ("Текст статьи.", "<p>Текст статьи.</p>")

    assert store.compact_articles(cutoff, batch=1) == (3, chars)
    for article in old:
        after = store.get_article(article.url)
        assert after is not None
        assert (after.text, after.html) == ("", "")
        assert after.title == article.title and after.summary == article.summary
        assert after.published == article.published and after.first_seen == first_seen
        assert [t.id for t in after.topics] == [t.id for t in article.topics]
        assert TEXT_PRUNED_FLAG in after.flags
    assert _text_of(store, late.url) == ("Текст статьи.", "<p>Текст статьи.</p>")
    assert _text_of(store, recent.url) == ("Текст статьи.", "<p>Текст статьи.</p>")
    assert store.count_articles() == 5
    assert store.compact_articles(cutoff) == (0, 0)  # done once
    assert _hashes(store) == hashes_before  # a re-crawl of an unchanged page stays unchanged


def test_a_compacted_article_recrawled_unchanged_writes_nothing(store: Store) -> None:
    store.upsert_article(make(1, published=NOW - 60 * DAY), now=NOW - 60 * DAY)
    store.compact_articles(NOW - 30 * DAY)
    # The page as it was: the kept content_hash says "unchanged", so the text is not put back.
    again = store.upsert_article(make(1, published=NOW - 60 * DAY), now=NOW)
    assert again.status == "unchanged"
    assert _text_of(store, make(1).url) == ("", "")


def test_a_compacted_article_takes_a_real_update_even_a_short_one(store: Store) -> None:
    long_text = "Длинный текст статьи. " * 40  # over the shrink guard's floor
    published = NOW - 60 * DAY
    store.upsert_article(make(1, published=published, text=long_text), now=published)
    # Before compaction, an update to a fraction of the text is refused (an error page) ...
    short = make(1, published=published, title="Исправлено", text="Коротко, но по делу.")
    assert store.upsert_article(short, now=NOW - 50 * DAY).status == "refused"
    store.compact_articles(NOW - 30 * DAY)
    # ... after it, nothing is stored to protect: the edit is taken, and the flag goes.
    assert store.upsert_article(short, now=NOW).status == "updated"
    stored = store.get_article(short.url)
    assert stored is not None
    assert stored.title == "Исправлено" and stored.text == "Коротко, но по делу."
    assert TEXT_PRUNED_FLAG not in stored.flags


def test_retag_keeps_the_topics_of_compacted_articles(store: Store) -> None:
    published = NOW - 60 * DAY
    store.upsert_articles(
        [make(1, published=published), make(3, published=NOW - DAY)], now=published
    )
    store.compact_articles(NOW - 30 * DAY)

    def by_body(article: object) -> list[TopicMatch]:
        # A classifier that needs the body: a compacted article would lose its topic.
        text = getattr(article, "text", "")
        return [TopicMatch("electric-transport", 2.5, ["title: электробус"])] if text else []

    seen, changed = retag_all(store, by_body)
    assert (seen, changed) == (1, 0)
    compacted = store.get_article(make(1).url)
    assert compacted is not None and [t.id for t in compacted.topics] == ["electric-transport"]


def test_stories_survive_compaction(store: Store) -> None:
    published = NOW - 60 * DAY
    batch = [
        make(1, published=published, source="vm"),
        make(2, published=published, source="m24", url="https://m24.ru/news/2"),
    ]
    results = store.upsert_articles(batch, now=published)
    pairs = [(r.article_id, a) for r, a in zip(results, batch, strict=True)]
    store.assign_stories(pairs, settings=StorySettings(), now=published)
    before = _stories(store)
    assert before[0][0] and len(before[1]) == 2

    assert store.compact_articles(NOW - 30 * DAY)[0] == 2

    assert _stories(store) == before


def _stories(store: Store) -> tuple[list[int | None], list[object]]:
    """Each article's story, and the stored assignments (fingerprints, signatures)."""
    with store.engine.connect() as conn:
        ids = conn.execute(select(articles.c.story_id).order_by(articles.c.id)).scalars().all()
        members = conn.execute(select(story_members).order_by(story_members.c.seq)).all()
    return list(ids), list(members)
