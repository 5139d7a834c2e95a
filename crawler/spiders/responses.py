"""What a response or a failed request says: content type, charset, HTML or not, link hints."""

from __future__ import annotations

import re
from typing import Any

from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

from crawler.discovery import Link
from crawler.failures import describe_exception, error_key
from crawler.models import Hints

HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def note_retry_after(stats: StatsCollector, failure: Failure) -> None:
    """Keep a 429/503's raw ``Retry-After`` (a fallback) and status in the crawl's stats."""
    response = getattr(failure.value, "response", None)
    if response is not None and response.status in (429, 503):
        value = response.headers.get(b"Retry-After")
        if value and stats.get_value("cityfeeds/retry_after") is None:
            # RetryAfterMiddleware records parsed seconds; keep the raw value only as a fallback.
            stats.set_value("cityfeeds/retry_after", value.decode("latin-1", "replace"))
        stats.set_value("cityfeeds/last_status", response.status)


def failure_text(failure: Failure, *, timeout: float = 0, max_bytes: int = 0) -> str:
    """A failed request in a few words: its HTTP status, or what went wrong
    (``connection closed by the server``, ``redirect loop``: :mod:`crawler.failures`)."""
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    return describe_exception(failure.value, timeout=timeout, max_bytes=max_bytes)


#: HTTP statuses that say a page is gone for good (RFC 9110 §15.5.5, §15.5.11): an article
#: answering one is dropped as ``not_found``; it is no fetch error to try again.
GONE_STATUSES = frozenset({404, 410})


def gone_status(failure: Failure) -> int | None:
    """The status of a request that failed with a 404 or 410 answer (None otherwise)."""
    response = getattr(failure.value, "response", None)
    if response is not None and response.status in GONE_STATUSES:
        return int(response.status)
    return None


def cause_of(failure: Failure, url: str, *, max_bytes: int = 0) -> dict[str, Any]:
    """Why a request failed, to keep in the run: its URL and HTTP status or error key
    (:func:`crawler.failures.error_key`: a refusal's reason or the innermost error class).

    A request refused because its host's robots.txt was unreachable carries that robots.txt's
    cause instead: the document that failed is the robots.txt, on the request's own host.
    ``max_bytes`` is the request's own size limit (a sitemap's), kept with a ``too_large``
    error so the run's message names that limit, not the crawl's ``max_response_bytes``.
    """
    own = getattr(failure.value, "cause", None)
    if own:
        return dict(own)
    response = getattr(failure.value, "response", None)
    if response is not None:
        return {"url": url, "status": int(response.status)}
    key = error_key(failure.value)
    if key == "too_large" and max_bytes:
        return {"url": url, "error": key, "max_bytes": max_bytes}
    return {"url": url, "error": key}


def content_type(response: Response) -> str:
    """The response's ``Content-Type`` header ("" when absent)."""
    return (response.headers.get(b"Content-Type") or b"").decode("latin-1", "replace")


def is_html(response: Response) -> bool:
    """Whether the response is an HTML page (by its header, else by its first bytes)."""
    ctype = (response.headers.get(b"Content-Type") or b"").lower()
    if not ctype:
        return response.body[:1024].lstrip().lower().startswith((b"<!doctype html", b"<html"))
    return any(t in ctype for t in HTML_TYPES)


def link_hints(response: Response) -> Hints:
    """What discovery said about the page's link (nothing for a page found otherwise)."""
    link: Link | None = response.meta.get("cityfeeds_link")
    if link is None:
        return Hints()
    return Hints(link.title, link.published, link.summary)


def header_charset(response: Response) -> str | None:
    """The charset the ``Content-Type`` header declares, if any."""
    ctype = content_type(response)
    m = re.search(r"charset=([\w-]+)", ctype, re.I)
    return m.group(1) if m else None
