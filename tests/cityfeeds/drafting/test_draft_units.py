"""The drafting parts on their own: path shapes, selector proposals, the fetcher's pace."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from cityfeeds.devtools.demo_server import SiteServer
from cityfeeds.drafting.draft import default_name, drafted_page_is_listing
from cityfeeds.drafting.fetch import PoliteFetcher, RobotsForbid, Unreachable
from cityfeeds.drafting.pattern import combined_pattern, group_links, shape_of
from cityfeeds.drafting.samples import Sample, extract_sample, propose_selectors
from crawler.config import check_source_name
from crawler.models import Article, ArticleData, PageFacts
from crawler.pages import check_page, process_page
from crawler.profile import SourceProfile

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://s.ru/news/1001-elektrobusy-vyshli", "/news/{n}-{slug}"),
        ("https://s.ru/2026/11/20/novyi-most-otkryt/", "/{n}/{n}/{n}/{slug}"),
        ("https://s.ru/a/7001/", "/a/{n}"),
        ("https://s.ru/stories/novost-rayona-1.html", "/stories/{slug}.html"),
        ("https://s.ru/news/", None),  # fixed words: a section
        ("https://s.ru/", None),
        ("https://s.ru/news/?page=2", None),
        ("https://s.ru/img/photo-of-the-day.jpg", None),
    ],
)
def test_shape_of(url: str, label: str | None) -> None:
    found = shape_of(url)
    assert (("/" + "/".join(found[0])) if found else None) == label


def test_pattern_matches_its_groups_and_nothing_else() -> None:
    urls = [
        "https://s.ru/news/1001-elektrobusy-vyshli",
        "https://s.ru/news/1002-tramvai-vityaz",
        "https://s.ru/tag/transport",
        "https://s.ru/news/",
    ]
    groups = group_links(urls)
    assert [(g.label, len(g.urls)) for g in groups] == [("/news/{n}-{slug}", 2)]
    pattern = re.compile(combined_pattern(groups))
    assert [bool(pattern.search(u)) for u in urls] == [True, True, False, False]
    assert not pattern.search("https://s.ru/news/1001-elektrobusy-vyshli/comments/5")


def _page(i: int, *, stamp: bool = True) -> bytes:
    text = "Городские службы сообщили о завершении работ на улице. " * 6
    date = f'<span class="pub">{i + 3} ноября 2026, 10:15</span>' if stamp else ""
    return (
        f'<html><body><h1>Заголовок {i}</h1><div class="txt"><p>{text}</p></div>'
        f"<footer>{date}</footer></body></html>"
    ).encode()


def _missing_date(i: int, *, stamp: bool = True) -> Sample:
    url = f"https://s.ru/news/{i}-x-y"
    # What a generic layer that missed the date leaves: title and text, no ``published``.
    return Sample(url, _page(i, stamp=stamp), ArticleData(url, title="t", text="x" * 300))


def test_selector_proposed_for_a_missed_field_and_verified_on_every_sample() -> None:
    samples = [_missing_date(i) for i in range(3)]
    proposed = propose_selectors(samples, now=NOW, profile=SourceProfile())
    assert proposed == {"published": "css:span.pub"}


def test_no_selector_when_one_sample_lacks_it() -> None:
    samples = [_missing_date(0), _missing_date(1), _missing_date(2, stamp=False)]
    assert propose_selectors(samples, now=NOW, profile=SourceProfile()) == {}


def test_no_selector_for_fields_the_generic_layers_found() -> None:
    url = "https://s.ru/news/1-x-y"
    found = ArticleData(url, title="t", text="x" * 300, published=NOW)
    assert propose_selectors([Sample(url, _page(1), found)], now=NOW, profile=SourceProfile()) == {}


def test_fetcher_waits_the_crawl_delay_of_robots_txt() -> None:
    site = SiteServer().start()
    site.files = {
        "/robots.txt": (b"User-agent: *\nCrawl-delay: 4\n", "text/plain"),
        "/": (b"<html></html>", "text/html"),
        "/a": (b"<html></html>", "text/html"),
    }
    slept: list[float] = []
    fetcher = PoliteFetcher(
        user_agent="cityfeeds-test", timeout=5, max_bytes=1000, delay=1.0,
        allow_private=True, sleep=slept.append, clock=lambda: 100.0,
    )  # fmt: skip
    try:
        assert fetcher.fetch(site.base_url).ok and fetcher.fetch(site.base_url + "a").ok
    finally:
        site.stop()
    assert site.requests == ["/robots.txt", "/", "/a"]
    assert slept == [4.0, 4.0]  # the clock stands still: each wait is the whole delay


def test_fetcher_refuses_a_body_over_the_size_cap() -> None:
    site = SiteServer().start()
    site.files = {"/": (b"x" * 2000, "text/html"), "/robots.txt": (b"", "text/plain")}
    fetcher = PoliteFetcher(user_agent="t", timeout=5, max_bytes=1000, allow_private=True)
    try:
        with pytest.raises(Unreachable, match="larger than 1000 bytes"):
            fetcher.fetch(site.base_url)
    finally:
        site.stop()


def test_a_robots_txt_over_the_size_cap_is_obeyed_up_to_the_crawls_limit() -> None:
    """As in a crawl (RFC 9309 §2.5): not "larger than max_bytes", which failed the draft."""
    site = SiteServer().start()
    robots = b"User-agent: *\nDisallow: /private\n" + b"# pad\n" * 100_000 + b"Disallow: /a\n"
    site.files = {
        "/robots.txt": (robots, "text/plain"),
        "/": (b"<html></html>", "text/html"),
        "/a": (b"<html></html>", "text/html"),
    }
    fetcher = PoliteFetcher(user_agent="t", timeout=5, max_bytes=1000, allow_private=True)
    try:
        assert fetcher.fetch(site.base_url).ok
        assert fetcher.fetch(site.base_url + "a").ok  # its rule lies past the part read
        with pytest.raises(RobotsForbid):
            fetcher.fetch(site.base_url + "private")
    finally:
        site.stop()


def test_a_sitemap_may_be_larger_than_an_article_page() -> None:
    """As in a crawl, a sitemap has the protocol's 50 MiB, not the pages' max_response_bytes:
    a big site's sitemap was not found at all."""
    from cityfeeds.drafting.site import HtmlPage, find_sitemaps

    site = SiteServer().start()
    items = "".join(
        f"<url><loc>{site.base_url}news/{i}-elektrobusy-vyshli</loc></url>" for i in range(40)
    )
    sitemap = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'
    site.files = {
        "/": (b"<html><title>S</title></html>", "text/html"),
        "/robots.txt": (f"Sitemap: {site.base_url}sitemap.xml\n".encode(), "text/plain"),
        "/sitemap.xml": (sitemap.encode(), "application/xml"),
    }
    fetcher = PoliteFetcher(user_agent="t", timeout=5, max_bytes=1000, allow_private=True)
    try:
        home = HtmlPage.of(fetcher.fetch(site.base_url))
        [found] = find_sitemaps(fetcher, home, tz="Europe/Moscow", now=NOW)
    finally:
        site.stop()
    assert len(sitemap) > 1000 and len(found.links) == 40


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://www.m24.ru/", "m24"),
        ("http://_news.example.ru/", "news"),  # a name may not start with '_'
        ("http://a_b.example/", "a_b"),
        ("http://127.0.0.1:8080/", "127-0-0-1"),
        ("http://xn--80adxhks.xn--p1ai/", "xn--80adxhks"),
    ],
)
def test_a_name_from_the_host_is_one_the_config_accepts(url: str, name: str) -> None:
    assert default_name(url) == name
    assert check_source_name(default_name(url)) == name


