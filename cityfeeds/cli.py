"""The ``cityfeeds`` command line: one subcommand per module in ``cityfeeds.commands``."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType

from cityfeeds.commands import LOG_HANDLER
from crawler.settings import CITYFEEDS_LOG_FORMAT, LOG_DATEFORMAT

DESCRIPTION = """\
Crawl city-news websites and publish clean, topic-filtered RSS, Atom and JSON feeds.

Start offline with `cityfeeds demo`; crawl the configured sites with `cityfeeds crawl`.
"""

#: Every subcommand and its one-line help (``cityfeeds --help`` lists them in this order).
#: A command's module, ``cityfeeds.commands.<name>``, is imported only when that command is
#: parsed or run: the modules import what their command needs (Scrapy, the store, the web
#: server, the service), and importing all of them would double the start-up time of
#: ``cityfeeds --help`` and of every command. This is the one lazy import of the package;
#: tests/cityfeeds/test_cli_registry.py checks the table against ``cityfeeds/commands/``.
COMMANDS: dict[str, str] = {
    "classify": "score an article against the topics with evidence, or a labelled set (--labelled)",
    "crawl": "crawl the named sources (default: all enabled), then rebuild the feeds",
    "demo": "offline demo: crawl a bundled sample site on 127.0.0.1 and build its feeds",
    "enqueue": (
        "queue the named (default: all enabled) sources for `cityfeeds worker` processes (Redis)"
    ),
    "extract": "print the normalized article of a URL or saved page as JSON",
    "feeds": "rebuild all feeds from the store (--retag: re-score topics, --recluster: stories)",
    "fixtures": "rewrite <name>.expected.json of saved-page fixtures from the current extraction",
    "prune": "apply [retention] now: delete old run records, drop old articles' text (--dry-run)",
    "record": "fetch one article page and save it as a fixture with its expected fields",
    "run": "run the service: crawl each source on its schedule, rebuild and serve the feeds",
    "serve": "serve the output directory (feeds, index page, OPML) over HTTP",
    "sources": "list configured sources and their discovery methods (`sources draft URL`)",
    "stories": "list recent stories (reports of one event by several sources) and why they joined",
    "status": "show each source's last run, result, failures, next run and newest article (--json)",
    "topics": "list configured topics with their article counts",
    "worker": "run a crawl worker on the shared Redis queue (see `cityfeeds enqueue`)",
}


def command_module(name: str) -> ModuleType:
    """The module of subcommand ``name`` (imported on first use)."""
    return importlib.import_module(f"cityfeeds.commands.{name}")


def command_modules() -> list[ModuleType]:
    """Every subcommand module, sorted by name (the registry the README is checked against)."""
    return [command_module(name) for name in sorted(COMMANDS)]


def _version() -> str:
    """The installed package's version (``unknown`` when run from a tree not installed)."""
    try:
        return importlib.metadata.version("cityfeeds")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every command's options, or (given ``command``) only that one's.

    The other commands are still listed with their help, so ``--help`` and a mistyped
    command read the same either way.
    """
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
    parser.add_argument("--version", action="version", version=f"cityfeeds {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name, help=help_text)
            continue
        module = command_module(name)
        p = sub.add_parser(
            name,
            help=help_text,
            description=getattr(module, "DESCRIPTION", help_text),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        # Also after the command (`cityfeeds status --config x.toml -v`); SUPPRESS keeps a value
        # given before the command when none is given after it.
        p.add_argument(
            "--config", metavar="FILE", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        p.add_argument(
            "-v", "--verbose", action="count", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        p.set_defaults(_module=module)
    return parser


#: Optional packages by import name, with the extra of pyproject.toml that installs them.
OPTIONAL_PACKAGES = {
    "scrapy_redis": "redis",
    "redis": "redis",
    "psycopg": "postgres",
    "scrapy_playwright": "browser",
    "playwright": "browser",
}


def command_named(argv: Sequence[str]) -> str:
    """The subcommand ``argv`` names ("" if none): the first word after the global options."""
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)  # its value
        elif not arg.startswith("-"):
            return arg
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (130 after Ctrl-C, even while starting)."""
    starting = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _interrupted_while_starting) if starting else None
    # `cityfeeds crawl` takes SIGTERM as a Ctrl-C (exit 130), from its first moment.
    term = starting and command_named(sys.argv[1:] if argv is None else argv) == "crawl"
    previous_term = signal.signal(signal.SIGTERM, _interrupted_while_starting) if term else None

    def ready() -> None:
        if starting:
            signal.signal(signal.SIGINT, previous or signal.default_int_handler)
        if term:
            signal.signal(signal.SIGTERM, previous_term or signal.SIG_DFL)

    try:
        return _run(argv, ready)
    except KeyboardInterrupt:
        print("cityfeeds: interrupted", file=sys.stderr)
        return 130
    finally:
        ready()


def _interrupted_while_starting(_signum: int, _frame: object) -> None:
    # Until the command runs, nothing is open or written: leave at once. Python's own handler
    # raised KeyboardInterrupt wherever the imports happened to be, and one that a library's
    # import-time ``except:`` swallowed was lost: the command then ran on (a test saw a
    # server that never stopped). The command's own handling takes over once it runs.
    os.write(2, b"cityfeeds: interrupted\n")
    os._exit(130)


def _run(argv: Sequence[str] | None, ready: Callable[[], None] = lambda: None) -> int:
    # Imported here, inside main's KeyboardInterrupt guard: a command's imports take a good
    # part of a second, and a Ctrl-C then was an import traceback.
    from crawler.config import ConfigError, load_config
    from crawler.storage import StoreUnavailable

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_named(argv))
    args = parser.parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format=CITYFEEDS_LOG_FORMAT, datefmt=LOG_DATEFORMAT)
    for handler in logging.root.handlers:
        if handler.get_name() is None:  # basicConfig's (none when pytest's were there first)
            handler.set_name(LOG_HANDLER)
    if args.verbose < 2:
        # htmldate logs an ERROR for markup it cannot read (a miss for us, not a fault); -vv
        # shows it. (Page extraction quietens it too, in every process that extracts.)
        logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help()
        return 2
    config = None
    try:
        if getattr(module, "NEEDS_CONFIG", True):
            config = load_config(args.config)
        ready()  # Ctrl-C is KeyboardInterrupt again, which the command handles
        return int(module.run(args, config) or 0)
    except ConfigError as exc:
        print(f"cityfeeds: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"cityfeeds: {exc}", file=sys.stderr)
        # 2, as a configuration error: systemd's unit does not restart the service over it.
        return 2 if exc.permanent else 1
    except ModuleNotFoundError as exc:
        # An optional extra the command needs is not installed (`pip install -e .` alone).
        package = (exc.name or "").partition(".")[0]
        extra = OPTIONAL_PACKAGES.get(package)
        if extra is None:
            raise
        print(
            f"cityfeeds: this needs the optional package {package!r}, not installed: "
            f"pip install -e '.[{extra}]' (from a checkout) or 'cityfeeds[{extra}]'",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:
        # The reader went away (`cityfeeds status | head -1`): not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A folder that cannot be made, a file that cannot be written: the machine's state,
        # said in one line (-v shows where it happened).
        print(f"cityfeeds: {exc}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
