"""``cityfeeds demo``: crawl a bundled sample site on loopback and build its feeds, offline."""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import sys
import tempfile
import threading
import tomllib
from importlib import resources
from pathlib import Path
from typing import IO

import tomli_w

from cityfeeds.commands.crawl import crawl
from cityfeeds.commands.serve import check_port
from cityfeeds.devtools.demo_server import DEFAULT_PORT, DemoServer
from cityfeeds.devtools.demo_site import demo_source, partner_source
from crawler.config import (
    ENV_CONFIG,
    ENV_DATABASE_URL,
    Config,
    ConfigError,
    GeneralSpec,
    config_path,
    load_config,
    resolve_sqlite_url,
    unpublishable_output,
)

NAME = "demo"
DESCRIPTION = """\
Start a loopback web server with a bundled sample city-news site (Russian stories, an RSS feed,
a sitemap and listing pages), crawl it with the real pipeline into a throwaway database, build
the feeds with the topics of your configuration (or of the built-in default one), and print
where they are. Needs no internet.

One server on 127.0.0.1:PORT serves the sample site at / and the demo feeds at /feeds/, with or
without --serve (while it crawls). The port is fixed (8080 unless --port), so article links and
GUIDs are the same on every run and a feed reader does not see the articles again. With --serve
it keeps serving until Ctrl-C: import http://127.0.0.1:PORT/feeds/feeds.opml into a feed reader.
"""
NEEDS_CONFIG = False

