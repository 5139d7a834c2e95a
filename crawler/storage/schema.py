"""The database schema: every table of the store, on one MetaData, for SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


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

    def bind_processor(self, dialect: Any) -> Any:
        """:meth:`process_bind_param` and the dialect's own processing (SQLite's: a string),
        remembered for the last few values: a batch binds its one "now" for every row's
        first-seen, fetched, joined, created and updated times (~5 of a stored article's 8
        datetimes). Equal aware datetimes are one instant, so they bind alike in any zone."""
        process = super().bind_processor(dialect)
        if process is None:
            return None
        seen: dict[datetime, Any] = {}

        def remembered(value: datetime | None) -> Any:
            if value is None or value.tzinfo is None:
                return process(value)  # None, or the naive datetime's error
            bound = seen.get(value, _UNSEEN)
            if bound is _UNSEEN:
                if len(seen) >= _REMEMBERED_TIMES:
                    seen.clear()
                bound = seen[value] = process(value)
            return bound

        return remembered


#: Bound values :class:`UTCDateTime` remembers per column type and dialect.
_REMEMBERED_TIMES = 64
_UNSEEN = object()


#: The tables as a fresh database gets them, at :data:`crawler.storage.migrations.SCHEMA_VERSION`.
#: Changing a table here needs a migration appended in ``crawler/storage/migrations.py``.
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
    # The story (``stories.id``) the article belongs to; NULL until assigned (or when story
    # clustering is off). Not a foreign key: ``stories.article_id`` points back here.
    Column("story_id", Integer),
    Index("ix_articles_published", "published", "id"),
    Index("ix_articles_story", "story_id"),
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

# A story: reports of one event by several sources. Its feed entry is its first-seen article
# (``article_id``), whose GUID and link never change; ``updated`` moves when a member joins.
stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("size", Integer, nullable=False, default=1),
)

# How each article was assigned: its fingerprint and MinHash signature (so a process rebuilds
# the window's index without re-reading texts), the evidence, and ``seq``, the order of
# assignment (assignments are serialized), by which a process catches up on other processes'.
story_members = Table(
    "story_members",
    metadata,
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seq", Integer, nullable=False, unique=True),
    Column("published", UTCDateTime, nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("fingerprint", JSON, nullable=False),
    # The article it was matched to (NULL for a story's first article) and why.
    Column("matched_id", Integer),
    Column("evidence", JSON, nullable=False, default=list),
    Index("ix_story_members_published", "published"),
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
    # When the feed last built successfully (``built_at`` of the latest ok build): kept through
    # failed builds, so the time of the last good files outlives a full disk.
    Column("last_ok_at", UTCDateTime),
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

# What /metrics summed over the runs retention deleted, per source, so its run counters never
# go down (crawler.storage.retention.prune_runs; crawler.storage.monitoring.pruned_sums).
pruned_runs = Table(
    "pruned_runs",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("totals", JSON, nullable=False, default=dict),  # {status: {figure: sum}}
    Column("dropped", JSON, nullable=False, default=dict),  # {reason: sum}
    Column("stats", JSON, nullable=False, default=dict),  # {"errors/<kind>": sum}
    # {"bounds": [s, ...], "counts": [cumulative runs per bound], "runs": n, "seconds": sum}
    Column("durations", JSON, nullable=False, default=dict),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
)
