"""Page processing off the reactor: a small process pool shared by the spiders of a crawl.

Processing a page is pure CPU (``crawler.pages.process_page``: page bytes -> Article). Run in
the reactor's thread it stalls downloads and every other callback; run in worker processes it
uses the other cores while the reactor keeps fetching. The pool is created lazily, in the crawl
child, on the first article, with the ``forkserver`` start method: workers are forked from a
fresh server process, never from the crawl process, which holds database connections
(docs/reliability.md, E6). ``CITYFEEDS_EXTRACT_WORKERS = 0`` processes pages in the reactor's
thread.

Pages that wait for busy workers go to them several per task (:class:`_Feeder`); a task's
results come back through a file in the pool's own temporary folder, so the message in the
pool's pipe is small (:class:`TaskResults`, docs/reliability.md I14).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

from crawler.config import Config
from crawler.lifecycle import die_with_parent, process_alive, process_started
from crawler.models import Article, Dropped, Hints, PageFacts
from crawler.pages import process_page
from crawler.profile import SourceProfile
from crawler.storage.articles import content_hash_ahead
from crawler.stories.features import Fingerprinter
from crawler.timing import Timings, recording, stage
from crawler.topics.engine import TopicEngine
from crawler.topics.spec import TopicSpec

logger = logging.getLogger(__name__)

__all__ = [
    "ArticleWork",
    "BrokenProcessPool",
    "ExtractionPool",
    "default_workers",
    "release_pool",
    "shared_pool",
    "shutdown_pools",
    "timed_process_page",
    "timed_process_pages",
]


def default_workers(cpus: int | None = None) -> int:
    """Workers for ``CITYFEEDS_EXTRACT_WORKERS = None``: one per core, at most 4.

    The reactor's process mostly waits on sockets (about half a core in the crawl benchmark),
    so on 2 cores two workers beat one (bench/README.md). On one core a pool only adds
    pickling and context switches, so extraction stays in-process.
    """
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return 0 if cpus < 2 else min(cpus, 4)


@dataclass(frozen=True)
class ArticleWork:
    """What the workers do to each article after making it, off the crawl process (the crawl's
    single-core bottleneck, issue 15): tag its ``topics`` (TopicsPipeline keeps them) and
    compute its story fingerprint (the store uses it), when the crawl does either. Its content
    hash is always computed there (``content_hash_ahead``)."""

    topics: tuple[TopicSpec, ...] = ()
    fingerprints: bool = False

    @classmethod
    def of(cls, config: Config) -> ArticleWork:
        """The work a crawl of ``config`` does to its articles."""
        return cls(tuple(config.topics), config.stories.enabled)

    def key(self) -> str:
        """Equal for equal work (TopicSpec is not hashable)."""
        topics = "\n".join(t.model_dump_json() for t in self.topics)
        return f"{self.fingerprints}\n{topics}"


class _Worker:
    """A worker process's tools for :class:`ArticleWork`, built once when it starts."""

    def __init__(self, work: ArticleWork) -> None:
        self.tagger = TopicEngine(work.topics) if work.topics else None
        self.fingerprinter = Fingerprinter() if work.fingerprints else None

    def finish(self, article: Article, profile: SourceProfile) -> None:
        if self.tagger is not None:
            with stage("topics_in_workers"):
                self.tagger.tag(article, city=profile.city)
        if self.fingerprinter is not None:
            with stage("fingerprint_in_workers"):
                article.fingerprint = self.fingerprinter.ahead(
                    article.title, article.summary, article.text
                )
        # Every crawl stores its articles: the store takes this hash while the fields are equal.
        with stage("content_hash_in_workers"):
            article.content_digest = content_hash_ahead(article)


#: This worker process's tools (the pool's initializer builds them); None in other processes.
_WORKER: _Worker | None = None


def _warm_up(work: ArticleWork = ArticleWork()) -> None:
    # A worker must not outlive the forkserver that forked it (which exits with the crawl
    # child), even when the crawl child was killed with SIGKILL.
    die_with_parent(signal.SIGKILL)
    # Import the extraction stack (lxml, trafilatura) before the first page, not during it.
    import crawler.extraction.core  # noqa: F401

    global _WORKER
    _WORKER = _Worker(work)
    # The collector keeps Python's defaults here (crawler.lifecycle.tune_gc is for the crawl
    # process): collecting a worker's youngest generation every 10,000 allocations instead of
    # 700 grew each worker by ~17 MiB of PSS for ~0.02 ms of CPU per page (bench/README.md).