@pytest.mark.parametrize("name", ["My Site", "_news", "news\n", "-x", "a" * 65, "Новости"])
def test_the_source_name_rule_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="use 1-64 lowercase letters, digits, '-' or '_'"):
        check_source_name(name)


def _short_article() -> bytes:
    """A brief news item: title, date and a body of two sentences (about 120 characters)."""
    body = "Движение по Тверской улице ограничат в субботу. Объезд организуют по соседним улицам."
    return (
        "<html><head><title>Тверскую перекроют</title>"
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"headline": "Тверскую перекроют в субботу", '
        '"datePublished": "2026-11-28T10:00:00+03:00", '
        f'"articleBody": "{body}"}}</script></head>'
        f"<body><h1>Тверскую перекроют в субботу</h1><p>{body}</p></body></html>"
    ).encode()


def test_a_page_the_crawl_keeps_is_an_article_to_the_draft() -> None:
    """The draft judges text by the crawl's own floor, not a stricter length of its own."""
    url = "https://s.ru/news/1001-tverskaya"
    profile = SourceProfile(name="s", allowed_domains=("s.ru",))
    kept = process_page(profile, _short_article(), PageFacts(url=url, fetched_at=NOW))
    assert isinstance(kept, Article), kept
    sample = extract_sample(_short_article(), url, now=NOW, profile=profile)
    assert sample.missing == [] and sample.is_article


def test_a_page_without_text_is_no_article_to_either() -> None:
    url = "https://s.ru/news/1002-x"
    data = ArticleData(url, title="Заголовок", text="Фото: пресс-служба", published=NOW)
    assert Sample(url, b"", data).missing == ["body"]
    profile = SourceProfile(name="s", allowed_domains=("s.ru",))
    dropped = check_page(profile, data, PageFacts(url=url, fetched_at=NOW))
    assert dropped is not None and dropped.reason == "no_text"


@pytest.mark.parametrize(
    ("url", "matches", "found", "listing"),
    [
        # A section page is a listing of its own articles, whatever else was found.
        ("https://city.example/rubric/transport/", 5, True, True),
        # The root only when nothing else leads to the articles; given as the root, a page
        # it redirects to (/ru/) is the root too.
        ("https://city.example/", 5, True, False),
        ("https://city.example", 5, False, True),
        ("https://city.example/rubric/transport/", 2, False, False),
    ],
)
def test_the_drafted_page_is_a_listing_when_it_is_a_section(
    url: str, matches: int, found: bool, listing: bool
) -> None:
    assert drafted_page_is_listing(url, matches, found=found) is listing
