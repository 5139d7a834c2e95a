"""Scrapy extensions: record every run in the store, and print progress on long crawls."""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler.context import get_context
from crawler.lifecycle import hostname
from crawler.middlewares import drain_download_queues
from crawler.normalize.dates import parse_retry_after
from crawler.normalize.urls import host_of
from crawler.storage import RunStats

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

OK_REASONS = {"finished", "closespider_pagecount", "closespider_itemcount"}


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


def failure_cause(stats: dict[str, Any], timeout: float) -> str:
    """Why no feed, sitemap or listing of a source could be read, in a few words."""
    network = network_error(stats)
    if network is not None:
        kind, text = network
        return f"{text} after {timeout:g} s" if kind == "timeout" else text
    robots = stats.get("cityfeeds/robots_unavailable")
    if robots:
        return str(robots).split(" (", 1)[0] + _robots_detail(str(robots))
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
    ):
        if key in stats:
            extra[key.split("/", 1)[1]] = stats[key]
    network = network_error(stats)
    if network is not None:
        extra["network_error"] = network[0]
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


class RunRecorder:
    """Record each crawl run (source, start, end, pages, stored, dropped by reason, errors).

    The run row is the one the parent process created (``CITYFEEDS_RUN_IDS``), else one made
    here. Requests scheduled but never sent when the run stops (an early stop, an interrupt)
    are counted as ``not_fetched`` with the stop's reason, so every requested URL ends stored,
    dropped with a reason, or not fetched.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None
        self.finished = False
        self.interrupted: str | None = None
        # Requests in the scheduler that have not reached the downloader yet.
        self.unsent: set[Any] = set()
        self.track_unsent = not crawler.settings.getbool("SCHEDULER_PERSIST")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        ext = cls(crawler)
        crawler.cityfeeds_recorder = ext  # type: ignore[attr-defined]
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        if ext.track_unsent:
            crawler.signals.connect(ext._scheduled, signal=signals.request_scheduled)
            crawler.signals.connect(ext.sent, signal=signals.request_dropped)
            crawler.signals.connect(ext.sent, signal=signals.request_reached_downloader)
        return ext

    def _scheduled(self, request: Any, spider: Any = None) -> None:
        self.unsent.add(request)

    def sent(self, request: Any, spider: Any = None) -> None:
        """``request`` left the scheduler for good (reached the downloader, or was refused)."""
        self.unsent.discard(request)

    def spider_opened(self, spider: Any) -> None:
        ctx = get_context(self.crawler)
        given = self.crawler.settings.getdict("CITYFEEDS_RUN_IDS").get(spider.source_name)
        if given is not None:
            self.run_id = int(given)
        else:
            self.run_id = ctx.store.start_run(
                spider.source_name, now=ctx.clock(), pid=os.getpid(), host=hostname()
            )

    def interrupt(self, why: str) -> None:
        """Stop the run (SIGINT/SIGTERM): no new requests; those in flight may finish."""
        self.interrupted = why
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="interrupted"))
            # Requests waiting for their turn in a download slot are not in flight yet.
            drain_download_queues(self.crawler, "interrupted")

    def force_close(self) -> None:
        """Record the run as it stands, now: the reactor is about to stop.

        Pages still downloading or being extracted are counted ``not_fetched/interrupted``;
        the articles waiting in the store's batch are written first.
        """
        spider = self.crawler.spider
        if self.finished or spider is None:
            return  # not started yet: the parent closes its run row as interrupted
        stats = self.crawler.stats
        assert stats is not None
        engine = self.crawler.engine
        in_flight = len(engine.downloader.active) if engine is not None else 0
        in_flight += int(getattr(spider, "extracting", 0))
        if in_flight:
            stats.inc_value("cityfeeds/not_fetched/interrupted", in_flight)
        store_pipeline = getattr(self.crawler, "cityfeeds_store", None)
        if store_pipeline is not None:
            store_pipeline.flush(closing=True)
        self.spider_closed(spider, "interrupted")

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.finished:
            return
        self.finished = True
        ctx = get_context(self.crawler)
        assert self.crawler.stats is not None
        if self.unsent:
            label = "interrupted" if self.interrupted else reason
            self.crawler.stats.inc_value(f"cityfeeds/not_fetched/{label}", len(self.unsent))
            self.unsent.clear()
        if reason == "retry_after":
            now = ctx.clock()
            wait = parse_retry_after(self.crawler.stats.get_value("cityfeeds/retry_after"), now)
            if wait is not None:
                retry_at = now + timedelta(seconds=wait)
                self.crawler.stats.set_value("cityfeeds/retry_at", retry_at.isoformat())
        stats = self.crawler.stats.get_stats()
        run = run_stats_from(stats)
        status, message = self._verdict(spider, reason, stats)
        if self.interrupted and status != "failed":
            status, message = "interrupted", f"interrupted ({self.interrupted})"
        if status == "ok" and not stats.get("cityfeeds/errors/article"):
            mw = getattr(self.crawler, "cityfeeds_conditional", None)
            if mw is not None:
                mw.commit()
        if self.run_id is not None:
            try:
                ctx.store.finish_run(
                    self.run_id, status=status, stats=run, now=ctx.clock(), message=message
                )
            except Exception:
                logger.exception("[%s] could not record the run", spider.source_name)
        flush = getattr(spider, "flush_run_counts", None)
        if flush is not None:
            # A distributed worker's figures for the scheduled runs it served, before the store
            # closes.
            flush(closing=True)
        log = logger.error if status == "failed" else logger.info
        log(
            "[%s] run %s: %d pages, %d new, %d updated, %d unchanged, dropped %s%s",
            spider.source_name,
            status,
            run.pages,
            run.new,
            run.updated,
            run.unchanged,
            run.dropped or "none",
            f" ({message})" if message else "",
        )
        ctx.close()

    @staticmethod
    def _verdict(spider: Any, reason: str, stats: dict[str, Any]) -> tuple[str, str | None]:
        if reason == "store_error" or "cityfeeds/store_error" in stats:
            # Also when the last batch failed while the spider was already closing.
            return "failed", f"storage failed: {stats.get('cityfeeds/store_error', '?')}"
        if reason == "retry_after":
            # The site asked to come back later: what was stored is kept, the rest waits.
            status = stats.get("cityfeeds/last_status", "429/503")
            wait = stats.get("cityfeeds/retry_after")
            at = stats.get("cityfeeds/retry_at")
            return "deferred", (
                f"HTTP {status}: server asked to retry after {wait}s"
                + (f"; next attempt not before {at}" if at else "")
            )
        if reason == "interrupted":
            return "interrupted", "interrupted"
        if reason not in OK_REASONS:
            return "failed", f"crawl ended: {reason}"
        errors = int(stats.get("spider_exceptions/count", 0))
        if errors:
            # A callback raised (docs/reliability.md F3): a bug or a layout the code cannot
            # handle; never "ok".
            kinds = sorted(
                k.split("/", 1)[1]
                for k in stats
                if k.startswith("spider_exceptions/") and k != "spider_exceptions/count"
            )
            return "failed", f"spider error: {errors}x {', '.join(kinds)}"
        ok, failed = getattr(spider, "discovery_ok", 0), getattr(spider, "discovery_failed", 0)
        if failed and not ok:
            timeout = spider.settings.getfloat("DOWNLOAD_TIMEOUT") if spider.settings else 0
            return "failed", failure_cause(stats, timeout)
        # Finished, but some article pages did not arrive (timeouts, resets, 5xx after the
        # retries): what it stored counts, and those pages are fetched again next run (feed
        # validators are not saved, so the feeds are read again in full). Pages refused by
        # policy (robots.txt, size, private addresses) are no loss: they are never fetched.
        lost = int(stats.get("cityfeeds/dropped/fetch_error", 0))
        if lost:
            return "partial", f"{lost} article page(s) could not be fetched"
        return "ok", None


class Progress:
    """Every few seconds, print one progress line per running source (``cityfeeds crawl``)."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None
        self.last_line = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("CITYFEEDS_PROGRESS"):
            raise NotConfigured
        ext = cls(crawler, crawler.settings.getfloat("CITYFEEDS_PROGRESS_INTERVAL", 5.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.loop = task.LoopingCall(self.report, spider)
        self.loop.start(self.interval, now=False)

    def report(self, spider: Any) -> None:
        assert self.crawler.stats is not None
        s = self.crawler.stats.get_stats()
        if not s.get("downloader/response_count"):
            # A silent host: say once what the crawl waits for, not "0 responses" every 5 s.
            timeout = self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
            spec = getattr(spider, "spec", None)
            host = host_of(spec.url) if spec is not None else "the site"
            line = (
                f"  [{spider.source_name}] waiting for {host} to answer "
                f"(gives up {timeout:g} s after each request)"
            )
        else:
            line = (
                f"  [{spider.source_name}] {s.get('downloader/response_count', 0)} responses, "
                f"{s.get('cityfeeds/pages', 0)} articles fetched, "
                f"{s.get('cityfeeds/new', 0)} new, {s.get('cityfeeds/updated', 0)} updated"
            )
        if line != self.last_line:  # nothing new: no line
            print(line, file=sys.stderr, flush=True)
            self.last_line = line

    def spider_closed(self, spider: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
