"""Table tests for crawler.normalize.urls: canonical URLs, identity keys and address policy."""

from __future__ import annotations

import pytest

from crawler.normalize.urls import (
    canonicalize_url,
    host_of,
    is_http_url,
    is_private_address,
    is_valid_host,
    registered_domain_matches,
    slash_added,
    url_identity,
)

M24 = "https://www.m24.ru/news/transport/12122022/1"


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        # the trailing slash is the site's form (Bitrix, WordPress answer 404 without it): kept
        ("https://www.mos.ru/news/item/99623073/", None, "https://www.mos.ru/news/item/99623073/"),
        ("https://www.mos.ru/news/item/99623073", None, "https://www.mos.ru/news/item/99623073"),
        (
            "https://example.ru/2026/12/06/tramvai-lesnaya/?utm_source=vk#more",
            None,
            "https://example.ru/2026/12/06/tramvai-lesnaya/",
        ),
        ("https://x.ru/news/detail/12345//", None, "https://x.ru/news/detail/12345/"),
        ("https://x.ru/news/?id=5&utm_term=z", None, "https://x.ru/news/?id=5"),
        (
            "HTTPS://WWW.Mos.RU:443/news/item/99623073",
            None,
            "https://www.mos.ru/news/item/99623073",
        ),
        ("http://vm.ru:80/news/1-slug", None, "http://vm.ru/news/1-slug"),
        ("http://vm.ru:8080/news/1-slug", None, "http://vm.ru:8080/news/1-slug"),
        ("https://vm.ru", None, "https://vm.ru/"),
        ("https://vm.ru/", None, "https://vm.ru/"),
        ("https://vm.ru/news/1#comments", None, "https://vm.ru/news/1"),
        ("  https://vm.ru/news/1\n", None, "https://vm.ru/news/1"),
        ("https://vm.ru/ne\nws/1", None, "https://vm.ru/news/1"),
        ("https://vm.ru./news/1", None, "https://vm.ru/news/1"),
        # tracking parameters (C2); real parameters kept and sorted
        ("https://vm.ru/news/1?utm_source=tg&utm_medium=x", None, "https://vm.ru/news/1"),
        (
            "https://vm.ru/news/1?UTM_Campaign=a&fbclid=1&gclid=2&yclid=3",
            None,
            "https://vm.ru/news/1",
        ),
        ("https://vm.ru/news/1?ysclid=l9x&_openstat=abc&id=5", None, "https://vm.ru/news/1?id=5"),
        ("https://x.ru/list?page=2&id=7&utm_term=z", None, "https://x.ru/list?id=7&page=2"),
        (
            "https://www.mos.ru/api/newsfeed/v4/frontend/json/ru/articles?to=2&from=1&per-page=50",
            None,
            "https://www.mos.ru/api/newsfeed/v4/frontend/json/ru/articles?from=1&per-page=50&to=2",
        ),
        ("https://www.mskagency.ru/?page=3&rnd=1", None, "https://www.mskagency.ru/?page=3&rnd=1"),
        # AMP variants (C3)
        ("https://www.m24.ru/amp/news/transport/12122022/1", None, M24),
        ("https://vm.ru/news/1190000-tramvai/amp", None, "https://vm.ru/news/1190000-tramvai"),
        ("https://vm.ru/news/1190000-tramvai/amp/", None, "https://vm.ru/news/1190000-tramvai/"),
        ("https://x.ru/amp/2026/12/06/slug/", None, "https://x.ru/2026/12/06/slug/"),
        ("https://vm.ru/news/1?amp=1", None, "https://vm.ru/news/1"),
        ("https://vm.ru/news/1?amp", None, "https://vm.ru/news/1"),
        ("https://amp.vm.ru/news/1", None, "https://amp.vm.ru/news/1"),
        ("https://vm.ru/news/ampersand", None, "https://vm.ru/news/ampersand"),
        ("https://vm.ru/amp", None, "https://vm.ru/amp"),
        # IDN and percent-encoding
        (
            "http://новости.рф/Новость",
            None,
            "http://xn--b1amnebsh.xn--p1ai/%D0%9D%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D1%8C",
        ),
        (
            "https://www.m24.ru/tag/происшествия",
            None,
            "https://www.m24.ru/tag/%D0%BF%D1%80%D0%BE%D0%B8%D1%81%D1%88%D0%B5%D1%81%D1%82%D0%B2%D0%B8%D1%8F",
        ),
        ("https://www.m24.ru/tag/%d0%bf", None, "https://www.m24.ru/tag/%D0%BF"),
        ("https://x.ru/%7Euser/a%2Fb", None, "https://x.ru/~user/a%2Fb"),
        # relative and protocol-relative against a base (B17)
        ("/news/2/", M24, "https://www.m24.ru/news/2/"),
        ("//cdn.m24.ru/c/1.jpg", M24, "https://cdn.m24.ru/c/1.jpg"),
        ("../13122022/2", M24, "https://www.m24.ru/news/transport/13122022/2"),
        ("?page=2", "https://vm.ru/accidents", "https://vm.ru/accidents?page=2"),
        ("https://vm.ru/a", M24, "https://vm.ru/a"),
        # non-HTTP values come back untouched
        ("mailto:info@mymsk.online", None, "mailto:info@mymsk.online"),
        ("javascript:alert(1)", None, "javascript:alert(1)"),
        ("", None, ""),
    ],
)
def test_canonicalize_url(url: str, base: str | None, expected: str) -> None:
    assert canonicalize_url(url, base) == expected


