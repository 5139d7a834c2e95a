"""Finding a crawl's browser processes, and a server that keeps a rendered page in flight."""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crawler.browser import chromium_executable

MARK_ENV = "CITYFEEDS_TEST_MARK"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def require_browser() -> None:
    """Skip without the browser extra or Chromium (fail, with CITYFEEDS_REQUIRE_BROWSER=1)."""
    missing = []
    if importlib.util.find_spec("scrapy_playwright") is None:
        missing.append("the browser extra (pip install -e '.[browser]')")
    path = chromium_executable()
    if not path or not os.access(path, os.X_OK):
        missing.append("chromium (apt-get install chromium)")
    if missing:
        reason = " and ".join(missing) + " missing"
        if os.environ.get("CITYFEEDS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CITYFEEDS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


@contextmanager
def browsers_marked(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An environment mark that crawl children pass to their browsers, to find what survives.

    Checked when the block ends, after the crawl child has exited: anything found outlived it.
    """
    require_browser()
    mark = uuid.uuid4().hex
    monkeypatch.setenv(MARK_ENV, mark)
    yield mark
    # Chromium's helpers (zygotes, renderers, crash handler) notice a moment after the browser
    # process itself that it is gone: give them a few seconds.
    deadline = time.monotonic() + 10
    while (left := marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], "a browser process outlived its crawl"


def marked_processes(mark: str) -> list[str]:
    """Command lines of the live browser (and Playwright driver) processes carrying ``mark``."""
    found = []
    needle = f"{MARK_ENV}={mark}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "chromium" in cmdline or "playwright" in cmdline:  # the browser, its driver
                    found.append(cmdline)
        except OSError:
            continue  # gone, or not ours to read
    return found


def _process_table() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, command name)."""
    table = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue  # gone
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        table[int(proc.name)] = (ppid, name)
    return table


def browser_trees(ancestor: int) -> list[int]:
    """The browsers below ``ancestor``: each Chromium process whose parent is not a Chromium.

    A browser's zygotes, renderers and GPU process are its own descendants, so one browser is
    one tree, whoever started it (the crawl child, or a Playwright driver it runs).
    """
    table = _process_table()

    def descends(pid: int) -> bool:
        while pid > 1:
            if pid == ancestor:
                return True
            pid = table.get(pid, (0, ""))[0]
        return False

    return [
        pid
        for pid, (ppid, name) in table.items()
        if name == "chromium" and table.get(ppid, (0, ""))[1] != "chromium" and descends(pid)
    ]


class HangingServer:
    """Loopback HTTP that answers robots.txt (404: no rules) and holds every other request.

    A page that requests :attr:`url` stays in flight in the browser until :meth:`release`.
    """

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hang"
        self.held: list[socket.socket] = []
        self.arrived = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                conn.close()
                return
            head += chunk
        if head.startswith(b"GET /robots.txt "):
            conn.sendall(NOT_FOUND)
            conn.close()
            return
        with self.arrived:
            self.held.append(conn)
            self.arrived.notify_all()

    def script(self) -> str:
        """A page script that requests this server (and so waits)."""
        return f"<script>fetch('{self.url}')</script>"

    def wait_for(self, count: int) -> bool:
        """Whether ``count`` requests are held (False if they did not come within a minute)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.held) >= count, timeout=60)

    def release(self) -> None:
        """Let the held requests fail (connection closed)."""
        with self.arrived:
            for conn in self.held:
                conn.close()

    def close(self) -> None:
        """Release the requests and stop listening."""
        self.release()
        self.sock.close()
