"""The ``Store``: one object over every storage area, opened on a URL and migrated on open."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from crawler.storage.articles import ArticleStore
from crawler.storage.engine import open_engine, retry_locked
from crawler.storage.feed_builds import FeedBuildStore
from crawler.storage.http_cache import HttpCacheStore
from crawler.storage.migrations import SchemaTooNew, upgrade
from crawler.storage.monitoring import MonitoringStore
from crawler.storage.retention import RetentionStore
from crawler.storage.runs import RunStore
from crawler.storage.source_state import SourceStateStore
from crawler.storage.stories import StoryStore


class StoreUnavailable(Exception):
    """The database cannot be opened: a bad URL, a missing driver, or a silent server.

    ``permanent``: trying again cannot help (a database written by a newer cityfeeds), so a
    supervisor must not restart the program over it.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Store(
    ArticleStore,
    RunStore,
    HttpCacheStore,
    FeedBuildStore,
    SourceStateStore,
    MonitoringStore,
    StoryStore,
    RetentionStore,
):
    """All database access of cityfeeds. Open one per process (never share across a fork).

    Each storage area is its own class on the shared :class:`crawler.storage.engine.Database`
    (engine and transactions); a new area is one module and one more base here.
    """

    @classmethod
    def open(cls, url: str, *, create: bool = True, busy_timeout: float = 30.0) -> Store:
        """Connect to ``url`` (SQLAlchemy URL) and create or migrate the schema.

        Raises :class:`StoreUnavailable` (one readable line, no password) when the URL is not a
        database URL, its driver is not installed, the server cannot be reached, or the file
        is no database or cannot be created.
        """
        store = None
        try:
            store = cls(open_engine(url, busy_timeout=busy_timeout))
            if create:
                store.migrate()
        except (
            ArgumentError,
            NoSuchModuleError,
            OperationalError,
            DatabaseError,  # e.g. "file is not a database"
            ImportError,
            OSError,  # e.g. the SQLite file's folder cannot be created
            SchemaTooNew,
        ) as exc:
            if store is not None:
                store.close()
            raise StoreUnavailable(
                f"cannot open the database {_shown(url)}: {_reason(exc, url)}",
                permanent=isinstance(exc, SchemaTooNew),
            ) from exc
        return store

    def migrate(self) -> None:
        """Create the schema, or apply the migrations it lacks."""

        def run() -> None:
            with self._write() as conn:
                upgrade(conn)

        retry_locked(run)


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


#: What a store operation raises when the database refuses it (disk full, locked too long, a
#: server gone): callers that must go on catch this and report :func:`store_error_line`.
StoreError = SQLAlchemyError


def store_error_line(exc: BaseException) -> str:
    """One readable line for a failed store operation (e.g. "database or disk is full")."""
    return _reason(exc)


#: Database drivers by module name, with what installs them: a URL whose driver is missing
#: says how to get it, not only "No module named 'psycopg'".
DRIVER_INSTALL = {
    "psycopg": "pip install -e '.[postgres]' (from a checkout) or 'psycopg[binary]'",
    "psycopg2": "or write the URL as postgresql+psycopg://... and pip install -e '.[postgres]'",
}


def _reason(exc: BaseException, url: str = "") -> str:
    """The first line of the driver's message, without SQLAlchemy's background links."""
    if isinstance(exc, ImportError):
        module = (exc.name or "").partition(".")[0]
        if module:
            hint = DRIVER_INSTALL.get(module, "install it for this Python")
            return f"its driver (Python module {module!r}) is not installed: {hint}"
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        if path.is_dir():  # SQLite says only "unable to open database file"
            return f"{path} is a folder, not a database file"
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__
