"""Article links and nested sitemaps of a sitemap (urlset, sitemapindex, news sitemap)."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from crawler.discovery.links import Link, Sitemap, absolute_url
from crawler.discovery.safe_xml import (
    MAX_XML_BYTES,
    DiscoveryError,
    local_name,
    parse_prepared,
    prepare_xml,
)
from crawler.normalize.dates import parse_date
from crawler.normalize.text import clean_text
from crawler.normalize.urls import is_http_url

#: The largest sitemap (or sitemap index) read, uncompressed: the sitemap protocol's 50 MB
#: (52,428,800 bytes). Downloads of sitemaps are allowed as much (the spider's
#: ``download_maxsize``), whatever ``[crawl] max_response_bytes`` allows article pages, and a
#: gzip-compressed one is refused as soon as it inflates past it.
MAX_SITEMAP_BYTES = MAX_XML_BYTES


def _child_text(node: etree._Element, *names: str) -> str | None:
    for child in node:
        if local_name(child.tag) in names:
            value = "".join(child.itertext()).strip()
            if value:
                return value
    return None


def parse_sitemap(
    body: bytes, base_url: str, *, tz: str, now: datetime, content_type: str | None = None
) -> Sitemap:
    """Links of a sitemap ``urlset`` (with news:publication_date/title) or a ``sitemapindex``.

    Decoded as :func:`parse_feed` decodes feeds; a ``<loc>`` that is no URL is skipped and
    counted. Larger than :data:`MAX_SITEMAP_BYTES` (after decompression): UnsafeXMLError.
    """
    doc = prepare_xml(body, content_type=content_type, limit=MAX_SITEMAP_BYTES)
    root, recovered = parse_prepared(doc.text)
    kind = local_name(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap (root element <{kind}>)")
    sitemap = Sitemap(links=[], sitemaps=[], recovered=recovered, invalid_bytes=doc.invalid_bytes)
    for entry in root:
        name = local_name(entry.tag)
        if name not in ("url", "sitemap"):
            continue
        loc = _child_text(entry, "loc")
        try:
            url = absolute_url(loc, base_url) if loc else ""
        except ValueError:
            url = ""
        if not is_http_url(url):
            sitemap.skipped += 1
            continue
        if name == "sitemap":
            sitemap.sitemaps.append(url)
            continue
        title = date = None
        for child in entry.iter():
            local = local_name(child.tag)
            if local == "publication_date" and child.text:
                date = child.text.strip()
            elif local == "title" and child.text:
                title = clean_text(child.text)
            elif local == "lastmod" and child.text and not date:
                date = child.text.strip()
        sitemap.links.append(
            Link(
                url=url,
                title=title or None,
                published=parse_date(date, tz=tz, now=now) if date else None,
            )
        )
    return sitemap