def test_canonicalize_url_is_idempotent() -> None:
    for url in (
        "https://www.m24.ru/amp/news/1/?utm_source=x&b=2&a=1#f",
        "http://новости.рф/путь/",
        "https://x.ru/news/1//amp//",
    ):
        once = canonicalize_url(url)
        assert canonicalize_url(once) == once


@pytest.mark.parametrize(
    "variants",
    [
        [  # C1: slash, scheme, host case, www, port, fragment, trackers, AMP
            "https://www.mos.ru/news/item/99623073/",
            "http://www.mos.ru/news/item/99623073",
            "https://WWW.MOS.RU:443/news/item/99623073/#top",
            "https://mos.ru/news/item/99623073?utm_source=tg&utm_medium=x",
        ],
        [
            "https://www.m24.ru/news/transport/12122022/1",
            "https://m24.ru/amp/news/transport/12122022/1",
            "http://www.m24.ru/news/transport/12122022/1/?yclid=77",
        ],
        [  # Bitrix and WordPress forms, with and without the slash
            "https://www.mos.ru/news/detail/12345/",
            "https://www.mos.ru/news/detail/12345",
            "https://mos.ru/news/detail/12345//",
            "https://mos.ru/amp/news/detail/12345/",
        ],
        [
            "https://x.ru/news/?id=7",
            "https://x.ru/news?id=7",
        ],
    ],
)
def test_url_identity_collapses_variants(variants: list[str]) -> None:
    assert len({url_identity(url) for url in variants}) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.mos.ru/news/item/99623073/", "mos.ru/news/item/99623073"),
        ("https://vm.ru/news/1?page=2&id=1", "vm.ru/news/1?id=1&page=2"),
        ("http://www2.vm.ru/news/1", "www2.vm.ru/news/1"),
        ("https://vm.ru:8443/x/", "vm.ru:8443/x"),
        ("https://example.ru/2026/12/06/tramvai-lesnaya/", "example.ru/2026/12/06/tramvai-lesnaya"),
        ("https://vm.ru/", "vm.ru/"),
        ("https://vm.ru", "vm.ru/"),
    ],
)
def test_url_identity_value(url: str, expected: str) -> None:
    assert url_identity(url) == expected


@pytest.mark.parametrize(
    ("stored", "url", "expected"),
    [
        ("https://x.ru/news/detail/12345", "https://x.ru/news/detail/12345/", True),
        ("https://x.ru/2026/12/06/slug?p=1", "https://x.ru/2026/12/06/slug/?p=1", True),
        # never back, never twice: a site linking both forms keeps one GUID
        ("https://x.ru/news/detail/12345/", "https://x.ru/news/detail/12345", False),
        ("https://x.ru/news/detail/12345/", "https://x.ru/news/detail/12345/", False),
        ("https://x.ru/news/1", "https://x.ru/news/1", False),
        # only the slash: another scheme, host, query or path is no repair of this row
        ("http://x.ru/news/1", "https://x.ru/news/1/", False),
        ("https://www.x.ru/news/1", "https://x.ru/news/1/", False),
        ("https://x.ru/news/1?a=1", "https://x.ru/news/1/?a=2", False),
        ("https://x.ru/news/1", "https://x.ru/news/12/", False),
        ("https://x.ru/news/1", "https://x.ru/news/1//", False),
        ("https://x.ru/", "https://x.ru//", False),
        ("https://x.ru:99999/a", "https://x.ru:99999/a/", True),
        ("https://[x/a", "https://[x/a/", False),
    ],
)
def test_slash_added(stored: str, url: str, expected: bool) -> None:
    assert slash_added(stored, url) is expected


