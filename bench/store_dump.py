"""Check: every row the store writes while storing and assigning articles, dumped for a diff.

    python bench/store_dump.py --out before.txt             # SQLite (a temporary file)
    python bench/store_dump.py --db postgresql+psycopg://... --out before.txt
    diff before.txt after.txt                               # a change to the store path

Speed work on the crawl process's store path (``ArticleStore.upsert_articles``,
``StoryStore.assign_stories``) must leave the stored rows as they were. This runs a fixed
sequence through both, on a fixed clock, and writes every row of ``articles``,
``article_topics``, ``stories`` and ``story_members`` (ordered by key; bytes in hex) to
``--out``, then prints its SHA-256. The sequence:

- the crawl benchmark's articles (``bench/stories.py --site``'s) in a crawl's order, batches of
  50, fingerprints computed ahead as the extraction workers do, the clock a week after them
  (every report takes the older days' path), one source;
- the same site's next articles under three sources (look-alikes: reports join, gather and
  move between stories), the clock at their newest (the live index, then the older days), with
  topics (Cyrillic evidence), authors, tags and flags on some, a few without a fingerprint;
- the labelled reports of ``tests/fixtures/stories/labelled.jsonl`` (real joins), at noon of
  their dates;
- a re-crawl: some articles again unchanged, some edited, one batch holding a URL twice.

``--db`` on PostgreSQL: the database must be empty (a fresh schema in the URL's search_path).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import select
from stories import _site_articles, load

from crawler.models import Article, TopicMatch
from crawler.storage import Store
from crawler.storage.schema import article_topics, articles, stories, story_members
from crawler.stories.features import Fingerprinter
from crawler.stories.settings import StorySettings

_SOURCES = ("bench", "bench-b", "bench-c")


def _run(store: Store, todo: Sequence[Article], start: datetime, settings: StorySettings) -> None:
    for n, first in enumerate(range(0, len(todo), 50)):
        batch = list(todo[first : first + 50])
        now = start + timedelta(minutes=n)
        stored = store.upsert_articles(batch, now=now)
        pairs = [(r.article_id, a) for r, a in zip(stored, batch, strict=True)]
        store.assign_stories(pairs, settings=settings, now=now)


def _ahead(todo: Sequence[Article], ahead: Fingerprinter) -> None:
    for article in todo:
        article.fingerprint = ahead.ahead(article.title, article.summary, article.text)


def scenario(store: Store) -> None:
    """The fixed sequence of stores and assignments (see the module's docstring)."""
    settings = StorySettings()
    ahead = Fingerprinter()
    site = _site_articles(1400)
    first, second = site[:600], site[600:]
    _ahead(first, ahead)
    _run(store, first, datetime(2026, 12, 5, 12, tzinfo=UTC), settings)

    for i, article in enumerate(second):
        article.url = article.url.replace("/news/", f"/{_SOURCES[i % 3]}/news/")
        article.source = _SOURCES[i % 3]
        if i % 3 == 0:
            article.topics = [
                TopicMatch("transport", 1.5 + i % 7, ["маршрут «Автобус»", f"улица {i}"]),
                TopicMatch("city", 0.75, ["мэрия"]),
            ]
        if i % 4 == 0:
            article.authors = ["Иван Петров", f"Автор {i}"]
            article.tags = ["Транспорт", "город"]
            article.section = "Новости"
            article.image = f"https://bench.example.ru/img/{i}.jpg"
            article.html = f"<p>{article.summary}</p>"
            article.provenance = {"summary": "feed", "title": "jsonld"}
        if i % 5 == 0:
            article.flags = ["no-date-in-page"]
        if i % 11 != 0:  # a few are fingerprinted by the store
            article.fingerprint = ahead.ahead(article.title, article.summary, article.text)
    newest = max(a.published for a in second).astimezone(UTC)
    _run(store, second, newest + timedelta(hours=1), settings)

    labelled = []
    for i, record in enumerate(load()):
        published = (
            datetime.fromisoformat(f"{record['published']}T12:00:00+00:00")
            if record["published"]
            else datetime(2024, 1, 1, tzinfo=UTC)
        )
        lead = str(record["lead"])
        labelled.append(
            Article(
                url=f"https://labelled.example.ru/{i}/{record['outlet']}",
                source=str(record["outlet"]),
                title=str(record["title"]),
                summary=lead,
                text=lead,
                published=published,
            )
        )
    _ahead(labelled, ahead)
    _run(store, labelled, datetime(2026, 12, 6, tzinfo=UTC), settings)

    again = [replace(a) for a in second[:120]]
    for i, article in enumerate(again):
        if i % 2:
            article.text = article.text + "\n\nДополнено: подробности."
            article.fingerprint = ahead.ahead(article.title, article.summary, article.text)
    _run(store, again, datetime(2026, 12, 7, tzinfo=UTC), settings)
    twice = [replace(second[200]), replace(second[201]), replace(second[200], title="Новое")]
    _run(store, twice, datetime(2026, 12, 8, tzinfo=UTC), settings)


def dump(store: Store) -> str:
    """Every row of the four tables, one per line, ordered by key."""
    lines = []
    tables = (
        (articles, (articles.c.id,)),
        (article_topics, (article_topics.c.article_id, article_topics.c.topic)),
        (stories, (stories.c.id,)),
        (story_members, (story_members.c.article_id,)),
    )
    with store.engine.connect() as conn:
        for table, order in tables:
            for row in conn.execute(select(table).order_by(*order)):
                values = [v.hex() if isinstance(v, bytes | memoryview) else v for v in row]
                values = [bytes(v).hex() if isinstance(v, memoryview) else v for v in values]
                lines.append(f"{table.name}\t{values!r}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database's URL (default: a temporary SQLite)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(args.db or f"sqlite:///{tmp}/dump.db")
        try:
            scenario(store)
            text = dump(store)
        finally:
            store.close()
    args.out.write_text(text, encoding="utf-8")
    print(f"{text.count(chr(10))} rows, sha256 {hashlib.sha256(text.encode()).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
