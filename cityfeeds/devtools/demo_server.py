"""Loopback servers of the demo site: a plain one for tests, and the demo's site-plus-feeds one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from cityfeeds.devtools.demo_site import STORIES, Story, build_partner_site, build_site
from feeds.server import bind_socket, create_app

#: The demo's fixed port: part of every article URL and GUID, so the same on every run.
DEFAULT_PORT = 8080
#: Where the demo feeds are served, below the sample site's origin.
FEEDS_PREFIX = "/feeds"


class SiteServer:
    """A loopback HTTP server for a dict of files; ``files`` may be replaced while it runs."""

    def __init__(self, files: dict[str, tuple[bytes, str]] | None = None) -> None:
        self.files: dict[str, tuple[bytes, str]] = files or {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                found = outer.files.get(self.path)
                if found is None:
                    self.send_error(404)
                    return
                body, ctype = found
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def start(self) -> SiteServer:
        """Start serving in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serve_site(stories: tuple[Story, ...] = STORIES) -> Iterator[SiteServer]:
    """Serve the demo site on 127.0.0.1 (a free port) for the duration of the block."""
    server = SiteServer().start()
    server.files = build_site(server.base_url, stories)
    try:
        yield server
    finally:
        server.stop()


class DemoServer:
    """The sample site at ``/`` and the demo feeds at ``/feeds/``, on one loopback port.

    The socket is bound in the constructor, so a busy port fails there (``OSError``) before
    anything is crawled; uvicorn then serves it from a background thread.
    """

    def __init__(self, output: Path, port: int = DEFAULT_PORT) -> None:
        self.sock = bind_socket("127.0.0.1", port)
        self.port: int = self.sock.getsockname()[1]
        self.site_url = f"http://127.0.0.1:{self.port}/"
        self.feeds_url = f"http://127.0.0.1:{self.port}{FEEDS_PREFIX}/"
        self.site_files = build_site(self.site_url) | build_partner_site(self.site_url)
        app = Starlette(
            routes=[
                # "/feeds" as typed or pasted: the feeds' index is "/feeds/", whose relative
                # links only resolve with the slash.
                Route(FEEDS_PREFIX, self._feeds_index),
                Mount(FEEDS_PREFIX, app=create_app(output)),
                Route("/{path:path}", self._site_page),
            ]
        )
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    async def _feeds_index(self, request: Request) -> Response:
        return RedirectResponse(f"{FEEDS_PREFIX}/", status_code=301)

    async def _site_page(self, request: Request) -> Response:
        key = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        found = self.site_files.get(key)
        if found is None:
            return PlainTextResponse("Not found\n", 404)
        body, content_type = found
        return Response(body, headers={"Content-Type": content_type})

    def start(self) -> DemoServer:
        """Serve from a background thread; returns once the server accepts connections."""
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            time.sleep(0.01)
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while self.thread.is_alive():
            self.thread.join(0.5)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join()
        self.sock.close()
