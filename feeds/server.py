"""Serve the output directory to feed readers: validators, 304s, gzip, HEAD, no path escapes."""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import html
import logging
import os
import socket
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from feeds.render import FORMATS

log = logging.getLogger(__name__)

CACHE_CONTROL = "public, max-age=300"
#: Files up to this size are kept in memory (with their gzip form) until their mtime changes.
MAX_CACHED_FILE = 4 * 1024 * 1024
#: Upper bound of the in-memory cache; the least recently used files are dropped first.
MAX_CACHE_BYTES = 128 * 1024 * 1024
# Compressing tiny bodies costs more than it saves.
MIN_GZIP_SIZE = 256

CONTENT_TYPES = {
    **{f".{fmt.extension}": f"{fmt.media_type}; charset=utf-8" for fmt in FORMATS.values()},
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_COMPRESSIBLE = (
    *(f".{fmt.extension}" for fmt in FORMATS.values()),
    *(".opml", ".html", ".xml", ".txt", ".css", ".svg"),
)


def content_type(path: Path) -> str:
    """The Content-Type header for a published file."""
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (honours ``q=0`` and ``*``)."""
    if not accept_encoding:
        return False
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name.strip().lower()] = weight
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0.0) > 0


def is_not_modified(headers: Headers, etag: str, mtime: float, now: float | None = None) -> bool:
    """RFC 9110 §13.1.2/13.1.3 for GET and HEAD: ``If-None-Match`` first, then a sane IMS."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        # Weak comparison: "W/" prefixes are ignored, as the RFC requires for If-None-Match.
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = headers.get("if-modified-since")
    if not if_modified_since:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False  # garbage is ignored, as if the header were absent
    if since.tzinfo is None:
        return False  # "-0000" or no zone: not an HTTP-date
    since_ts = since.timestamp()
    if since_ts > (time.time() if now is None else now):
        return False  # a date in the future is invalid (RFC 9110 §13.1.3)
    return int(mtime) <= since_ts


@dataclass
class _Cached:
    """One file as last read: validators, and the bodies when small enough."""

    key: tuple[int, int, int]
    etag: str
    mtime: float
    size: int
    body: bytes | None = None
    gzipped: bytes | None = field(default=None, repr=False)
    gzip_tried: bool = False

    @property
    def weight(self) -> int:
        return len(self.body or b"") + len(self.gzipped or b"")


def _stat_key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_small(path: Path) -> _Cached:
    # fstat on the open descriptor: the key describes exactly the bytes read, even if the
    # builder replaces the file meanwhile.
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        body = fh.read()
    digest = hashlib.sha256(body).hexdigest()[:32]
    return _Cached(_stat_key(st), f'"{digest}"', st.st_mtime, len(body), body=body)


def _hash_large(path: Path) -> _Cached:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return _Cached(_stat_key(st), f'"{digest.hexdigest()[:32]}"', st.st_mtime, st.st_size)


class OutputFiles:
    """ASGI app serving files below ``root`` (GET and HEAD), never anything outside it.

    ETags are strong, derived from the content (so identical rebuilds keep them); the gzip
    representation gets the same tag with a ``-gzip`` suffix. ``empty_hint`` is said (in a short
    HTML page, still 404) at ``/`` while there is no ``index.html``: no feeds were built yet.
    """

    def __init__(self, root: Path, *, empty_hint: str | None = None) -> None:
        self.root = Path(os.path.realpath(root))
        self.empty_hint = empty_hint
        self._cache: OrderedDict[Path, _Cached] = OrderedDict()
        self._cache_bytes = 0

    def resolve(self, url_path: str) -> Path | None:
        """The file that ``url_path`` (already percent-decoded) names, or ``None``."""
        if "\x00" in url_path or "\\" in url_path:
            return None
        parts = url_path.lstrip("/").split("/")
        if parts[-1] == "":
            parts[-1] = "index.html"
        # No "..", no empty segments, no dotfiles (temporary files of atomic writes).
        if any(not part or part.startswith(".") for part in parts):
            return None
        if Path(parts[-1]).suffix.lower() not in CONTENT_TYPES:
            # Only what a build publishes (feeds, pages, OPML, styles, icons): an output_dir
            # set to a folder of other files (/etc, a home) serves none of them.
            return None
        real = Path(os.path.realpath(self.root.joinpath(*parts)))
        # Symlinks are followed, but only to places inside the served directory
        # (docs/reliability.md G1).
        if not real.is_relative_to(self.root):
            return None
        return real

    async def _lookup(self, path: Path) -> _Cached | None:
        try:
            st = await anyio.to_thread.run_sync(os.stat, path)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        cached = self._cache.get(path)
        if cached is not None and cached.key == _stat_key(st):
            self._cache.move_to_end(path)
            return cached
        reader = _read_small if st.st_size <= MAX_CACHED_FILE else _hash_large
        try:
            cached = await anyio.to_thread.run_sync(reader, path)
        except OSError:
            return None
        self._store(path, cached)
        return cached

    def _store(self, path: Path, cached: _Cached) -> None:
        old = self._cache.pop(path, None)
        if old is not None:
            self._cache_bytes -= old.weight
        self._cache[path] = cached
        self._cache_bytes += cached.weight
        while self._cache_bytes > MAX_CACHE_BYTES and len(self._cache) > 1:
            _, evicted = self._cache.popitem(last=False)
            self._cache_bytes -= evicted.weight

    def _gzipped(self, path: Path, cached: _Cached) -> bytes | None:
        if not cached.gzip_tried and cached.body is not None and len(cached.body) >= MIN_GZIP_SIZE:
            # mtime=0: the compressed bytes, like the plain ones, depend only on the content.
            packed = gzip.compress(cached.body, compresslevel=6, mtime=0)
            cached.gzip_tried = True
            if len(packed) < len(cached.body):
                cached.gzipped = packed
                self._cache_bytes += len(packed)
        return cached.gzipped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """The response to ``request`` (any method)."""
        method = request.method
        if method not in ("GET", "HEAD"):
            return PlainTextResponse("Method not allowed\n", 405, headers={"Allow": "GET, HEAD"})
        url_path = request.path_params.get("path", request.url.path)
        path = self.resolve(url_path)
        cached = await self._lookup(path) if path is not None else None
        if path is None or cached is None:
            if self.empty_hint and url_path in ("", "/"):
                return HTMLResponse(_hint_page(self.empty_hint), 404)
            return PlainTextResponse("Not found\n", 404)

        compressible = path.suffix.lower() in _COMPRESSIBLE
        body, etag, encoding = cached.body, cached.etag, None
        if compressible and accepts_gzip(request.headers.get("accept-encoding")):
            packed = self._gzipped(path, cached)
            if packed is not None:
                body, etag, encoding = packed, cached.etag[:-1] + '-gzip"', "gzip"
        headers = {
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(cached.mtime, usegmt=True),
            "Cache-Control": CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
        }
        if compressible:
            headers["Vary"] = "Accept-Encoding"
        if is_not_modified(request.headers, etag, cached.mtime):
            return Response(status_code=304, headers=headers)
        headers["Content-Type"] = content_type(path)
        if encoding:
            headers["Content-Encoding"] = encoding
        if body is None:
            # Too big for the cache: stream it from disk (FileResponse handles HEAD and ranges).
            return FileResponse(path, headers=headers, media_type=headers["Content-Type"])
        headers["Content-Length"] = str(len(body))
        # HEAD: the same headers, Content-Length included, and no body (docs/reliability.md G2).
        return Response(b"" if method == "HEAD" else body, headers=headers)


def _hint_page(hint: str) -> str:
    text = html.escape(hint)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>No feeds yet</title></head>'
        f"<body><p>{text}</p></body></html>\n"
    )


