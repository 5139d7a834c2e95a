"""RetryAfterMiddleware: short waits in the reactor, long ones stop the source's run."""

from __future__ import annotations

from pathlib import Path

import pytest
from mw_samples import FakeEngine, FakeSlot, make_crawler, queue_in_slot, run
from scrapy.http import Request, Response

from crawler.middlewares import retry_after
from crawler.middlewares.policy import NotFetched
from crawler.middlewares.retry_after import RetryAfterMiddleware


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The in-reactor waits, recorded instead of slept."""
    seen: list[float] = []

    async def sleep(seconds: float) -> None:
        seen.append(seconds)

    monkeypatch.setattr(retry_after, "_sleep", sleep)
    return seen


def middleware(tmp_path: Path) -> tuple[RetryAfterMiddleware, FakeEngine]:
    crawler = make_crawler(
        tmp_path, settings={"CITYFEEDS_RETRY_AFTER_MAX_WAIT": 10.0, "RETRY_TIMES": 2}
    )
    crawler.engine = engine = FakeEngine()  # type: ignore[assignment]
    return RetryAfterMiddleware.from_crawler(crawler), engine


def answer(request: Request, status: int, retry_after: str | None) -> Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Response(request.url, status=status, headers=headers)


def test_a_short_retry_after_is_waited_out_and_slows_the_slot(
    tmp_path: Path, waits: list[float]
) -> None:
    mw, engine = middleware(tmp_path)
    engine.downloader.slots["vm.ru"] = slot = FakeSlot(delay=1.0)
    request = Request("https://vm.ru/news/1", meta={"download_slot": "vm.ru"})
    response = answer(request, 429, "3")
    assert run(mw.process_response(request, response)) is response
    assert waits == [3.0] and slot.delay == 3.0
    assert engine.closed == [] and mw.crawler.stats.get_value("cityfeeds/last_status") == 429


def test_no_wait_once_the_retries_are_used_up(tmp_path: Path, waits: list[float]) -> None:
    mw, _ = middleware(tmp_path)
    request = Request("https://vm.ru/news/1", meta={"retry_times": 2})
    run(mw.process_response(request, answer(request, 503, "3")))
    assert waits == []


def test_a_long_retry_after_stops_the_run_and_the_host(tmp_path: Path, waits: list[float]) -> None:
    mw, engine = middleware(tmp_path)
    engine.downloader.slots["vm.ru"] = slot = FakeSlot()
    queued = Request("https://vm.ru/news/2")
    failures = queue_in_slot(slot, queued)
    request = Request("https://vm.ru/news/1")
    # An HTTP date, read against the injected clock (12:00): 300 seconds.
    run(mw.process_response(request, answer(request, 503, "Thu, 26 Nov 2026 12:05:00 GMT")))
    stats = mw.crawler.stats
    assert waits == [] and engine.closed == ["retry_after"] and request.meta["dont_retry"]
    assert stats.get_value("cityfeeds/retry_after") == 300
    # The request waiting in the host's slot, and any later one, is not fetched.
    assert not slot.queue and isinstance(failures[0].value, NotFetched)
    with pytest.raises(NotFetched):
        mw.process_request(Request("https://vm.ru/news/3"))
    assert stats.get_value("cityfeeds/not_fetched/retry_after") == 2
    assert mw.process_request(Request("https://m24.ru/news/1")) is None


@pytest.mark.parametrize(("status", "header"), [(200, "3"), (429, None), (503, "soon")])
def test_other_responses_pass_untouched(
    tmp_path: Path, waits: list[float], status: int, header: str | None
) -> None:
    mw, engine = middleware(tmp_path)
    request = Request("https://vm.ru/news/1")
    response = answer(request, status, header)
    assert run(mw.process_response(request, response)) is response
    assert waits == [] and engine.closed == []
