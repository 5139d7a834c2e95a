"""Article store on SQLAlchemy Core: one schema for SQLite and PostgreSQL, idempotent upserts."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.sql import Select

from crawler.models import Article, FeedBuild, TopicMatch
from crawler.normalize.urls import url_identity

logger = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("url_key", String(2048), nullable=False, unique=True),
    Column("source", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("html", Text, nullable=False, default=""),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("authors", JSON, nullable=False, default=list),
    Column("section", Text),
    Column("tags", JSON, nullable=False, default=list),
    Column("image", String(2048)),
    Column("language", String(16)),
    Column("provenance", JSON, nullable=False, default=dict),
    Column("flags", JSON, nullable=False, default=list),
    Column("content_hash", String(64), nullable=False),
    # The sanitizer policy ``html`` was cleaned with (crawler.normalize.html.SANITIZE_POLICY);
    # NULL when unknown, and then the feed builder sanitizes it again.
    Column("html_policy", Integer),
    Index("ix_articles_published", "published", "id"),
    Index("ix_articles_source_published", "source", "published", "id"),
)

article_topics = Table(
    "article_topics",
    metadata,
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("topic", String(64), primary_key=True),
    Column("score", Float, nullable=False),
    Column("evidence", JSON, nullable=False, default=list),
    # Denormalized so "newest N of a topic" is one index range scan at millions of rows.
    Column("published", UTCDateTime, nullable=False),
    Index("ix_article_topics_topic_published", "topic", "published", "article_id"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    # running | ok | degraded | partial | deferred | failed | interrupted | killed (docs/runs.md)
    Column("status", String(16), nullable=False),
    Column("pages", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("dropped", JSON, nullable=False, default=dict),
    Column("errors", Integer, nullable=False, default=0),
    Column("message", Text),
    Column("stats", JSON, nullable=False, default=dict),
    # The process that owns a running run, so a row it left ``running`` when it died can be
    # told from a live one (crawler.lifecycle.close_dead_runs).
    Column("pid", Integer),
    Column("host", String(255)),
    Index("ix_runs_source_started", "source", "started_at"),
)

http_cache = Table(
    "http_cache",
    metadata,
    Column("url", String(2048), primary_key=True),
    Column("etag", String(512)),
    Column("last_modified", String(64)),
    Column("checked_at", UTCDateTime, nullable=False),
)

feed_builds = Table(
    "feed_builds",
    metadata,
    Column("path", String(256), primary_key=True),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    Column("items", Integer, nullable=False, default=0),
    Column("built_at", UTCDateTime, nullable=False),
    # Of a successful feed build: the hash of what its files were rendered from, and a stamp of
    # the files written. A later build with the same inputs and untouched files need not render.
    Column("signature", String(64)),
    Column("stamp", String(64)),
)

source_state = Table(
    "source_state",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("backoff_until", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_status", String(16)),
    Column("skipped_overlaps", Integer, nullable=False, default=0),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
)


def _add_html_policy(conn: Connection) -> None:
    # Version 2: rows stored before know nothing of their HTML's policy (NULL: sanitize again).
    conn.execute(text("ALTER TABLE articles ADD COLUMN html_policy INTEGER"))


def _add_feed_signatures(conn: Connection) -> None:
    # Version 3: builds recorded before have no signature, so the next build renders everything.
    conn.execute(text("ALTER TABLE feed_builds ADD COLUMN signature VARCHAR(64)"))
    conn.execute(text("ALTER TABLE feed_builds ADD COLUMN stamp VARCHAR(64)"))


def _add_run_owner(conn: Connection) -> None:
    # Version 4: runs recorded before have no owner; a stale one among them is closed as
    # interrupted by the next crawl, status or service start.
    conn.execute(text("ALTER TABLE runs ADD COLUMN pid INTEGER"))
    conn.execute(text("ALTER TABLE runs ADD COLUMN host VARCHAR(255)"))


# Append-only: each entry upgrades the schema from version i to i+1. A fresh database is
# created at the latest version directly; never edit an entry once released.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _add_html_policy,
    _add_feed_signatures,
    _add_run_owner,
]
SCHEMA_VERSION = 1 + len(MIGRATIONS)
_MIGRATE_LOCK = 0x63697479  # PostgreSQL advisory lock key held while migrating ("city")


@dataclass
class UpsertResult:
    """Outcome of storing one article: ``new``, ``updated`` or ``unchanged``."""

    status: str
    article_id: int


@dataclass
class RunStats:
    """What one crawl run did; stored in ``runs``."""

    pages: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def content_hash(article: Article) -> str:
    """Hash of what a reader sees; an edit of any of these fields is an update."""
    payload = json.dumps(
        [
            article.title,
            article.summary,
            article.text,
            article.html,
            article.authors,
            article.section,
            article.tags,
            article.image,
        ],
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _retry_locked(fn: Callable[[], Any], *, attempts: int = 8) -> Any:
    """Run ``fn``; on SQLite "database is locked" wait with jittered backoff and retry."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            logger.warning("database is locked, retrying in %.2fs (attempt %d)", delay, attempt + 1)
            time.sleep(delay + random.uniform(0, delay))
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


