"""Scrapy's stats of a run, read: the stored figures (RunStats) and why a source failed."""

from __future__ import annotations

import re
from typing import Any

from crawler.failures import NO_CAUSE, causes_text, describe
from crawler.storage import RunStats

#: Download errors that mean the site could not be reached at all, by exception class name
#: (Scrapy counts them as ``downloader/exception_type_count/<module.Class>``), most telling first.
#: Scrapy 2.13+ wraps Twisted's errors (CannotResolveHostError, DownloadTimeoutError, ...);
#: both families are listed. Their words are :data:`crawler.failures.ERROR_WORDS`'.
NETWORK_CAUSES: tuple[tuple[str, str], ...] = (
    ("CannotResolveHostError", "dns"),
    ("DNSLookupError", "dns"),
    ("DownloadConnectionRefusedError", "refused"),
    ("ConnectionRefusedError", "refused"),
    ("DownloadTimeoutError", "timeout"),
    ("TCPTimedOutError", "timeout"),
    ("TimeoutError", "timeout"),
    ("NoRouteError", "unreachable"),
    ("ConnectError", "unreachable"),
)


def network_error(stats: dict[str, Any]) -> tuple[str, str] | None:
    """``(kind, error class)`` of the network error a run met, if any (kind ``dns``,
    ``refused``, ``timeout`` or ``unreachable``)."""
    prefix = "downloader/exception_type_count/"
    seen = {k[len(prefix) :].rsplit(".", 1)[-1] for k in stats if k.startswith(prefix)}
    for name, kind in NETWORK_CAUSES:
        if name in seen:
            return kind, name
    return None


def failure_cause(stats: dict[str, Any], timeout: float, max_bytes: int = 0) -> str:
    """Why feeds, sitemaps or listings of a source could not be read, in a few words, each
    with its own URL.

    ``HTTP 500: https://site/rss.xml``, ``redirect loop: ...``, ``did not answer in 30 s: ...``
    (``timeout`` and ``max_bytes`` are the crawl's request timeout and size limit); several
    causes are said one after the other (``stats.causes``), the ones past
    :data:`crawler.failures.CAUSES_SAID` counted.
    """
    causes = stats.get("cityfeeds/causes") or [c for c in [stats.get("cityfeeds/cause")] if c]
    if not causes:
        return _cause_text(stats, timeout, max_bytes)
    return causes_text(causes, timeout, max_bytes)


def _cause_text(stats: dict[str, Any], timeout: float, max_bytes: int) -> str:
    """A failure's words from the crawl's figures alone (no document's cause was kept)."""
    network = network_error(stats)
    if network is not None:
        return describe(network[1], timeout=timeout)
    robots = stats.get("cityfeeds/robots_unavailable")
    if robots:
        return str(robots).split(" (", 1)[0] + _robots_detail(str(robots))
    status = stats.get("cityfeeds/last_status") or _commonest_error_status(stats)
    if status:
        return f"HTTP {status}"
    return NO_CAUSE


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
        "cityfeeds/robots_truncated",
        "cityfeeds/retry_at",
        "cityfeeds/rechecks",
        "cityfeeds/rechecks_deferred",
        "cityfeeds/recheck_cursor",
        "cityfeeds/cause",
        "cityfeeds/causes",
        "cityfeeds/article_links",
        "cityfeeds/notes",
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
