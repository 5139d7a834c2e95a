"""``cityfeeds serve``: serve the generated feeds (the output directory) over HTTP."""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
from pathlib import Path

from cityfeeds.service.metrics import make_registry, metrics_route, store_report
from cityfeeds.service.store_metrics import StoreCollector
from crawler.clock import utcnow
from crawler.config import Config
from crawler.storage import Store
from feeds.server import has_index, serve

log = logging.getLogger(__name__)

NAME = "serve"
DESCRIPTION = """\
Serve output/ to feed readers: strong content-based ETags and Last-Modified, 304 for
If-None-Match / If-Modified-Since, HEAD, gzip (its own ETag, Vary: Accept-Encoding) and
Cache-Control: public, max-age=300. Nothing outside output/ is reachable. Set base_url in
cityfeeds.toml to where this is reachable; for nginx instead see docs/nginx.md. While output/
holds no feeds yet (no index.html), it says so at start, and / answers 404 with a page saying
to run `cityfeeds crawl` or `cityfeeds feeds`.

With --metrics, GET /metrics answers Prometheus metrics read from the store (runs, sources,
articles, feed builds) and of this process (memory); see docs/deploy.md. The service
(`cityfeeds run`) serves /metrics itself.
"""


def check_port(port: int) -> str | None:
    """A one-line complaint about ``port``, or ``None`` when it is a usable TCP port."""
    if 0 <= port <= 65535:
        return None
    return f"cityfeeds: --port {port} is not a TCP port (0-65535)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cityfeeds serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: %(default)s)")
    parser.add_argument(
        "--metrics", action="store_true", help="also answer GET /metrics (Prometheus text format)"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """Serve ``config.output_dir`` until interrupted; 2 on a bad port or no directory, 1 if the
    port cannot be bound."""
    if problem := check_port(args.port):
        print(problem, file=sys.stderr)
        return 2
    output_dir = Path(config.output_dir)
    if not output_dir.is_dir():
        print(
            f"cityfeeds: the output folder {output_dir} does not exist; build the feeds first "
            "(`cityfeeds feeds`, or `cityfeeds crawl`)",
            file=sys.stderr,
        )
        return 2
    hint = f"no feeds in {output_dir} yet: run `cityfeeds crawl` or `cityfeeds feeds`"
    extra_routes = []
    store = None
    if args.metrics:
        store = Store.open(config.database_url)
        report = store_report(config, store, utcnow)
        registry = make_registry([StoreCollector(store, report, [s.name for s in config.sources])])
        extra_routes.append(metrics_route(registry))
    try:
        serve(
            output_dir,
            host=args.host,
            port=args.port,
            extra_routes=extra_routes,
            announce=lambda url: _announce(output_dir, url, hint),
            # The page is public: it names no folder of the machine's.
            empty_hint="no feeds here yet: run `cityfeeds crawl` or `cityfeeds feeds`",
        )
    except OSError as exc:
        print(
            f"cityfeeds: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}"
            f"{_listen_hint(exc)}",
            file=sys.stderr,
        )
        return 1
    finally:
        if store is not None:
            store.close()
    return 0


def _announce(output_dir: Path, url: str, hint: str) -> None:
    print(f"Serving {output_dir} on {url} (Ctrl-C stops)", flush=True)
    if not has_index(output_dir):
        # Served anyway (feeds may be built while it runs), but a reader's 404 has a reason.
        print(hint, flush=True)


def _listen_hint(exc: OSError) -> str:
    """What to try when the server cannot listen: another port, or another --host."""
    if exc.errno == errno.EADDRINUSE:
        return " (another server there? use --port)"
    if exc.errno == errno.EACCES:
        return " (ports below 1024 need privileges: use --port)"
    if isinstance(exc, socket.gaierror):
        return " (no such host: use --host 127.0.0.1, or 0.0.0.0 for all addresses)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return " (not an address of this machine: use --host 127.0.0.1, or 0.0.0.0 for all)"
    return ""
