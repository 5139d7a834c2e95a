"""``cityfeeds prune``: apply ``[retention]`` now (the service does it once a day)."""

from __future__ import annotations

import argparse
import sys

from cityfeeds.commands._store import store_for_reading
from cityfeeds.retention import prune, prune_summary
from crawler.clock import utcnow
from crawler.config import Config
from crawler.storage import StoreError, store_error_line

NAME = "prune"
DESCRIPTION = """\
Apply the [retention] settings to the store now; the service (`cityfeeds run`) does the same
once a day. Run records that finished more than `runs_days` ago are deleted, except each
source's most recent run and running ones. Articles published and first seen more than
`text_days` ago lose their text and HTML; their rows (URL, title, summary, dates, topics,
story) stay, so a crawl never fetches them again. 0 turns either off. Works in batches of 500
rows per transaction, so crawls may run meanwhile. A SQLite file does not shrink: its freed
pages are reused (docs/deploy.md: "Retention" says how to VACUUM it offline).

With --dry-run, prints what would be deleted and dropped and changes nothing.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be pruned; change nothing"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    # A mistyped database_url must not create an empty database just to prune nothing.
    store = store_for_reading(config)
    try:
        report = prune(config, store, utcnow(), dry_run=args.dry_run)
    except StoreError as exc:
        # What was pruned before the failure stays pruned (each batch is its own transaction).
        print(f"cityfeeds: prune failed: {store_error_line(exc)}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(prune_summary(report))
    return 0
