"""The ``cityfeeds`` command line: one subcommand per module in ``cityfeeds.commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

import cityfeeds.commands
from crawler.config import ConfigError, load_config
from crawler.storage import StoreUnavailable

DESCRIPTION = """\
Crawl city-news websites and publish clean, topic-filtered RSS, Atom and JSON feeds.

Start offline with `cityfeeds demo`; crawl the configured sites with `cityfeeds crawl`.
"""


def command_modules() -> list[ModuleType]:
    """Every subcommand module, sorted by name (the registry the README is checked against)."""
    modules = []
    for info in pkgutil.iter_modules(cityfeeds.commands.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"cityfeeds.commands.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return sorted(modules, key=lambda m: m.NAME)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by the docs test)."""
    parser = argparse.ArgumentParser(
        prog="cityfeeds",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $CITYFEEDS_CONFIG or ./cityfeeds.toml)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help()
        return 2
    config = None
    try:
        if getattr(module, "NEEDS_CONFIG", True):
            config = load_config(args.config)
        return int(module.run(args, config) or 0)
    except ConfigError as exc:
        print(f"cityfeeds: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"cityfeeds: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cityfeeds: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`cityfeeds status | head -1`): not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
