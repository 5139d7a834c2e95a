"""``cityfeeds topics``: list the configured topics and how many stored articles of the
configured sources each has."""

from __future__ import annotations

import argparse
import json

from cityfeeds.commands._store import store_for_reading
from cityfeeds.commands._table import format_table
from crawler.config import Config

NAME = "topics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace, config: Config) -> int:
    store = store_for_reading(config)
    try:
        # Only the configured sources' articles are in the feeds (README "Removing a source").
        counts = store.topic_counts(sources=[s.name for s in config.sources])
    finally:
        store.close()
    if args.json:
        rows = [
            {
                "id": t.id,
                "title": t.title,
                "description": t.description,
                "languages": t.languages,
                "threshold": t.threshold,
                "terms": len(t.include),
                "sources": t.sources,
                "cities": t.cities,
                "articles": counts.get(t.id, 0),
            }
            for t in config.topics
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = [
        [
            t.id,
            counts.get(t.id, 0),
            t.title,
            ",".join(t.languages),
            f"{t.threshold:g}",
            len(t.include),
            ",".join(t.sources + t.cities) or "all",
        ]
        for t in config.topics
    ]
    print(
        format_table(["id", "articles", "title", "lang", "threshold", "terms", "limited to"], table)
    )
    return 0