class Store:
    """All database access of cityfeeds. Open one per process (never share across a fork)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._local = threading.local()

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, create: bool = True, busy_timeout: float = 30.0) -> Store:
        """Connect to ``url`` (SQLAlchemy URL) and create or migrate the schema."""
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:" and not path.startswith("file:"):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url, connect_args={"timeout": busy_timeout, "check_same_thread": False}
            )
            _install_sqlite_hooks(engine, busy_timeout)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        store = cls(engine)
        if create:
            store.migrate()
        return store

    def close(self) -> None:
        """Release all connections."""
        self.engine.dispose()

    def migrate(self) -> None:
        """Create the schema, or apply the migrations it lacks."""

        def run() -> None:
            with self._write() as conn:
                if not self.is_sqlite:
                    # Processes opening a fresh PostgreSQL schema at once (distributed workers)
                    # would race in CREATE TABLE; SQLite's BEGIN IMMEDIATE already serializes.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK})
                metadata.create_all(conn, tables=[schema_version])
                current = conn.execute(select(func.max(schema_version.c.version))).scalar()
                if current is None:
                    metadata.create_all(conn)
                    conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
                    return
                for version in range(current, SCHEMA_VERSION):
                    logger.info("migrating database schema to version %d", version + 1)
                    MIGRATIONS[version - 1](conn)
                    conn.execute(insert(schema_version).values(version=version + 1))

        _retry_locked(run)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite, so it never fails late as BUSY)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(cityfeeds_immediate=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        pinned = getattr(self._local, "conn", None)
        if pinned is not None:
            yield pinned
            return
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Make every read inside the block see one consistent snapshot of the database."""
        with self.engine.connect() as conn, conn.begin():
            if self.is_sqlite:
                # In WAL mode the snapshot starts at the first read: take it now.
                conn.execute(select(func.count()).select_from(schema_version))
            else:
                conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    # -- articles --------------------------------------------------------------------------

    def upsert_article(self, article: Article, *, now: datetime) -> UpsertResult:
        """Insert a new article or update an edited one in place (identity and first-seen kept).

        An unchanged re-crawl writes nothing. The publication date never changes once stored.
        Safe when several processes store the same URL at once (distributed workers).
        """
        return self.upsert_articles([article], now=now)[0]

    def upsert_articles(self, batch: Sequence[Article], *, now: datetime) -> list[UpsertResult]:
        """``upsert_article`` for many articles in one write transaction; results in order.

        All or nothing: a failure rolls the whole batch back, so a crash mid-batch leaves none
        of it stored (and its URLs unknown, so the next run fetches them again).
        """
        if not batch:
            return []
        attempts = 5
        for attempt in range(attempts):
            try:
                return list(_retry_locked(lambda: self._upsert_batch(batch, now)))
            except IntegrityError:
                # Another process inserted one of these URLs between our read and our insert
                # (PostgreSQL lets both read "absent"; SQLite's BEGIN IMMEDIATE cannot race).
                # The batch was rolled back; its rows are committed now, so the next attempt
                # sees them and stores those articles as unchanged/updated.
                if attempt == attempts - 1:
                    raise
                logger.debug("concurrent insert in a batch of %d, re-reading", len(batch))
        raise AssertionError("unreachable")

    def _upsert_batch(self, batch: Sequence[Article], now: datetime) -> list[UpsertResult]:
        digests = [content_hash(a) for a in batch]
        keys = [url_identity(a.url) for a in batch]
        with self._write() as conn:
            if len(set(keys)) != len(keys):
                # The same article twice in one batch: the second must see the first's row,
                # so store them one by one (still in this one transaction).
                return [
                    self._upsert_one(conn, a, d, k, now)
                    for a, d, k in zip(batch, digests, keys, strict=True)
                ]
            stored: dict[str, Any] = {}
            for i in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                for row in conn.execute(
                    select(
                        articles.c.id,
                        articles.c.url_key,
                        articles.c.content_hash,
                        articles.c.published,
                    ).where(articles.c.url_key.in_(keys[i : i + 500]))
                ):
                    stored[row.url_key] = row
            results: list[UpsertResult | None] = [None] * len(batch)
            fresh: list[int] = []
            for i, (article, digest, key) in enumerate(zip(batch, digests, keys, strict=True)):
                found = stored.get(key)
                if found is None:
                    fresh.append(i)
                elif found.content_hash == digest:
                    results[i] = UpsertResult("unchanged", found.id)
                else:
                    self._update(conn, found, article, digest, key, now)
                    results[i] = UpsertResult("updated", found.id)
            if fresh:
                rows = []
                for i in fresh:
                    values = _article_values(batch[i], digests[i], keys[i])
                    values.update(first_seen=now, fetched_at=batch[i].fetched_at or now)
                    rows.append(values)
                # One multi-row INSERT ... RETURNING, ids in parameter order.
                ids = (
                    conn.execute(
                        insert(articles).returning(articles.c.id, sort_by_parameter_order=True),
                        rows,
                    )
                    .scalars()
                    .all()
                )
                topic_rows = []
                for i, article_id in zip(fresh, ids, strict=True):
                    results[i] = UpsertResult("new", article_id)
                    topic_rows += _topic_rows(article_id, batch[i].topics, batch[i].published)
                if topic_rows:
                    conn.execute(insert(article_topics), topic_rows)
            return [r for r in results if r is not None]

    def _upsert_one(
        self, conn: Connection, article: Article, digest: str, key: str, now: datetime
    ) -> UpsertResult:
        row = conn.execute(
            select(articles.c.id, articles.c.content_hash, articles.c.published).where(
                articles.c.url_key == key
            )
        ).first()
        if row is None:
            values = _article_values(article, digest, key)
            values.update(first_seen=now, fetched_at=article.fetched_at or now)
            inserted = conn.execute(insert(articles).values(**values)).inserted_primary_key
            assert inserted is not None
            self._write_topics(conn, inserted[0], article.topics, article.published)
            return UpsertResult("new", inserted[0])
        if row.content_hash == digest:
            return UpsertResult("unchanged", row.id)
        self._update(conn, row, article, digest, key, now)
        return UpsertResult("updated", row.id)

    def _update(
        self, conn: Connection, row: Any, article: Article, digest: str, key: str, now: datetime
    ) -> None:
        values = _article_values(article, digest, key)
        del values["published"], values["url"]  # identity and publication date are fixed
        values["updated"] = article.updated or article.fetched_at or now
        values["fetched_at"] = article.fetched_at or now
        conn.execute(update(articles).where(articles.c.id == row.id).values(**values))
        self._write_topics(conn, row.id, article.topics, row.published)

    def _write_topics(
        self, conn: Connection, article_id: int, topics: Sequence[TopicMatch], published: datetime
    ) -> None:
        conn.execute(delete(article_topics).where(article_topics.c.article_id == article_id))
        if topics:
            conn.execute(insert(article_topics), _topic_rows(article_id, topics, published))

    def known_urls(self, source: str, *, first_seen_before: datetime | None = None) -> set[str]:
        """URL identities of a source's stored articles (optionally only older ones)."""
        query = select(articles.c.url_key).where(articles.c.source == source)
        if first_seen_before is not None:
            query = query.where(articles.c.first_seen < first_seen_before)
        with self._read() as conn:
            return set(conn.execute(query).scalars())

    def newest_articles(
        self, *, topic: str | None = None, source: str | None = None, limit: int = 50
    ) -> list[Article]:
        """Newest articles (published desc, then url), optionally of one topic or source."""
        with self._read() as conn:
            rows = conn.execute(_newest_query(articles, topic, source, limit)).mappings().all()
            return self._with_topics(conn, rows)

    def feed_articles(
        self, selections: Sequence[tuple[str | None, str | None]], *, limit: int = 50
    ) -> list[list[Article]]:
        """The newest articles of several feeds in one read, for the feed builder.

        ``selections`` are ``(topic, source)`` pairs (``None`` for any); each gets what
        :meth:`newest_articles` would return, in one snapshot. Each distinct article is loaded
        once (one object in every list holding it) and only with what feeds show: ``text``
        only its first :data:`FEED_TEXT_CHARS` characters (a fallback description), ``tags``,
        ``provenance``, ``flags`` and topic evidence empty. Never store these objects back.
        """
        with self._read() as conn:
            id_lists = [
                list(conn.execute(_newest_query(articles.c.id, topic, source, limit)).scalars())
                for topic, source in selections
            ]
            wanted = sorted({i for ids in id_lists for i in ids})
            found: dict[int, Article] = {}
            topics: dict[int, list[TopicMatch]] = {i: [] for i in wanted}
            for first in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
                chunk = wanted[first : first + 500]
                for t in conn.execute(
                    select(
                        article_topics.c.article_id, article_topics.c.topic, article_topics.c.score
                    )
                    .where(article_topics.c.article_id.in_(chunk))
                    .order_by(
                        article_topics.c.article_id,
                        article_topics.c.score.desc(),
                        article_topics.c.topic,
                    )
                ):
                    topics[t.article_id].append(TopicMatch(t.topic, t.score))
                for row in conn.execute(
                    select(*_FEED_COLUMNS).where(articles.c.id.in_(chunk))
                ).mappings():
                    found[row["id"]] = _row_to_article(row, topics[row["id"]])
        # Outside a snapshot, PostgreSQL's READ COMMITTED gives each query its own: skip a row
        # that vanished in between rather than fail the build.
        return [[found[i] for i in ids if i in found] for ids in id_lists]

    def iter_articles(self, *, batch: int = 500) -> Iterator[Article]:
        """Every stored article, in id order, in batches (for re-tagging)."""
        last = 0
        while True:
            with self._read() as conn:
                rows = (
                    conn.execute(
                        select(articles)
                        .where(articles.c.id > last)
                        .order_by(articles.c.id)
                        .limit(batch)
                    )
                    .mappings()
                    .all()
                )
                if not rows:
                    return
                found = self._with_topics(conn, rows)
            last = rows[-1]["id"]
            yield from found

    def get_article(self, url: str) -> Article | None:
        """The stored article with this URL (any variant with the same identity)."""
        with self._read() as conn:
            rows = (
                conn.execute(select(articles).where(articles.c.url_key == url_identity(url)))
                .mappings()
                .all()
            )
            found = self._with_topics(conn, rows)
        return found[0] if found else None

    def _with_topics(self, conn: Connection, rows: Sequence[Any]) -> list[Article]:
        ids = [r["id"] for r in rows]
        topics: dict[int, list[TopicMatch]] = {i: [] for i in ids}
        if ids:
            for t in conn.execute(
                select(article_topics)
                .where(article_topics.c.article_id.in_(ids))
                .order_by(
                    article_topics.c.article_id,
                    article_topics.c.score.desc(),
                    article_topics.c.topic,
                )
            ).mappings():
                topics[t["article_id"]].append(
                    TopicMatch(t["topic"], t["score"], list(t["evidence"]))
                )
        return [_row_to_article(r, topics[r["id"]]) for r in rows]

    def set_topics(self, url: str, topics: Sequence[TopicMatch]) -> bool:
        """Replace an article's topics (re-tagging); True if they changed."""

        def run() -> bool:
            with self._write() as conn:
                row = conn.execute(
                    select(articles.c.id, articles.c.published).where(
                        articles.c.url_key == url_identity(url)
                    )
                ).first()
                if row is None:
                    return False
                old = conn.execute(
                    select(
                        article_topics.c.topic, article_topics.c.score, article_topics.c.evidence
                    )
                    .where(article_topics.c.article_id == row.id)
                    .order_by(article_topics.c.topic)
                ).all()
                new = sorted((t.id, t.score, list(t.evidence)) for t in topics)
                if [(o.topic, o.score, list(o.evidence)) for o in old] == new:
                    return False
                self._write_topics(conn, row.id, topics, row.published)
                return True

        return bool(_retry_locked(run))

    def topic_counts(self) -> dict[str, int]:
        """Number of stored articles per topic."""
        with self._read() as conn:
            rows = conn.execute(
                select(article_topics.c.topic, func.count()).group_by(article_topics.c.topic)
            ).all()
        return {topic: n for topic, n in rows}

    def source_counts(self) -> dict[str, int]:
        """Number of stored articles per source."""
        with self._read() as conn:
            rows = conn.execute(
                select(articles.c.source, func.count()).group_by(articles.c.source)
            ).all()
        return {source: n for source, n in rows}

    def newest_published(self) -> dict[str, datetime]:
        """Publication time of each source's newest article."""
        with self._read() as conn:
            rows = conn.execute(
                select(articles.c.source, func.max(articles.c.published)).group_by(
                    articles.c.source
                )
            ).all()
        as_utc = UTCDateTime().process_result_value
        return {s: dt for s, d in rows if (dt := as_utc(d, self.engine.dialect)) is not None}

    def count_articles(self) -> int:
        """Number of stored articles."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(articles)).scalar() or 0)

    # -- runs ------------------------------------------------------------------------------

    def start_run(
        self, source: str, *, now: datetime, pid: int | None = None, host: str | None = None
    ) -> int:
        """Record the start of a crawl run owned by process ``pid`` on ``host``; returns its id."""

        def run() -> int:
            with self._write() as conn:
                inserted = conn.execute(
                    insert(runs).values(
                        source=source,
                        started_at=now,
                        status="running",
                        dropped={},
                        stats={},
                        pid=pid,
                        host=host,
                    )
                ).inserted_primary_key
                assert inserted is not None
                return int(inserted[0])

        return int(_retry_locked(run))

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        stats: RunStats,
        now: datetime,
        message: str | None = None,
    ) -> None:
        """Record the end of a crawl run with its figures."""

        def run() -> None:
            with self._write() as conn:
                conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id)
                    .values(
                        finished_at=now,
                        status=status,
                        pages=stats.pages,
                        new=stats.new,
                        updated=stats.updated,
                        unchanged=stats.unchanged,
                        dropped=dict(sorted(stats.dropped.items())),
                        errors=stats.errors,
                        message=message,
                        stats=_jsonable(stats.extra),
                    )
                )

        _retry_locked(run)

    def add_to_run(
        self, run_id: int, counts: dict[str, int], dropped: dict[str, int] | None = None
    ) -> bool:
        """Add figures to a recorded run: ``counts`` of ``pages``, ``new``, ``updated``,
        ``unchanged`` and ``errors``, and ``dropped`` by reason; ``False`` if it does not exist.

        Distributed workers on several machines add what became of the pages queued for one
        scheduled run; each addition is one transaction, and the row is locked while the
        ``dropped`` reasons are merged, so concurrent additions never lose a count.
        """
        unknown = set(counts) - {"pages", "new", "updated", "unchanged", "errors"}
        if unknown:
            raise ValueError(f"not run figures: {sorted(unknown)}")

        def run() -> bool:
            with self._write() as conn:
                query = select(runs.c.dropped).where(runs.c.id == run_id)
                row = conn.execute(query if self.is_sqlite else query.with_for_update()).first()
                if row is None:
                    return False
                values: dict[str, Any] = {
                    name: getattr(runs.c, name) + int(n) for name, n in counts.items() if n
                }
                if dropped:
                    merged = Counter(row.dropped or {})
                    merged.update({k: int(v) for k, v in dropped.items()})
                    values["dropped"] = dict(sorted(merged.items()))
                if values:
                    conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
                return True

        return bool(_retry_locked(run))

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """One run as a dict, or None."""
        with self._read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        return dict(row) if row is not None else None

    def running_runs(self) -> list[dict[str, Any]]:
        """Runs still marked ``running`` (live, or left so by a process that died)."""
        with self._read() as conn:
            query = select(runs).where(runs.c.status == "running").order_by(runs.c.id)
            return [dict(r) for r in conn.execute(query).mappings()]

    def close_run(
        self, run_id: int, *, status: str, now: datetime, message: str, only_running: bool = True
    ) -> bool:
        """Set a run's final status and message, keeping the figures it already has.

        With ``only_running`` (the default) a run another process has already closed is left
        alone; returns whether the row changed.
        """

        def run() -> bool:
            with self._write() as conn:
                query = update(runs).where(runs.c.id == run_id)
                if only_running:
                    query = query.where(runs.c.status == "running")
                values: dict[str, Any] = {"status": status, "message": message}
                if only_running:
                    values["finished_at"] = now
                return bool(conn.execute(query.values(**values)).rowcount)

        return bool(_retry_locked(run))

    def close_stale_runs(self, *, now: datetime, message: str = "process died") -> int:
        """Mark runs left 'running' by a killed process as killed; returns how many."""

        def run() -> int:
            with self._write() as conn:
                return conn.execute(
                    update(runs)
                    .where(runs.c.status == "running")
                    .values(status="killed", finished_at=now, message=message)
                ).rowcount

        return int(_retry_locked(run))

    def recent_runs(self, source: str | None = None, *, limit: int = 20) -> list[dict[str, Any]]:
        """The latest runs, newest first, as dicts."""
        query = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        if source is not None:
            query = query.where(runs.c.source == source)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- conditional GET -------------------------------------------------------------------

    def get_validators(self, url: str) -> tuple[str | None, str | None]:
        """The stored (ETag, Last-Modified) of a feed/sitemap/listing URL."""
        with self._read() as conn:
            row = conn.execute(
                select(http_cache.c.etag, http_cache.c.last_modified).where(http_cache.c.url == url)
            ).first()
        return (row.etag, row.last_modified) if row else (None, None)

    def all_validators(self) -> dict[str, tuple[str | None, str | None]]:
        """Every stored (ETag, Last-Modified), keyed by URL."""
        with self._read() as conn:
            rows = conn.execute(select(http_cache)).mappings().all()
        return {r["url"]: (r["etag"], r["last_modified"]) for r in rows}

    def set_validators(
        self, url: str, etag: str | None, last_modified: str | None, *, now: datetime
    ) -> None:
        """Remember a URL's validators for the next conditional GET."""

        def run() -> None:
            with self._write() as conn:
                conn.execute(delete(http_cache).where(http_cache.c.url == url))
                if etag or last_modified:
                    conn.execute(
                        insert(http_cache).values(
                            url=url, etag=etag, last_modified=last_modified, checked_at=now
                        )
                    )

        _retry_locked(run)

    # -- feed builds and source state ------------------------------------------------------

    def record_feed_build(self, feed_path: str, ok: bool, error: str | None, items: int) -> None:
        """Remember the outcome of building one feed file."""
        self.record_feed_builds([FeedBuild(feed_path, ok, error, items)])

    def record_feed_builds(self, outcomes: Sequence[FeedBuild]) -> None:
        """Remember the outcomes of a build, in one transaction."""
        if not outcomes:
            return
        now = datetime.now(UTC)
        rows = [{**outcome._asdict(), "built_at": now} for outcome in outcomes]

        def run() -> None:
            with self._write() as conn:
                paths = [r["path"] for r in rows]
                conn.execute(delete(feed_builds).where(feed_builds.c.path.in_(paths)))
                conn.execute(insert(feed_builds), rows)

        _retry_locked(run)

    def feed_signatures(self) -> dict[str, tuple[str, str]]:
        """``(signature, files stamp)`` of the last build of each path that recorded them."""
        query = select(feed_builds.c.path, feed_builds.c.signature, feed_builds.c.stamp).where(
            feed_builds.c.ok.is_(True),
            feed_builds.c.signature.is_not(None),
            feed_builds.c.stamp.is_not(None),
        )
        with self._read() as conn:
            return {r.path: (r.signature, r.stamp) for r in conn.execute(query)}

    def feed_build_status(self) -> list[dict[str, Any]]:
        """Outcome of the last build of every feed file."""
        with self._read() as conn:
            return [
                dict(r)
                for r in conn.execute(select(feed_builds).order_by(feed_builds.c.path)).mappings()
            ]

    def get_source_state(self, source: str) -> dict[str, Any]:
        """Scheduler bookkeeping of one source (failures, backoff)."""
        with self._read() as conn:
            row = (
                conn.execute(select(source_state).where(source_state.c.source == source))
                .mappings()
                .first()
            )
        if row is None:
            return {
                "source": source,
                "consecutive_failures": 0,
                "backoff_until": None,
                "last_success": None,
                "last_status": None,
                "skipped_overlaps": 0,
            }
        return dict(row)

    def set_source_state(self, source: str, **values: Any) -> None:
        """Update scheduler bookkeeping of one source."""

        def run() -> None:
            with self._write() as conn:
                row = conn.execute(
                    select(source_state.c.source).where(source_state.c.source == source)
                ).first()
                if row is None:
                    conn.execute(insert(source_state).values(source=source, **values))
                else:
                    conn.execute(
                        update(source_state).where(source_state.c.source == source).values(**values)
                    )

        _retry_locked(run)

    # -- maintenance -----------------------------------------------------------------------

    def integrity_check(self) -> str:
        """'ok' when the database is sound (SQLite's integrity_check; always 'ok' elsewhere)."""
        if not self.is_sqlite:
            return "ok"
        with self.engine.connect() as conn:
            return ", ".join(r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all())


