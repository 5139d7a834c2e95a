"""BrowserGuardMiddleware's robots.txt check of a rendered page's own requests, in process."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy.settings import Settings

from crawler.browser.middleware import BrowserGuardMiddleware
from crawler.middlewares.policy import Blocked

PAGE = "https://vm.ru/news/"


class FakeRobots:
    """PoliteRobotsTxtMiddleware's ``check_url``: refuses ``/private/`` and records each ask."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def check_url(self, url: str, *, requested_by: str) -> None:
        self.asked.append((url, requested_by))
        if "/private/" in url:
            raise Blocked("robots_disallowed", f"robots_disallowed: {url}")


def allows(robots: FakeRobots | None, url: str) -> bool:
    crawler: Any = SimpleNamespace(settings=Settings())
    if robots is not None:
        crawler.cityfeeds_robots = robots
    guard = BrowserGuardMiddleware(crawler)
    return asyncio.run(guard._robots_allow(("vm.ru",), url, PAGE))


@pytest.mark.parametrize(
    ("url", "allowed", "asked"),
    [
        ("https://vm.ru/api/news.json", True, True),
        ("https://vm.ru/private/stats", False, True),
        ("https://static.vm.ru/private/app.js", False, True),  # a host of the crawled site
        ("https://cdn.example.net/private/app.js", True, False),  # not the crawled site
        ("wss://vm.ru/private/live", True, False),  # robots.txt is for http(s)
    ],
)
def test_only_the_crawled_sites_http_requests_ask_robots_txt(
    url: str, allowed: bool, asked: bool
) -> None:
    robots = FakeRobots()
    assert allows(robots, url) is allowed
    assert robots.asked == ([(url, PAGE)] if asked else [])


def test_nothing_is_checked_when_robots_txt_is_not_obeyed() -> None:
    assert allows(None, "https://vm.ru/private/stats") is True
