"""Run crawls: in this process (once: Twisted's reactor cannot restart) or in a child process.

Every caller that may crawl more than once — the CLI, the scheduler, tests — uses
``crawl_subprocess``: a fresh child per crawl with a wall-clock limit, so a hung or crashing
source can never take the caller down, and memory is returned after each crawl.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.config import Config, load_config

logger = logging.getLogger(__name__)


def politeness_settings(config: Config) -> dict[str, Any]:
    """Scrapy settings derived from the ``[crawl]`` table."""
    c = config.crawl
    return {
        "USER_AGENT": c.user_agent,
        "ROBOTSTXT_OBEY": c.obey_robots,
        "DOWNLOAD_DELAY": c.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrency_per_host,
        "AUTOTHROTTLE_ENABLED": c.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(c.download_delay, 0.1),
        "DOWNLOAD_TIMEOUT": c.timeout,
        "DEPTH_LIMIT": c.depth_limit,
        "DOWNLOAD_MAXSIZE": c.max_response_bytes,
        "DOWNLOAD_WARNSIZE": min(c.max_response_bytes, 2 * 1024 * 1024),
        "RETRY_TIMES": c.retry_times,
        "CLOSESPIDER_TIMEOUT": max(c.run_timeout - 30, 10),
    }


def crawl_settings(
    config: Config,
    *,
    config_path: Path,
    database_url: str | None = None,
    progress: bool = False,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    """All Scrapy settings for a cityfeeds crawl of ``config``."""
    return {
        **politeness_settings(config),
        "CITYFEEDS_CONFIG": str(config_path),
        "CITYFEEDS_DATABASE_URL": database_url or config.database_url,
        "CITYFEEDS_PROGRESS": progress,
        "LOG_LEVEL": log_level,
    }


def run_in_this_process(
    config_path: Path,
    sources: Sequence[str],
    *,
    database_url: str | None = None,
    progress: bool = False,
    log_level: str = "WARNING",
    extra_settings: dict[str, Any] | None = None,
) -> None:
    """Crawl ``sources`` concurrently in this process. Call at most once per process."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    import crawler.settings as project_settings
    from crawler.spiders.news import NewsSpider

    config = load_config(config_path)
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
    process = CrawlerProcess(settings)
    for name in sources:
        process.crawl(NewsSpider, source=name)
    process.start()


@dataclass
class CrawlOutcome:
    """What a crawl child did: its exit status, whether it was killed, and each source's run."""

    returncode: int
    killed: bool
    duration: float
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def failed_sources(self) -> list[str]:
        """Sources whose run is not ``ok`` (or has no run at all)."""
        return [s for s, run in self.runs.items() if run.get("status") not in ("ok", "degraded")]


def crawl_subprocess(
    config: Config,
    sources: Sequence[str],
    *,
    timeout: float | None = None,
    database_url: str | None = None,
    progress: bool = False,
    log_level: str = "WARNING",
    extra_settings: dict[str, str] | None = None,
    stdout: Any = None,
    stderr: Any = None,
    on_start: Callable[[subprocess.Popen[Any]], None] | None = None,
) -> CrawlOutcome:
    """Crawl ``sources`` in a fresh child process, killed after ``timeout`` seconds.

    The child opens its own database connections (never inherited across a fork). Runs it
    left unfinished are recorded as ``killed``. ``on_start`` receives the child right after
    it starts (the scheduler uses it to stop children on shutdown).
    """
    from crawler.storage import RunStats, Store

    assert config.path is not None, "crawl_subprocess needs a config loaded from a file"
    db_url = database_url or config.database_url
    timeout = timeout if timeout is not None else config.crawl.run_timeout
    cmd = [
        sys.executable,
        "-m",
        "crawler.runner",
        "--config",
        str(config.path),
        "--database-url",
        db_url,
        "--log-level",
        log_level,
    ]
    if progress:
        cmd.append("--progress")
    for key, value in (extra_settings or {}).items():
        cmd += ["--set", f"{key}={value}"]
    cmd += list(sources)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")])
    )
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, start_new_session=True)
    killed = False
    try:
        if on_start is not None:
            on_start(proc)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        killed = True
        logger.error("crawl of %s exceeded %ss: stopping it", ", ".join(sources), timeout)
        _kill_group(proc)
    except BaseException:
        _kill_group(proc)
        raise
    duration = time.monotonic() - t0

    store = Store.open(db_url)
    try:
        now = datetime.now(UTC)
        outcome = CrawlOutcome(returncode=proc.returncode, killed=killed, duration=duration)
        for name in sources:
            runs = [r for r in store.recent_runs(name, limit=1) if r["started_at"] >= started]
            run = runs[0] if runs else None
            if run is None or run["status"] == "running":
                why = (
                    "killed after the run timeout"
                    if killed
                    else f"crawl process exited with {proc.returncode}"
                )
                if run is None:
                    run_id = store.start_run(name, now=started)
                else:
                    run_id = run["id"]
                store.finish_run(
                    run_id,
                    status="killed" if killed else "failed",
                    stats=RunStats(),
                    now=now,
                    message=why,
                )
                run = store.recent_runs(name, limit=1)[0]
            outcome.runs[name] = run
        return outcome
    finally:
        store.close()


def _kill_group(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """Stop the child's process group: SIGTERM, a second SIGTERM, then SIGKILL.

    Scrapy answers the first SIGTERM with a graceful shutdown that waits for downloads in
    flight, and the second with an immediate one; SIGKILL is the last resort.
    """
    steps = ((signal.SIGTERM, grace / 2), (signal.SIGTERM, grace / 2), (signal.SIGKILL, 5.0))
    for sig, wait in steps:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


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
    parser.add_argument("sources", nargs="+")
    args = parser.parse_args(argv)
    extra: dict[str, Any] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        extra[key] = value
    crawl = lambda: run_in_this_process(  # noqa: E731
        Path(args.config),
        args.sources,
        database_url=args.database_url,
        progress=args.progress,
        log_level=args.log_level,
        extra_settings=extra,
    )
    profile_path = os.environ.get("CITYFEEDS_PROFILE")
    if not profile_path:
        crawl()
        return 0
    # A benchmark aid: profile the whole crawl child (reactor, callbacks, pipelines) into a
    # pstats file, since the parent process only waits and shows none of the cost.
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.runcall(crawl)
    finally:
        profiler.dump_stats(profile_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
