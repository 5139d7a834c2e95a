"""Find a site's feeds, sitemaps, navigation sections and pagination from its pages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html

from cityfeeds.drafting.fetch import Page, PoliteFetcher
from cityfeeds.drafting.zone import stated_dates
from crawler.discovery import (
    MAX_SITEMAP_BYTES,
    DiscoveryError,
    UnsafeXMLError,
    parse_feed,
    parse_sitemap,
    sniff_kind,
)
from crawler.discovery.links import absolute_url
from crawler.normalize.encoding import decode_html
from crawler.normalize.urls import host_of, is_http_url, registered_domain_matches

COMMON_FEED_PATHS = ("/rss.xml", "/rss", "/feed", "/atom.xml", "/feed.xml", "/index.xml", "/rss/")
COMMON_SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
#: Navigation links looked at as possible listing pages.
MAX_SECTIONS = 8
#: Child sitemaps of an index read to learn the site's links (one level only).
MAX_CHILD_SITEMAPS = 3
_NAV_XPATH = (
    "//nav//a/@href | //header//a/@href"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' menu ')]//a/@href"
)
_NEXT_WORDS = re.compile(r"^\s*(?:дальше|далее|следующая|ещё|еще|next|older|»|→|>)\s*$", re.I)


_UTF8_HTML = lxml_html.HTMLParser(encoding="utf-8")


def html_tree(body: bytes, charset: str | None = None) -> etree._Element | None:
    """An HTML page decoded as the extractor decodes it (header, meta, detection) and parsed."""
    text, _, _ = decode_html(body, header_charset=charset)
    if not text.strip():
        return None
    try:
        return lxml_html.fromstring(text.encode("utf-8", "surrogatepass"), parser=_UTF8_HTML)
    except (etree.ParserError, ValueError):
        return None


@dataclass
class HtmlPage:
    """An HTML page parsed once: its links and the facts drafting looks at."""

    url: str
    doc: etree._Element | None

    @classmethod
    def of(cls, page: Page) -> HtmlPage:
        """Parse a fetched page (an unparseable one has no links)."""
        charset = re.search(r"charset=([\w-]+)", page.content_type, re.I)
        return cls(page.url, html_tree(page.body, charset.group(1) if charset else None))

    def hrefs(self, xpath: str = "//a/@href") -> list[str]:
        """Absolute http(s) links selected by ``xpath``, in page order, once each."""
        if self.doc is None:
            return []
        out: list[str] = []
        for href in self.doc.xpath(xpath):
            try:
                url = absolute_url(str(href), self.url)
            except ValueError:
                continue
            if is_http_url(url) and url not in out:
                out.append(url)
        return out

    def text_chars(self) -> int:
        """Characters of visible text (scripts and styles left out)."""
        if self.doc is None:
            return 0
        texts = self.doc.xpath("//body//text()[not(ancestor::script or ancestor::style)]")
        return sum(len(str(t).strip()) for t in texts)

    def scripts(self) -> int:
        """``<script>`` elements that run code (JSON-LD and other data blocks left out)."""
        if self.doc is None:
            return 0
        return len(
            self.doc.xpath(
                "//script[not(@type) or @type='module' or contains(@type, 'javascript')]"
            )
        )

    def title(self, pages: Sequence[bytes] = ()) -> str:
        """The site's name: og:site_name, else the part of ``<title>`` most ``pages`` repeat.

        Home pages title themselves "Site — slogan" or "Section — Site"; article pages of the
        same site repeat the site's part.
        """
        if self.doc is None:
            return ""
        for value in self.doc.xpath(
            "//meta[@property='og:site_name' or @name='og:site_name']/@content"
        ):
            if str(value).strip():
                return str(value).strip()
        title = " ".join("".join(self.doc.xpath("//title//text()")).split())
        parts = [p for p in re.split(r"\s+[—|–-]\s+", title) if p] or [""]
        return max(parts, key=lambda p: sum(p.encode() in page for page in pages))

    def language(self) -> str:
        """The ``<html lang>`` primary subtag, lowercased ("" when absent)."""
        if self.doc is None:
            return ""
        lang = str(self.doc.get("lang") or "")
        return lang.split("-")[0].lower()


@dataclass
class Found:
    """A discovery document that works, with the article links it gave."""

    url: str
    links: list[str]
    note: str = ""
    # Its entries' dates that carry the site's own UTC offset (evidence for ``timezone``).
    stated: list[datetime] = field(default_factory=list)


@dataclass
class SiteIndex:
    """What the site publishes for machines: feeds and sitemaps, and their article links."""

    feeds: list[Found] = field(default_factory=list)
    sitemaps: list[Found] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)


def same_site(url: str, home: str) -> bool:
    """Whether ``url`` is on the home page's site (its host or a subdomain)."""
    host = host_of(home)
    return registered_domain_matches(host_of(url), [host.removeprefix("www.")])


