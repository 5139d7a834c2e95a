"""Benchmark: all feeds from a store of 100k (or 1M) articles vs bare feedgen on the same entries.

    python bench/feeds.py [--articles 100000] [--db FILE] [--repeat 5] [--stories]

Fills a SQLite store with bulk inserts (kept between runs), then times ``build_feeds`` (store
queries + cleaning + rendering RSS, Atom and JSON + atomic writes + index and OPML + status
rows) into an empty directory and again with nothing changed, the store queries alone, and
cityfeeds' rendering alone against bare feedgen + ``json.dumps`` writing the same fields of the
very same entries, already in memory (see :func:`bare_documents`). Prints the ratios (goal
<= 1.2x, independent of store size) and the index plan of the "newest N of a topic/source"
queries; for context also a plain end-to-end program (:func:`plain_pipeline`).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedgen.feed import FeedGenerator
from sqlalchemy import func, insert, select, text

from crawler.models import Article
from crawler.normalize.html import SANITIZE_POLICY
from crawler.normalize.urls import url_identity
from crawler.storage import Store
from crawler.storage.schema import article_topics, articles, stories, story_members
from feeds.build import build_feeds
from feeds.render import FORMATS, EntryCache, prepare_feed
from feeds.specs import feed_specs, store_selection

SOURCES = ("mos", "m24", "vm", "mskagency", "mymsk")
TOPICS = ("electric-transport", "city", "roads")
BASE_URL = "https://feeds.example.org/"
PARAGRAPH = "Электробусы вышли на новые маршруты в Южном округе, сообщили в Мосгортрансе. "


def bench_config(output: Path, *, stories: bool = False) -> SimpleNamespace:
    """The config attributes the feed builder reads: 3 topics, 5 sources, 50 items per feed;
    with ``stories``, topic feeds and ``all`` show one entry per story."""
    return SimpleNamespace(
        output_dir=output,
        base_url=BASE_URL,
        feed_size=50,
        feed_max_html_chars=6000,
        timezone="Europe/Moscow",
        stories=SimpleNamespace(enabled=stories, all_feed=True),
        topics=[
            SimpleNamespace(
                id=t, title=t.title(), description=f"Тема {t}", languages=["ru"], stories=True
            )
            for t in TOPICS
        ],
        sources=[
            SimpleNamespace(
                name=s,
                title=s.upper(),
                url=f"https://{s}.example.ru/",
                language="ru",
                city="Moscow",
            )
            for s in SOURCES
        ],
    )


def fill(store: Store, count: int, *, batch: int = 10000) -> float:
    """Insert ``count`` synthetic articles with bulk inserts; returns seconds taken."""
    rng = random.Random(1)
    t0 = time.monotonic()
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    html = "".join(f"<p>{PARAGRAPH * 3}</p>" for _ in range(4))
    with store.engine.begin() as conn:
        for first in range(0, count, batch):
            rows, tags = [], []
            for i in range(first, min(first + batch, count)):
                url = f"https://{SOURCES[i % 5]}.example.ru/news/{i}"
                published = start - timedelta(seconds=37 * i)
                rows.append(
                    {
                        "id": i + 1,
                        "url": url,
                        "url_key": url_identity(url),
                        "source": SOURCES[i % 5],
                        "title": f"Новость номер {i}: электробусы и трамваи",
                        "summary": PARAGRAPH,
                        "text": PARAGRAPH * 12,
                        "html": html,
                        "published": published,
                        "updated": None,
                        "first_seen": published,
                        "fetched_at": published,
                        "authors": ["Редакция"],
                        "section": "Транспорт",
                        "tags": [],
                        "image": None,
                        "language": "ru",
                        "provenance": {},
                        "flags": [],
                        "content_hash": f"{i:064d}",
                        # As the crawl stores it: extraction's sanitize_html output.
                        "html_policy": SANITIZE_POLICY,
                    }
                )
                for topic in rng.sample(TOPICS, rng.randint(0, 2)):
                    tags.append(
                        {
                            "article_id": i + 1,
                            "topic": topic,
                            "score": 2.0,
                            "evidence": [],
                            "published": published,
                        }
                    )
            conn.execute(insert(articles), rows)
            if tags:
                conn.execute(insert(article_topics), tags)
            print(
                f"\r  inserted {min(first + batch, count)}/{count}",
                end="",
                file=sys.stderr,
                flush=True,
            )
        # Fresh statistics, as autovacuum would have by the time of a real build: without them
        # PostgreSQL spends milliseconds planning each query of a just-filled table.
        conn.execute(text("ANALYZE"))
    print(file=sys.stderr)
    return time.monotonic() - t0


def _bare_generator(key: str, fmt: str, items: list[Article]) -> FeedGenerator:
    fg = FeedGenerator()
    if fmt == "rss":
        fg.load_extension("dc", atom=False, rss=True)
    fg.id(f"{BASE_URL}{key}.{fmt}")
    fg.title(key)
    fg.description(key)
    fg.link(href=f"{BASE_URL}{key}.{fmt}", rel="self")
    fg.link(href=BASE_URL, rel="alternate")
    fg.language("ru")
    fg.author({"name": "cityfeeds", "uri": BASE_URL})
    fg.generator("cityfeeds", uri=BASE_URL)
    fg.docs("https://www.rssboard.org/rss-specification")
    fg.lastBuildDate(max((a.updated or a.published for a in items), default=None))
    for a in items:
        fe = fg.add_entry(order="append")
        fe.guid(a.url, permalink=True)
        fe.title(a.title)
        fe.link(href=a.url)
        fe.published(a.published)
        fe.updated(a.updated or a.published)
        fe.summary(a.summary or a.text[:600] or a.title)
        if a.html:
            fe.content(a.html, type="html")
        if a.authors:
            if fmt == "rss":
                fe.dc.dc_creator(list(a.authors))
            else:
                fe.author([{"name": n} for n in a.authors])
        categories = [t.id for t in a.topics] + ([a.section] if a.section else [])
        if categories:
            fe.category([{"term": c} for c in categories])
        if a.image:
            fe.enclosure(a.image, 0, "image/jpeg")
    return fg


def bare_documents(feeds: list[tuple[str, list[Article]]]) -> Iterator[tuple[str, bytes]]:
    """The baseline's documents: ``(file name, bytes)`` of each feed in each format.

    Per feed a feedgen RSS (with dc:creator) and Atom document and a JSON Feed from
    ``json.dumps(indent=2)``, with the fields cityfeeds writes (feed: id, title, description,
    self and alternate links, language, author, generator, docs, lastBuildDate; entry: guid,
    title, link, dates, summary, content, authors, categories, enclosure; JSON: the same item
    keys), from the raw store values. No cleaning, sanitising, bounding or caching: what is left
    is feedgen's and json's own cost, the floor for rendering these entries.
    """
    for key, items in feeds:
        yield f"{key}.rss", _bare_generator(key, "rss", items).rss_str(pretty=True)
        yield f"{key}.atom", _bare_generator(key, "atom", items).atom_str(pretty=True)
        doc = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": key,
            "home_page_url": BASE_URL,
            "feed_url": f"{BASE_URL}{key}.json",
            "description": key,
            "language": "ru",
            "authors": [{"name": "cityfeeds", "url": BASE_URL}],
            "items": [
                {
                    "id": a.url,
                    "url": a.url,
                    "title": a.title,
                    "content_html": a.html,
                    "summary": a.summary,
                    "date_published": a.published.isoformat(),
                    "date_modified": (a.updated or a.published).isoformat(),
                    "authors": [{"name": n} for n in a.authors],
                    "tags": [t.id for t in a.topics] + ([a.section] if a.section else []),
                    "language": a.language,
                }
                for a in items
            ],
        }
        yield f"{key}.json", (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def bare_feedgen(feeds: list[tuple[str, list[Article]]]) -> None:
    """The baseline of the issue: bare feedgen building the same entries, in memory."""
    for _name, _data in bare_documents(feeds):
        pass


def plain_pipeline(store: Store, config: SimpleNamespace, output: Path) -> None:
    """A plain end-to-end program for comparison: the newest-N queries loading whole rows
    (``Store.newest_articles``, one snapshot), bare feedgen, and ``Path.write_bytes`` (no
    temporary file, no fsync, no index or OPML, no status rows)."""
    with store.snapshot():
        feeds = []
        for spec, _site in feed_specs(config):
            topic, source = store_selection(spec)
            found = store.newest_articles(topic=topic, source=source, limit=config.feed_size)
            feeds.append((spec.path, found))
    for name, data in bare_documents(feeds):
        path = output / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class _Unsigned:
    """The store, minus the signatures of the last build: every feed is rendered."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def feed_signatures(self) -> dict[str, tuple[str, str]]:
        return {}


