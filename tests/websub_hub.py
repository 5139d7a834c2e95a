"""A WebSub hub stub on 127.0.0.1 for tests: records publish notifications, answers as told."""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class HubStub:
    """Records each POST's form; answers the statuses in ``script`` in turn, then 204.

    While ``gate`` is cleared, requests wait before answering (a hub that hangs). A 3xx answer
    names ``<url>2`` as its ``Location`` (``gets`` counts the GETs that reach the hub);
    ``trickle`` makes each answer announce a body of that many bytes and send one per 0.2 s.
    """

    def __init__(self, script: list[int] | None = None, trickle: int = 0) -> None:
        self.script = list(script or [])
        self.trickle = trickle
        self.gets = 0
        #: POSTs read, answered or still waiting at the gate.
        self.arrived = 0
        self.received: list[dict[str, list[str]]] = []
        self.answered: list[int] = []
        self.content_types: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("ascii")
                with stub._lock:
                    stub.arrived += 1
                stub.gate.wait(30)
                with stub._lock:
                    stub.received.append(urllib.parse.parse_qs(body))
                    stub.content_types.append(self.headers.get("Content-Type", ""))
                    status = stub.script.pop(0) if stub.script else 204
                    stub.answered.append(status)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", stub.url + "2")
                self.send_header("Content-Length", str(stub.trickle))
                self.end_headers()
                for _ in range(stub.trickle):
                    try:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.2)

            def do_GET(self) -> None:
                with stub._lock:
                    stub.gets += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The hub's URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/hub"

    def published(self) -> list[str]:
        """The ``hub.url`` of every publish notification received, in order."""
        with self._lock:
            return [
                url
                for form in self.received
                if form.get("hub.mode") == ["publish"]
                for url in form.get("hub.url", [])
            ]

    def __enter__(self) -> HubStub:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
