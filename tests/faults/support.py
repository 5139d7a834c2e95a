"""Fault-test kit: loopback sites, raw-socket misbehaviour, a fake DNS, crawl runs and checks."""

from __future__ import annotations

import html
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FAKE_DNS_ENV = "CITYFEEDS_TEST_FAKE_DNS"
PUBLIC_IP = "93.184.216.34"  # a public address; traffic to it only ever goes via the test proxy

Route = tuple[int, dict[str, str], bytes] | Callable[["Handler", "Site"], None]


# -- pages -----------------------------------------------------------------------------------


def article_html(
    title: str | None,
    paragraphs: list[str] | None = None,
    *,
    published: str | None = "2026-11-20T09:30:00+03:00",
    head: str = "",
    charset: str | None = "utf-8",
    body_extra: str = "",
    raw_title: bool = False,
) -> str:
    """An article page; ``raw_title`` puts the title in unescaped (for entity/markup cases)."""
    paragraphs = (
        paragraphs
        if paragraphs is not None
        else [
            "Мосгортранс перевёл на электробусы ещё три маршрута в Южном округе столицы.",
            "Зарядка электробусов проходит на конечных станциях за десять–двадцать минут.",
        ]
    )
    t = (title if raw_title else html.escape(title)) if title is not None else ""
    meta = f'<meta charset="{charset}">' if charset else ""
    time_tag = f'<time datetime="{published}">{published}</time>' if published else ""
    h1 = f"<h1>{t}</h1>" if title is not None else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang='ru'><head>{meta}<title>{t}</title>{head}</head>"
        "<body><main><article>"
        f"{h1}{time_tag}<div class='article-body'>{body}</div>{body_extra}"
        "</article></main></body></html>"
    )


