"""The feed server on a real socket (uvicorn, 127.0.0.1, port 0): raw paths, HEAD, 304, gzip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from feeds_samples import ThreadedServer, raw_request

from feeds.publish import write_atomic

FEED = b"<?xml version='1.0' encoding='UTF-8'?>\n<rss version=\"2.0\"><channel/></rss>\n" * 20


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "output"
    write_atomic(root / "all.rss", FEED)
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    with ThreadedServer(root) as url:
        yield url


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/./../secret.txt",
    ],
)
def test_raw_traversal_attempts_get_404(base: str, target: str) -> None:
    response = raw_request(base, target)
    status = response.split(b"\r\n", 1)[0]
    assert status in (b"HTTP/1.1 404 Not Found", b"HTTP/1.1 400 Bad Request"), response[:200]
    assert b"TOP SECRET" not in response and b"root:" not in response


def test_get_head_304_and_gzip_over_a_socket(base: str) -> None:
    with httpx.Client(base_url=base) as client:
        get = client.get("/all.rss", headers={"Accept-Encoding": "identity"})
        assert get.status_code == 200 and get.content == FEED
        head = client.head("/all.rss", headers={"Accept-Encoding": "identity"})
        assert head.content == b""
        assert head.headers["content-length"] == str(len(FEED))
        assert head.headers["etag"] == get.headers["etag"]
        again = client.get("/all.rss", headers={"If-None-Match": get.headers["etag"]})
        assert again.status_code == 200  # httpx asks for gzip: another representation
        assert again.headers["content-encoding"] == "gzip"
        cached = client.get("/all.rss", headers={"If-None-Match": again.headers["etag"]})
        assert cached.status_code == 304 and cached.content == b""
