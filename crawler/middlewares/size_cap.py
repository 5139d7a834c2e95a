"""Scrapy's decompression plus a ``too_large`` count for every response over DOWNLOAD_MAXSIZE."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response

from crawler.middlewares.policy import Blocked, block

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


#: Request meta: the decompressed size limit of a request whose transfer has none of its own
#: (``download_maxsize`` 0: robots.txt, which stops its own download; crawler.middlewares.robots).
DECODED_MAXSIZE = "cityfeeds_decoded_maxsize"


class SizeCapMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, plus a ``too_large`` count for every response over DOWNLOAD_MAXSIZE.

    Scrapy drops such responses with at most a log line (scrapy#6616): bodies too large
    after decompression (gzip/brotli bombs) raise IgnoreRequest in HttpCompressionMiddleware,
    and raw bodies over the limit are cancelled by the download handler. Both are counted
    here so the run's ``dropped`` shows them.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler=crawler)
        self.crawler = crawler
        # Bytes received per request: a body streamed past the limit is cancelled with an
        # empty CancelledError, and this is the only way to tell it from other cancellations.
        self.received: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SizeCapMiddleware:
        return cls(crawler)

    def _bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        self.received[request] = self.received.get(request, 0) + len(data)

    def process_response(  # type: ignore[override]  # no spider argument since Scrapy 2.14
        self, request: Request, response: Response
    ) -> Request | Response:
        self.received.pop(request, None)
        if (decoded := request.meta.get(DECODED_MAXSIZE)) is not None:
            # Scrapy's decompression reads its limit from ``download_maxsize``; the download
            # is over, so the key now serves decompression alone.
            request.meta["download_maxsize"] = decoded
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if isinstance(exc, Blocked):
                raise
            raise block(
                self.crawler,
                "too_large",
                request.url,
                f"after decompression: {exc}",
                request=request,
            ) from None

    def process_exception(self, request: Request, exception: Exception) -> None:
        received = self.received.pop(request, 0)
        if not isinstance(exception, DownloadCancelledError):
            return None
        limit = request.meta.get("download_maxsize", self._max_size)
        if "max size" in str(exception):
            raise block(self.crawler, "too_large", request.url, str(exception), request=request)
        if limit and received > limit:
            raise block(
                self.crawler,
                "too_large",
                request.url,
                f"body over {limit} bytes ({received} received)",
                request=request,
            )
        return None
