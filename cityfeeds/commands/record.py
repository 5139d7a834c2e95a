"""``cityfeeds record URL --source NAME``: save a live page as a test fixture."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from cityfeeds.commands._fetch import FetchError, fetch_page
from cityfeeds.devtools.fixtures import (
    DEFAULT_ROOT,
    load_fixtures,
    process_fixture,
    record_fixture,
    write_expected,
)
from crawler.config import Config, ConfigError
from crawler.models import Dropped
from crawler.normalize.urls import host_of, is_http_url, registered_domain_matches
from crawler.profile import SourceProfile

logger = logging.getLogger(__name__)

NAME = "record"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``record``."""
    parser.add_argument("url", help="article URL to fetch")
    parser.add_argument("--source", required=True, help="configured source name")
    parser.add_argument("--name", help="fixture name (default: from the URL)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="fixtures folder")
    parser.add_argument("--timeout", type=float, default=None, help="seconds (default: [crawl])")


def run(args: argparse.Namespace, config: Config) -> int:
    """Fetch, save, extract and write the expected JSON; 0 on success, 1 on fetch errors."""
    try:
        source = config.source(args.source)
    except ConfigError as exc:
        print(f"cityfeeds: {exc}", file=sys.stderr)
        return 2
    if not is_http_url(args.url):
        print(f"cityfeeds: not an http(s) URL: {args.url}", file=sys.stderr)
        return 2
    if not registered_domain_matches(host_of(args.url), source.allowed_domains):
        # A fixture of another site under this source's name would test its extraction on
        # pages the source never crawls.
        print(
            f"cityfeeds: {args.url} is not on {source.name}'s sites "
            f"({', '.join(source.allowed_domains)}): record it under its own source",
            file=sys.stderr,
        )
        return 2
    timeout = args.timeout or getattr(config.crawl, "timeout", 30)
    try:
        page = fetch_page(
            args.url, config.crawl.user_agent, timeout, config.crawl.max_response_bytes
        )
    except FetchError as exc:
        print(f"cityfeeds: {exc}", file=sys.stderr)
        return 1
    body, final_url = page.body, page.url
    path = record_fixture(
        body, final_url, source.name, datetime.now(UTC), root=args.root, name=args.name
    )
    fixture = next(f for f in load_fixtures(args.root) if f.path == path)
    profile = SourceProfile.from_config(config, source)
    expected = write_expected(fixture, profile)
    print(f"saved {path}\nwrote {expected} (review it before committing)")
    result = process_fixture(fixture, profile)  # as the fixture test will see the page
    if isinstance(result, Dropped):
        print(
            f"cityfeeds: warning: the crawl would drop this page ({result.reason}): it is no "
            "article, and the fixture records that",
            file=sys.stderr,
        )
    return 0
