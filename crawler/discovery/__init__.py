"""Find article links in a source's feeds, sitemaps and HTML listing pages (pure, safe XML).

The public API is what a spider needs: :func:`parse_feed`, :func:`parse_sitemap`,
:func:`listing_links`, :func:`page_links`, :func:`sniff_kind`, the values they return and the
errors they raise.
The guards for untrusted XML are in :mod:`crawler.discovery.safe_xml`.
"""

from __future__ import annotations

from crawler.discovery.feeds import parse_feed
from crawler.discovery.links import Feed, Link, Sitemap
from crawler.discovery.listing import listing_links, page_links
from crawler.discovery.safe_xml import DiscoveryError, UnsafeXMLError, sniff_kind
from crawler.discovery.sitemaps import MAX_SITEMAP_BYTES, parse_sitemap

__all__ = [
    "MAX_SITEMAP_BYTES",
    "DiscoveryError",
    "Feed",
    "Link",
    "Sitemap",
    "UnsafeXMLError",
    "listing_links",
    "page_links",
    "parse_feed",
    "parse_sitemap",
    "sniff_kind",
]
