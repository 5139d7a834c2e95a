"""Page processing in worker processes (crawler.workpool) gives what it gives in-process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from crawler.models import Article, Hints, PageFacts
from crawler.pages import process_page
from crawler.profile import SourceProfile
from crawler.workpool import ExtractionPool, default_workers, release_pool, shared_pool
from tests.faults.support import article_html

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
            return [
                await pool.process_page(profile, body, page, hints),
                await inline.process_page(profile, body, page, hints),
            ]
        finally:
            pool.close()

    assert asyncio.run(both()) == [expected, expected]


def test_sources_of_one_crawl_share_the_workers() -> None:
    first, second = shared_pool(1), shared_pool(1)
    assert first is second and first.users == 2
    release_pool(first)
    assert shared_pool(1) is second  # still in use: the same pool
    release_pool(second)
    release_pool(second)
    assert shared_pool(1) is not second  # the last user stopped it; a new crawl gets a new one
    release_pool(shared_pool(1))


def test_warm_starts_the_workers_before_the_first_page() -> None:
    """A crawl warms its pool when it asks for its first article: the workers' start (seconds
    on a busy machine) overlaps the page's download instead of following it."""
    pool, inline = ExtractionPool(1), ExtractionPool(0)
    try:
        pool.warm()
        started = pool._executor
        assert started is not None
        pool.warm()  # once: the same workers
        assert pool._executor is started
        body = article_html("Электробусы вышли на новые маршруты").encode()
        profile = SourceProfile(name="vestnik", allowed_domains=("news.example",))
        result = asyncio.run(pool.process_page(profile, body, PageFacts(URL, NOW)))
        assert isinstance(result, Article) and pool._executor is started
        inline.warm()  # no workers to start
        assert inline._executor is None
    finally:
        pool.close(wait=True)