def has_index(output_dir: Path) -> bool:
    """Whether ``output_dir`` has its ``index.html``, written with the first feeds built."""
    return (Path(output_dir) / "index.html").is_file()


def create_app(
    output_dir: Path, *, extra_routes: Sequence[BaseRoute] = (), empty_hint: str | None = None
) -> ASGIApp:
    """The ASGI app serving ``output_dir``; ``extra_routes`` (e.g. ``/healthz``) match first.

    ``empty_hint``: what ``/`` says while no feeds were built (see :class:`OutputFiles`).
    """
    files = OutputFiles(output_dir, empty_hint=empty_hint)
    routes: list[BaseRoute] = [*extra_routes, Route("/{path:path}", files)]
    return Starlette(routes=routes)


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening); ``OSError`` if that fails.

    Binding before uvicorn starts turns a taken port into one catchable error instead of
    uvicorn's log lines and ``sys.exit``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    return sock


def http_url(host: str, port: int) -> str:
    """``http://host:port/`` of a server listening on ``host``, an IPv6 address in brackets."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(
    output_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    extra_routes: Sequence[BaseRoute] = (),
    announce: Callable[[str], None] | None = None,
    empty_hint: str | None = None,
) -> None:
    """Serve ``output_dir`` with uvicorn until interrupted; ``OSError`` if the port is taken.

    ``announce`` gets the base URL once the port is bound (port 0: the one the kernel chose);
    ``empty_hint`` is what ``/`` says while no feeds were built (see :class:`OutputFiles`).
    """
    import uvicorn

    sock = bind_socket(host, port)
    # Listening already, so a client told the address below is queued, not refused, while
    # uvicorn starts (it listens on the socket again, which only sets the backlog).
    sock.listen(2048)
    url = http_url(host, sock.getsockname()[1])
    log.info("serving %s on %s", output_dir, url)
    if announce is not None:
        announce(url)
    config = uvicorn.Config(
        create_app(output_dir, extra_routes=extra_routes, empty_hint=empty_hint),
        server_header=False,
        proxy_headers=True,
        log_level="info",
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