#: The configuration shipped with the package, used when there is no ./cityfeeds.toml.
PACKAGED_CONFIG = "default_config.toml"
#: Where the demo's feeds go: beside the real ``output/``, not in it. Inside it (the old
#: ``output/demo``), `cityfeeds serve` published the demo's feeds, with their 127.0.0.1 links,
#: next to the real ones.
DEFAULT_OUTPUT = "demo-output"
#: Written into every folder the demo writes its feeds to, and kept: it tells a later demo that
#: the folder is a demo's, whose files it may overwrite. Hidden, so never served.
MARKER = ".cityfeeds-demo"
#: Held (flock) while a demo writes or serves the folder; removed when the demo ends. Older
#: versions left it behind, so it marks their folders as the demo's too.
LOCK = ".demo.lock"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cityfeeds demo``."""
    parser.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        help="where to write the demo feeds (default: %(default)s; a new or empty folder, or one "
        "an earlier demo wrote; not inside the configuration's output_dir, which `cityfeeds "
        "serve` publishes, nor a folder holding the configuration or its SQLite database)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="loopback port of the sample site and the feeds (default: %(default)s; "
        "0 picks a free one, but then links change between runs)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="keep the sample site and the feeds served until Ctrl-C (to subscribe to them)",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the throwaway database and print its path"
    )


def base_config(explicit: str | None) -> tuple[str, str]:
    """``(TOML text, where it came from)`` of the configuration whose topics the demo uses.

    ``--config`` or ``$CITYFEEDS_CONFIG`` must exist; without either, ./cityfeeds.toml is used
    when present, else the default configuration shipped with the package.
    """
    path = config_path(explicit)
    if path.is_file():
        return path.read_text(encoding="utf-8"), str(path.resolve())
    if explicit or os.environ.get(ENV_CONFIG):
        raise ConfigError(f"config file not found: {path}")
    packaged = resources.files("crawler").joinpath(PACKAGED_CONFIG)
    return packaged.read_text(encoding="utf-8"), "the built-in default configuration"


def served_by_config(output: Path, base_text: str, origin: str) -> str | None:
    """Why ``output`` must not take the demo's feeds: it lies in the ``output_dir`` of the
    configuration file the demo read (served to subscribers), or None."""
    config_file = Path(origin)
    if not config_file.is_file():
        return None  # the built-in configuration: nothing of the user's is served
    try:
        general = tomllib.loads(base_text).get("cityfeeds", {})
    except tomllib.TOMLDecodeError:
        return None  # its own error is reported when it is loaded
    root = config_file.parent.resolve()
    served = (root / str(general.get("output_dir", "output"))).resolve()
    if output.is_relative_to(served):
        return (
            f"--output {output} is inside {served}, the output_dir `cityfeeds serve` publishes "
            "(the demo's feeds link to 127.0.0.1); pick a folder outside it"
        )
    # `demo --serve` serves the folder as `cityfeeds serve` serves output_dir: the same folders
    # are refused (the configuration's own, the one holding the SQLite database).
    database = os.environ.get(ENV_DATABASE_URL) or resolve_sqlite_url(
        str(general.get("database_url", GeneralSpec.model_fields["database_url"].default)), root
    )
    if problem := unpublishable_output(output, root, database):
        return f"--output {output}: {problem}"
    return None


def foreign_output(output: Path) -> str | None:
    """Why ``output`` must not take the demo's feeds: an existing folder holding files that no
    demo wrote (its ``index.html``, ``all.rss`` … would be overwritten without a word), or None.

    A folder that is missing, empty, or marked by an earlier demo (:data:`MARKER`, or the
    :data:`LOCK` older versions left) is fine; what cannot be listed is left to the writes,
    which say why they fail.
    """
    try:
        names = sorted(path.name for path in output.iterdir())
    except OSError:
        return None
    if not names or MARKER in names or LOCK in names:
        return None
    shown = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
    return (
        f"--output {output} already holds files no demo wrote ({shown}), which its feeds "
        "would overwrite; pick a new or empty folder"
    )


def _lock(output: Path) -> IO[str] | None:
    """The demo's lock of ``output`` (see :data:`LOCK`), or None while another demo holds it.

    The file is removed when a demo ends, so one demo may lock a file another has just removed:
    the lock counts only on the file that is at the path.
    """
    path = output / LOCK
    while True:
        lock = path.open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return None
        held = os.fstat(lock.fileno())
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            return lock
        lock.close()


def _unlock(lock: IO[str], output: Path) -> None:
    """Remove the lock file while still holding it, then release it: a demo that opened the file
    meanwhile finds it is no longer the one at the path (:func:`_lock`) and locks a new one."""
    try:
        (output / LOCK).unlink(missing_ok=True)
    except OSError:
        pass  # a folder turned read-only: the lock is released all the same
    finally:
        lock.close()


def demo_config(base_text: str, site_url: str, feeds_url: str, workdir: Path, output: Path) -> Path:
    """Write a config for the demo site: the base topics, the demo source, no politeness delay."""
    raw = tomllib.loads(base_text)
    raw["cityfeeds"] = {
        **raw.get("cityfeeds", {}),
        "output_dir": str(output.resolve()),
        "database_url": f"sqlite:///{workdir / 'demo.db'}",
        "base_url": feeds_url,
    }
    raw["crawl"] = {**raw.get("crawl", {}), "download_delay": 0.0, "autothrottle": False}
    raw["sources"] = [demo_source(site_url), partner_source(site_url)]
    for topic in raw.get("topics", []):
        topic.pop("sources", None)  # the user's sources are not in the demo
    path = workdir / "demo.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


def run(args: argparse.Namespace, config: Config | None) -> int:
    """Crawl the sample site, build its feeds, and serve them with ``--serve``."""
    if problem := check_port(args.port):
        print(problem, file=sys.stderr)
        return 2
    text, origin = base_config(args.config)
    output = Path(args.output).resolve()
    if problem := served_by_config(output, text, origin) or foreign_output(output):
        print(f"cityfeeds demo: {problem}", file=sys.stderr)
        return 2
    # One demo per output folder: a second one (another port) would rewrite the feeds a running
    # `demo --serve` publishes with links to its own port, and a reader would see every item
    # twice. The kernel drops the lock when this process ends, however it ends; the file is
    # removed when it ends normally (Ctrl-C and SIGTERM included).
    try:
        output.mkdir(parents=True, exist_ok=True)
        lock = _lock(output)
    except OSError as exc:
        return _cannot_write(output, exc)
    if lock is None:
        print(
            f"cityfeeds demo: another demo is using {output}; stop it first, "
            "or give this one its own --output",
            file=sys.stderr,
        )
        return 1
    try:
        try:
            (output / MARKER).write_text(
                "Written by `cityfeeds demo`: a later demo overwrites the feeds in this folder.\n",
                encoding="utf-8",
            )
        except OSError as exc:
            return _cannot_write(output, exc)
        return _run_locked(args, text, origin, output)
    finally:
        _unlock(lock, output)


def _cannot_write(output: Path, exc: OSError) -> int:
    print(
        f"cityfeeds demo: cannot write the demo's feeds to {output}: "
        f"{exc.strerror or exc} (choose another --output)",
        file=sys.stderr,
    )
    return 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run_locked(args: argparse.Namespace, text: str, origin: str, output: Path) -> int:
    try:
        server = DemoServer(output, args.port)
    except OSError as exc:
        print(
            f"cityfeeds demo: cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc}); "
            "stop what uses it or pick another --port",
            file=sys.stderr,
        )
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="cityfeeds-demo-"))
    server.start()
    # SIGTERM (a service manager, `kill`) stops the demo as Ctrl-C does, so its throwaway
    # database and config are removed below, not left behind in the temporary folder.
    stop_on_sigterm = threading.current_thread() is threading.main_thread()
    if stop_on_sigterm:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"Demo site running at {server.site_url}")
        print(f"Topics from {origin}")
        cfg_path = demo_config(text, server.site_url, server.feeds_url, workdir, output)
        demo_cfg = load_config(cfg_path)
        # The main site first, then the partner outlet: a story's feed entry is its first
        # stored report, so this order gives the same entries (GUIDs) on every run.
        first, second = (s.name for s in demo_cfg.sources)
        status = crawl(demo_cfg, [first], timeout=300, feeds=False, verbose=args.verbose)
        status = max(status, crawl(demo_cfg, [second], timeout=300, verbose=args.verbose))
        print()
        print(f"Feeds written to {output}/")
        for path in sorted(output.rglob("*.rss")):
            print(f"  {path}")
        if not args.serve:
            print(f"Open {output / 'index.html'} in a browser; to subscribe in a feed reader, run")
            print(
                "  cityfeeds demo --serve"
                + ("" if args.port == DEFAULT_PORT else f" --port {args.port}")
            )
            return status
        if status != 0:
            return status
        print()
        print(f"Index: {server.feeds_url}")
        print(f"OPML:  {server.feeds_url}feeds.opml")
        print(f"Feed:  {server.feeds_url}all.rss")
        try:
            # In the try: a SIGTERM sent as soon as this line is read must find the handler.
            print("Serving the sample site and its feeds on 127.0.0.1 until Ctrl-C.", flush=True)
            server.wait()
        except KeyboardInterrupt:
            print("Stopped.")
        return 0
    finally:
        if stop_on_sigterm:
            signal.signal(signal.SIGTERM, previous)
        server.stop()
        if args.keep_db:
            print(f"Demo database and config kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