def timed_process_page(
    profile: SourceProfile, body: bytes, page: PageFacts, hints: Hints | None
) -> tuple[Article | Dropped, Timings]:
    """``process_page`` and the CPU time of its stages (what a worker runs).

    In a worker, the article also gets the pool's :class:`ArticleWork` done.
    """
    with recording() as timings:
        result = process_page(profile, body, page, hints)
        if _WORKER is not None and isinstance(result, Article):
            _WORKER.finish(result, profile)
        return result, timings


#: One page's call: ``timed_process_page``'s arguments.
PageCall = tuple[SourceProfile, bytes, PageFacts, Hints | None]
#: One page's outcome: its result and stage times, or the error its processing raised.
PageOutcome = tuple[Article | Dropped, Timings] | BaseException


def timed_process_pages(calls: Sequence[PageCall], spool: str | None = None) -> TaskResults:
    """``timed_process_page`` on each call, in order (one pool task for several pages).

    Each page's outcome is pickled on its own: an error raised on one page (any exception,
    ``SystemExit`` too) or a result that cannot be pickled costs that page, not the others
    sent with it. The outcomes go back through a file in ``spool`` (see :class:`TaskResults`);
    in the pool's pipe only when the file cannot be written.
    """
    blobs = [_pickled(_outcome(call)) for call in calls]
    if spool is not None:
        try:
            fd, path = tempfile.mkstemp(dir=spool, suffix=".results")
        except OSError:
            pass  # a full or vanished folder: in the pipe, as before
        else:
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(pickle.dumps(blobs, pickle.HIGHEST_PROTOCOL))
                return TaskResults(path=path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(path)
    return TaskResults(blobs=blobs)


@dataclass(frozen=True)
class TaskResults:
    """What a worker sends back for a task: where its pages' pickled outcomes are.

    A file, so that the message in the pool's pipe is a few hundred bytes, written whole or not
    at all: a worker killed while writing a task's results (hundreds of KB) to the pipe left
    ``ProcessPoolExecutor``'s reader in the crawl process waiting for the rest of the message
    for good, and the crawl hung until its run timeout (docs/reliability.md, I14).
    """

    path: str | None = None
    blobs: list[bytes] | None = None

    def outcomes(self) -> list[PageOutcome]:
        """The pages' outcomes, in order (the file is read once and removed); ``ResultsLost``
        when the file cannot be read. A page whose outcome cannot be unpickled gets an error
        of its own."""
        blobs = self.blobs
        if self.path is not None:
            try:
                with open(self.path, "rb") as results:
                    blobs = pickle.loads(results.read())
            except Exception as exc:
                raise ResultsLost(f"a task's results could not be read: {exc}") from exc
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
        return [_unpickled(blob) for blob in blobs or ()]


class ResultsLost(BrokenProcessPool):
    """A task's results file could not be read (removed, a full disk): its pages are lost as
    with a crashed worker (``extract_crash``, fetched again next run), the workers are fine."""


def _unpickled(blob: bytes) -> PageOutcome:
    try:
        outcome: PageOutcome = pickle.loads(blob)
    except Exception as exc:
        return RuntimeError(f"its result could not be read: {type(exc).__name__}: {exc}")
    return outcome


def _outcome(call: PageCall) -> PageOutcome:
    try:
        return timed_process_page(*call)
    except Exception as exc:
        return exc
    except BaseException as exc:
        # SystemExit, KeyboardInterrupt: raised in the crawl's event loop they would stop it.
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _pickled(outcome: PageOutcome) -> bytes:
    try:
        return bytes(ForkingPickler.dumps(outcome))
    except Exception as exc:
        error = outcome if isinstance(outcome, BaseException) else exc
        return bytes(ForkingPickler.dumps(RuntimeError(f"{type(error).__name__}: {error}")))


def _add(total: Timings | None, spent: Timings) -> None:
    if total is not None:
        for name, seconds in spent.items():
            total[name] = total.get(name, 0.0) + seconds


#: How long closing a pool waits for workers that are still starting to be up and stopped.
STARTER_WAIT = 10.0
#: Pages processed in the calling thread while the workers start; the pages after them wait
#: for the workers. The first page of a run must not wait (issue 20: a scheduled run's one new
#: article is stored at once), but a first crawl's burst of pages must not be processed in the
#: crawl process, the crawl's single-core bottleneck (issue 15).
INLINE_WHILE_STARTING = 4
#: How often a page waiting for the workers to start looks again.
_START_POLL = 0.05
#: At most this many waiting pages go to a worker as one task. A page that finds a worker
#: free goes alone, at once; pages that arrive while every worker is busy wait and go
#: together: the pool's cost per task (its manager and feeder threads in the crawl process,
#: a pipe write each way: ~0.3 ms of the crawl process's CPU under load, bench/README.md) is
#: then paid once for them.
MAX_BATCH = 8


class _Feeder:
    """Sends pages to one executor's workers: each at once while a worker is free, else
    several per task (:data:`MAX_BATCH`) as workers free up.

    At most one task per worker, plus one queued so that a worker never waits for the
    crawl process, is in flight. Runs on the event loop of the crawl (one thread).
    """

    def __init__(
        self, executor: ProcessPoolExecutor, workers: int, spool: str | None = None
    ) -> None:
        self.executor = executor
        #: The folder the workers write each task's results to (None: in the pipe).
        self.spool = spool
        self.limit = workers + 1
        self.in_flight = 0
        #: Tasks sent and pages in them, for figures (bench/crawl.py).
        self.tasks = self.pages = 0
        self._waiting: list[tuple[PageCall, asyncio.Future[tuple[Article | Dropped, Timings]]]]
        self._waiting = []

    def submit(self, call: PageCall) -> asyncio.Future[tuple[Article | Dropped, Timings]]:
        """The future of one page's result; raises (through it) ``BrokenProcessPool`` when
        a worker died with the page's task."""
        waiter: asyncio.Future[tuple[Article | Dropped, Timings]]
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append((call, waiter))
        self._send()
        return waiter

    def _send(self) -> None:
        while self._waiting and self.in_flight < self.limit:
            batch = [(c, w) for c, w in self._waiting[:MAX_BATCH] if not w.cancelled()]
            del self._waiting[:MAX_BATCH]
            if not batch:
                continue
            try:
                calls = [c for c, _ in batch]
                future = self.executor.submit(timed_process_pages, calls, self.spool)
            except BrokenProcessPool as exc:
                self._fail(batch + self._waiting, exc)
                self._waiting = []
                return
            except RuntimeError:
                # Shut down (the crawl is closing): the pages go as its queued tasks went.
                for _, waiter in batch + self._waiting:
                    waiter.cancel()
                self._waiting = []
                return
            self.in_flight += 1
            self.tasks += 1
            self.pages += len(batch)
            done = functools.partial(self._done, batch)
            asyncio.wrap_future(future).add_done_callback(done)

    def _done(
        self,
        batch: list[tuple[PageCall, asyncio.Future[tuple[Article | Dropped, Timings]]]],
        future: asyncio.Future[TaskResults],
    ) -> None:
        self.in_flight -= 1
        if future.cancelled():
            for _, waiter in batch:
                waiter.cancel()
        elif isinstance(exc := future.exception(), BrokenProcessPool):
            # The workers are gone: the pages waiting for them go with them.
            self._fail(batch + self._waiting, exc)
            self._waiting = []
            return
        elif exc is not None:
            self._fail(batch, exc)  # the task's alone (a call that could not be sent)
        else:
            try:
                outcomes = future.result().outcomes()
            except ResultsLost as error:
                self._fail(batch, error)
            else:
                for (_, waiter), outcome in zip(batch, outcomes, strict=True):
                    if waiter.done():
                        continue
                    if isinstance(outcome, BaseException):
                        waiter.set_exception(outcome)
                    else:
                        waiter.set_result(outcome)
        self._send()

    @staticmethod
    def _fail(
        batch: list[tuple[PageCall, asyncio.Future[tuple[Article | Dropped, Timings]]]],
        exc: BaseException,
    ) -> None:
        for _, waiter in batch:
            if not waiter.done():
                waiter.set_exception(exc)


def _ready() -> None:
    """A task that does nothing: submitted to start the workers (``ExtractionPool.warm``)."""


class ExtractionPool:
    """``process_page`` in ``workers`` processes (0: in the calling thread).

    The workers start in a thread of their own (:meth:`warm`): starting them blocks until the
    forkserver has imported the extraction stack, seconds on a busy machine, and the reactor
    must keep fetching meanwhile. Until the first worker is up, a page is processed in the
    calling thread instead, so a run's first new article (often its only one) never waits
    for them (issue 20: feed read -> stored).
    """

    def __init__(self, workers: int, work: ArticleWork = ArticleWork()) -> None:
        self.workers = max(0, workers)
        #: What the workers do to each article beyond processing its page.
        self.work = work
        self._executor: ProcessPoolExecutor | None = None
        self._feeder: _Feeder | None = None
        #: The folder the current workers write their tasks' results to (see TaskResults).
        self._spool: str | None = None
        self._warming: Future[None] | None = None
        self._starting = False
        self._starter: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.users = 0
        #: Pages processed in the calling thread while the workers were starting.
        self.inline_pages = 0

    def warm(self) -> None:
        """Start the workers now, in the background; returns at once.

        Called when a crawl knows it will fetch an article: the forkserver and its imports
        (lxml, trafilatura) take seconds on a busy machine, and start while the page downloads.
        """
        with self._lock:
            if self.workers == 0 or self._executor is not None or self._starting:
                return
            self._starting, self._closed = True, False
        try:
            # The server is spawned from this thread (at once: it imports in its own time), as
            # it dies with the thread that started it (crawler.pool_server: PR_SET_PDEATHSIG
            # follows the parent *thread*), and this one lives as long as the crawl.
            executor = self._new_executor()
            forkserver.ensure_running()
        except Exception:
            logger.exception("the extraction workers could not start: pages stay in-process")
            with self._lock:
                self._starting = False
            return
        starter = threading.Thread(
            target=self._start_workers, args=(executor,), name="cityfeeds-pool-start", daemon=True
        )
        with self._lock:
            self._starter = starter
        starter.start()

    def _start_workers(self, executor: ProcessPoolExecutor) -> None:
        try:
            future = executor.submit(_ready)  # blocks until the forkserver forked a worker
        except Exception:
            logger.exception("the extraction workers could not start: pages stay in-process")
            executor.shutdown(wait=False, cancel_futures=True)
            with self._lock:
                self._starting = False
            return
        with self._lock:
            self._starting = False
            if not self._closed:
                self._executor, self._warming = executor, future
                return
        # Closed while starting: wait for the workers to exit. A worker still starting reads the
        # pool's queues (named semaphores) when it comes up; were this process to exit first,
        # they would be gone and the worker would die with a traceback on the crawl's stderr.
        executor.shutdown(wait=True, cancel_futures=True)

    @property
    def ready(self) -> bool:
        """Whether a worker has started (always, without workers): pages go to the workers."""
        warming = self._warming
        return self.workers == 0 or (warming is not None and warming.done())

    async def process_page(
        self,
        profile: SourceProfile,
        body: bytes,
        page: PageFacts,
        hints: Hints | None = None,
        timings: Timings | None = None,
    ) -> Article | Dropped:
        """Process one page; raises ``BrokenProcessPool`` if a worker died on it (or with it).

        The CPU time of its stages (:mod:`crawler.timing`) is added to ``timings``.
        """
        executor = self._executor if self.ready else None
        if executor is None and self.workers:
            self.warm()  # no-op while starting
            if self.inline_pages >= INLINE_WHILE_STARTING:
                # Queue the page for the workers as soon as their pool exists.
                while self._starting and self._executor is None:
                    await asyncio.sleep(_START_POLL)
                executor = self._executor
        if executor is None:
            if self.workers:
                self.inline_pages += 1
            result, spent = timed_process_page(profile, body, page, hints)
            _add(timings, spent)
            return result
        feeder = self._feeder
        if feeder is None or feeder.executor is not executor:
            feeder = self._feeder = _Feeder(executor, self.workers, self._spool)
        try:
            result, spent = await feeder.submit((profile, body, page, hints))
        except ResultsLost:
            raise  # the page is lost; the workers are fine
        except BrokenProcessPool:
            # Every queued page fails with it; start a fresh pool for the pages that follow.
            self._discard(broken=executor)
            raise
        _add(timings, spent)
        return result

    @property
    def tasks(self) -> tuple[int, int]:
        """Tasks sent to the current workers and the pages in them."""
        feeder = self._feeder
        return (feeder.tasks, feeder.pages) if feeder is not None else (0, 0)

    def _new_executor(self) -> ProcessPoolExecutor:
        self._spool = new_spool()
        context = multiprocessing.get_context("forkserver")
        # crawler.pool_server first: the server must die with this process (see there).
        preload = ["crawler.pool_server", "crawler.pages", "crawler.extraction.core"]
        if self.work.topics or self.work.fingerprints:
            preload.append("crawler.topics.preloaded")  # the workers share the dictionaries
        context.set_forkserver_preload(preload)
        return ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_warm_up, initargs=(self.work,)
        )

    def _discard(self, wait: bool = False, broken: ProcessPoolExecutor | None = None) -> None:
        with self._lock:
            if broken is not None and self._executor is not broken:
                return  # already discarded (by another of its pages), maybe already replaced
            executor, self._executor, self._warming = self._executor, None, None
            spool, self._spool = self._spool, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)

    def close(self, *, wait: bool = False) -> None:
        """Stop the workers (pages still queued are cancelled; ``wait``: until they exit).

        Workers still starting are stopped by their starting thread once they are up; this
        waits for that (at most ``STARTER_WAIT`` seconds), so no worker outlives the crawl.
        """
        with self._lock:
            self._closed = True
            starter, self._starter = self._starter, None
        if starter is not None and starter is not threading.current_thread():
            starter.join(STARTER_WAIT)
        self._discard(wait)


