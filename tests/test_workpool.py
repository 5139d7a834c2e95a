"""Page processing in worker processes (crawler.workpool) gives what it gives in-process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
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
from crawler.workpool import ArticleWork, ExtractionPool, default_workers, release_pool, shared_pool
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
