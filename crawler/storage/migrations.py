"""Schema migrations: an ordered, append-only list, and the routine that applies what is missing."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection

from crawler.storage.schema import (
    feed_builds,
    metadata,
    pruned_runs,
    schema_version,
    stories,
    story_members,
)

logger = logging.getLogger(__name__)


class SchemaTooNew(Exception):
    """The database was written by a newer cityfeeds, whose schema this version does not know."""

    def __init__(self, found: int) -> None:
        super().__init__(
            f"it was written by a newer cityfeeds (schema version {found}; this version knows"
            f" up to {SCHEMA_VERSION}): upgrade cityfeeds, or use a backup from before the upgrade"
        )
        self.found = found


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


def _add_stories(conn: Connection) -> None:
    # Version 5: story clustering. Articles stored before have no story (NULL) and show as
    # their own entries until `cityfeeds feeds --recluster` assigns them.
    stored = conn.execute(text("SELECT count(*) FROM articles")).scalar()
    if stored:
        logger.warning(
            "%d article(s) stored before this version have no story: run `cityfeeds feeds"
            " --recluster` once to group them with later reports of the same events",
            stored,
        )
    conn.execute(text("ALTER TABLE articles ADD COLUMN story_id INTEGER"))
    conn.execute(text("CREATE INDEX ix_articles_story ON articles (story_id)"))
    metadata.create_all(conn, tables=[stories, story_members])


def _add_feed_last_ok(conn: Connection) -> None:
    # Version 6: a feed's last successful build, kept through failed ones. Builds recorded
    # before know it only when their last build succeeded (then it is ``built_at``).
    kind = feed_builds.c.last_ok_at.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE feed_builds ADD COLUMN last_ok_at {kind}"))
    conn.execute(
        update(feed_builds)
        .where(feed_builds.c.ok.is_(True))
        .values(last_ok_at=feed_builds.c.built_at)
    )


def _forget_validators(conn: Connection) -> None:
    # Version 7: a sitemap index or a rejected feed no longer keeps validators (a 304 hid the
    # index's child sitemaps, and passed a broken feed for read). Those stored before are not
    # told apart, so all go: every feed, sitemap and listing is read in full once.
    conn.execute(text("DELETE FROM http_cache"))


def _add_pruned_runs(conn: Connection) -> None:
    # Version 8: sums of the runs retention deletes (the /metrics run counters never go down).
    # Runs pruned before are gone: the counters count from what the store still holds.
    metadata.create_all(conn, tables=[pruned_runs])


# Append-only: each entry upgrades the schema from version i to i+1. A fresh database is
# created at the latest version directly (from crawler.storage.schema, which must already hold
# what the new entry adds); never edit an entry once released.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _add_html_policy,
    _add_feed_signatures,
    _add_run_owner,
    _add_stories,
    _add_feed_last_ok,
    _forget_validators,
    _add_pruned_runs,
]
SCHEMA_VERSION = 1 + len(MIGRATIONS)
_MIGRATE_LOCK = 0x63697479  # PostgreSQL advisory lock key held while migrating ("city")


def upgrade(conn: Connection) -> None:
    """Create the schema, or apply the migrations it lacks, inside ``conn``'s write transaction."""
    if conn.dialect.name != "sqlite":
        # Processes opening a fresh PostgreSQL schema at once (distributed workers) would race
        # in CREATE TABLE; SQLite's BEGIN IMMEDIATE already serializes.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK})
    metadata.create_all(conn, tables=[schema_version])
    current = conn.execute(select(func.max(schema_version.c.version))).scalar()
    if current is None:
        metadata.create_all(conn)
        conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
        return
    if current > SCHEMA_VERSION:
        # Writing rows a newer schema's code does not expect (an article without what a later
        # version adds) would corrupt that version's data silently: refuse, as a rollback must.
        raise SchemaTooNew(current)
    for version in range(current, SCHEMA_VERSION):
        logger.info("migrating database schema to version %d", version + 1)
        MIGRATIONS[version - 1](conn)
        conn.execute(insert(schema_version).values(version=version + 1))