def test_url_identity_keeps_different_articles_apart() -> None:
    assert url_identity("https://vm.ru/news/1") != url_identity("https://vm.ru/news/2")
    assert url_identity("https://vm.ru/news?id=1") != url_identity("https://vm.ru/news?id=2")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.mos.ru/rss", True),
        ("http://vm.ru", True),
        ("HTTP://VM.RU/x", True),
        ("http://новости.рф/", True),
        ("https://[::1]/x", True),
        ("ftp://mos.ru/file", False),
        ("file:///etc/passwd", False),
        ("javascript:alert(1)", False),
        ("mailto:a@b.ru", False),
        ("//cdn.m24.ru/x.jpg", False),
        ("/news/1", False),
        ("https://", False),
        ("https:///path", False),
        ("http://vm.ru:99999/", False),
        ("", False),
    ],
)
def test_is_http_url(url: str, expected: bool) -> None:
    assert is_http_url(url) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://WWW.Mos.ru:443/news", "www.mos.ru"),
        ("http://новости.рф/", "xn--b1amnebsh.xn--p1ai"),
        ("https://vm.ru./x", "vm.ru"),
        ("https://[::1]:8080/", "::1"),
        ("/relative", ""),
        ("", ""),
        ("http://vm.ru:bad/", "vm.ru"),
    ],
)
def test_host_of(url: str, expected: str) -> None:
    assert host_of(url) == expected


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("mos.ru", ["mos.ru"], True),
        ("www.mos.ru", ["mos.ru"], True),
        ("transport.mos.ru", ["mos.ru"], True),
        ("WWW.MOS.RU.", ["mos.ru"], True),
        ("evilmos.ru", ["mos.ru"], False),
        ("mos.ru.evil.com", ["mos.ru"], False),
        ("m24.ru", ["mos.ru", "m24.ru"], True),
        ("b1.m24.ru", ["*.m24.ru"], True),
        ("b1.m24.ru", [".m24.ru"], True),
        ("www.vm.ru", ["https://vm.ru/rss"], True),
        ("xn--b1amnebsh.xn--p1ai", ["новости.рф"], True),
        ("новости.рф", ["xn--b1amnebsh.xn--p1ai"], True),
        ("ru", ["mos.ru"], False),
        ("", ["mos.ru"], False),
        ("mos.ru", [], False),
    ],
)
def test_registered_domain_matches(host: str, allowed: list[str], expected: bool) -> None:
    assert registered_domain_matches(host, allowed) is expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1", True),
        ("2130706433", True),
        ("0x7f.0.0.1", True),
        ("10.0.0.5", True),
        ("172.16.3.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("0.0.0.0", True),
        ("100.64.0.1", True),
        ("224.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("[::1]", True),
        ("::", True),
        ("fe80::1%eth0", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:169.254.169.254", True),
        ("localhost", True),
        ("api.localhost", True),
        ("8.8.8.8", False),
        ("213.59.254.7", False),
        ("2a00:1450:4010::1", False),
        ("::ffff:8.8.8.8", False),
        ("mos.ru", False),
        ("10.mos.ru", False),
        ("", False),
    ],
)
def test_is_private_address(host: str, expected: bool) -> None:
    assert is_private_address(host) is expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", True),
        ("news.mos.ru", True),
        ("новости.рф", True),
        ("127.0.0.1", True),
        ("[::1]", True),
        ("my_host.local", True),
        ("exa mple.com", False),
        ("a..b", False),
        ("-bad.ru", False),
        ("bad-.ru", False),
        ("x" * 64 + ".ru", False),
        ("", False),
        ("a/b", False),
    ],
)
def test_is_valid_host(host: str, expected: bool) -> None:
    assert is_valid_host(host) is expected


def test_remembered_url_identity_is_the_plain_one() -> None:
    import random

    from crawler.normalize.urls import url_identity

    plain = url_identity.__wrapped__
    rng = random.Random(15)
    parts = ["HTTP://", "https://", "https://www.", "ftp://", "", "//"]
    hosts = ["Mos.RU", "новости.рф", "example.com:443", "example.com:80", "a.b."]
    paths = ["/news/1", "/news/1/", "/a//b/amp/", "", "/%d0%bf?utm_source=x&b=2&a=1", "/x#frag"]
    urls = [rng.choice(parts) + rng.choice(hosts) + rng.choice(paths) for _ in range(3000)]
    for url in urls + urls[::-1]:  # repeated: answered by the cache
        assert url_identity(url) == plain(url)
