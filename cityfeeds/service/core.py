"""The Service: each source crawled on its schedule in its own child process, then feeds rebuilt."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any

from apscheduler.events import JobEvent
from apscheduler.schedulers.background import BackgroundScheduler

from cityfeeds.publishing import rebuild_line
from cityfeeds.retention import PruneReport, prune_summary
from cityfeeds.retention import prune as prune_store
from cityfeeds.schedule import schedule_period, schedule_zone, source_schedule, too_soon
from cityfeeds.service.children import ChildRegistry, terminate_group, terminate_groups
from cityfeeds.service.database_file import DatabaseFile
from cityfeeds.service.jobs import JOB_PREFIX, build_scheduler, note_job_event
from cityfeeds.service.lock import ServiceLock
from cityfeeds.service.memory import MemoryTracer, trim_free_memory
from cityfeeds.service.metrics import ServiceMetrics, WebSubCollector, make_registry, metrics_route
from cityfeeds.service.outcome import reconcile_source_state, record_outcome
from cityfeeds.service.rebuild import FeedRebuilder
from cityfeeds.service.rebuild_process import DEFAULT_MAX_BUILDS, DEFAULT_TIMEOUT, RebuildProcess
from cityfeeds.service.store_metrics import StoreCollector
from cityfeeds.service.unrecorded import STORE_ERRORS, UnrecordedRuns, error_cause
from cityfeeds.service.web import WebServer, status_routes
from cityfeeds.status.health import StatusReport, compute_status
from cityfeeds.status.inputs import collect_inputs
from crawler.clock import user_time, utcnow
from crawler.config import Config
from crawler.lifecycle import SourceBusy, close_dead_runs, data_dir
from crawler.storage import Store, StoreError, store_error_line
from crawler.supervisor import CrawlOutcome, crawl_subprocess
from feeds.build import BuildReport
from feeds.websub import HubNotifier, changed_feed_urls

logger = logging.getLogger(__name__)


class DatabaseFileGone(RuntimeError):
    """The service's database file was deleted or replaced while it ran (see database_ok)."""


Clock = Callable[[], datetime]
#: ``crawl(config, [source], timeout=..., log_level=..., on_start=...) -> CrawlOutcome``
CrawlFn = Callable[..., CrawlOutcome]


@dataclass
class ServiceOptions:
    """Knobs of one service process (the config's ``[schedule]`` table gives the defaults)."""

    workers: int = 2  # crawl children running at once
    run_timeout: float | None = None  # None: [crawl] run_timeout
    grace: float = 60.0  # on SIGTERM, how long running crawls may take to finish
    # A feed rebuild waits this long for more crawls to finish (short: the feeds should show a
    # crawl's new articles within 5 s of its end; bursts are still coalesced).
    debounce: float = 2.0
    max_rebuild_delay: float = 60.0
    serve: bool | None = None  # None: [schedule] serve
    host: str | None = None
    port: int | None = None
    child_log_level: str = "WARNING"
    # Distributed mode: jobs queue requests for `cityfeeds worker`s, and the feeds are rebuilt
    # every ``rebuild_every`` seconds (the workers store articles on their own time).
    rebuild_every: float | None = None
    # Rebuilds run in a child process, replaced after this many (the service's memory stays
    # flat); one that takes longer than ``rebuild_timeout`` s is killed.
    rebuild_child_builds: int = DEFAULT_MAX_BUILDS
    rebuild_timeout: float = DEFAULT_TIMEOUT
    # On stop, how long the last rebuild may take before its child is killed.
    rebuild_stop_wait: float = 20.0


