"""Page processing in worker processes (crawler.workpool) gives what it gives in-process."""

from __future__ import annotations

import asyncio
import math
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler import workpool
from crawler.config import load_config
from crawler.models import Article, Hints, PageFacts
from crawler.pages import process_page
from crawler.profile import SourceProfile
from crawler.storage.articles import content_hash, content_hash_ahead
from crawler.stories.features import Fingerprinter
from crawler.topics.engine import TopicEngine
from crawler.workpool import (
    MAX_BATCH,
    ArticleWork,
    BrokenProcessPool,
    ExtractionPool,
    _Feeder,
    default_workers,
    release_pool,
    shared_pool,
    timed_process_pages,
)
from tests.faults.support import article_html

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
URL = "https://news.example/news/1"


def test_default_workers_by_cores() -> None:
    assert [default_workers(n) for n in (1, 2, 3, 16)] == [0, 2, 3, 4]


def test_pool_processes_pages_like_in_process() -> None:
    body = article_html("Электробусы вышли на новые маршруты").encode()
    profile = SourceProfile(
        name="vestnik", site_names=("Вестник",), allowed_domains=("news.example",)
    )
    page, hints = PageFacts(URL, NOW), Hints(summary="Из ленты")
    expected = process_page(profile, body, page, hints)
    assert isinstance(expected, Article) and expected.title == "Электробусы вышли на новые маршруты"

    async def both() -> list[object]:
        pool, inline = ExtractionPool(1), ExtractionPool(0)
        try:
            pool.warm()
            await _until_ready(pool)
            return [
                await pool.process_page(profile, body, page, hints),
                await inline.process_page(profile, body, page, hints),
            ]
        finally:
            pool.close()

    assert asyncio.run(both()) == [expected, expected]


async def _until_ready(pool: ExtractionPool, timeout: float = 120.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if pool.ready:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the extraction workers did not start")


def test_pages_before_the_workers_start_are_processed_in_process() -> None:
    """A run's first article does not wait for the workers' start (seconds on a busy machine):
    pages go to the workers once one has started, and the results are the same."""
    body = article_html("Электробусы вышли на новые маршруты").encode()
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    page = PageFacts(URL, NOW)
    expected = process_page(profile, body, page, None)

    async def run() -> None:
        pool = ExtractionPool(1)
        try:
            assert not pool.ready
            assert await pool.process_page(profile, body, page) == expected
            assert pool.inline_pages == 1  # and it started the workers, in the background
            await _until_ready(pool)
            assert await pool.process_page(profile, body, page) == expected
            assert pool.inline_pages == 1  # the second page went to the worker
        finally:
            pool.close(wait=True)

    asyncio.run(run())
    assert ExtractionPool(0).ready


def test_pages_beyond_the_first_few_wait_for_the_workers_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first crawl's burst is not processed in the crawl process while the workers start:
    the first pages are (a scheduled run's one new article is stored at once), the rest wait
    and go to the workers."""
    monkeypatch.setattr(workpool, "INLINE_WHILE_STARTING", 2)
    body = article_html("Электробусы вышли на новые маршруты").encode()
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    page = PageFacts(URL, NOW)
    expected = process_page(profile, body, page, None)

    async def run() -> list[object]:
        pool = ExtractionPool(1)
        try:
            results = await asyncio.gather(
                *(pool.process_page(profile, body, page) for _ in range(6))
            )
            assert pool.inline_pages == 2
            return list(results)
        finally:
            pool.close(wait=True)

    assert asyncio.run(run()) == [expected] * 6


def test_sources_of_one_crawl_share_the_workers() -> None:
    first, second = shared_pool(1), shared_pool(1)
    assert first is second and first.users == 2
    release_pool(first)
    assert shared_pool(1) is second  # still in use: the same pool
    release_pool(second)
    release_pool(second)
    assert shared_pool(1) is not second  # the last user stopped it; a new crawl gets a new one
    release_pool(shared_pool(1))


def test_warm_starts_the_workers_in_the_background() -> None:
    """A crawl warms its pool when it asks for its first article: the workers' start (seconds
    on a busy machine) overlaps the page's download, and never blocks the caller (the reactor:
    it must send that page's request meanwhile)."""
    pool, inline = ExtractionPool(1), ExtractionPool(0)
    body = article_html("Электробусы вышли на новые маршруты").encode()
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))

    async def run() -> None:
        pool.warm()
        pool.warm()  # once: the same workers
        await _until_ready(pool)
        started = pool._executor
        assert started is not None
        result = await pool.process_page(profile, body, PageFacts(URL, NOW))
        assert isinstance(result, Article) and pool._executor is started
        assert pool.inline_pages == 0

    try:
        asyncio.run(run())
        inline.warm()  # no workers to start
        assert inline._executor is None and inline.ready
    finally:
        pool.close(wait=True)


