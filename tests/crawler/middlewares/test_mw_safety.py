"""SafetyMiddleware: only http(s), no private addresses, redirect hops stay on the source."""

from __future__ import annotations

from pathlib import Path

import pytest
from mw_samples import make_crawler, run
from scrapy.http import Request

from crawler.middlewares import policy
from crawler.middlewares.policy import Blocked
from crawler.middlewares.safety import SafetyMiddleware


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Answer name lookups from a table instead of the reactor's resolver (no network)."""
    table = {"vm.ru": "93.158.134.3"}

    async def resolve(host: str) -> str | None:
        return table.get(host)

    monkeypatch.setattr(policy, "resolve", resolve)
    return table


def blocked(mw: SafetyMiddleware, request: Request) -> Blocked:
    with pytest.raises(Blocked) as info:
        run(mw.process_request(request))
    return info.value


def test_public_request_passes(tmp_path: Path, public_dns: dict[str, str]) -> None:
    crawler = make_crawler(tmp_path)
    mw = SafetyMiddleware.from_crawler(crawler)
    assert run(mw.process_request(Request("https://vm.ru/news/1"))) is None
    assert not crawler.stats.get_value("cityfeeds/dropped/blocked_private")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://vm.ru/x"])
def test_other_schemes_are_blocked_and_counted(tmp_path: Path, url: str) -> None:
    crawler = make_crawler(tmp_path)
    exc = blocked(SafetyMiddleware.from_crawler(crawler), Request(url))
    assert exc.reason == "blocked_scheme"
    assert crawler.stats.get_value("cityfeeds/dropped/blocked_scheme") == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://10.1.2.3/admin", "http://[::1]/"])
def test_private_addresses_are_blocked(tmp_path: Path, url: str) -> None:
    crawler = make_crawler(tmp_path)
    assert blocked(SafetyMiddleware.from_crawler(crawler), Request(url)).reason == "blocked_private"
    assert crawler.stats.get_value("cityfeeds/dropped/blocked_private") == 1


def test_a_name_resolving_to_a_private_address_is_blocked(
    tmp_path: Path, public_dns: dict[str, str]
) -> None:
    public_dns["vm.ru"] = "192.168.0.10"
    exc = blocked(SafetyMiddleware.from_crawler(make_crawler(tmp_path)), Request("https://vm.ru/"))
    assert exc.reason == "blocked_private" and "resolves to private address 192.168.0.10" in str(
        exc
    )


def test_allow_private_sources_reach_loopback(tmp_path: Path) -> None:
    mw = SafetyMiddleware.from_crawler(make_crawler(tmp_path, allow_private=True))
    assert run(mw.process_request(Request("http://127.0.0.1:8080/news/"))) is None


def test_a_redirect_hop_outside_the_source_is_blocked(
    tmp_path: Path, public_dns: dict[str, str]
) -> None:
    crawler = make_crawler(tmp_path, allow_private=True)
    mw = SafetyMiddleware.from_crawler(crawler)
    hop = Request("https://evil.example/x", meta={"redirect_urls": ["https://vm.ru/a"]})
    exc = blocked(mw, hop)
    assert exc.reason == "blocked_redirect" and "outside allowed domains" in str(exc)
    inside = Request("https://www.vm.ru/x", meta={"redirect_urls": ["https://vm.ru/a"]})
    assert run(mw.process_request(inside)) is None