class Service:
    """Scheduled crawling, coalesced feed rebuilds, serving, graceful stop.

    Thin by design: a crawl is ``crawl_subprocess`` (as in ``cityfeeds crawl``) and a rebuild is
    ``rebuild_feeds`` (as in ``cityfeeds feeds``). The scheduler only decides *when*.
    """

    def __init__(
        self,
        config: Config,
        options: ServiceOptions | None = None,
        *,
        clock: Clock = utcnow,
        crawl: CrawlFn | None = None,
        rebuild: Callable[[], BuildReport] | None = None,
    ) -> None:
        self.config = config
        self.options = options or ServiceOptions()
        self.clock = clock
        self.crawl = crawl or crawl_subprocess
        # Rebuilds run in a recycled child process (see rebuild_process): their bursts of
        # allocation never fragment the heap of a process that runs for months.
        self._rebuild_process: RebuildProcess | None = None
        if rebuild is None:
            self._rebuild_process = RebuildProcess(
                config,
                max_builds=self.options.rebuild_child_builds,
                timeout=self.options.rebuild_timeout,
            )
            rebuild = self._rebuild_process
        self.rebuild = rebuild
        self.tz = schedule_zone(config)
        self.lock = ServiceLock.for_config(config)
        self.children = ChildRegistry(data_dir(config) / (self.lock.path.stem + ".children.json"))
        self.scheduler: BackgroundScheduler | None = None
        self.rebuilder: FeedRebuilder | None = None
        self.web: WebServer | None = None
        self.started_at: datetime | None = None
        self.cycles = 0  # successful feed rebuilds since start
        self.last_cycle: datetime | None = None
        self.metrics = ServiceMetrics(make_registry())
        for src in config.sources:  # each source's series exists from the start, at 0
            self.metrics.crawls_not_started.labels(src.name)
            self.metrics.runs_not_recorded.labels(src.name)
        # Runs the store could not record (its database or disk full): /healthz says so.
        self.unrecorded = UnrecordedRuns()
        self.websub: HubNotifier | None = None  # when [websub] hubs are set
        self._store: Store | None = None
        self._database_file: DatabaseFile | None = None  # the SQLite file the store opened
        #: Why the service stops on its own (its database file is gone): run_forever exits 1.
        self.fatal: str | None = None
        self._fatal_event = threading.Event()
        self._fatal_lock = threading.Lock()
        self._periods: dict[str, float] = {}
        self._launched: dict[str, datetime] = {}
        self._active: dict[str, subprocess.Popen[Any] | None] = {}
        self._cond = threading.Condition()
        self._state_lock = threading.Lock()
        self._stopping = threading.Event()
        self._config_on_disk = config.text  # the file's text last seen (see _note_config_edit)
        self._hurry = threading.Event()
        self._memtrace: MemoryTracer | None = None
        self._stop_signal: str | None = None  # the signal that stopped the service, if any

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The service's own store connection (children open theirs)."""
        if self._store is None:
            self._store = Store.open(self.config.database_url)
            self._database_file = DatabaseFile.of(self.config.database_url)
        return self._store

    def database_ok(self) -> bool:
        """Whether the database file is still the one the service opened (checked before each
        job and feed rebuild). When it was deleted or replaced, says so once and stops the
        service: its connection still reads the old file while crawl children, which open
        the database by name, would create and fill another; only a restart opens the file
        now at that path. Until then nothing is crawled or published and /healthz fails."""
        if self.fatal is not None:
            return False
        problem = self._database_file.problem() if self._database_file is not None else None
        if problem is None:
            return True
        with self._fatal_lock:
            if self.fatal is None:
                self.fatal = problem
                logger.error(
                    "%s: stopping the service (exit status 1; systemd restarts it on the file"
                    " now at that path); no crawl or feed build uses the database meanwhile",
                    problem,
                )
                self._stopping.set()
                self._fatal_event.set()
        return False

    def _guarded_rebuild(self) -> BuildReport:
        """A feed rebuild, unless the database file is gone: the rebuild child opens the
        database by name and would publish what another file holds (an empty one)."""
        if not self.database_ok():
            raise DatabaseFileGone(self.fatal or "the database file changed")
        return self.rebuild()

    def period(self, name: str) -> float:
        """Seconds between two scheduled runs of source ``name``."""
        if name not in self._periods:
            src = self.config.source(name)
            self._periods[name] = schedule_period(
                source_schedule(self.config, src), self.tz, self.clock()
            )
        return self._periods[name]

    def start(self) -> None:
        """Take the lock (AlreadyRunning if held), recover from a crash, schedule, serve."""
        self.started_at = self.clock()
        self.lock.acquire(started_at=self.started_at)
        try:
            self._start()
        except BaseException:
            self._shutdown_parts(publish=False)
            raise

    def _start(self) -> None:
        self._memtrace = MemoryTracer.from_env()
        if self._memtrace is not None:
            self._memtrace.start()
        reaped = self.children.reap_orphans()
        # Only runs whose owner process is gone: a `cityfeeds crawl` may be running meanwhile.
        stale = close_dead_runs(self.store, self.clock())
        if reaped or stale:
            logger.warning(
                "recovered from an unclean stop: %d orphan crawl(s) stopped, %d run(s) closed",
                len(reaped),
                len(stale),
            )
        self.reconcile_states()
        self.config.output_dir.mkdir(parents=True, exist_ok=True)
        self._start_monitoring()
        self.rebuilder = FeedRebuilder(
            self.metrics.timed(self._guarded_rebuild),
            debounce=self.options.debounce,
            max_delay=self.options.max_rebuild_delay,
            on_done=self._rebuilt,
        )
        self.rebuilder.start()
        serve = self.config.schedule.serve if self.options.serve is None else self.options.serve
        if serve:
            host = self.options.host or self.config.schedule.host
            port = self.config.schedule.port if self.options.port is None else self.options.port
            routes = [*status_routes(self.status_report), metrics_route(self.metrics.registry)]
            self.web = WebServer(self.config.output_dir, host, port, routes).start()
            # `cityfeeds status` asks the service's /healthz there (cityfeeds.commands.status).
            self.lock.announce(self.web.local_url)
        # Publish what the store holds now: after a crash the feeds may predate the last crawl.
        # Only once the port is ours: a service that cannot start must not overwrite the feeds
        # of the one already serving them.
        self.rebuilder.request()
        self.scheduler = self._build_scheduler()
        self.scheduler.start()
        logger.info(
            "scheduler started: %d source(s), time zone %s, %d worker(s)",
            sum(1 for job in self.scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)),
            self.tz.key,
            self.options.workers,
        )

    def reconcile_states(self) -> list[str]:
        """Apply to each source's state the runs recorded but never processed (the service
        was killed after a crawl child recorded its run); the sources whose state was stale."""
        stale = []
        with self._state_lock:
            for src in self.config.sources:
                if reconcile_source_state(
                    self.store,
                    self.config,
                    src.name,
                    now=self.clock(),
                    period=self.period(src.name),
                ):
                    stale.append(src.name)
        return stale

    def _build_scheduler(self) -> BackgroundScheduler:
        return build_scheduler(
            self.config,
            self.tz,
            self.store,
            workers=self.options.workers,
            period_of=self.period,
            now=self.clock(),
            run_source=self.run_source,
            on_event=self._on_event,
            on_executed=self.metrics.on_job_event,
            rebuild_every=self.options.rebuild_every,
            request_rebuild=self.rebuilder.request if self.rebuilder is not None else None,
            prune=self.prune
            if self.config.retention.runs_days or self.config.retention.text_days
            else None,
        )

    def stop(self, grace: float | None = None) -> None:
        """Stop taking jobs; give running crawls ``grace`` s, then stop them; publish; unlock."""
        grace = self.options.grace if grace is None else grace
        self._stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + grace
        with self._cond:
            while self._active and time.monotonic() < deadline and not self._hurry.is_set():
                self._cond.wait(0.2)
            running = {name: proc for name, proc in self._active.items()}
        if running:
            logger.warning(
                "stopping %d crawl(s) still running: %s", len(running), ", ".join(running)
            )
            # The grace period is spent: a short SIGTERM-to-SIGKILL gap is enough.
            terminate_groups(
                [p.pid for p in running.values() if p is not None and p.poll() is None], grace=3.0
            )
            with self._cond:
                end = time.monotonic() + 30
                while self._active and time.monotonic() < end:
                    self._cond.wait(0.2)
        # A last rebuild would read another database file than the service's (see database_ok).
        self._shutdown_parts(publish=self.fatal is None)
        logger.info("service stopped")

    def _shutdown_parts(self, *, publish: bool = True) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.rebuilder is not None:
            # The last crawls' articles get published (not when the service failed to start),
            # but a stuck rebuild (a stopped child, a locked database) must not hold the stop
            # past a supervisor's patience (systemd's 90 s): its child is killed.
            done = self.rebuilder.close(flush=publish, timeout=self.options.rebuild_stop_wait)
            if not done and self._rebuild_process is not None:
                logger.warning(
                    "feed rebuild still running after %gs of stopping: killing it (the next "
                    "start publishes what is stored)",
                    self.options.rebuild_stop_wait,
                )
                self._rebuild_process.kill()
                self.rebuilder.close(flush=False, timeout=10)
        if self._rebuild_process is not None:
            self._rebuild_process.close()
        if self.websub is not None:
            self.websub.close()
        if self.web is not None:
            self.web.stop()
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._memtrace is not None:
            self._memtrace.stop()
            self._memtrace = None
        self.lock.release()

    def run_forever(self) -> int:
        """Start, run until SIGTERM/SIGINT/SIGHUP, stop gracefully; 0 on a clean stop.

        A second signal cuts the grace period short.
        """
        requested = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if requested.is_set():
                logger.warning("%s again: stopping running crawls now", name)
                self._hurry.set()
            else:
                logger.warning(
                    "%s: no new crawls; waiting up to %ss for running ones",
                    name,
                    self.options.grace,
                )
                self._stop_signal = name
                requested.set()

        stops = [signal.SIGTERM, signal.SIGINT]
        # The terminal it was started from closing (SIGHUP) stops it the same graceful way,
        # not at once without a word; unless it runs under nohup, which ignores SIGHUP.
        if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            stops.append(signal.SIGHUP)
        previous = {sig: signal.signal(sig, on_signal) for sig in stops}
        try:
            self.start()
            while not requested.wait(1.0) and not self._fatal_event.is_set():
                pass
            self.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        # Not a clean stop when the database file went away: a supervisor restarts the service.
        return 1 if self.fatal is not None else 0

    # -- jobs ------------------------------------------------------------------------------

    def _note_config_edit(self) -> None:
        """Log once per edit when the configuration file no longer says what the service runs.

        The service, its crawls and its feeds all go on with the configuration it started with
        (a crawl child gets its text): an edit, or a typo saved while editing, takes effect
        at a restart, all of it at once.
        """
        path, started_with = self.config.path, self.config.text
        if path is None or started_with is None:
            return
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError:
            text = None
        if text == self._config_on_disk:
            return
        self._config_on_disk = text
        if text == started_with:
            logger.info("%s says again what the service runs with", path)
            return
        logger.warning(
            "%s changed since the service started; the service goes on with the configuration "
            "it started with (its crawls too): restart it to apply the change",
            path,
        )

    def run_source(self, name: str) -> str:
        """One scheduled run of ``name``: backoff check, crawl in a child, bookkeeping, rebuild.

        Returns what happened: the run's result, or why it was skipped.
        """
        self.metrics.job_started(name)
        if self._stopping.is_set() or not self.database_ok():
            return "stopping"
        self._note_config_edit()
        now = self.clock()
        try:
            state = self.store.get_source_state(name)
        except STORE_ERRORS as exc:  # the store cannot be read: nothing can be started
            self.metrics.crawls_not_started.labels(name).inc()
            return self._not_recorded(name, exc, "crawl could not start")
        until = state.get("backoff_until")
        if until is not None and until > now:
            logger.info(
                "[%s] backing off until %s after %d failure(s): run skipped",
                name,
                user_time(until, self.config.schedule.timezone),
                state.get("consecutive_failures") or 0,
            )
            return "backoff"
        if too_soon(self._launched.get(name), now, self.period(name)):
            logger.warning(
                "[%s] last run started under half a period ago (a clock or DST change, or"
                " the service was paused and its missed runs fell due together): skipped",
                name,
            )
            return "too soon"
        self._launched[name] = now
        with self._cond:
            self._active[name] = None
        try:
            outcome, error = self._crawl(name)
            if isinstance(error, SourceBusy):
                # A `cityfeeds crawl` of this source is running: not this source's failure.
                logger.warning("[%s] %s: run skipped", name, error)
                return "busy"
            if outcome is None:
                self.metrics.crawls_not_started.labels(name).inc()
            if not self.database_ok():
                # Its run went to another file than the one the service reads: its outcome
                # here would be a made-up failure. The log line above says what happened.
                return "stopping"
            try:
                result = self._record(name, outcome, error)
            except STORE_ERRORS as exc:
                # Said here in one line, as the failed start was not; the scheduler hears of
                # no error (its traceback would say the same 50 lines long, every tick).
                what = "crawl could not start" if outcome is None else "crawl outcome not recorded"
                return self._not_recorded(name, error or exc, what)
            self.unrecorded.recorded(name)
            if self.rebuilder is not None and outcome is not None:
                self.rebuilder.request()
            return result
        finally:
            # Only now may stop() go on: the run is recorded and its rebuild requested, so
            # the final flush publishes it and the store is still open for the bookkeeping.
            with self._cond:
                self._active.pop(name, None)
                self._cond.notify_all()

    def _not_recorded(self, name: str, exc: BaseException, what: str) -> str:
        """A run of ``name`` the store cannot record: one log line; /healthz and the metrics
        show it (the store cannot). The next tick tries again (no backoff: none is stored)."""
        cause = error_cause(exc)
        run = self.unrecorded.failed(name, f"{what}: {cause}", self.clock())
        self.metrics.runs_not_recorded.labels(name).inc()
        logger.error(
            "[%s] %s: %s; not recorded (%d in a row), retried at the next tick",
            name,
            what,
            cause,
            run.count,
        )
        logger.debug("[%s] %s", name, what, exc_info=exc)
        return "not recorded"

    def _crawl(self, name: str) -> tuple[CrawlOutcome | None, BaseException | None]:
        started: list[int] = []

        def on_start(proc: subprocess.Popen[Any]) -> None:
            started.append(proc.pid)
            self.children.add(proc.pid, name)
            with self._cond:
                self._active[name] = proc
            if self._hurry.is_set():
                terminate_group(proc.pid)

        timeout = self.options.run_timeout or self.config.crawl.run_timeout
        logger.info("[%s] crawl starting", name)
        try:
            return self.crawl(
                self.config,
                [name],
                timeout=timeout,
                log_level=self.options.child_log_level,
                on_start=on_start,
                store=self.store,
            ), None
        except SourceBusy as exc:
            return None, exc
        except STORE_ERRORS as exc:
            # The database or disk is full, no process can start...: the recorded failure's
            # line (or, if it cannot be recorded, _not_recorded's) says it, in one line.
            logger.debug("[%s] crawl could not start", name, exc_info=exc)
            return None, exc
        except Exception as exc:  # the scheduler thread must survive anything a crawl does
            logger.exception("[%s] crawl could not run", name)
            return None, exc
        finally:
            for pid in started:
                self.children.remove(pid)

    def _record(self, name: str, outcome: CrawlOutcome | None, error: BaseException | None) -> str:
        return record_outcome(
            self.store,
            self.config,
            name,
            outcome,
            error,
            now=self.clock(),
            period=self.period(name),
            stopping=self._stopping.is_set(),
            state_lock=self._state_lock,
            stop_signal=self._stop_signal,
        )

    def _rebuilt(self, report: BuildReport | None, error: BaseException | None) -> None:
        # A rebuild reads every recent article, then frees it: hand the freed pages back.
        trim_free_memory()
        self.metrics.count_build(report, error)
        if self.websub is not None and error is None:
            # Queued only: the hubs are told from their own threads (never delays the cycle).
            self.websub.notify(changed_feed_urls(self.config, report))
        if error is not None:
            # One line: a dead or stuck rebuild child, a store that cannot be read.
            logger.error("feed rebuild failed, last good files kept: %s", error)
            return
        failures = getattr(report, "failures", None)
        self.cycles += 1
        self.last_cycle = self.clock()
        if failures:
            logger.error(
                "feed rebuild: %d feed(s) failed, last good files kept: %s",
                len(failures),
                ", ".join(failures),
            )
        else:
            logger.info("feeds rebuilt (cycle %d): %s", self.cycles, rebuild_line(report))

    def _start_monitoring(self) -> None:
        """Export the store through /metrics, and start the WebSub notifier if hubs are set."""
        sources = [s.name for s in self.config.sources]
        self.metrics.registry.register(StoreCollector(self.store, self.status_report, sources))
        if self.config.websub.hubs:
            spec = self.config.websub
            self.websub = HubNotifier(
                spec.hubs,
                user_agent=self.config.crawl.user_agent,
                attempts=spec.attempts,
                backoff=spec.backoff,
                timeout=spec.timeout,
            ).start()
            self.metrics.registry.register(WebSubCollector(self.websub.stats))

    def prune(self) -> PruneReport | None:
        """Apply ``[retention]`` (the daily job; ``cityfeeds prune`` does the same)."""
        try:
            report = prune_store(self.config, self.store, self.clock())
        except StoreError as exc:
            # Batches already done stay done; the next day's prune takes up the rest.
            logger.error("prune failed: %s", store_error_line(exc))
            return None
        logger.info("retention: %s", prune_summary(report).replace("\n", " "))
        return report

    def _on_event(self, event: JobEvent) -> None:
        note_job_event(self.store, event, state_lock=self._state_lock)

    # -- status ----------------------------------------------------------------------------

    def next_runs(self) -> dict[str, datetime | None]:
        """Next scheduled run of each source (from the live scheduler)."""
        out: dict[str, datetime | None] = {}
        for src in self.config.sources:
            job = (
                self.scheduler.get_job(JOB_PREFIX + src.name)
                if self.scheduler is not None
                else None
            )
            out[src.name] = getattr(job, "next_run_time", None)
        return out

    def status_report(self) -> StatusReport:
        """The status of every source and of the service (for /healthz and /status)."""
        now = self.clock()
        inputs, builds = collect_inputs(self.config, self.store, now, next_runs=self.next_runs())
        for inp in inputs:
            until = inp.state.get("backoff_until")
            if until is not None and inp.next_run is not None and until > inp.next_run:
                inp.next_run = until
        unrecorded, latest_unrecorded = self.unrecorded.snapshot()
        report = compute_status(
            inputs,
            builds,
            now,
            timezone=self.tz.key,
            started_at=self.started_at,
            scheduler=f"running (pid {os.getpid()})",
            unrecorded=unrecorded,
            unrecorded_latest=latest_unrecorded,
        )
        if self.websub is not None:
            report.websub = self.websub.stats()
        if self.fatal is not None or not self.database_ok():
            report.health = dataclasses.replace(
                report.health, status="failing", healthy=False, reason=self.fatal
            )
        return report
