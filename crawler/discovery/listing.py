"""Article links on an HTML listing page, filtered by the source's link pattern."""

from __future__ import annotations

from lxml import etree
from lxml import html as lxml_html

from crawler.discovery.links import absolute_url
from crawler.normalize.url_patterns import UrlPattern
from crawler.normalize.urls import is_http_url


def listing_links(html_text: str, base_url: str, *, pattern: UrlPattern | None) -> list[str]:
    """Links on an HTML listing page whose absolute URL matches ``pattern`` (every link if
    None)."""
    links = page_links(html_text, base_url)
    return [url for url in links if pattern.search(url)] if pattern is not None else links


def page_links(html_text: str, base_url: str) -> list[str]:
    """Every http(s) link of an HTML page, absolute, once each, in page order."""
    try:
        doc = lxml_html.fromstring(html_text)
    except (etree.ParserError, ValueError):
        return []
    seen: set[str] = set()
    out: list[str] = []
    for href in doc.xpath("//a/@href"):
        url = absolute_url(str(href), base_url)
        if not is_http_url(url) or url in seen:
            continue
        seen.add(url)
        out.append(url)
    return out
