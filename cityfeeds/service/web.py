"""The service's HTTP side: the `cityfeeds serve` feed server plus ``/healthz`` and ``/status``."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cityfeeds.status.health import StatusReport
from cityfeeds.status.views import health_json, render_html
from feeds.server import bind_socket, create_app, http_url

logger = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class ServeError(RuntimeError):
    """The HTTP server could not start (typically: the port is taken)."""


def status_routes(report: Callable[[], StatusReport]) -> list[BaseRoute]:
    """``/healthz`` (JSON; 200 healthy, 503 not) and ``/status`` (HTML), computed per request."""

    def healthz(request: Request) -> Response:
        try:
            body = health_json(report(), pid=os.getpid())
        except Exception as exc:  # e.g. the database is unreachable: alive, but not healthy
            logger.exception("/healthz: computing the status failed")
            body = {"status": "error", "healthy": False, "alive": True, "error": type(exc).__name__}
        code = 200 if body.get("healthy") else 503
        return JSONResponse(body, status_code=code, headers=NO_STORE)

    def status_page(request: Request) -> Response:
        try:
            page = render_html(report())
        except Exception:
            logger.exception("/status: computing the status failed")
            return HTMLResponse("<!DOCTYPE html><p>status unavailable</p>\n", 503, headers=NO_STORE)
        return HTMLResponse(page, headers=NO_STORE)

    # Sync endpoints: Starlette runs them in its thread pool, so store reads never block the loop.
    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/status", status_page, methods=["GET", "HEAD"]),
    ]


class WebServer:
    """uvicorn serving ``create_app(output_dir, extra_routes=...)`` in a background thread."""

    def __init__(
        self, output_dir: Path, host: str, port: int, extra_routes: list[BaseRoute]
    ) -> None:
        self.host = host
        self.requested_port = port
        self.app = create_app(output_dir, extra_routes=extra_routes)
        self.server: Any = None
        self.sock: socket.socket | None = None
        self.thread: threading.Thread | None = None

    def start(self, timeout: float = 15.0) -> WebServer:
        """Start serving; ServeError if the socket cannot be bound."""
        import uvicorn

        # Bound here, before uvicorn: a taken port is one clear error, not uvicorn's ERROR
        # log line and exit in its thread.
        try:
            self.sock = bind_socket(self.host, self.requested_port)
        except OSError as exc:
            raise ServeError(
                f"could not serve on {self.host}:{self.requested_port} ({exc.strerror or exc}); "
                "use --port, or --no-serve"
            ) from None
        self.sock.listen(2048)
        config = uvicorn.Config(
            self.app,
            server_header=False,
            proxy_headers=True,
            lifespan="off",
            log_config=None,  # keep the service's logging setup
            access_log=False,  # feed readers poll all day: access lines would drown the crawl log
        )
        self.server = uvicorn.Server(config)
        # Not in the main thread, uvicorn installs no signal handlers: the service owns them.
        self.thread = threading.Thread(target=self._serve, name="cityfeeds-http", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ServeError(
                    f"could not serve on {self.host}:{self.requested_port} (port in use?); "
                    "use --port, or --no-serve"
                )
            time.sleep(0.02)
        logger.info("serving feeds, /healthz and /status on %s", self.url)
        return self

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except SystemExit:  # uvicorn's answer to a port it cannot bind: start() says so
            logger.debug("the web server exited", exc_info=True)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """``http://host:port/`` (an IPv6 host in brackets)."""
        return http_url(self.host, self.port)

    @property
    def local_url(self) -> str:
        """Where a process on this machine reaches the server (a wildcard host is loopback)."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return http_url(host, self.port)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting connections and finish the open ones."""
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout)
        if self.sock is not None:
            self.sock.close()
