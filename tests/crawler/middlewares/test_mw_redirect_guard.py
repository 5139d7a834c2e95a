"""RedirectGuardMiddleware: a 3xx Location is checked before Scrapy follows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from mw_samples import make_crawler, run
from scrapy.http import Request, Response

from crawler.middlewares.policy import Blocked
from crawler.middlewares.redirect_guard import RedirectGuardMiddleware


def redirect(location: str, status: int = 302) -> tuple[Request, Response]:
    request = Request("https://vm.ru/news/1")
    return request, Response(request.url, status=status, headers={"Location": location})


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("file:///etc/passwd", "scheme 'file' not allowed"),
        ("data:text/html,hi", "scheme 'data' not allowed"),
        ("https://evil.example/", "outside allowed domains"),
        ("//evil.example/path", "host evil.example outside"),
        ("http://127.0.0.1/", "outside allowed domains"),
    ],
)
def test_redirects_leaving_the_source_are_blocked(tmp_path: Path, location: str, why: str) -> None:
    crawler = make_crawler(tmp_path)
    mw = RedirectGuardMiddleware.from_crawler(crawler)
    with pytest.raises(Blocked) as info:
        run(mw.process_response(*redirect(location)))
    assert info.value.reason == "blocked_redirect" and why in str(info.value)
    assert "redirected from https://vm.ru/news/1" in str(info.value)
    assert crawler.stats.get_value("cityfeeds/dropped/blocked_redirect") == 1


def test_redirects_within_the_source_and_other_responses_pass(tmp_path: Path) -> None:
    # allow_private: the address check (a DNS lookup) is not what this test is about.
    mw = RedirectGuardMiddleware.from_crawler(make_crawler(tmp_path, allow_private=True))
    request, response = redirect("/news/1-slug", status=301)
    assert run(mw.process_response(request, response)) is response
    request, response = redirect("https://evil.example/", status=200)
    assert run(mw.process_response(request, response)) is response


def test_dont_redirect_requests_are_left_alone(tmp_path: Path) -> None:
    mw = RedirectGuardMiddleware.from_crawler(make_crawler(tmp_path))
    request = Request("https://vm.ru/news/1", meta={"dont_redirect": True})
    response = Response(request.url, status=302, headers={"Location": "file:///etc/passwd"})
    assert run(mw.process_response(request, response)) is response
