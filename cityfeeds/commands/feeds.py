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
topic definitions (no re-crawl needed).
"""

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retag", action="store_true", help="re-score stored articles against the topics first"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    report = rebuild_feeds(config, retag=args.retag, on_retag=_print_retag)
    print(build_summary(report))
    print(f"Feeds are in {config.output_dir} (index: {config.output_dir / 'index.html'})")
    return 0 if report.ok else 1


def _print_retag(seen: int, changed: int) -> None:
    print(f"Re-tagged {seen} article(s): topics changed on {changed}.")
