"""The index page in a real headless Chromium: no console errors, every feed, links resolve.

Chromium is driven over the DevTools protocol with a tiny stdlib WebSocket client, so the test
needs nothing beyond Debian's ``chromium`` package. Without it the test is skipped, unless
``CITYFEEDS_REQUIRE_BROWSER=1`` (set in CI) turns the skip into a failure.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from feeds_samples import FakeStore, ThreadedServer, sample_articles, sample_config

from feeds.build import build_feeds
from feeds.specs import feed_specs

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


class DevTools:
    """A minimal CDP client: one WebSocket (RFC 6455, text frames) to one page target."""

    def __init__(self, ws_url: str, timeout: float = 20.0) -> None:
        url = urlsplit(ws_url)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {url.path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"WebSocket upgrade refused: {head[:200]!r}")
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _recv(self) -> bytes:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("DevTools connection closed")
        return chunk

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.buf += self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        # Clients must mask every frame (RFC 6455 §5.3).
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _message(self) -> dict[str, Any]:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8))
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if b0 & 0x80:
                    return json.loads(b"".join(parts))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        self._send_frame(
            0x1, json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        )
        while True:
            message = self._message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 20.0) -> dict[str, Any]:
        """Wait for an event (also looking at the ones already received)."""
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.monotonic() < deadline:
            message = self._message()
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise TimeoutError(method)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[DevTools]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CITYFEEDS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CITYFEEDS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    profile = tmp_path / "chromium-profile"
    proc = subprocess.Popen(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",  # running as root in containers
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    devtools = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        devtools = DevTools(page["webSocketDebuggerUrl"])
        yield devtools
    finally:
        if devtools is not None:
            devtools.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


PAGE_FACTS = """JSON.stringify({
  feeds: [...document.querySelectorAll('article.feed')].map(e => e.dataset.feed),
  links: [...document.querySelectorAll('a[href], link[href]')].map(e => e.href),
  alternates: [...document.querySelectorAll('link[rel=alternate]')].map(e => e.type),
  copyable: [...document.querySelectorAll('input[readonly]')].map(e => e.value),
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  title: document.title,
})"""


def test_index_page_in_headless_chromium(tmp_path: Path, chromium: DevTools) -> None:
    output = tmp_path / "output"
    with ThreadedServer(output) as origin:
        config = sample_config(output, base_url=origin + "/")
        assert build_feeds(config, FakeStore(sample_articles())).ok
        chromium.call("Runtime.enable")
        chromium.call("Log.enable")
        chromium.call("Page.enable")
        # A phone: 375 CSS pixels wide.
        chromium.call(
            "Emulation.setDeviceMetricsOverride",
            width=375,
            height=800,
            deviceScaleFactor=2,
            mobile=True,
        )
        chromium.call("Page.navigate", url=origin + "/")
        chromium.wait_for("Page.loadEventFired")
        facts = json.loads(
            chromium.call("Runtime.evaluate", expression=PAGE_FACTS, returnByValue=True)["result"][
                "value"
            ]
        )
        problems = [
            e["params"]
            for e in chromium.events
            if e.get("method") == "Runtime.exceptionThrown"
            or (
                e.get("method") == "Runtime.consoleAPICalled"
                and e["params"]["type"] in ("error", "assert", "warning")
            )
            or (
                e.get("method") == "Log.entryAdded"
                and e["params"]["entry"]["level"] in ("error", "warning")
            )
        ]
        assert problems == []
        assert facts["feeds"] == [spec.path for spec, _ in feed_specs(config)]
        assert facts["alternates"].count("application/rss+xml") == len(facts["feeds"])
        assert facts["scrollWidth"] <= facts["innerWidth"], "horizontal scrolling on a phone"
        local = sorted({u for u in facts["links"] + facts["copyable"] if u.startswith(origin)})
        assert len(local) >= 3 * len(facts["feeds"]) + 1
        with httpx.Client() as client:
            for url in local:
                assert client.get(url).status_code == 200, url
        external = [u for u in facts["links"] if not u.startswith(origin)]
        assert all(u.startswith(("https://", "data:")) for u in external), external
