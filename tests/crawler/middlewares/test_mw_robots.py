"""PoliteRobotsTxtMiddleware: RFC 9309 on fetch failures, Crawl-delay on the host's slot."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from mw_samples import FakeEngine, FakeSlot, make_crawler, run
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from twisted.internet.error import ConnectionRefusedError

from crawler.middlewares.policy import Blocked
from crawler.middlewares.robots import PoliteRobotsTxtMiddleware
from crawler.middlewares.size_cap import DECODED_MAXSIZE
from crawler.robots_txt import ROBOTS_TXT_MAX_BYTES, robots_txt_prefix

ROBOTS = "https://vm.ru/robots.txt"
RULES = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n"


def middleware(
    tmp_path: Path, robots: Response | Exception, **settings: Any
) -> tuple[PoliteRobotsTxtMiddleware, FakeEngine]:
    crawler = make_crawler(tmp_path, settings=settings)
    crawler.engine = engine = FakeEngine({ROBOTS: robots})  # type: ignore[assignment]
    return PoliteRobotsTxtMiddleware.from_crawler(crawler), engine


def refused(mw: PoliteRobotsTxtMiddleware, url: str) -> Blocked:
    with pytest.raises(Blocked) as info:
        run(mw.process_request(Request(url)))
    return info.value


def test_rules_are_fetched_once_without_retries_and_obeyed(tmp_path: Path) -> None:
    mw, engine = middleware(tmp_path, Response(ROBOTS, body=RULES))
    parsed: list[Any] = []

    def on_parsed(robotparser: Any, request: Request) -> None:
        parsed.append(robotparser)

    mw.crawler.signals.connect(on_parsed, signal=signals.robots_parsed)
    assert run(mw.process_request(Request("https://vm.ru/news/1"))) is None
    assert refused(mw, "https://vm.ru/private/2").reason == "robots_disallowed"
    assert [r.url for r in engine.downloaded] == [ROBOTS]
    assert engine.downloaded[0].meta["dont_retry"] and len(parsed) == 1
    stats = mw.crawler.stats
    assert stats.get_value("robotstxt/forbidden") == 1
    assert stats.get_value("cityfeeds/dropped/robots_disallowed") == 1
    assert stats.get_value("robotstxt/response_status_count/200") == 1


def test_crawl_delay_goes_to_the_hosts_slot_without_jitter(tmp_path: Path) -> None:
    mw, engine = middleware(tmp_path, Response(ROBOTS, body=RULES))
    engine.downloader.slots["vm.ru"] = slot = FakeSlot(delay=0.5)
    request = Request("https://vm.ru/news/1")
    run(mw.process_request(request))
    assert engine.downloader.per_slot_settings["vm.ru"] == {"delay": 2.0, "jitter": 0.0}
    assert (slot.delay, slot.jitter) == (2.0, 0.0)
    assert mw.crawler.stats.get_value("cityfeeds/crawl_delay") == 2.0
    # AutoThrottle must not lower the delay the site asked for.
    assert request.meta["autothrottle_dont_adjust_delay"] is True


def test_a_crawl_delay_is_capped(tmp_path: Path) -> None:
    slow = b"User-agent: *\nCrawl-delay: 3600\n"
    mw, engine = middleware(tmp_path, Response(ROBOTS, body=slow), CITYFEEDS_MAX_CRAWL_DELAY=30.0)
    run(mw.process_request(Request("https://vm.ru/news/1")))
    assert engine.downloader.per_slot_settings["vm.ru"]["delay"] == 30.0


@pytest.mark.parametrize(
    ("robots", "why"),
    [
        (Response(ROBOTS, status=503), "robots.txt unreachable (HTTP 503)"),
        (Response(ROBOTS, status=429), "robots.txt unreachable (HTTP 429)"),
        (ConnectionRefusedError("refused"), "robots.txt unreachable (ConnectionRefusedError"),
    ],
)
def test_an_unreachable_robots_txt_disallows_everything(
    tmp_path: Path, robots: Response | Exception, why: str
) -> None:
    mw, _ = middleware(tmp_path, robots)
    exc = refused(mw, "https://vm.ru/news/1")
    assert exc.reason == "robots_unavailable" and why in str(exc)
    stats = mw.crawler.stats
    assert str(stats.get_value("cityfeeds/robots_unavailable")).startswith(why)
    assert stats.get_value("cityfeeds/dropped/robots_unavailable") == 1
    assert not stats.get_value("robotstxt/forbidden")


@pytest.mark.parametrize("status", [404, 410, 302])
def test_a_missing_robots_txt_allows_everything(tmp_path: Path, status: int) -> None:
    mw, _ = middleware(tmp_path, Response(ROBOTS, status=status))
    assert run(mw.process_request(Request("https://vm.ru/private/1"))) is None
    assert mw.crawler.stats.get_value(f"robotstxt/response_status_count/{status}") == 1


def test_dont_obey_robotstxt_requests_skip_the_fetch(tmp_path: Path) -> None:
    mw, engine = middleware(tmp_path, Response(ROBOTS, status=503))
    request = Request("https://vm.ru/private/1", meta={"dont_obey_robotstxt": True})
    assert run(mw.process_request(request)) is None
    assert engine.downloaded == []


def test_off_unless_robotstxt_obey(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured):
        PoliteRobotsTxtMiddleware.from_crawler(
            make_crawler(tmp_path, settings={"ROBOTSTXT_OBEY": False})
        )


def test_every_request_waiting_for_robots_txt_gets_its_rules(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path)
    mw = PoliteRobotsTxtMiddleware.from_crawler(crawler)

    async def crawl() -> list[BaseException | None]:
        loaded = asyncio.get_running_loop().create_future()

        async def download(request: Request) -> Response:
            await loaded  # robots.txt is slow: four requests queue up behind it
            return Response(request.url, status=503)

        crawler.engine = FakeEngine()  # type: ignore[assignment]
        crawler.engine.download_async = download  # type: ignore[method-assign]
        waiting = [
            asyncio.ensure_future(mw.process_request(Request(f"https://vm.ru/news/{n}")))
            for n in range(4)
        ]
        await asyncio.sleep(0)
        loaded.set_result(None)
        return await asyncio.gather(*waiting, return_exceptions=True)

    outcomes = run(crawl())
    assert all(isinstance(outcome, Blocked) for outcome in outcomes), outcomes
    assert crawler.stats.get_value("cityfeeds/dropped/robots_unavailable") == 4


def test_a_rendered_pages_own_requests_are_checked_and_counted(tmp_path: Path) -> None:
    mw, engine = middleware(tmp_path, Response(ROBOTS, body=RULES))
    assert mw.crawler.cityfeeds_robots is mw  # type: ignore[attr-defined]
    page = "https://vm.ru/news/"
    assert run(mw.check_url("https://vm.ru/api/list.json", requested_by=page)) is None
    with pytest.raises(Blocked) as info:
        run(mw.check_url("https://vm.ru/private/stats", requested_by=page))
    assert info.value.reason == "robots_disallowed"
    assert "(requested by the page https://vm.ru/news/)" in str(info.value)
    assert [r.url for r in engine.downloaded] == [ROBOTS]  # fetched once, as for the crawl
    assert mw.crawler.stats.get_value("cityfeeds/dropped/robots_disallowed") == 1


def test_a_long_robots_txt_is_cut_at_its_last_whole_line_within_the_limit() -> None:
    rules = b"User-agent: *\nDisallow: /a\n"
    assert robots_txt_prefix(rules) == (rules, False)
    long = rules + b"#" * (ROBOTS_TXT_MAX_BYTES - len(rules) - 5) + b"\nDisallow: /news/2\n"
    head, cut = robots_txt_prefix(long)
    assert cut and head.endswith(b"\n") and b"Disallow: /n" not in head
    assert len(head) <= ROBOTS_TXT_MAX_BYTES >= 500 * 1024  # RFC 9309 §2.5's floor


def test_a_robots_txt_over_the_limit_is_obeyed_in_part_and_counted(tmp_path: Path) -> None:
    body = b"User-agent: *\nDisallow: /private/\n" + b"# pad\n" * (ROBOTS_TXT_MAX_BYTES // 6)
    body += b"Disallow: /news/\n"  # past the part read: ignored
    stopped = Response(ROBOTS, body=body, flags=["download_stopped"])
    mw, engine = middleware(tmp_path, stopped)
    assert run(mw.process_request(Request("https://vm.ru/news/1"))) is None
    assert refused(mw, "https://vm.ru/private/2").reason == "robots_disallowed"
    # The transfer stops itself; decompression keeps the crawl's limit (a gzip bomb).
    meta, limit = engine.downloaded[0].meta, mw.crawler.settings.getint("DOWNLOAD_MAXSIZE")
    assert meta["download_maxsize"] == 0 and meta[DECODED_MAXSIZE] == limit > 0
    assert mw.crawler.stats.get_value("cityfeeds/robots_truncated") == 1
