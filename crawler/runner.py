"""Run crawls: in this process (once: Twisted's reactor cannot restart) or in a child process.

Every caller that may crawl more than once — the CLI, the scheduler, tests — uses
``crawl_subprocess``: a fresh child per crawl with a wall-clock limit, so a hung or crashing
source can never take the caller down, and memory is returned after each crawl. The child dies
with its parent, and each crawl's run rows are its own (docs/runs.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.browser import BrowserUnavailable, browser_settings, rendered_sources
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
    handle_signals: bool = False,
) -> bool:
    """Crawl ``sources`` concurrently in this process. Call at most once per process.

    With ``handle_signals`` (the crawl child), SIGINT and SIGTERM stop the crawl quickly and
    record its runs as ``interrupted`` (:class:`Interrupter`) instead of Scrapy's shutdown, which
    waits for every download in flight. Returns whether the crawl was interrupted.
    """
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
    rendered = rendered_sources(config, list(sources))
    if rendered:  # render = "browser": Chromium for those sources' pages (BrowserUnavailable)
        settings.update(browser_settings(config, rendered), priority="cmdline")
    process = CrawlerProcess(settings)
    for name in sources:
        process.crawl(NewsSpider, source=name)
    interrupter = None
    if handle_signals:
        interrupter = Interrupter(process, grace=settings.getfloat("CITYFEEDS_INTERRUPT_GRACE"))
        interrupter.install()
    process.start(install_signal_handlers=not handle_signals)
    return interrupter is not None and interrupter.requested is not None


class Interrupter:
    """SIGINT/SIGTERM in the crawl child: stop scheduling, give pages in flight ``grace`` s.

    The first signal closes every spider with reason ``interrupted``: no new request leaves,
    and what is in flight may finish (its articles are stored, the run recorded, and the
    process ends normally). Whatever still runs after ``grace`` seconds (or at a second
    signal) is recorded as it stands, pages in flight counted ``not fetched (interrupted)``;
    the extraction workers are shut down and waited for, and the process exits at once:
    Scrapy's own reactor shutdown would wait for every download in flight. A thread ends the
    process ``HARD_EXIT`` seconds later should any of this hang.
    """

    HARD_EXIT = 3.0

    def __init__(self, process: Any, *, grace: float = 0.5) -> None:
        self.process = process
        self.grace = grace
        self.requested: str | None = None

    def install(self) -> None:
        """Handle SIGINT and SIGTERM (call from the main thread, before the reactor starts)."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        from twisted.internet import reactor

        name = signal.Signals(signum).name
        if self.requested is not None:
            reactor.callFromThread(self._force)  # type: ignore[attr-defined]
            return
        self.requested = name
        timer = threading.Timer(self.grace + self.HARD_EXIT, os._exit, args=(INTERRUPTED_EXIT,))
        timer.daemon = True
        timer.start()
        reactor.callFromThread(self._begin)  # type: ignore[attr-defined]

    def _begin(self) -> None:
        from twisted.internet import reactor

        logger.warning(
            "%s: stopping the crawl; pages in flight get %.1fs", self.requested, self.grace
        )
        for crawler in list(self.process.crawlers):
            recorder = getattr(crawler, "cityfeeds_recorder", None)
            if recorder is not None:
                recorder.interrupt(self.requested or "signal")
        reactor.callLater(self.grace, self._force)  # type: ignore[attr-defined]

    def _force(self) -> None:
        from crawler.workpool import shutdown_pools

        for crawler in list(self.process.crawlers):
            recorder = getattr(crawler, "cityfeeds_recorder", None)
            if recorder is not None:
                try:
                    recorder.force_close()
                except Exception:
                    logger.exception("could not record an interrupted run")
        shutdown_pools()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED_EXIT)


#: Exit status of a crawl stopped by SIGINT/SIGTERM (128 + SIGINT, as shells report Ctrl-C).
INTERRUPTED_EXIT = 130


