"""``cityfeeds feeds``: rebuild every feed from the store (optionally re-tagging topics first)."""

from __future__ import annotations

import argparse
import logging

from cityfeeds.publishing import build_summary, rebuild_feeds
from crawler.config import Config

NAME = "feeds"
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


def run(args: argparse.Namespace, config: Config) -> int:
    recluster = args.recluster
    if recluster and not config.stories.enabled:
        # Off means off everywhere: no stories are made, by a crawl or by this command.
        print("Story clustering is off ([stories] enabled = false): --recluster skipped.")
        recluster = False
    report = rebuild_feeds(
        config,
        retag=args.retag,
        on_retag=_print_retag,
        recluster=recluster,
        on_recluster=_print_recluster,
    )
    print(build_summary(report))
    if report.ok:
        print(f"Feeds are in {config.output_dir} (index: {config.output_dir / 'index.html'})")
    return 0 if report.ok else 1


def _print_retag(seen: int, changed: int) -> None:
    print(f"Re-tagged {seen} article(s): topics changed on {changed}.")


def _print_recluster(seen: int, stories: int) -> None:
    print(f"Re-clustered {seen} article(s) into {stories} stories.")
