"""Run a crawl in a supervised child process (``python -m crawler.runner``) and read its runs.

Every caller that may crawl more than once — the CLI, the scheduler, tests — uses
``crawl_subprocess``: a fresh child per crawl with a wall-clock limit, so a hung or crashing
source can never take the caller down, and memory is returned after each crawl. The child dies
with its parent, and each crawl's run rows are its own (docs/runs.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.config import ENV_PARENT_CONFIG, Config
from crawler.lifecycle import (
    CONFIG_EXIT,
    INTERRUPTED_EXIT,
    PARENT_ENV,
    SourceLocks,
    close_dead_runs,
    hostname,
    process_alive,
    stored_unrecorded,
)
from crawler.storage import Store, StoreError, store_error_line

logger = logging.getLogger(__name__)

#: The warnings filter that keeps multiprocessing's resource tracker quiet in a crawl child.
TRACKER_QUIET = "ignore::UserWarning:multiprocessing.resource_tracker"


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
    store: Store | None = None,
) -> CrawlOutcome:
    """Crawl ``sources`` in a fresh child process, killed after ``timeout`` seconds.

    Each source is locked first (:class:`~crawler.lifecycle.SourceLocks`): a source another
    process is crawling raises :class:`~crawler.lifecycle.SourceBusy`, or, with ``wait``, is
    waited for. Then each source's run row is created here and its id handed to the child, so
    this call reads back exactly its own runs. The child opens its own database connections
    (never inherited across a fork) and dies with this process. Runs it left unfinished are
    closed as ``killed`` (timeout), ``interrupted`` (Ctrl-C here) or ``failed``. ``on_start``
    receives the child right after it starts (the scheduler uses it to stop children on
    shutdown). ``store``: an open store of ``database_url`` for this process's bookkeeping (the
    service's own, kept for its lifetime: no engine opened and closed per crawl), else one is
    opened for it and closed.
    """
    assert config.path is not None, "crawl_subprocess needs a config loaded from a file"
    db_url = database_url or config.database_url
    timeout = timeout if timeout is not None else config.crawl.run_timeout
    locks = SourceLocks.for_config(config, sources)
    locks.acquire(wait=wait)
    try:
        with _bookkeeping(db_url, store) as books:
            started = datetime.now(UTC)
            # Runs a dead crawl of these sources left "running" are closed before new ones start.
            close_dead_runs(books, started)
            run_ids = {
                name: books.start_run(name, now=started, pid=os.getpid(), host=hostname())
                for name in sources
            }
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
        # A child killed outright leaves its pool's semaphores to multiprocessing's resource
        # tracker, which unlinks them and warns of "leaked semaphore objects": the cleanup
        # working, not news (the child's death is reported here). Last, so it wins.
        env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), TRACKER_QUIET]))
        # The child's temporary files (multiprocessing's pymp-* folder of its extraction pool,
        # a browser's profile) go in a folder of its own, removed here once the child is gone:
        # a child killed outright (SIGKILL, the OOM killer, the run timeout) cleans up nothing.
        remove_stale_scratch()
        scratch = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        env["TMPDIR"] = scratch
        env.pop(ENV_PARENT_CONFIG, None)
        if config.text is not None:
            # The child crawls with this configuration, not the file as edited since.
            parents = Path(scratch) / "parent-config.toml"
            parents.write_text(config.text, encoding="utf-8")
            env[ENV_PARENT_CONFIG] = str(parents)
        # Own session: a terminal's Ctrl-C reaches this process only, which stops the child in
        # order (_stop_child). The lock files go along, so they stay held while the child lives.
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=stdout,
                stderr=stderr,
                env=env,
                start_new_session=True,
                pass_fds=locks.fds,
            )
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        killed = interrupted = False
        try:
            if on_start is not None:
                on_start(proc)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
            # A documented outcome (the run is recorded as killed, and said so), not a fault.
            logger.warning("crawl of %s exceeded %ss: stopping it", ", ".join(sources), timeout)
            _stop_child(proc)
        except KeyboardInterrupt:
            interrupted = True
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
            try:
                # Passed on as SIGINT, so the run records what the user did (Ctrl-C).
                _stop_child(proc, grace=INTERRUPT_WAIT, sig=signal.SIGINT)
            finally:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        except BaseException:
            _stop_child(proc)
            raise
        finally:
            _reap_group(proc)
            if proc.poll() is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        duration = time.monotonic() - t0
        with _bookkeeping(db_url, store) as books:
            return _collect(books, run_ids, proc.returncode, killed, interrupted, duration, timeout)
    finally:
        locks.release()


#: A crawl child's temporary folder is ``<temp dir>/cityfeeds-<parent pid>-<random>``.
SCRATCH_PREFIX = "cityfeeds-"
#: A folder whose parent is gone is removed once it is this old (seconds): never one in use.
STALE_SCRATCH_AGE = 60.0


def remove_stale_scratch(now: float | None = None) -> int:
    """Remove the temporary folders of crawl children whose parent process no longer exists.

    A parent removes its child's folder when the child ends; a parent killed outright (the
    service after ``kill -9``) cannot, and each of its crawls left a folder (with the extraction
    pool's ``pymp-*`` inside). Returns how many were removed.
    """
    now = time.time() if now is None else now
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if not pid.isdigit():
            continue  # another kind of folder ("cityfeeds-demo-...")
        try:
            if not folder.is_dir() or now - (changed := folder.stat().st_mtime) < STALE_SCRATCH_AGE:
                continue
        except OSError:
            continue
        # Its parent started before the folder was made: a process with its pid that started
        # later reused the pid, and the parent is gone.
        if process_alive(int(pid), started_before=datetime.fromtimestamp(changed, UTC)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


#: How long a Ctrl-C'd crawl child gets to record its runs before it is killed. It needs well
#: under a second on an idle machine; 1.8 s was too short on a loaded one, where the run then
#: lost its counts ("interrupted before the crawl recorded its final figures").
INTERRUPT_WAIT = 5.0


@contextlib.contextmanager
def _bookkeeping(db_url: str, store: Store | None) -> Iterator[Store]:
    """``store`` if given (left open), else a store of ``db_url`` opened for the block."""
    if store is not None:
        yield store
        return
    own = Store.open(db_url)
    try:
        yield own
    finally:
        own.close()


#: The message of a run whose crawl child ended well but whose outcome cannot be read back.
UNREAD = (
    "the crawl process ended normally, but its outcome is not in the database this process"
    " reads: it could not be recorded, or went to another file (was the database file deleted"
    " or replaced while it ran?)"
)


def _collect(
    store: Store,
    run_ids: dict[str, int],
    returncode: int,
    killed: bool,
    interrupted: bool,
    duration: float,
    timeout: float,
) -> CrawlOutcome:
    """Read back this crawl's runs; close those the child left unfinished."""
    now = datetime.now(UTC)
    outcome = CrawlOutcome(
        returncode=returncode, killed=killed, duration=duration, interrupted=interrupted
    )
    for name, run_id in run_ids.items():
        run = store.get_run(run_id) or {}
        stored = stored_unrecorded(store, run)
        if killed:
            why = f"killed after the run timeout ({timeout:g}s)"
            # The child may have recorded its figures as "interrupted" on our SIGTERM.
            _close_run(
                store,
                name,
                run_id,
                status="killed",
                now=now,
                message=why,
                only_running=run.get("status") != "interrupted",
            )
        elif run.get("status") == "running":
            if interrupted or returncode == INTERRUPTED_EXIT:
                status = "interrupted"
                why = "interrupted before the crawl recorded its final figures"
            elif returncode == CONFIG_EXIT:
                status, why = "failed", "the configuration file does not load (see the log)"
            elif returncode == 0:
                # The child records its run before it exits 0: it did, but not here. The
                # database it opened by name is another file than this process's (the file
                # was deleted or replaced meanwhile); "exited with 0" would read as a crash.
                status, why = "failed", UNREAD
            else:
                status, why = "failed", f"crawl process exited with {returncode}"
            if stored:
                why += f"; {stored} new article(s) were stored before it stopped"
            _close_run(store, name, run_id, status=status, now=now, message=why)
        # A run row that is gone altogether: the same, and said the same way.
        outcome.runs[name] = store.get_run(run_id) or {"status": "failed", "message": UNREAD}
    # A child stopped for its time limit exits as interrupted too (our SIGTERM): that is the
    # timeout (a failure of its sources), not someone stopping the crawl.
    outcome.interrupted = interrupted or (returncode == INTERRUPTED_EXIT and not killed)
    return outcome


def _close_run(store: Store, source: str, run_id: int, **kwargs: Any) -> None:
    """``store.close_run``, or one line when the store refuses it (a full disk): the run then
    stays ``running`` until ``close_dead_runs`` closes it, and the crawl still ends cleanly."""
    try:
        store.close_run(run_id, **kwargs)
    except StoreError as exc:
        logger.error(
            "[%s] run %s: cannot record its end (%s)", source, run_id, store_error_line(exc)
        )


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


def _stop_child(
    proc: subprocess.Popen[Any], grace: float = 5.0, sig: signal.Signals = signal.SIGTERM
) -> None:
    """Stop the crawl child: SIGTERM to it alone, then SIGKILL to its whole process group.

    The child answers SIGTERM by recording its runs as interrupted and shutting its extraction
    workers down in order (:class:`crawler.interrupt.Interrupter`); signalling the group at
    once would kill the workers under the pages in flight. SIGKILL is the last resort.
    """
    try:
        os.kill(proc.pid, sig)
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