@dataclass
class CrawlOutcome:
    """What a crawl child did: its exit status, whether it was killed, and each source's run."""

    returncode: int
    killed: bool
    duration: float
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    interrupted: bool = False

    def failed_sources(self) -> list[str]:
        """Sources whose run did not succeed; ``partial`` and ``deferred`` are no failures."""
        fine = ("ok", "degraded", "partial", "deferred")
        return [s for s, run in self.runs.items() if run.get("status") not in fine]

    def deferred_sources(self) -> list[str]:
        """Sources whose run stopped early because the site asked to come back later."""
        return [s for s, run in self.runs.items() if run.get("status") == "deferred"]


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
    wait: bool = False,
) -> CrawlOutcome:
    """Crawl ``sources`` in a fresh child process, killed after ``timeout`` seconds.

    Each source is locked first (:class:`~crawler.lifecycle.SourceLocks`): a source another
    process is crawling raises :class:`~crawler.lifecycle.SourceBusy`, or, with ``wait``, is
    waited for. Then each source's run row is created here and its id handed to the child, so
    this call reads back exactly its own runs. The child opens its own database connections
    (never inherited across a fork) and dies with this process. Runs it left unfinished are
    closed as ``killed`` (timeout), ``interrupted`` (Ctrl-C here) or ``failed``. ``on_start``
    receives the child right after it starts (the scheduler uses it to stop children on
    shutdown).
    """
    from crawler.lifecycle import PARENT_ENV, SourceLocks, close_dead_runs, hostname
    from crawler.storage import Store

    assert config.path is not None, "crawl_subprocess needs a config loaded from a file"
    db_url = database_url or config.database_url
    timeout = timeout if timeout is not None else config.crawl.run_timeout
    locks = SourceLocks.for_config(config, sources)
    locks.acquire(wait=wait)
    try:
        store = Store.open(db_url)
        try:
            started = datetime.now(UTC)
            # Runs a dead crawl of these sources left "running" are closed before new ones start.
            close_dead_runs(store, started)
            run_ids = {
                name: store.start_run(name, now=started, pid=os.getpid(), host=hostname())
                for name in sources
            }
        finally:
            store.close()
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
        for name, run_id in run_ids.items():
            cmd += ["--run-id", f"{name}={run_id}"]
        cmd += list(sources)
        t0 = time.monotonic()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")])
        )
        env[PARENT_ENV] = str(os.getpid())
        # Own session: a terminal's Ctrl-C reaches this process only, which stops the child in
        # order (_stop_child). The lock files go along, so they stay held while the child lives.
        proc = subprocess.Popen(
            cmd,
            stdout=stdout,
            stderr=stderr,
            env=env,
            start_new_session=True,
            pass_fds=locks.fds,
        )
        killed = interrupted = False
        try:
            if on_start is not None:
                on_start(proc)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
            logger.error("crawl of %s exceeded %ss: stopping it", ", ".join(sources), timeout)
            _stop_child(proc)
        except KeyboardInterrupt:
            interrupted = True
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
            try:
                _stop_child(proc, grace=INTERRUPT_WAIT)
            finally:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        except BaseException:
            _stop_child(proc)
            raise
        finally:
            _reap_group(proc)
        duration = time.monotonic() - t0
        return _collect(db_url, run_ids, proc.returncode, killed, interrupted, duration, timeout)
    finally:
        locks.release()


#: How long a Ctrl-C'd crawl child gets to record its runs before it is killed.
INTERRUPT_WAIT = 1.8


def _collect(
    db_url: str,
    run_ids: dict[str, int],
    returncode: int,
    killed: bool,
    interrupted: bool,
    duration: float,
    timeout: float,
) -> CrawlOutcome:
    """Read back this crawl's runs; close those the child left unfinished."""
    from crawler.storage import Store

    store = Store.open(db_url)
    try:
        now = datetime.now(UTC)
        outcome = CrawlOutcome(
            returncode=returncode, killed=killed, duration=duration, interrupted=interrupted
        )
        for name, run_id in run_ids.items():
            run = store.get_run(run_id) or {}
            if killed:
                why = f"killed after the run timeout ({timeout:g}s)"
                # The child may have recorded its figures as "interrupted" on our SIGTERM.
                store.close_run(
                    run_id,
                    status="killed",
                    now=now,
                    message=why,
                    only_running=run.get("status") != "interrupted",
                )
            elif run.get("status") == "running":
                if interrupted or returncode == INTERRUPTED_EXIT:
                    status, why = "interrupted", "interrupted before the crawl recorded its figures"
                else:
                    status, why = "failed", f"crawl process exited with {returncode}"
                store.close_run(run_id, status=status, now=now, message=why)
            outcome.runs[name] = store.get_run(run_id) or {}
        outcome.interrupted = interrupted or returncode == INTERRUPTED_EXIT
        return outcome
    finally:
        store.close()


def _reap_group(proc: subprocess.Popen[Any]) -> None:
    """Kill what is left of the child's process group once the child itself is gone.

    A child killed outright (SIGKILL, the OOM killer) cannot stop its extraction pool; the
    forkserver, its workers and the resource tracker would live on as orphans. They share the
    child's session, so one signal to the group ends them.
    """
    if proc.poll() is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_child(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """Stop the crawl child: SIGTERM to it alone, then SIGKILL to its whole process group.

    The child answers SIGTERM by recording its runs as interrupted and shutting its extraction
    workers down in order (:class:`Interrupter`); signalling the group at once would kill the
    workers under the pages in flight. SIGKILL is the last resort.
    """
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
        return
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        logger.error("crawl child %s did not die after SIGKILL", proc.pid)


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
    from crawler.lifecycle import PARENT_ENV, die_with_parent

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
            return 2
        return INTERRUPTED_EXIT if any(outcome) else 0
    # A benchmark aid: profile the whole crawl child (reactor, callbacks, pipelines) into a
    # pstats file, since the parent process only waits and shows none of the cost.
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.runcall(crawl)
    finally:
        profiler.dump_stats(profile_path)
    return INTERRUPTED_EXIT if any(outcome) else 0


if __name__ == "__main__":
    sys.exit(main())