def find_feeds(fetcher: PoliteFetcher, home: HtmlPage, *, tz: str, now: datetime) -> list[Found]:
    """Feeds linked with ``<link rel="alternate">`` on the home page, else at common paths."""
    declared = home.hrefs(
        "//link[contains(@rel, 'alternate')]["
        + " or ".join(f"@type='{t}'" for t in FEED_TYPES)
        + "]/@href"
    )
    origin = _origin(home.url)
    found: list[Found] = []
    for url in declared or [origin + p for p in COMMON_FEED_PATHS]:
        page = fetcher.probe(url)
        if page is None or sniff_kind(page.body) != "feed":
            continue
        try:
            feed = parse_feed(page.body, page.url, tz=tz, now=now, content_type=page.content_type)
        except (DiscoveryError, UnsafeXMLError):
            continue
        links = [lk.url for lk in feed.links if same_site(lk.url, home.url)]
        if links and all(f.links != links for f in found):
            how = "linked from the home page" if declared else "found at a common path"
            stated = stated_dates(lk.published for lk in feed.links)
            found.append(Found(page.url, links, how, stated))
    return found


def find_sitemaps(fetcher: PoliteFetcher, home: HtmlPage, *, tz: str, now: datetime) -> list[Found]:
    """Sitemaps named in robots.txt, else at common paths; an index is read one level down.

    A news sitemap (``news:news`` entries, or "news" in its name) is preferred to the index
    holding it: it lists what a crawl needs and stays small.
    """
    origin = _origin(home.url)
    robots = fetcher.robots(home.url)
    declared = [u for u in (robots.sitemaps if robots is not None else []) if is_http_url(u)]
    found: list[Found] = []
    for url in declared or [origin + p for p in COMMON_SITEMAP_PATHS]:
        doc = _read_sitemap(fetcher, url, tz=tz, now=now)
        if doc is None:
            continue
        links, children, body = doc
        how = "named in robots.txt" if declared else "found at a common path"
        if children:
            news = [c for c in children if "news" in c.lower()]
            for child in (news or children)[:MAX_CHILD_SITEMAPS]:
                child_doc = _read_sitemap(fetcher, child, tz=tz, now=now)
                if child_doc is not None:
                    links += child_doc[0]
            if news:
                for child in news:
                    found.append(Found(child, links, f"news sitemap in the index {how}"))
                continue
            how = f"sitemap index {how}"
        elif b"<news:" in body:
            how = f"news sitemap {how}"
        links = [u for u in links if same_site(u, home.url)]
        if links and all(f.url != url for f in found):
            found.append(Found(url, links, how))
    return found


def _read_sitemap(
    fetcher: PoliteFetcher, url: str, *, tz: str, now: datetime
) -> tuple[list[str], list[str], bytes] | None:
    # A sitemap may be larger than an article page: the crawl reads up to 50 MiB of one too.
    page = fetcher.probe(url, max_bytes=MAX_SITEMAP_BYTES)
    if page is None or sniff_kind(page.body) != "sitemap":
        return None
    try:
        sitemap = parse_sitemap(page.body, page.url, tz=tz, now=now, content_type=page.content_type)
    except (DiscoveryError, UnsafeXMLError):
        return None
    return [lk.url for lk in sitemap.links], sitemap.sitemaps, page.body[:65536]


def section_links(home: HtmlPage) -> list[str]:
    """Same-site links of the home page's navigation (nav, header, menus): possible listings."""
    out = []
    for url in home.hrefs(_NAV_XPATH):
        parts = urlsplit(url)
        if same_site(url, home.url) and parts.path.strip("/") and url != home.url:
            out.append(url)
    return out[:MAX_SECTIONS]


def next_page_rule(page: HtmlPage) -> str:
    """A ``next_page`` rule for a listing: a selector of its "next" link ("" if none)."""
    if page.doc is None:
        return ""
    if page.doc.xpath("//a[contains(concat(' ', @rel, ' '), ' next ')]"):
        return "css:a[rel=next]"
    for anchor in page.doc.xpath("//a[@href]"):
        classes = str(anchor.get("class") or "").split()
        if "next" in classes:
            return "css:a.next"
        if _NEXT_WORDS.match(anchor.text_content() or ""):
            href = str(anchor.get("href"))
            template = re.sub(r"([?&/](?:page|p)[=/])2\b", r"\g<1>{page}", href)
            if "{page}" in template:
                return absolute_url(template, page.url).replace("%7Bpage%7D", "{page}")
    return ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