#: The prefix of a pool's results folder, followed by its crawl process's pid and start time.
SPOOL_PREFIX = "cityfeeds-pool-"


def new_spool() -> str | None:
    """A new folder for a pool's task results (None if none can be made: results then go
    in the pipe), after removing those left by crawl processes that are gone (killed)."""
    root = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for old in root.glob(f"{SPOOL_PREFIX}*"):
            if not _owner_alive(old.name.removeprefix(SPOOL_PREFIX)):
                shutil.rmtree(old, ignore_errors=True)
    try:
        return tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{_process_mark(os.getpid())}-")
    except OSError:
        logger.warning("no folder for the extraction workers' results: they use the pipe")
        return None


def _process_mark(pid: int) -> str:
    """``pid-start``: a process told from a later one with its pid (a container's pid 1 after
    a restart), by its start time in seconds."""
    started = process_started(pid)
    return f"{pid}-{int(started.timestamp()) if started is not None else 0}"


def _owner_alive(name: str) -> bool:
    """Whether the process a folder's name (after the prefix) marks still runs."""
    pid, _, rest = name.partition("-")
    if not pid.isdigit():
        return True  # not one of ours: left alone
    if process_started(os.getpid()) is None:
        return process_alive(int(pid))  # no start times here (no /proc): whether it runs
    if process_started(int(pid)) is None:
        return False  # gone
    return f"{pid}-{rest.partition('-')[0]}" == _process_mark(int(pid))


_SHARED: dict[tuple[int, str], ExtractionPool] = {}


def shared_pool(workers: int, work: ArticleWork = ArticleWork()) -> ExtractionPool:
    """The process-wide pool of this size and work: the sources crawled together share the
    workers.

    Each user (a spider) calls ``release_pool`` when it closes; the last one stops the workers.
    """
    pool = _SHARED.get((workers, work.key()))
    if pool is None:
        pool = _SHARED[workers, work.key()] = ExtractionPool(workers, work)
    pool.users += 1
    return pool


def shutdown_pools() -> None:
    """Stop every shared pool now and wait for its workers to exit (an interrupted crawl)."""
    for pool in list(_SHARED.values()):
        pool.close(wait=True)
    _SHARED.clear()


def release_pool(pool: ExtractionPool) -> None:
    """One user of a shared pool is done; the last one stops its workers."""
    pool.users -= 1
    if pool.users <= 0:
        pool.close()
        _SHARED.pop((pool.workers, pool.work.key()), None)
