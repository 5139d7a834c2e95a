"""``cityfeeds feeds``: rebuild every feed from the store (optionally re-tagging topics first)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from crawler.config import Config

NAME = "feeds"
HELP = "rebuild all feeds from the store (--retag: re-score topics, --recluster: stories)"
DESCRIPTION = """\
Rebuild RSS, Atom and JSON feeds for every topic, every source and `all`, plus index.html and
feeds.opml, from the store. Unchanged files are left untouched; a feed that fails to build keeps
its last good file. With --retag, every stored article is first re-scored against the current
topic definitions (no re-crawl needed). With --recluster, every story is forgotten and all
stored articles are assigned again with the current [stories] settings (restart running
services and workers afterwards so they rebuild their story index).
"""

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retag", action="store_true", help="re-score stored articles against the topics first"
    )
    parser.add_argument(
        "--recluster", action="store_true", help="rebuild stories from the store first"
    )


def rebuild_feeds(config: Config, *, retag: bool = False, recluster: bool = False) -> Any:
    """Build all feeds from one consistent snapshot of the store; returns the build report."""
    from crawler.storage import Store
    from feeds.build import build_feeds

    store = Store.open(config.database_url)
    try:
        if retag:
            seen, changed = retag_store(config, store)
            print(f"Re-tagged {seen} article(s): topics changed on {changed}.")
        if recluster:
            seen, count = store.recluster_stories(settings=config.stories.settings())
            print(f"Re-clustered {seen} article(s) into {count} stories.")
        with store.snapshot():
            return build_feeds(config, store)
    finally:
        store.close()


def retag_store(config: Config, store: Any) -> tuple[int, int]:
    """Re-score every stored article with the configured topics."""
    from crawler.storage import retag_all
    from crawler.topics.engine import TopicEngine

    engine = TopicEngine(config.topics)
    cities = {s.name: s.city for s in config.sources}
    return retag_all(store, lambda a: engine.classify_article(a, city=cities.get(a.source)))


def build_summary(report: Any) -> str:
    """One line about a feed build, plus one line per failed feed."""
    kept = len(getattr(report, "reused", []))
    line = (
        f"Feeds: {len(report.results)} built (feeds, index page, OPML), "
        f"{len(report.changed)} changed, {len(report.unchanged)} unchanged"
        + (f" ({kept} kept without rendering: same inputs)" if kept else "")
        + f", {len(report.failures)} failed"
    )
    fails = [
        f"  {path}: {error} (last good file kept)"
        for path, error in sorted(report.failures.items())
    ]
    return "\n".join([line, *fails])


def run(args: argparse.Namespace, config: Config) -> int:
    report = rebuild_feeds(config, retag=args.retag, recluster=args.recluster)
    print(build_summary(report))
    print(f"Feeds are in {config.output_dir} (index: {config.output_dir / 'index.html'})")
    return 0 if report.ok else 1
