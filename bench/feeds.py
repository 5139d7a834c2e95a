"""Benchmark: all feeds from a store of 100k (or 1M) articles vs bare feedgen on the same entries.

    python bench/feeds.py [--articles 100000] [--db FILE] [--repeat 5]

Fills a SQLite store with bulk inserts (kept between runs), then times ``build_feeds`` (store
queries + sanitising + rendering RSS, Atom and JSON + atomic writes + index and OPML) against
bare feedgen building RSS and Atom plus ``json.dumps`` of the very same entries, already in
memory. Prints the ratio (goal <= 1.2x, independent of store size) and the index plan of the
"newest N of a topic/source" queries.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedgen.feed import FeedGenerator
from sqlalchemy import insert, text

from crawler.models import Article
from crawler.normalize.urls import url_identity
from crawler.store import Store, article_topics, articles
from feeds.build import build_feeds, feed_specs

SOURCES = ("mos", "m24", "vm", "mskagency", "mymsk")
TOPICS = ("electric-transport", "city", "roads")
PARAGRAPH = "Электробусы вышли на новые маршруты в Южном округе, сообщили в Мосгортрансе. "


def bench_config(output: Path) -> SimpleNamespace:
    """The config attributes the feed builder reads: 3 topics, 5 sources, 50 items per feed."""
    return SimpleNamespace(
        output_dir=output,
        base_url="https://feeds.example.org/",
        feed_size=50,
        timezone="Europe/Moscow",
        topics=[
            SimpleNamespace(id=t, title=t.title(), description=f"Тема {t}", languages=["ru"])
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
    print(file=sys.stderr)
    return time.monotonic() - t0


def bare_feedgen(feeds: list[tuple[str, list[Article]]]) -> None:
    """The baseline: feedgen RSS and Atom plus a JSON dump of the same entries, nothing else."""
    for key, items in feeds:
        for fmt in ("rss", "atom"):
            fg = FeedGenerator()
            fg.id(f"https://feeds.example.org/{key}.{fmt}")
            fg.title(key)
            fg.description(key)
            fg.link(href="https://feeds.example.org/", rel="alternate")
            fg.language("ru")
            for a in items:
                fe = fg.add_entry(order="append")
                fe.guid(a.url, permalink=True)
                fe.title(a.title)
                fe.link(href=a.url)
                fe.published(a.published)
                fe.updated(a.updated or a.published)
                fe.summary(a.summary)
                fe.content(a.html, type="html")
            fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
        json.dumps(
            {"items": [{"id": a.url, "title": a.title, "content_html": a.html} for a in items]},
            ensure_ascii=False,
        )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument(
        "--db", type=Path, help="SQLite file (default: /tmp/cityfeeds-bench-feeds-N.db)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="e.g. PostgreSQL (default: the SQLite file --db)")
    args = parser.parse_args(argv)
    db = args.db or Path(f"/tmp/cityfeeds-bench-feeds-{args.articles}.db")
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

        ours, bare = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                config = bench_config(Path(tmp))
                t0 = time.perf_counter()
                with store.snapshot():
                    report = build_feeds(config, store)
                ours.append(time.perf_counter() - t0)
                assert report.ok, report.failures
                # The same entries, fetched outside the timing, for the baseline.
                feeds = []
                for spec, _site in feed_specs(config):
                    topic = spec.key if spec.kind == "topic" else None
                    source = spec.key if spec.kind == "source" else None
                    feeds.append(
                        (spec.key, store.newest_articles(topic=topic, source=source, limit=50))
                    )
                t0 = time.perf_counter()
                bare_feedgen(feeds)
                bare.append(time.perf_counter() - t0)
        o, b = statistics.median(ours), statistics.median(bare)
        n = len(feeds)
        print(
            f"build_feeds:  {o * 1000:7.1f} ms for {n} feeds x 3 formats + index + OPML (median"
            f" of {args.repeat})"
        )
        print(f"bare feedgen: {b * 1000:7.1f} ms for the same {n} feeds (RSS + Atom + json.dumps)")
        print(f"ratio: {o / b:.2f}x  (goal <= 1.2x)")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