def render_only(config: SimpleNamespace, feeds: list[tuple[str, list[Article]]]) -> None:
    """cityfeeds' rendering alone on the same in-memory articles, like for like with the baseline.

    One build's work: a fresh entry cache, each feed prepared once and rendered in three formats;
    no store, no files.
    """
    cache = EntryCache()
    for (spec, site_url), (_key, items) in zip(feed_specs(config), feeds, strict=True):
        feed = prepare_feed(spec, items, base_url=config.base_url, site_url=site_url, cache=cache)
        for fmt in FORMATS.values():
            fmt.render(feed)


QUERIES = (
    (
        "topic",
        "SELECT a.id FROM articles a JOIN article_topics t ON t.article_id = a.id "
        "WHERE t.topic = 'city' ORDER BY t.published DESC, a.url LIMIT 50",
    ),
    ("source", "SELECT id FROM articles WHERE source = 'vm' ORDER BY published DESC, url LIMIT 50"),
    ("all", "SELECT id FROM articles ORDER BY published DESC, url LIMIT 50"),
)


def explain(store: Store) -> list[str]:
    """The plan of each newest-N query: an index scan that stops after N rows, not a full sort."""
    lines = []
    with store.engine.connect() as conn:
        for label, sql in QUERIES:
            if store.is_sqlite:
                plan = [str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
            else:
                plan = [
                    str(r[0]).strip()
                    for r in conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql))
                ]
            lines.append(f"{label}: " + " | ".join(plan))
    return lines


