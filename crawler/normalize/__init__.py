"""Pure normalization of crawled values: text, dates, URLs, HTML and byte decoding."""

from __future__ import annotations

from crawler.normalize.dates import clamp_future, parse_date, parse_modified_from_text, to_utc
from crawler.normalize.encoding import decode_html, looks_like_mojibake
from crawler.normalize.html import html_to_text, sanitize_html
from crawler.normalize.text import clean_text, dedup_key, is_garbage_value, strip_control_chars
from crawler.normalize.urls import (
    canonicalize_url,
    host_of,
    is_http_url,
    is_private_address,
    registered_domain_matches,
    url_identity,
)

__all__ = [
    "canonicalize_url",
    "clamp_future",
    "clean_text",
    "decode_html",
    "dedup_key",
    "host_of",
    "html_to_text",
    "is_garbage_value",
    "is_http_url",
    "is_private_address",
    "looks_like_mojibake",
    "parse_date",
    "parse_modified_from_text",
    "registered_domain_matches",
    "sanitize_html",
    "strip_control_chars",
    "to_utc",
    "url_identity",
]
