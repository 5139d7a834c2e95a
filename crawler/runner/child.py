"""The crawl child's work: ``python -m crawler.runner [options] SOURCE ...`` crawls in this process.

Twisted's reactor cannot restart, so a process crawls once; callers that crawl more than once
start this module as a child through :func:`crawler.supervisor.crawl_subprocess`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

import crawler.settings as project_settings
from crawler.browser import BrowserUnavailable, browser_settings, check_browser, rendered_sources
from crawler.browser.chromium import SharedChromium
from crawler.config import ConfigError, load_parents_config
from crawler.crawl_settings import crawl_settings
from crawler.interrupt import Interrupter
from crawler.lifecycle import (
    CONFIG_EXIT,
    INTERRUPTED_EXIT,
    PARENT_ENV,
    data_dir,
    die_with_parent,
    tune_gc,
)
from crawler.spiders.news import NewsSpider
from crawler.storage import Store

#: The exit status of a crawl child whose sources need a browser it cannot start.
BROWSER_EXIT = 2
#: An interrupted crawl exits within Interrupter.HARD_EXIT: its browser gets this long to stop.
BROWSER_STOP_GRACE = 1.0


def run_in_this_process(
    config_path: Path,
    sources: Sequence[str],
    *,
    database_url: str | None = None,
    progress: bool = False,
    log_level: str = "WARNING",
    extra_settings: dict[str, Any] | None = None,
    handle_signals: bool = False,
) -> bool:
    """Crawl ``sources`` concurrently in this process. Call at most once per process.

    With ``handle_signals`` (the crawl child), SIGINT and SIGTERM stop the crawl quickly and
    record its runs as ``interrupted`` (:class:`Interrupter`) instead of Scrapy's shutdown, which
    waits for every download in flight. Sources with ``render = "browser"`` share one Chromium
    that this process starts, and stops when the crawl ends or is interrupted. Returns whether
    the crawl was interrupted.
    """
    # The child's one reading of the configuration: the spiders and their components get it.
    config = load_parents_config(config_path)
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    settings.update(
        crawl_settings(
            config,
            config_path=config_path,
            database_url=database_url,
            progress=progress,
            log_level=log_level,
        ),
        priority="cmdline",
    )
    if extra_settings:
        settings.update(extra_settings, priority="cmdline")
    rendered = rendered_sources(config, list(sources))
    with ExitStack() as helpers:
        stop_browser: Callable[[], None] | None = None
        if rendered:  # render = "browser": one Chromium for all of them (BrowserUnavailable)
            chromium = helpers.enter_context(
                SharedChromium.start(check_browser(rendered), data_dir(config) / "browser")
            )
            settings.update(browser_settings(config, chromium.cdp_url), priority="cmdline")
            stop_browser = partial(chromium.close, grace=BROWSER_STOP_GRACE)
        process = CrawlerProcess(settings)
        for name in sources:
            process.crawl(NewsSpider, source=name, config=config)
        interrupter = None
        if handle_signals:
            interrupter = Interrupter(
                process,
                grace=settings.getfloat("CITYFEEDS_INTERRUPT_GRACE"),
                on_exit=stop_browser,
            )
            interrupter.install()
        process.start(install_signal_handlers=not handle_signals)
    return interrupter is not None and interrupter.requested is not None


def _fail_runs(database_url: str | None, run_ids: dict[str, int], message: str) -> None:
    """Close the runs the parent created for this child as failed with ``message`` (``status``
    and the crawl summary show it); if the store cannot be reached, the parent closes them by
    the exit status."""
    if not database_url or not run_ids:
        return
    try:
        store = Store.open(database_url)
        try:
            for run_id in run_ids.values():
                store.close_run(
                    run_id,
                    status="failed",
                    now=datetime.now(UTC),
                    message=message,
                )
        finally:
            store.close()
    except Exception as store_exc:  # the parent still closes them
        print(f"cityfeeds: cannot record the runs' failure: {store_exc}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the crawl child: ``python -m crawler.runner [options] SOURCE ...``."""
    parser = argparse.ArgumentParser(prog="python -m crawler.runner", description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="extra Scrapy setting"
    )
    parser.add_argument(
        "--run-id",
        action="append",
        default=[],
        metavar="SOURCE=ID",
        help="the run row the parent created for SOURCE",
    )
    parser.add_argument("sources", nargs="+")
    args = parser.parse_args(argv)
    # First of all: never outlive the parent, even one killed with SIGKILL (SIGTERM then
    # takes the Interrupter's path: runs recorded as interrupted, workers stopped in order).
    parent = os.environ.get(PARENT_ENV)
    die_with_parent(signal.SIGTERM, parent=int(parent) if parent else None)
    extra: dict[str, Any] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        extra[key] = value
    if args.run_id:
        extra["CITYFEEDS_RUN_IDS"] = {
            name: int(run_id) for name, _, run_id in (r.partition("=") for r in args.run_id)
        }
    try:
        # The parent's configuration (the file as the service or `crawl` read it), so an edit
        # saved since reaches no crawl before a restart. A broken one is one line and the runs
        # say why, not a traceback.
        load_parents_config(args.config)
    except ConfigError as exc:
        print(f"cityfeeds: configuration error: {exc}", file=sys.stderr)
        _fail_runs(
            args.database_url, extra.get("CITYFEEDS_RUN_IDS", {}), f"configuration error: {exc}"
        )
        return CONFIG_EXIT
    tune_gc()
    outcome: list[bool] = []
    crawl = lambda: outcome.append(  # noqa: E731
        run_in_this_process(
            Path(args.config),
            args.sources,
            database_url=args.database_url,
            progress=args.progress,
            log_level=args.log_level,
            extra_settings=extra,
            handle_signals=True,
        )
    )
    profile_path = os.environ.get("CITYFEEDS_PROFILE")
    if not profile_path:
        try:
            crawl()
        except BrowserUnavailable as exc:
            print(f"cityfeeds: {exc}", file=sys.stderr)
            # The runs say it too: else the parent closes them as "crawl process exited with
            # 2", and the summary and `status` never show the line that says what to install.
            _fail_runs(args.database_url, extra.get("CITYFEEDS_RUN_IDS", {}), str(exc))
            return BROWSER_EXIT
        return INTERRUPTED_EXIT if any(outcome) else 0
    # A benchmark aid: profile the whole crawl child (reactor, callbacks, pipelines) into a
    # pstats file, since the parent process only waits and shows none of the cost.
    import cProfile  # a benchmark aid only: not loaded by ordinary crawls

    profiler = cProfile.Profile()
    try:
        profiler.runcall(crawl)
    finally:
        profiler.dump_stats(profile_path)
    return INTERRUPTED_EXIT if any(outcome) else 0
