"""``cityfeeds sources``: list the configured sources and how each discovers articles."""

from __future__ import annotations

import argparse
import json

from cityfeeds.commands._table import format_table
from crawler.config import Config

NAME = "sources"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace, config: Config) -> int:
    if args.json:
        print(
            json.dumps(
                [s.model_dump() | {"discovery": s.discovery} for s in config.sources],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    rows = [
        [
            s.name,
            "yes" if s.enabled else "no",
            s.title,
            s.city,
            " ".join(s.discovery),
            s.schedule or config.schedule.default,
            s.url,
        ]
        for s in config.sources
    ]
    print(format_table(["name", "enabled", "title", "city", "discovery", "schedule", "url"], rows))
    return 0