def fill_stories(store: Store) -> int:
    """Group the synthetic articles into stories as cross-source reports would be: runs of
    three consecutive articles (three sources, minutes apart) form one story. Returns how many
    stories were written (none when the store has them already)."""
    with store.engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(stories)).scalar():
            return 0
        ids = conn.execute(select(articles.c.id, articles.c.first_seen).order_by(articles.c.id))
        rows = [
            {"id": i // 3 + 1, "article_id": i + 1, "created": seen, "updated": seen, "size": 1}
            for i, (_, seen) in enumerate(ids)
            if i % 3 == 0
        ]
        conn.execute(insert(stories), rows)
        conn.execute(text("UPDATE articles SET story_id = (id - 1) / 3 + 1"))
        count = len(rows)
        total = int(conn.execute(select(func.count()).select_from(articles)).scalar() or 0)
        for start in range(0, total, 10_000):
            members = [
                {
                    "article_id": i + 1,
                    "seq": i + 1,
                    "published": seen,
                    "joined_at": seen,
                    "signature": b"",
                    "fingerprint": {},
                    "evidence": [],
                }
                for i, seen in conn.execute(
                    select(articles.c.id - 1, articles.c.first_seen)
                    .where(articles.c.id > start, articles.c.id <= start + 10_000)
                    .order_by(articles.c.id)
                )
            ]
            conn.execute(insert(story_members), members)
        conn.execute(text("UPDATE stories SET size = 3"))
        conn.execute(text("ANALYZE"))
    return count


def _story_build(store: Store, with_stories: bool) -> tuple[float, float, int]:
    """One full build into an empty directory: wall and CPU seconds, bytes written."""
    with tempfile.TemporaryDirectory() as tmp:
        config = bench_config(Path(tmp), stories=with_stories)
        t0, c0 = time.perf_counter(), time.process_time()
        with store.snapshot():
            report = build_feeds(config, store)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert report.ok, report.failures
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    return wall, cpu, size


def _python_calls(store: Store, with_stories: bool) -> int:
    """Python function calls of one build in this thread (deterministic, unlike its time)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = bench_config(Path(tmp), stories=with_stories)
        profile = cProfile.Profile()
        with store.snapshot():
            profile.enable()
            build_feeds(config, store)
            profile.disable()
    return sum(s.callcount for s in profile.getstats())


def story_overhead(store: Store, repeat: int) -> None:
    """Print full build times with and without one entry per story (same store, alternated).

    On a shared, loaded machine wall times are mostly waiting: the minimum CPU time of the
    builds (this process, every thread) and the Python call count are what to compare.
    """
    added = fill_stories(store)
    if added:
        print(f"stories: grouped the articles into {added} stories of 3 reports")
    # Warm-up (caches, imports, the renderer fingerprint) and the size of each build's files.
    sizes = {k: _story_build(store, k)[2] for k in (False, True)}
    print(
        f"files written per build: one entry per article {sizes[False] / 1e6:.2f} MB, one entry"
        f" per story {sizes[True] / 1e6:.2f} MB ({sizes[True] / sizes[False]:.3f}x)"
    )
    walls: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for with_stories in (False, True):
            wall, cpu, _size = _story_build(store, with_stories)
            walls[with_stories].append(wall)
            cpus[with_stories].append(cpu)
    without, with_ = (statistics.median(walls[k]) for k in (False, True))
    print(
        f"full build, median wall of {repeat}: one entry per article {without * 1000:.0f} ms, "
        f"one entry per story (related links) {with_ * 1000:.0f} ms, "
        f"ratio {with_ / without:.2f}"
    )
    without, with_ = (min(cpus[k]) for k in (False, True))
    print(
        f"full build, min CPU of {repeat}: one entry per article {without * 1000:.1f} ms, "
        f"one entry per story {with_ * 1000:.1f} ms, ratio {with_ / without:.3f} (goal <= 1.10)"
    )
    plain, story = (_python_calls(store, k) for k in (False, True))
    print(
        f"Python calls per build: one entry per article {plain}, one entry per story {story},"
        f" ratio {story / plain:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument(
        "--db",
        type=Path,
        help="SQLite file (default: cityfeeds-bench-feeds-N.db in the temp dir)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="e.g. PostgreSQL (default: the SQLite file --db)")
    parser.add_argument(
        "--stories",
        action="store_true",
        help="group the articles into stories and compare builds with and without them",
    )
    args = parser.parse_args(argv)
    db = args.db or Path(tempfile.gettempdir()) / f"cityfeeds-bench-feeds-{args.articles}.db"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    store = Store.open(args.database_url or f"sqlite:///{db}")
    try:
        have = store.count_articles()
        if have != args.articles:
            if have:
                raise SystemExit(
                    f"{db} holds {have} articles, not {args.articles}: delete it first"
                )
            seconds = fill(store, args.articles)
            print(
                f"store: inserted {args.articles} articles in {seconds:.1f}s"
                f" ({args.articles / seconds:.0f}/s)"
            )
        dialect = store.engine.dialect.name
        print(f"store: {args.articles} articles ({dialect}), {store.topic_counts()}")
        for line in explain(store):
            print("  plan", line)
        if args.stories:
            story_overhead(store, args.repeat)
            return 0

        times: dict[str, list[float]] = {
            "build": [],
            "rebuild": [],
            "rerender": [],
            "reads": [],
            "render": [],
            "resanitize": [],
            "bare": [],
            "plain": [],
        }
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                config = bench_config(Path(tmp))
                t0 = time.perf_counter()
                with store.snapshot():
                    report = build_feeds(config, store)
                times["build"].append(time.perf_counter() - t0)
                assert report.ok, report.failures
                # The steady state of a scheduler: same store, every file already up to date.
                t0 = time.perf_counter()
                with store.snapshot():
                    report = build_feeds(config, store)
                times["rebuild"].append(time.perf_counter() - t0)
                assert report.ok and not report.changed, report.changed
                assert len(report.reused) == len(feed_specs(config)), report.reused
                # The same without the recorded signatures (as after an upgrade): every feed
                # is rendered and compared with its file, nothing is written.
                t0 = time.perf_counter()
                with store.snapshot():
                    report = build_feeds(config, _Unsigned(store))
                times["rerender"].append(time.perf_counter() - t0)
                assert report.ok and not report.changed and not report.reused
                # The same queries alone, whose results both renderers then use from memory.
                t0 = time.perf_counter()
                with store.snapshot():
                    specs = [spec for spec, _site in feed_specs(config)]
                    found = store.feed_articles(
                        [store_selection(spec) for spec in specs], limit=config.feed_size
                    )
                    feeds = [(spec.path, items) for spec, items in zip(specs, found, strict=True)]
                times["reads"].append(time.perf_counter() - t0)
                # Rows of unknown HTML policy (stored by an older version) are sanitized again.
                unknown = [
                    (key, [replace(a, html_policy=None) for a in items]) for key, items in feeds
                ]
                for name, run in (
                    ("render", partial(render_only, config, feeds)),
                    ("resanitize", partial(render_only, config, unknown)),
                    ("bare", partial(bare_feedgen, feeds)),
                ):
                    t0 = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - t0)
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                plain_pipeline(store, bench_config(Path(tmp)), Path(tmp))
                times["plain"].append(time.perf_counter() - t0)
        ms = {name: statistics.median(values) * 1000 for name, values in times.items()}
        best = {name: min(values) * 1000 for name, values in times.items()}
        n, reps = len(feeds), args.repeat
        print(f"medians of {reps} runs (min in brackets), {n} feeds x RSS + Atom + JSON Feed:")
        rows = (
            (
                "build",
                "build_feeds",
                "store reads + prepare + render + atomic writes + index + OPML"
                " + status rows, into an empty directory",
            ),
            (
                "rebuild",
                "rebuild",
                "build_feeds again, nothing changed: same signatures, files kept unrendered",
            ),
            (
                "rerender",
                "  re-render",
                "the same without recorded signatures: rendered, compared, nothing written",
            ),
            ("reads", "store reads", f"Store.feed_articles for the {n} feeds alone"),
            ("render", "render only", "prepare + render, articles in memory"),
            (
                "resanitize",
                "  re-sanitize",
                "render only, every body sanitized again (rows of unknown HTML policy)",
            ),
            ("bare", "bare feedgen", "same fields, feedgen + json.dumps"),
            (
                "plain",
                "plain program",
                "whole-row reads + bare feedgen + plain writes (no fsync), for context",
            ),
        )
        for key, label, what in rows:
            print(f"  {label:<13} {ms[key]:7.1f} ms [{best[key]:6.1f}]  ({what})")
        for label, t in (("medians", ms), ("minima", best)):
            print(
                f"ratio vs bare feedgen ({label}): render only {t['render'] / t['bare']:.2f}x,"
                f" build_feeds {t['build'] / t['bare']:.2f}x,"
                f" build_feeds - store reads {(t['build'] - t['reads']) / t['bare']:.2f}x,"
                f" rebuild {t['rebuild'] / t['bare']:.2f}x,"
                f" re-render {t['rerender'] / t['bare']:.2f}x"
                "  (goal <= 1.2x)"
            )
            print(
                f"ratio vs the plain program ({label}): build_feeds"
                f" {t['build'] / t['plain']:.2f}x, rebuild {t['rebuild'] / t['plain']:.2f}x"
            )
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
