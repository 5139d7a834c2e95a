"""Serving output/: validators, 304, HEAD, gzip, content types and no way out (G1-G5)."""

from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from feeds.publish import write_atomic
from feeds.server import accepts_gzip, create_app, http_url

pytestmark = pytest.mark.anyio
FEED = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n<rss version=\"2.0\"><channel>"
    + ("<title>Новости</title>".encode() * 50)
    + b"</channel></rss>\n"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def output(tmp_path: Path) -> Path:
    root = tmp_path / "output"
    write_atomic(root / "topics" / "metro.rss", FEED)
    write_atomic(root / "topics" / "metro.atom", b"<feed/>")
    write_atomic(root / "topics" / "metro.json", b'{"version": "https://jsonfeed.org/version/1.1"}')
    write_atomic(root / "feeds.opml", b"<opml/>")
    write_atomic(root / "index.html", b"<!doctype html><title>x</title>")
    (tmp_path / "secret.txt").write_text("outside")
    return root


@pytest.fixture
async def client(output: Path) -> AsyncIterator[httpx.AsyncClient]:
    async def healthz(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = create_app(output, extra_routes=[Route("/healthz", healthz)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://feeds.test") as c:
        yield c


IDENTITY = {"Accept-Encoding": "identity"}


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/topics/metro.rss", "application/rss+xml; charset=utf-8"),
        ("/topics/metro.atom", "application/atom+xml; charset=utf-8"),
        ("/topics/metro.json", "application/feed+json; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
    ],
)
async def test_files_are_served_with_type_validators_and_cache_control(
    client: httpx.AsyncClient, output: Path, path: str, ctype: str
) -> None:
    r = await client.get(path, headers=IDENTITY)
    assert r.status_code == 200
    assert r.headers["content-type"] == ctype
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["etag"].startswith('"') and not r.headers["etag"].startswith("W/")
    assert r.headers["last-modified"].endswith(" GMT")
    assert r.headers["vary"] == "Accept-Encoding"
    assert int(r.headers["content-length"]) == len(r.content)


async def test_head_is_get_without_a_body(client: httpx.AsyncClient) -> None:
    for enc in ("identity", "gzip"):
        get = await client.get("/topics/metro.rss", headers={"Accept-Encoding": enc})
        head = await client.head("/topics/metro.rss", headers={"Accept-Encoding": enc})
        assert head.status_code == get.status_code == 200
        assert head.content == b""
        assert dict(head.headers) == dict(get.headers)  # G2: same ETag, same Content-Length


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"nope", {etag}', '"a",W/{etag} , "b"', "*"],
)
async def test_if_none_match_gives_304(client: httpx.AsyncClient, if_none_match: str) -> None:
    first = await client.get("/topics/metro.rss", headers=IDENTITY)
    etag = first.headers["etag"]
    for method in ("GET", "HEAD"):
        r = await client.request(
            method,
            "/topics/metro.rss",
            headers={**IDENTITY, "If-None-Match": if_none_match.format(etag=etag)},
        )
        assert r.status_code == 304 and r.content == b""
        assert r.headers["etag"] == etag
        assert r.headers["cache-control"] == "public, max-age=300"


async def test_a_different_or_stale_etag_gets_the_new_file(
    client: httpx.AsyncClient, output: Path
) -> None:
    first = await client.get("/topics/metro.rss", headers=IDENTITY)
    r = await client.get("/topics/metro.rss", headers={**IDENTITY, "If-None-Match": '"other"'})
    assert r.status_code == 200 and r.content == FEED
    write_atomic(output / "topics" / "metro.rss", FEED + b"<!-- new -->")
    r = await client.get(
        "/topics/metro.rss", headers={**IDENTITY, "If-None-Match": first.headers["etag"]}
    )
    assert r.status_code == 200 and r.content.endswith(b"<!-- new -->")
    assert r.headers["etag"] != first.headers["etag"]


async def test_identical_rewrite_keeps_the_etag(client: httpx.AsyncClient, output: Path) -> None:
    first = await client.get("/topics/metro.rss", headers=IDENTITY)
    path = output / "topics" / "metro.rss"
    path.unlink()
    path.write_bytes(FEED)  # same bytes, new inode and mtime (e.g. a fresh deploy)
    second = await client.get("/topics/metro.rss", headers=IDENTITY)
    assert second.headers["etag"] == first.headers["etag"]


async def test_if_modified_since(client: httpx.AsyncClient, output: Path) -> None:
    os.utime(output / "topics" / "metro.rss", (1_700_000_000, 1_700_000_000))
    first = await client.get("/topics/metro.rss", headers=IDENTITY)
    assert first.headers["last-modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    cases = {
        "Tue, 14 Nov 2023 22:13:20 GMT": 304,
        "Wed, 15 Nov 2023 00:00:00 GMT": 304,
        "Tue, 14 Nov 2023 22:13:19 GMT": 200,
        "garbage": 200,
        "Tue, 99 Nov 2023 99:99:99 GMT": 200,
        "Fri, 01 Jan 2100 00:00:00 GMT": 200,  # future: ignored (G4)
    }
    for value, status in cases.items():
        r = await client.get("/topics/metro.rss", headers={**IDENTITY, "If-Modified-Since": value})
        assert r.status_code == status, value
    # If-None-Match wins: a non-matching tag means 200 even with a matching date.
    r = await client.get(
        "/topics/metro.rss",
        headers={
            **IDENTITY,
            "If-None-Match": '"other"',
            "If-Modified-Since": "Wed, 15 Nov 2023 00:00:00 GMT",
        },
    )
    assert r.status_code == 200


async def test_conditional_requests_never_304_other_methods(client: httpx.AsyncClient) -> None:
    r = await client.request("POST", "/topics/metro.rss", headers={"If-None-Match": "*"})
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


async def test_gzip_is_a_separate_representation(client: httpx.AsyncClient) -> None:
    plain = await client.get("/topics/metro.rss", headers=IDENTITY)
    packed = await client.get("/topics/metro.rss", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == FEED  # httpx decodes it
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert packed.headers["vary"] == "Accept-Encoding"
    raw = await client.get("/topics/metro.rss", headers={"Accept-Encoding": "gzip"})
    assert int(raw.headers["content-length"]) < len(FEED)
    r = await client.get(
        "/topics/metro.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]},
    )
    assert r.status_code == 304 and r.headers["etag"] == packed.headers["etag"]
    r = await client.get(
        "/topics/metro.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": plain.headers["etag"]},
    )
    assert r.status_code == 200
    refused = await client.get("/topics/metro.rss", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in refused.headers
    assert refused.headers["etag"] == plain.headers["etag"]


def test_accept_encoding_parsing() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("*, gzip;q=0")
    assert not accepts_gzip("identity")
    assert not accepts_gzip(None)
    assert not accepts_gzip("gzip;q=junk")


async def test_gzip_bytes_are_deterministic(client: httpx.AsyncClient) -> None:
    a = await client.get("/topics/metro.rss", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(gzip.compress(FEED, mtime=0)) == a.content


@pytest.mark.parametrize(
    "path",
    [
        "/nope.rss",
        "/topics/",
        "/topics",
        "/topics/.metro.rss.abc.tmp",
        "/%2e%2e/secret.txt",
        "/topics/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "/topics/..%5c..%5csecret.txt",
        "/%00index.html",
        "/feeds/?topic=(a+)+$",
    ],
)
async def test_unknown_or_escaping_paths_are_404(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert r.text == "Not found\n"
    assert "outside" not in r.text


@pytest.mark.parametrize("name", ["passwd", "shadow", "cityfeeds.db", "config.toml", "key.pem"])
async def test_only_the_kinds_of_file_a_build_publishes_are_served(
    client: httpx.AsyncClient, output: Path, name: str
) -> None:
    # An output_dir set to /etc served /etc/passwd and /etc/shadow.
    (output / name).write_text("root:x:0:0")
    r = await client.get(f"/{name}")
    assert r.status_code == 404 and "root" not in r.text


async def test_symlinks_may_not_point_outside(client: httpx.AsyncClient, output: Path) -> None:
    (output / "leak.rss").symlink_to(output.parent / "secret.txt")
    (output / "alias.rss").symlink_to(output / "topics" / "metro.rss")
    (output / "up").symlink_to(output.parent, target_is_directory=True)
    assert (await client.get("/leak.rss")).status_code == 404
    assert (await client.get("/up/secret.txt")).status_code == 404
    assert (await client.get("/alias.rss", headers=IDENTITY)).content == FEED


async def test_extra_routes_come_first(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.text == "ok"


async def test_an_output_folder_without_feeds_says_so_at_its_root(tmp_path: Path) -> None:
    hint = "no feeds in output yet: run `cityfeeds crawl` or `cityfeeds feeds`"
    transport = httpx.ASGITransport(app=create_app(tmp_path, empty_hint=hint))
    async with httpx.AsyncClient(transport=transport, base_url="http://feeds.test") as c:
        root = await c.get("/")
        other = await c.get("/topics/metro.rss")
        write_atomic(tmp_path / "index.html", b"<!doctype html><title>feeds</title>")
        built = await c.get("/")
    assert root.status_code == 404 and root.headers["content-type"].startswith("text/html")
    assert "run `cityfeeds crawl` or `cityfeeds feeds`" in root.text
    assert (other.status_code, other.text) == (404, "Not found\n")
    assert (built.status_code, built.text) == (200, "<!doctype html><title>feeds</title>")


def test_the_announced_url_names_an_ipv6_host_in_brackets() -> None:
    assert http_url("127.0.0.1", 8080) == "http://127.0.0.1:8080/"
    assert http_url("::1", 8080) == "http://[::1]:8080/"
