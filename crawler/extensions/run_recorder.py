"""The run recorder: one run row per crawl, finished with its figures, verdict and message."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler.clock import user_time
from crawler.context import get_context
from crawler.extensions.run_stats import failure_cause, run_stats_from
from crawler.lifecycle import hostname
from crawler.middlewares.policy import drain_download_queues, running_engine
from crawler.normalize.dates import parse_retry_after
from crawler.run_states import NO_ARTICLE_LINK, finished_state, page_cap_note
from crawler.storage import StoreError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

OK_REASONS = {"finished", "closespider_pagecount", "closespider_itemcount"}
DROPPED = "cityfeeds/dropped/"


class RunRecorder:
    """Record each crawl run (source, start, end, pages, stored, dropped by reason, errors).

    The run row is the one the parent process created (``CITYFEEDS_RUN_IDS``), else one made
    here. Requests scheduled but never sent when the run stops (an early stop, an interrupt)
    are counted as ``not_fetched`` with the stop's reason, so every requested URL ends stored,
    dropped with a reason, or not fetched. While the crawl runs, its figures so far are written
    to the row every ``CITYFEEDS_RUN_FIGURES_INTERVAL`` seconds: a crawl killed outright
    (SIGKILL, the OOM killer) leaves them, not zeros.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None
        self.supervised = False  # a parent made the run row and reports the run's outcome
        self.finished = False
        self.interrupted: str | None = None
        # Requests in the scheduler that have not reached the downloader yet.
        self.unsent: set[Any] = set()
        self.track_unsent = not crawler.settings.getbool("SCHEDULER_PERSIST")
        self.figures_interval = crawler.settings.getfloat("CITYFEEDS_RUN_FIGURES_INTERVAL")
        self.figures_timer: task.LoopingCall | None = None

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
            self.supervised = True
        else:
            self.run_id = ctx.store.start_run(
                spider.source_name, now=ctx.clock(), pid=os.getpid(), host=hostname()
            )
        if self.figures_interval > 0:
            self.figures_timer = task.LoopingCall(self.record_figures, spider)
            self.figures_timer.start(self.figures_interval, now=False)

    def record_figures(self, spider: Any) -> None:
        """Write the run's figures so far to its row (the row stays ``running``)."""
        if self.run_id is None or self.finished:
            return
        assert self.crawler.stats is not None
        try:
            get_context(self.crawler).store.record_figures(
                self.run_id, run_stats_from(self.crawler.stats.get_stats())
            )
        except StoreError as exc:  # the store pipeline says what is wrong with the store
            logger.debug("[%s] run figures not written: %s", spider.source_name, exc)

    def interrupt(self, why: str) -> None:
        """Stop the run (SIGINT/SIGTERM): no new requests; those in flight may finish."""
        self.interrupted = why
        engine = running_engine(self.crawler)
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="interrupted"))
            # Requests waiting for their turn in a download slot are not in flight yet.
            drain_download_queues(self.crawler, "interrupted")

    def force_close(self, why: str | None = None) -> None:
        """Record the run as it stands, now: the reactor is about to stop.

        Pages still downloading or being extracted are counted ``not_fetched/interrupted``;
        the articles waiting in the store's batch are written first. ``why``: the signal, if
        :meth:`interrupt` has not been told it yet.
        """
        if why is not None and self.interrupted is None:
            self.interrupted = why
        spider = self.crawler.spider
        if self.finished or spider is None:
            return  # not started yet: the parent closes its run row as interrupted
        stats = self.crawler.stats
        assert stats is not None
        engine = running_engine(self.crawler)
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
        if self.figures_timer is not None and self.figures_timer.running:
            self.figures_timer.stop()
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
        # A supervised run's outcome is logged once, by its parent (the service's outcome
        # line, the crawl summary): here it is a detail.
        log = logger.error if status == "failed" and not self.supervised else logger.info
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
            if at:
                at = user_time(at, _timezone(spider))
            return "deferred", (
                f"HTTP {status}: server asked to retry after {wait}s"
                + (f"; next attempt not before {at}" if at else "")
            )
        if reason == "interrupted":
            return "interrupted", "interrupted"
        if reason == "shutdown":
            # Scrapy's own SIGINT/SIGTERM handling (a `cityfeeds worker`; the crawl child
            # handles signals itself): stopped from outside, not failed.
            return "interrupted", "interrupted (SIGINT or SIGTERM)"
        if reason == "closespider_timeout":
            # The spider's own stop, 30 s before the run's timeout (CLOSESPIDER_TIMEOUT), to
            # store what it fetched: the run was killed by its timeout, not a failed one.
            left = int(stats.get("cityfeeds/not_fetched/closespider_timeout") or 0)
            return "killed", "killed after the run timeout" + (
                f": {left} request(s) left for the next run" if left else ""
            )
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
            return "failed", failure_cause(stats, *_limits(spider))
        # Finished, but some article pages did not arrive (timeouts, resets, 5xx after the
        # retries): what it stored counts, and those pages are fetched again next run (feed
        # validators are not saved, so the feeds are read again in full). Pages refused by
        # policy (robots.txt, size, private addresses) are no loss: they are never fetched;
        # nor are pages gone for good (404, 410: ``not_found``). crawler.run_states decides.
        notes = []
        if stats.get("cityfeeds/article_links") == 0 and not stats.get("cityfeeds/not_modified"):
            # Every document read, none gave an article link: the notes below say why, if
            # a document could tell (a pattern matching none of its links, no links at all).
            notes.append(NO_ARTICLE_LINK)
        if failed:
            notes.append(
                f"{failed} discovery document(s) not read: {failure_cause(stats, *_limits(spider))}"
            )
        recovered = sorted(
            k.rsplit("/", 1)[1] for k in stats if k.startswith("cityfeeds/recovered/")
        )
        if recovered:
            notes.append(f"{' and '.join(recovered)} read in part: not well-formed (truncated?)")
        notes.extend(stats.get("cityfeeds/notes") or [])
        capped = int(stats.get("cityfeeds/skipped/page_cap") or 0)
        if capped:
            notes.append(page_cap_note(capped))
        dropped = {
            key.removeprefix(DROPPED): int(value)
            for key, value in stats.items()
            if key.startswith(DROPPED)
        }
        return finished_state(dropped, notes)


def _limits(spider: Any) -> tuple[float, int]:
    """The crawl's request timeout (s) and response size limit (bytes), for failure causes."""
    settings = spider.settings
    if not settings:
        return 0.0, 0
    return settings.getfloat("DOWNLOAD_TIMEOUT"), settings.getint("DOWNLOAD_MAXSIZE")


def _timezone(spider: Any) -> str:
    """The zone times are shown in: the schedule's (the config's), UTC without a config."""
    crawler = getattr(spider, "crawler", None)
    if crawler is None:
        return "UTC"
    config = get_context(crawler).config
    return str(config.schedule.timezone or config.timezone)
