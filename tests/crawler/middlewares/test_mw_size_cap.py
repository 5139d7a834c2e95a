"""SizeCapMiddleware: every response over DOWNLOAD_MAXSIZE is counted as too_large (scrapy#6616)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from mw_samples import make_crawler
from scrapy import signals
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Request, Response

from crawler.middlewares.policy import Blocked
from crawler.middlewares.size_cap import DECODED_MAXSIZE, SizeCapMiddleware

LIMIT = 10_000


def middleware(tmp_path: Path) -> SizeCapMiddleware:
    return SizeCapMiddleware.from_crawler(
        make_crawler(tmp_path, settings={"DOWNLOAD_MAXSIZE": LIMIT})
    )


def gzipped(request: Request, size: int) -> Response:
    body = gzip.compress(b"<p>" + b"a" * size + b"</p>", mtime=0)
    return Response(request.url, body=body, headers={"Content-Encoding": "gzip"})


def test_a_small_gzip_body_is_decompressed(tmp_path: Path) -> None:
    request = Request("https://vm.ru/news/1")
    response = middleware(tmp_path).process_response(request, gzipped(request, 100))
    assert isinstance(response, Response) and response.body == b"<p>" + b"a" * 100 + b"</p>"


def test_a_gzip_bomb_is_dropped_as_too_large(tmp_path: Path) -> None:
    mw = middleware(tmp_path)
    request = Request("https://vm.ru/news/1")
    with pytest.raises(Blocked) as info:
        mw.process_response(request, gzipped(request, 5 * LIMIT))
    assert info.value.reason == "too_large" and "after decompression" in str(info.value)
    assert mw.crawler.stats.get_value("cityfeeds/dropped/too_large") == 1


def test_a_request_without_a_transfer_limit_keeps_one_for_decompression(tmp_path: Path) -> None:
    """robots.txt: download_maxsize 0 (it stops its own download), DECODED_MAXSIZE for the rest."""
    mw = middleware(tmp_path)
    request = Request(
        "https://vm.ru/robots.txt", meta={"download_maxsize": 0, DECODED_MAXSIZE: LIMIT}
    )
    with pytest.raises(Blocked) as info:
        mw.process_response(request, gzipped(request, 5 * LIMIT))
    assert info.value.reason == "too_large"


def test_a_download_cancelled_for_max_size_is_counted(tmp_path: Path) -> None:
    mw = middleware(tmp_path)
    cancelled = DownloadCancelledError(f"Cancelling download: expected size over max size {LIMIT}")
    with pytest.raises(Blocked):
        mw.process_exception(Request("https://vm.ru/big"), cancelled)
    assert mw.crawler.stats.get_value("cityfeeds/dropped/too_large") == 1


def test_a_body_streamed_past_the_limit_is_told_from_other_cancellations(tmp_path: Path) -> None:
    mw = middleware(tmp_path)
    big, small = Request("https://vm.ru/big"), Request("https://vm.ru/small")
    for request, size in ((big, LIMIT + 1), (small, 10)):
        mw.crawler.signals.send_catch_log(
            signals.bytes_received, data=b"x" * size, request=request, spider=None
        )
    with pytest.raises(Blocked) as info:
        mw.process_exception(big, DownloadCancelledError())
    assert f"({LIMIT + 1} received)" in str(info.value)
    assert mw.process_exception(small, DownloadCancelledError()) is None
    assert mw.process_exception(small, ValueError("other")) is None
    assert mw.crawler.stats.get_value("cityfeeds/dropped/too_large") == 1
