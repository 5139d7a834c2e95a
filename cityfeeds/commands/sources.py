"""``cityfeeds sources``: list the configured sources; ``sources draft URL`` drafts a new one."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from cityfeeds.commands._table import format_table
from cityfeeds.devtools.fixtures import DEFAULT_ROOT
from cityfeeds.drafting import (
    DraftError,
    config_with,
    draft_source,
    render_toml,
    save_sample_fixture,
    write_config_text,
)
from crawler.config import SOURCE_NAME_RULE, Config, check_source_name

NAME = "sources"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``sources`` and of its ``draft`` subcommand."""
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    draft = actions.add_parser(
        "draft",
        help="draft a [[sources]] entry from a site's home page and check it on sample articles",
        description="Fetch the home page politely (robots.txt, [crawl] user agent and timeout), "
        "find feeds, sitemaps, listing pages and the article URL pattern, check them on 5 "
        "sample articles and print a commented [[sources]] block.",
    )
    draft.add_argument("url", help="the site's home page")
    draft.add_argument("--name", help=f"source name: {SOURCE_NAME_RULE} (default: from the host)")
    draft.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,  # `sources --json draft` sets it too
        help="print the draft as JSON: its name, its entry as a table, and the TOML block",
    )
    draft.add_argument(
        "--write",
        action="store_true",
        help="append the entry to the config and save a sample article as its fixture",
    )
    draft.add_argument(
        "--allow-private", action="store_true", help="allow a loopback or private address"
    )
    draft.add_argument(
        "--fixtures",
        type=Path,
        help=f"fixtures folder for --write (default: {DEFAULT_ROOT} beside the config)",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """List the sources, or draft one (exit 1 on a bad outcome, with its reason)."""
    if getattr(args, "action", None) == "draft":
        return _draft(args, config)
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


def _taken(config: Config, name: str) -> bool:
    """Whether ``name`` is a source of ``config`` already (said on stderr: pick another)."""
    if name not in {s.name for s in config.sources}:
        return False
    print(
        f"cityfeeds: a source named {name!r} is already in {config.path}: "
        "give the new one another name with --name",
        file=sys.stderr,
    )
    return True


def _draft(args: argparse.Namespace, config: Config) -> int:
    now = datetime.now(UTC)
    if args.name is not None:
        try:
            check_source_name(args.name)  # the config loader's rule: the entry printed loads
        except ValueError as exc:
            print(f"cityfeeds: --name: {exc}", file=sys.stderr)
            return 2  # before fetching anything
    if args.write and args.name and _taken(config, args.name):
        return 2  # before fetching anything
    try:
        draft = draft_source(
            args.url, config, now=now, name=args.name, allow_private=args.allow_private
        )
    except DraftError as exc:
        print(f"cityfeeds: {exc.kind}: {exc}", file=sys.stderr)
        return 1
    block = render_toml(draft)
    if args.json:
        entry = tomllib.loads(block)["sources"][0]
        print(json.dumps({"name": draft.name, "entry": entry, "toml": block}, ensure_ascii=False))
    else:
        print(block, end="")
    if args.write:
        if _taken(config, draft.name):  # the name made from the host
            return 2
        # Validated first, the fixture saved next, the config written last: a fixture that
        # cannot be saved leaves the config as it was (a source without one fails the tests).
        checked, text = config_with(config, block)
        root = args.fixtures or config.root / DEFAULT_ROOT
        try:
            fixture = save_sample_fixture(draft, checked, root=root, now=now)
        except OSError as exc:
            print(f"cityfeeds: cannot save the sample fixture in {root}: {exc}", file=sys.stderr)
            return 1
        write_config_text(checked, text)
        print(f"# appended to {config.path}; sample saved as {fixture}", file=sys.stderr)
    return 0