def _install_sqlite_hooks(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        try:
            cur.execute("PRAGMA journal_mode = WAL")
        except Exception:  # a read-only or in-memory database keeps its journal mode
            logger.debug("could not switch SQLite to WAL", exc_info=True)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("cityfeeds_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _topic_rows(
    article_id: int, topics: Sequence[TopicMatch], published: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "article_id": article_id,
            "topic": t.id,
            "score": t.score,
            "evidence": list(t.evidence),
            "published": published,
        }
        for t in topics
    ]


def _article_values(article: Article, digest: str, key: str) -> dict[str, Any]:
    return {
        "url": article.url,
        "url_key": key,
        "source": article.source,
        "title": article.title,
        "summary": article.summary,
        "text": article.text,
        "html": article.html,
        "published": article.published,
        "updated": article.updated,
        "authors": list(article.authors),
        "section": article.section,
        "tags": list(article.tags),
        "image": article.image,
        "language": article.language,
        "provenance": dict(article.provenance),
        "flags": list(article.flags),
        "content_hash": digest,
        "html_policy": article.html_policy,
    }


def _newest_query(columns: Any, topic: str | None, source: str | None, limit: int) -> Select[Any]:
    """``columns`` of the newest ``limit`` articles (published desc, then url) of a topic/source.

    Ordered as the indexes are (``article_topics.published`` for a topic), so the database
    walks an index and stops after ``limit`` rows, whatever the store size.
    """
    query = select(columns)
    if topic is not None:
        query = query.join(article_topics, article_topics.c.article_id == articles.c.id).where(
            article_topics.c.topic == topic
        )
        query = query.order_by(article_topics.c.published.desc(), articles.c.url)
    else:
        query = query.order_by(articles.c.published.desc(), articles.c.url)
    if source is not None:
        query = query.where(articles.c.source == source)
    return query.limit(limit)


