"""``cityfeeds serve``: serve the generated feeds (the output directory) over HTTP."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NAME = "serve"
HELP = "serve the output directory (feeds, index page, OPML) over HTTP"
DESCRIPTION = """\
Serve output/ to feed readers: strong content-based ETags and Last-Modified, 304 for
If-None-Match / If-Modified-Since, HEAD, gzip (its own ETag, Vary: Accept-Encoding) and
Cache-Control: public, max-age=300. Nothing outside output/ is reachable. Set base_url in
cityfeeds.toml to where this is reachable; for nginx instead see docs/nginx.md.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cityfeeds serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: %(default)s)")


def run(args: argparse.Namespace, config: Any) -> int:
    """Serve ``config.output_dir`` until interrupted; 2 if the directory does not exist."""
    # Imported here so other commands do not pay for Starlette and uvicorn.
    from feeds.server import serve

    output_dir = Path(config.output_dir)
    if not output_dir.is_dir():
        log.error("output directory %s does not exist; run a build first", output_dir)
        return 2
    serve(output_dir, host=args.host, port=args.port)
    return 0
