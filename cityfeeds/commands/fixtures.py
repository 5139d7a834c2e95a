"""``cityfeeds fixtures``: rewrite the expected JSON of saved-page fixtures after a change."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cityfeeds.devtools.fixtures import DEFAULT_ROOT, rewrite_expected
from crawler.profile import profiles_of

NAME = "fixtures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``fixtures``."""
    parser.add_argument("--source", help="only this source's fixtures")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="fixtures folder")


def run(args: argparse.Namespace, config: Any) -> int:
    """Rewrite and list the expected files; 1 when nothing matched."""
    known = {s.name for s in config.sources}
    if args.source and args.source not in known:
        print(
            f"cityfeeds: unknown source {args.source!r} (known: {', '.join(sorted(known))})",
            file=sys.stderr,
        )
        return 2
    paths = rewrite_expected(args.root, args.source, profiles=profiles_of(config))
    for path in paths:
        print(f"wrote {path}")
    if not paths:
        print(f"no fixtures under {args.root}" + (f" for {args.source}" if args.source else ""))
        return 1
    print(f"review the diff (git diff {args.root}) before committing")
    return 0