#: How much of an article's text :meth:`Store.feed_articles` loads (feeds show at most a
#: 600-character excerpt of it, and only for articles without a summary).
FEED_TEXT_CHARS = 2400
_FEED_COLUMNS = (
    articles.c.id,
    articles.c.url,
    articles.c.source,
    articles.c.title,
    articles.c.summary,
    func.substr(articles.c.text, 1, FEED_TEXT_CHARS).label("text"),
    articles.c.html,
    articles.c.html_policy,
    articles.c.published,
    articles.c.updated,
    articles.c.authors,
    articles.c.section,
    articles.c.image,
    articles.c.language,
)


def _row_to_article(row: Any, topics: list[TopicMatch]) -> Article:
    """An ``Article`` from a row of ``articles``, whole or of :data:`_FEED_COLUMNS` (the columns
    left out there stay empty)."""
    return Article(
        url=row["url"],
        source=row["source"],
        title=row["title"],
        published=row["published"],
        summary=row["summary"],
        text=row["text"],
        html=row["html"],
        updated=row["updated"],
        authors=list(row["authors"] or []),
        section=row["section"],
        tags=list(row.get("tags") or []),
        image=row["image"],
        language=row["language"],
        provenance=dict(row.get("provenance") or {}),
        flags=list(row.get("flags") or []),
        html_policy=row["html_policy"],
        topics=topics,
        first_seen=row.get("first_seen"),
        fetched_at=row.get("fetched_at"),
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def retag_all(store: Store, classify: Callable[[Article], Iterable[TopicMatch]]) -> tuple[int, int]:
    """Re-score every stored article with ``classify``; returns (articles seen, changed)."""
    seen = changed = 0
    for article in store.iter_articles():
        seen += 1
        if store.set_topics(article.url, list(classify(article))):
            changed += 1
    return seen, changed
