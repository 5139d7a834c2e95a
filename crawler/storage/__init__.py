"""Storage: articles, runs, HTTP validators, feed builds, retention (SQLAlchemy Core, no Scrapy).

The public API is :class:`Store` (open one per process) and the values it takes and returns;
the tables are in :mod:`crawler.storage.schema`, the migrations in
:mod:`crawler.storage.migrations`.
"""

from __future__ import annotations

from crawler.storage.article_queries import FEED_TEXT_CHARS
from crawler.storage.articles import UpsertResult, content_hash, retag_all
from crawler.storage.retention import PRUNE_BATCH, TEXT_PRUNED_FLAG
from crawler.storage.runs import RunStats
from crawler.storage.store import Store, StoreError, StoreUnavailable, store_error_line

__all__ = [
    "FEED_TEXT_CHARS",
    "PRUNE_BATCH",
    "TEXT_PRUNED_FLAG",
    "RunStats",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UpsertResult",
    "content_hash",
    "retag_all",
    "store_error_line",
]