def test_a_pool_closed_while_its_workers_start_stops_them() -> None:
    # close() waits for the starting thread, which stops the workers once they are up: a
    # worker left starting after its crawl process exited found the pool's semaphores gone
    # and printed a traceback into the crawl's output (seen in CI, fault case I7's test).
    pool = ExtractionPool(1)
    pool.warm()
    pool.close()
    assert not pool._starting and pool._executor is None and not pool.ready


def _collector_settings() -> tuple[tuple[int, int, int], int]:
    import gc

    return gc.get_threshold(), gc.get_freeze_count()


def test_workers_keep_the_default_collector() -> None:
    """Unlike the crawl process (crawler.lifecycle.tune_gc), a worker collects its youngest
    generation at Python's default: collecting less often grew each worker by ~17 MiB."""

    pool = ExtractionPool(1)

    async def run() -> tuple[tuple[int, int, int], int]:
        pool.warm()
        await _until_ready(pool)
        assert pool._executor is not None
        return await asyncio.wrap_future(pool._executor.submit(_collector_settings))

    try:
        threshold, _ = asyncio.run(run())
    finally:
        pool.close(wait=True)
    fresh = subprocess.run(
        [sys.executable, "-c", "import gc; print(*gc.get_threshold())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert threshold == tuple(map(int, fresh.stdout.split()))  # Python's defaults


def test_workers_tag_topics_as_the_pipeline_does() -> None:
    """A pool started with the crawl's topics tags each article in the worker (off the crawl
    process), with what TopicEngine gives in-process, and notes the URL it scored."""
    specs = tuple(load_config(ROOT / "cityfeeds.toml").topics)
    body = article_html("Электробусы вышли на новые маршруты").encode()
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",), city="Москва")
    page = PageFacts(URL, NOW)
    expected = process_page(profile, body, page, None)
    assert isinstance(expected, Article) and expected.topics_url is None
    TopicEngine(specs).tag(expected, city="Москва")
    assert expected.topics and expected.topics_url == expected.url
    assert _in_a_pool(ArticleWork(specs), profile, body, page) == expected


def test_workers_fingerprint_stories_ahead() -> None:
    """A pool started for a crawl that clusters stories computes each article's fingerprint in
    the worker; the store uses it (crawler.stories.features.Fingerprinter.of)."""
    body = article_html("Электробусы вышли на новые маршруты").encode()
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    page = PageFacts(URL, NOW)
    expected = process_page(profile, body, page, None)
    assert isinstance(expected, Article) and expected.fingerprint is None
    expected.fingerprint = Fingerprinter().ahead(expected.title, expected.summary, expected.text)
    result = _in_a_pool(ArticleWork(fingerprints=True), profile, body, page)
    assert result == expected and isinstance(result, Article) and result.fingerprint is not None


def test_workers_hash_content_ahead() -> None:
    """Every pool computes each article's content hash in the worker; the store takes it while
    the fields it hashed are unchanged (crawler.storage.articles.stored_hash)."""
    body = article_html("Электробусы вышли на новые маршруты").encode()
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    page = PageFacts(URL, NOW)
    expected = process_page(profile, body, page, None)
    assert isinstance(expected, Article) and expected.content_digest is None
    result = _in_a_pool(ArticleWork(), profile, body, page)
    assert result == expected and isinstance(result, Article)
    assert result.content_digest == content_hash_ahead(expected)
    assert result.content_digest.digest == content_hash(expected)


def _in_a_pool(work: ArticleWork, profile: SourceProfile, body: bytes, page: PageFacts) -> object:
    """What a one-worker pool doing ``work`` makes of the page."""

    async def run() -> object:
        pool = ExtractionPool(1, work)
        try:
            pool.warm()
            await _until_ready(pool)
            return await pool.process_page(profile, body, page, None)
        finally:
            pool.close()

    return asyncio.run(run())


def _titled_pages(count: int) -> list[tuple[bytes, PageFacts]]:
    return [
        (
            article_html(f"Электробусы вышли на маршрут номер {n}").encode(),
            PageFacts(f"{URL}{n}", NOW),
        )
        for n in range(count)
    ]


def test_pages_waiting_for_busy_workers_go_several_per_task() -> None:
    """Pages that arrive while the workers are busy go to them together (the pool's cost per
    task is paid once for them), each with its own result, in order; a page that finds a
    worker free goes alone, at once."""
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    pages = _titled_pages(12)
    expected = [process_page(profile, body, page, None) for body, page in pages]

    async def run() -> tuple[list[object], tuple[int, int]]:
        pool = ExtractionPool(1)
        try:
            pool.warm()
            await _until_ready(pool)
            results = await asyncio.gather(
                *(pool.process_page(profile, body, page) for body, page in pages)
            )
            return list(results), pool.tasks
        finally:
            pool.close(wait=True)

    results, (tasks, sent) = asyncio.run(run())
    assert results == expected
    # One task per worker plus one queued go at once, alone; the other ten wait and go
    # together, at most MAX_BATCH per task.
    assert sent == 12 and tasks == 2 + math.ceil(10 / MAX_BATCH)


class _KillsItsWorker:
    """Hints whose unpickling kills the worker process that takes them (a crash in a native
    parser, or the OOM killer, on that page)."""

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return os._exit, (3,)


def test_a_worker_dying_costs_the_pages_sent_with_it_and_the_pool_starts_again() -> None:
    """Pages in flight or waiting when a worker dies fail with BrokenProcessPool (the spider
    counts each as ``extract_crash``, to be fetched again next run); the pages after them get
    fresh workers."""
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    pages = _titled_pages(7)
    expected = [process_page(profile, body, page, None) for body, page in pages]
    hints: list[object] = [None] * 7
    hints[3] = _KillsItsWorker()

    async def run() -> tuple[list[object], object, object]:
        pool = ExtractionPool(1)
        try:
            pool.warm()
            await _until_ready(pool)
            first = pool._executor
            results = await asyncio.gather(
                *(
                    pool.process_page(profile, body, page, hint)  # type: ignore[arg-type]
                    for (body, page), hint in zip(pages, hints, strict=True)
                ),
                return_exceptions=True,
            )
            after = await pool.process_page(profile, *pages[0])
            await _until_ready(pool)
            again = await pool.process_page(profile, *pages[1])
            assert pool._executor is not None and pool._executor is not first
            return list(results), after, again
        finally:
            pool.close(wait=True)

    results, after, again = asyncio.run(run())
    assert isinstance(results[3], BrokenProcessPool)
    assert all(
        r == e or isinstance(r, BrokenProcessPool) for r, e in zip(results, expected, strict=True)
    )
    assert results[4:] == [results[3]] * 3  # waiting behind it: gone with it
    assert after == expected[0] and again == expected[1]


def test_an_error_on_one_page_of_a_task_costs_that_page_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One page's work raising (a topic engine's bug on an odd text, SystemExit) or making a
    result that cannot be pickled is that page's error only; the pages sent with it, and
    those waiting, get their articles (the second re-check: one such page failed its whole
    task and every waiting page)."""
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    pages = _titled_pages(30)
    expected = [process_page(profile, body, page, None) for body, page in pages]

    class Failing:
        def finish(self, article: Article, profile: SourceProfile) -> None:
            if article.title.endswith("номер 4"):
                raise ValueError("odd text")
            if article.title.endswith("номер 5"):
                raise SystemExit(3)
            if article.title.endswith("номер 6"):
                article.tags = [threading.Lock()]  # type: ignore[list-item]

    monkeypatch.setattr(workpool, "_WORKER", Failing())
    calls = [(profile, body, page, None) for body, page in pages]
    direct = timed_process_pages(calls[:8]).outcomes()
    assert isinstance(direct[4], ValueError) and str(direct[4]) == "odd text"
    assert isinstance(direct[5], RuntimeError) and str(direct[5]) == "SystemExit: 3"
    assert isinstance(direct[6], RuntimeError) and "pickle" in str(direct[6])

    async def run() -> list[object]:
        with ThreadPoolExecutor(1) as executor:
            feeder = _Feeder(executor, 1)  # type: ignore[arg-type]
            futures = [feeder.submit(call) for call in calls]
            results = await asyncio.gather(*futures, return_exceptions=True)
            assert feeder.tasks < len(calls)
            return [r if isinstance(r, BaseException) else r[0] for r in results]

    results = asyncio.run(run())
    assert [type(r) for r in results[4:7]] == [ValueError, RuntimeError, RuntimeError]
    assert results[:4] + results[7:] == expected[:4] + expected[7:]


def test_a_task_results_go_back_through_a_file(tmp_path: Path) -> None:
    """The message in the pool's pipe stays small (a file's name), so a worker killed while
    sending it cannot leave half a message; without a folder, the results are in it."""
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    pages = _titled_pages(3)
    calls = [(profile, body, page, None) for body, page in pages]
    expected = [process_page(profile, body, page, None) for body, page in pages]
    sent = timed_process_pages(calls, str(tmp_path))
    assert sent.path is not None and sent.blobs is None
    assert len(pickle.dumps(sent)) < 1000
    assert [o[0] for o in sent.outcomes()] == expected  # type: ignore[index]
    assert list(tmp_path.iterdir()) == []  # read once, removed
    inline = timed_process_pages(calls, str(tmp_path / "gone"))
    assert inline.path is None and [o[0] for o in inline.outcomes()] == expected  # type: ignore[index]


def test_results_folders_of_killed_crawls_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = tmp_path / f"{workpool.SPOOL_PREFIX}{gone.pid}-0-abc"
    left.mkdir()
    (left / "x.results").write_bytes(b"...")
    mine = tmp_path / f"{workpool.SPOOL_PREFIX}{workpool._process_mark(os.getpid())}-def"
    mine.mkdir()
    # The pid of a process that runs, with another start time: a container's pid 1 restarted
    # after a kill -9 (its folder looked alive for good).
    pid, started = workpool._process_mark(os.getpid()).split("-")
    reused = tmp_path / f"{workpool.SPOOL_PREFIX}{pid}-{int(started) - 100}-ghi"
    reused.mkdir()
    spool = workpool.new_spool()
    assert spool is not None and Path(spool).parent == tmp_path
    assert Path(spool).name.startswith(f"{workpool.SPOOL_PREFIX}{pid}-{started}-")
    assert not left.exists() and not reused.exists() and mine.exists()


def test_a_task_whose_results_file_is_lost_loses_its_pages_as_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its pages fail with ResultsLost, a BrokenProcessPool (the spider counts them
    ``extract_crash``, the run is partial, the next run fetches them again): they were spider
    errors, one traceback each, and the run failed. A page whose outcome cannot be unpickled
    gets an error of its own."""
    profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
    calls = [(profile, body, page, None) for body, page in _titled_pages(4)]
    real = workpool.timed_process_pages

    def losing(batch: list[workpool.PageCall], spool: str | None) -> workpool.TaskResults:
        sent = real(batch, spool)
        assert sent.path is not None
        os.unlink(sent.path)  # a tmp cleaner, a full disk
        return sent

    monkeypatch.setattr(workpool, "timed_process_pages", losing)

    async def run() -> list[object]:
        with ThreadPoolExecutor(1) as executor:
            feeder = _Feeder(executor, 1, str(tmp_path))  # type: ignore[arg-type]
            futures = [feeder.submit(call) for call in calls]
            return list(await asyncio.gather(*futures, return_exceptions=True))

    results = asyncio.run(run())
    assert all(isinstance(r, workpool.ResultsLost) for r in results), results
    assert all(isinstance(r, BrokenProcessPool) for r in results)
    blobs = [pickle.dumps(("ok", {})), b"not a pickle"]
    outcomes = workpool.TaskResults(blobs=blobs).outcomes()
    assert outcomes[0] == ("ok", {}) and isinstance(outcomes[1], RuntimeError)
