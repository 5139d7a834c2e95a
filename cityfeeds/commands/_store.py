"""The store as the commands that only read it open it: never creating a database."""

from __future__ import annotations

import sys

from crawler.config import Config, sqlite_file
from crawler.storage import Store


def store_for_reading(config: Config) -> Store:
    """The configured store; for a SQLite file that does not exist, an empty in-memory one.

    ``status``, ``stories`` and ``topics`` only read, and ``prune`` finds nothing to prune
    there: opening a mistyped ``database_url`` (or ``CITYFEEDS_DATABASE_URL``) must not create
    a file and its folders and then report every source as never run from it. They say where
    they looked, and show an empty store.
    """
    path = sqlite_file(config.database_url)
    if path is not None and not path.exists():
        print(
            f"cityfeeds: no database at {path} yet: nothing was stored there "
            "(check database_url or CITYFEEDS_DATABASE_URL)",
            file=sys.stderr,
        )
        return Store.open("sqlite://")
    return Store.open(config.database_url)
