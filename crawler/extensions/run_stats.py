"""Scrapy's stats of a run, read: the stored figures (RunStats) and why a source failed."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from crawler.storage import RunStats

#: Download errors that mean the site could not be reached at all, by exception class name
#: (Scrapy counts them as ``downloader/exception_type_count/<module.Class>``), most telling first.
#: Scrapy 2.13+ wraps Twisted's errors (CannotResolveHostError, DownloadTimeoutError, ...);
#: both families are listed.
NETWORK_CAUSES: tuple[tuple[str, str, str], ...] = (
    ("CannotResolveHostError", "dns", "DNS lookup failed"),
    ("DNSLookupError", "dns", "DNS lookup failed"),
    ("DownloadConnectionRefusedError", "refused", "connection refused"),
    ("ConnectionRefusedError", "refused", "connection refused"),
    ("DownloadTimeoutError", "timeout", "timed out"),
    ("TCPTimedOutError", "timeout", "timed out"),
    ("TimeoutError", "timeout", "timed out"),
    ("NoRouteError", "unreachable", "no route to host"),
    ("ConnectError", "unreachable", "could not connect"),
)


def network_error(stats: dict[str, Any]) -> tuple[str, str] | None:
    """``(kind, description)`` of the network error a run met, if any (``dns``, ``timeout``...)."""
    prefix = "downloader/exception_type_count/"
    seen = {k[len(prefix) :].rsplit(".", 1)[-1] for k in stats if k.startswith(prefix)}
    for name, kind, text in NETWORK_CAUSES:
        if name in seen:
            return kind, text
    return None


#: Error classes of a connection cut before a whole response arrived (Scrapy 2.13+ wraps
#: Twisted's: a connection closed without an answer is a ``DownloadFailedError``).
CUT_CONNECTION = {
    "DownloadFailedError": "connection lost",
    "ResponseNeverReceived": "connection lost",
    "ResponseFailed": "connection lost",
    "ConnectionLost": "connection lost",
    "ResponseDataLossError": "response cut short",
    "_DataLoss": "response cut short",
}


def failure_cause(stats: dict[str, Any], timeout: float) -> str:
    """Why no feed, sitemap or listing of a source could be read, in a few words, with the URL.

    ``HTTP 500: https://site/rss.xml``, ``connection lost (ResponseNeverReceived): ...``.
    """
    cause = stats.get("cityfeeds/cause") or {}
    text = _cause_text(stats, timeout, cause)
    url = cause.get("url")
    if url and stats.get("cityfeeds/robots_unavailable"):
        url = urljoin(url, "/robots.txt")  # the feed was never asked for: robots.txt failed
    return f"{text}: {url}" if url else text


def _cause_text(stats: dict[str, Any], timeout: float, cause: dict[str, Any]) -> str:
    network = network_error(stats)
    if network is not None:
        kind, text = network
        return f"{text} after {timeout:g} s" if kind == "timeout" else text
    robots = stats.get("cityfeeds/robots_unavailable")
    if robots:
        return str(robots).split(" (", 1)[0] + _robots_detail(str(robots))
    if cause.get("status"):
        return f"HTTP {cause['status']}"
    error = str(cause.get("error") or "")
    if error in CUT_CONNECTION:
        return f"{CUT_CONNECTION[error]} ({error})"
    if error.startswith(("bad_", "unsafe_")):
        return error.replace("_", " ")
    if error:
        return f"error {error}"
    status = stats.get("cityfeeds/last_status") or _commonest_error_status(stats)
    if status:
        return f"HTTP {status}"
    return "no feed, sitemap or listing could be read"


def _commonest_error_status(stats: dict[str, Any]) -> int | None:
    prefix = "downloader/response_status_count/"
    counts = {
        int(k[len(prefix) :]): int(v)
        for k, v in stats.items()
        if k.startswith(prefix) and k[len(prefix) :].isdigit() and int(k[len(prefix) :]) >= 400
    }
    return max(counts, key=lambda code: (counts[code], code)) if counts else None


def _robots_detail(message: str) -> str:
    # "robots.txt unreachable (HTTP 503)" keeps its status; exception texts are left out.
    match = re.search(r"\((HTTP \d+)\)", message)
    return f" ({match.group(1)})" if match else ""


def run_stats_from(stats: dict[str, Any]) -> RunStats:
    """Turn Scrapy's stats dict into the figures stored for a run."""
    prefix = "cityfeeds/dropped/"
    dropped = {k[len(prefix) :]: int(v) for k, v in stats.items() if k.startswith(prefix)}
    not_fetched_prefix = "cityfeeds/not_fetched/"
    not_fetched = {
        k[len(not_fetched_prefix) :]: int(v)
        for k, v in stats.items()
        if k.startswith(not_fetched_prefix) and v
    }
    # Scrapy's UrlLengthMiddleware drops over-long links with only a stat: report it
    # (docs/reliability.md D7).
    if stats.get("urllength/request_ignored_count"):
        dropped["url_too_long"] = int(stats["urllength/request_ignored_count"])
    extra = {
        "requests": int(stats.get("downloader/request_count", 0)),
        "responses": int(stats.get("downloader/response_count", 0)),
        "bytes": int(stats.get("downloader/response_bytes", 0)),
        "requests_avoided": int(stats.get("cityfeeds/requests_avoided", 0))
        + int(stats.get("cityfeeds/not_modified", 0)),
        "not_modified": int(stats.get("cityfeeds/not_modified", 0)),
        "retries": int(stats.get("retry/count", 0)),
        "date_fallback": int(stats.get("cityfeeds/date_fallback", 0)),
        "invalid_bytes": int(stats.get("cityfeeds/invalid_bytes", 0)),
        "finish_reason": stats.get("finish_reason"),
    }
    if not_fetched:
        # Requests the run decided not to send (early stop, interrupt): by the stop's reason.
        extra["not_fetched"] = dict(sorted(not_fetched.items()))
    for key in (
        "cityfeeds/retry_after",
        "cityfeeds/last_status",
        "cityfeeds/store_error",
        "cityfeeds/robots_unavailable",
        "cityfeeds/crawl_delay",
        "cityfeeds/retry_at",
        "cityfeeds/rechecks",
        "cityfeeds/rechecks_deferred",
        "cityfeeds/recheck_cursor",
        "cityfeeds/cause",
    ):
        if key in stats:
            extra[key.split("/", 1)[1]] = stats[key]
    network = network_error(stats)
    if network is not None:
        extra["network_error"] = network[0]
    # CPU seconds per stage of page processing (crawler.timing; bench/crawl.py prints them).
    timing = {
        key.rsplit("/", 1)[1]: round(int(value) / 1e6, 3)
        for key, value in stats.items()
        if key.startswith("cityfeeds/timing/")
    }
    if timing:
        extra["timing"] = dict(sorted(timing.items()))
    recovered = {
        k.rsplit("/", 1)[1]: int(v)
        for k, v in stats.items()
        if k.startswith("cityfeeds/recovered/")
    }
    if recovered:
        # A feed or sitemap was not well-formed (often truncated): read only in part.
        extra["feed_recovered"] = True
        extra["recovered"] = dict(sorted(recovered.items()))
    for key, value in stats.items():
        if key.startswith(("cityfeeds/discovered/", "cityfeeds/skipped/", "cityfeeds/errors/")):
            extra[key.split("/", 1)[1]] = int(value)
    errors = int(stats.get("cityfeeds/errors/discovery", 0)) + int(
        stats.get("cityfeeds/errors/article", 0)
    )
    return RunStats(
        pages=int(stats.get("cityfeeds/pages", 0)),
        new=int(stats.get("cityfeeds/new", 0)),
        updated=int(stats.get("cityfeeds/updated", 0)),
        unchanged=int(stats.get("cityfeeds/unchanged", 0)),
        dropped=dropped,
        errors=errors,
        extra=extra,
    )