def rss(
    base_url: str,
    paths: list[str],
    *,
    titles: list[str] | None = None,
    dates: list[str | None] | None = None,
    descriptions: list[str] | None = None,
) -> bytes:
    """An RSS 2.0 feed linking ``paths`` (relative to ``base_url``); untitled unless ``titles``,
    undated unless ``dates`` (``pubDate`` values, None for none), without descriptions unless
    ``descriptions`` (HTML, put in CDATA)."""
    root = base_url.rstrip("/")
    items = "".join(
        (f"<item><title>{html.escape(titles[i])}</title>" if titles else "<item>")
        + f"<link>{html.escape(p if '://' in p else root + p)}</link>"
        + (f"<pubDate>{dates[i]}</pubDate>" if dates and dates[i] else "")
        + (f"<description><![CDATA[{descriptions[i]}]]></description>" if descriptions else "")
        + "</item>"
        for i, p in enumerate(paths)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>{root}/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def html_route(
    text: str | bytes, ctype: str = "text/html; charset=utf-8", status: int = 200
) -> Route:
    """A static route serving ``text``."""
    return (status, {"Content-Type": ctype}, text.encode() if isinstance(text, str) else text)


# -- servers ---------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """Dispatches to a Site's routes (path with query, or the absolute URI a proxy gets)."""

    protocol_version = "HTTP/1.1"
    site: Site

    def do_GET(self) -> None:
        self.site.log.append((self.command, self.path, time.monotonic()))
        route = self.site.routes.get(self.path)
        if route is None:
            self.send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        if callable(route):
            route(self, self.site)
        else:
            self.send(*route)

    do_HEAD = do_GET

    def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Send a complete response."""
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or reset are the point of these tests


class Site:
    """A loopback HTTP server on a free port; ``routes`` may change while it runs."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.log: list[tuple[str, str, float]] = []
        self.stop_event = threading.Event()
        handler = type("BoundHandler", (Handler,), {"site": self})
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def hits(self, path: str) -> int:
        """How many times ``path`` was requested."""
        return sum(1 for _, p, _ in self.log if p == path)

    def times(self, path: str) -> list[float]:
        """When ``path`` was requested (monotonic clock)."""
        return [t for _, p, t in self.log if p == path]

    def close(self) -> None:
        """Stop serving; wakes handlers that wait on ``stop_event``."""
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class RawServer:
    """A TCP server whose every connection is handled by ``serve(conn)`` (misbehaving HTTP)."""

    def __init__(
        self,
        serve: Callable[[socket.socket, RawServer], None],
        *,
        backlog: int = 16,
        accept: bool = True,
    ) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.serve = serve
        self.connections = 0
        self.stop_event = threading.Event()
        if accept:
            threading.Thread(target=self._loop, daemon=True).start()

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            if request.startswith(b"GET /robots.txt "):
                # Misbehave on pages only: robots.txt is a clean 404 (allow all).
                conn.sendall(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                return
            self.serve(conn, self)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop accepting and close the listening socket."""
        self.stop_event.set()
        self.sock.close()


def refused_port() -> int:
    """A port that was just bound and closed: connecting to it is refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- fake DNS (loaded inside the crawl child via the DNS_RESOLVER setting) -------------------


def _fake_resolver_class() -> type:
    from scrapy.resolver import CachingThreadedResolver
    from twisted.internet import defer
    from twisted.internet.error import DNSLookupError

    class FakeResolver(CachingThreadedResolver):
        """Answers names listed in $CITYFEEDS_TEST_FAKE_DNS (null: NXDOMAIN); others as usual."""

        table: dict[str, str | None] = json.loads(os.environ.get(FAKE_DNS_ENV) or "{}")

        def getHostByName(self, name: str, timeout: Any = ()) -> Any:
            key = name.lower()
            if key in self.table:
                ip = self.table[key]
                return defer.succeed(ip) if ip else defer.fail(DNSLookupError(f"NXDOMAIN {name}"))
            return super().getHostByName(name, timeout)

    return FakeResolver


def __getattr__(name: str) -> Any:
    # Built lazily so importing this module in the test process does not import Twisted.
    if name == "FakeResolver":
        return _fake_resolver_class()
    raise AttributeError(name)


# -- crawling --------------------------------------------------------------------------------


@dataclass
class CrawlResult:
    """Runs, store and rebuilt feeds after one crawl of a Lab."""

    config: Any
    outcome: Any
    runs: dict[str, dict[str, Any]]
    duration: float
    feeds: dict[str, Any] = field(default_factory=dict)

    def store(self) -> Any:
        """A fresh Store on the lab's database (close it after use)."""
        from crawler.storage import Store

        return Store.open(self.config.database_url)

    def articles(self, source: str) -> list[Any]:
        """Stored articles of ``source``, newest first."""
        store = self.store()
        try:
            return store.newest_articles(source=source, limit=1000)
        finally:
            store.close()

    def feed(self, name: str) -> Any:
        """The parsed feed ``name`` (e.g. 'sources/b7.rss'), bozo already checked."""
        import feedparser

        data = (self.config.output_dir / name).read_bytes()
        parsed = feedparser.parse(data)
        assert not parsed.bozo, f"{name}: {parsed.get('bozo_exception')}"
        return parsed


class Lab:
    """Sources (one per fault case) crawled together in one child process."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.sources: list[dict[str, Any]] = []
        self.closers: list[Callable[[], None]] = []
        self.fake_dns: dict[str, str | None] = {}
        self.env: dict[str, str] = {}
        self.crawl: dict[str, Any] = {}
        self.settings: dict[str, str] = {}

    def site(self, routes: dict[str, Route] | None = None) -> Site:
        """A new loopback site, closed with the lab."""
        site = Site(routes)
        self.closers.append(site.close)
        return site

    def raw(self, serve: Callable[[socket.socket, RawServer], None], **kwargs: Any) -> RawServer:
        """A new raw TCP server, closed with the lab."""
        server = RawServer(serve, **kwargs)
        self.closers.append(server.close)
        return server

    def source(
        self, name: str, base: str, *, feed: str | None = "rss.xml", **extra: Any
    ) -> dict[str, Any]:
        """Add a source at ``base`` discovering through ``base + feed``."""
        entry: dict[str, Any] = {
            "name": name,
            "title": f"Fault case {name}",
            "url": base,
            "city": "Moscow",
            "allow_private": True,
        }
        if feed:
            entry["feeds"] = [base + feed]
        entry.update(extra)
        self.sources.append(entry)
        return entry

    def config_path(self) -> Path:
        """Write the lab's config file."""
        from tests.conftest import write_site_config

        cfg = write_site_config(self.tmp_path, "http://127.0.0.1/", sources=self.sources)
        if self.crawl:
            import tomllib

            import tomli_w

            raw = tomllib.loads(cfg.read_text(encoding="utf-8"))
            raw["crawl"].update(self.crawl)
            cfg.write_text(tomli_w.dumps(raw), encoding="utf-8")
        return cfg

    def run(
        self, *, sources: list[str] | None = None, timeout: float = 90, feeds: bool = True
    ) -> CrawlResult:
        """Crawl (all or some) sources in one child, then rebuild the feeds."""
        from crawler.config import load_config
        from crawler.supervisor import crawl_subprocess

        cfg = load_config(self.config_path())
        names = sources or [s["name"] for s in self.sources]
        settings = dict(self.settings)
        if self.fake_dns:
            settings.setdefault("DNS_RESOLVER", "tests.faults.support.FakeResolver")
        env = {FAKE_DNS_ENV: json.dumps(self.fake_dns), **self.env}
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        log = (self.tmp_path / "crawl.log").open("ab")
        t0 = time.monotonic()
        with _environ(env):
            outcome = crawl_subprocess(
                cfg,
                names,
                timeout=timeout,
                extra_settings=settings,
                log_level="INFO",
                stderr=log,
                stdout=log,
            )
        log.close()
        result = CrawlResult(cfg, outcome, outcome.runs, time.monotonic() - t0)
        if feeds:
            from cityfeeds.publishing import rebuild_feeds

            result.feeds = {"report": rebuild_feeds(cfg)}
        return result

    def log_text(self) -> str:
        """The crawl child's log."""
        path = self.tmp_path / "crawl.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def close(self) -> None:
        """Stop every server."""
        for close in reversed(self.closers):
            try:
                close()
            except Exception:
                pass


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def check_feeds_valid(output_dir: Path) -> int:
    """Every RSS/Atom file under ``output_dir`` parses (feedparser bozo 0, lxml); returns count."""
    import feedparser
    from lxml import etree

    count = 0
    for path in sorted(output_dir.rglob("*")):
        if path.suffix in (".rss", ".atom", ".xml") and path.is_file():
            data = path.read_bytes()
            etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
            parsed = feedparser.parse(data)
            assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
            count += 1
        elif path.suffix == ".json" and path.is_file() and path.name != "status.json":
            json.loads(path.read_bytes())
    return count


def dropped(run: dict[str, Any]) -> dict[str, int]:
    """The run's dropped-by-reason counts."""
    return dict(run.get("dropped") or {})


def when(text: str) -> datetime:
    """An aware datetime from ISO text."""
    return datetime.fromisoformat(text)


# -- faults injected into the crawl child (enabled through the EXTENSIONS setting) -----------


def extensions_with(*injected: str) -> str:
    """An EXTENSIONS setting (JSON, for ``--set``) keeping the project's and adding ``injected``."""
    import crawler.settings as project

    value = dict(project.EXTENSIONS)
    value.update({path: 0 for path in injected})
    return json.dumps(value)


class DiskFull:
    """Every SQLite connection of the child may grow the file by 2 pages only (E2, a full disk)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> DiskFull:
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        def limit(dbapi_conn: Any, record: Any) -> None:
            cur = dbapi_conn.cursor()
            pages = cur.execute("PRAGMA page_count").fetchone()[0]
            cur.execute(f"PRAGMA max_page_count = {pages + 2}")
            cur.close()

        event.listen(Pool, "connect", limit)
        return cls()


class CrashParse:
    """The spider of source ``f3_crash`` raises in its feed callback (F3)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrashParse:
        from scrapy import signals

        def opened(spider: Any) -> None:
            if spider.source_name == "f3_crash":

                def crash(response: Any) -> None:
                    raise RuntimeError("injected crash in parse")

                spider.parse_feed = crash

        crawler.signals.connect(opened, signal=signals.spider_opened, weak=False)
        return cls()


class ExitChild:
    """The crawl child dies abruptly (``os._exit(1)``) once its spiders are open (F3)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExitChild:
        from scrapy import signals

        crawler.signals.connect(
            lambda spider: os._exit(1), signal=signals.spider_opened, weak=False
        )
        return cls()
