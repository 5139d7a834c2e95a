"""Per-crawl shared resources (config, source, store, clock) for spiders and components."""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.clock import Clock, utcnow
from crawler.config import Config, SourceSpec, load_parents_config
from crawler.models import run_of_meta
from crawler.storage import Store

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_CONTEXTS: weakref.WeakKeyDictionary[Any, CrawlContext] = weakref.WeakKeyDictionary()


@dataclass
class CrawlContext:
    """What the components of one crawler share. Created lazily, one per crawler."""

    config: Config
    database_url: str
    clock: Clock = utcnow
    source: SourceSpec | None = None
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """The crawl's store, opened on first use (in this process, never inherited)."""
        if self._store is None:
            self._store = Store.open(self.database_url)
        return self._store

    def close(self) -> None:
        """Close the store if it was opened."""
        if self._store is not None:
            self._store.close()
            self._store = None


def get_context(crawler: Crawler, config: Config | None = None) -> CrawlContext:
    """The CrawlContext of ``crawler``, created from its settings on first call.

    ``config``, when the caller already loaded it (the crawl child passes it to its spiders),
    saves reading the file again; otherwise the file ``CITYFEEDS_CONFIG`` names is loaded (in
    a crawl child: its parent's configuration, ``load_parents_config``).
    """
    ctx = _CONTEXTS.get(crawler)
    if ctx is None:
        settings = crawler.settings
        if config is None:
            config = load_parents_config(settings.get("CITYFEEDS_CONFIG") or None)
        db_url = (
            settings.get("CITYFEEDS_DATABASE_URL")
            or os.environ.get("CITYFEEDS_DATABASE_URL")
            or config.database_url
        )
        clock = settings.get("CITYFEEDS_CLOCK") or utcnow
        ctx = CrawlContext(config=config, database_url=db_url, clock=clock)
        _CONTEXTS[crawler] = ctx
    return ctx


#: Prefix of the per-run counters distributed workers keep: ``cityfeeds/run/<id>/<figure>``
#: (``pages``, ``new``, ``updated``, ``unchanged``, ``errors``, ``dropped/<reason>``).
RUN_STATS = "cityfeeds/run/"


def count_drop(
    crawler: Crawler,
    reason: str,
    detail: str = "",
    *,
    level: int = logging.WARNING,
    request: Request | None = None,
) -> None:
    """Count a dropped item or page under ``cityfeeds/dropped/<reason>`` and log it.

    ``request``: the page's request; when a distributed worker fetched it for a scheduled run,
    that run's row counts the drop too (``RUN_STATS``, crawler.distributed.run_counts).
    """
    assert crawler.stats is not None
    crawler.stats.inc_value(f"cityfeeds/dropped/{reason}")
    run_id = run_of_meta(request.meta) if request is not None else None
    if run_id is not None:
        crawler.stats.inc_value(f"{RUN_STATS}{run_id}/dropped/{reason}")
    source = getattr(crawler.spider, "source_name", "?") if crawler.spider else "?"
    logger.log(level, "[%s] dropped (%s) %s", source, reason, detail)


TIMING_STATS = "cityfeeds/timing/"


def count_timings(crawler: Crawler, timings: Mapping[str, float]) -> None:
    """Add CPU seconds per stage (:mod:`crawler.timing`) to the run's ``timing/*`` figures.

    Counted in microseconds (Scrapy's stats are integers); the stored run has seconds.
    """
    assert crawler.stats is not None
    for name, seconds in timings.items():
        crawler.stats.inc_value(f"{TIMING_STATS}{name}", round(seconds * 1e6))


@contextmanager
def timed(crawler: Crawler, name: str) -> Iterator[None]:
    """Count the CPU time of the block (this thread's) as the run's stage ``name``."""
    start = time.thread_time()
    try:
        yield
    finally:
        count_timings(crawler, {name: time.thread_time() - start})
