"""``cityfeeds extract``: print the normalized article of one page (URL or saved file) as JSON."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cityfeeds.commands._fetch import FetchError, fetch_page, too_large
from cityfeeds.devtools.fixtures import fixture_meta
from crawler.config import Config, SourceSpec
from crawler.models import Dropped, PageFacts
from crawler.normalize.urls import host_of, is_http_url, registered_domain_matches
from crawler.pages import process_page
from crawler.profile import SourceProfile
from crawler.topics.engine import TopicEngine

NAME = "extract"
DESCRIPTION = """\
Extract one article exactly as a crawl would (extraction, checks, normalization, topic
tagging) and print it as JSON with the layer that produced each field in `provenance`. A page
a crawl would drop is reported with the reason, and the exit status is 1.

  cityfeeds extract https://www.m24.ru/news/transport/01022026/123456
  cityfeeds extract saved.html --url https://vm.ru/news/1-slug --source vm
  cityfeeds extract tests/fixtures/sites/m24/812345.html   # URL from 812345.meta.json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="URL|FILE", help="a page URL to fetch, or a saved .html[.gz] file"
    )
    parser.add_argument(
        "--url",
        help="the page's address, for a FILE (default: from its .meta.json sidecar, as saved "
        "by `cityfeeds record`; with neither, required)",
    )
    parser.add_argument("--source", help="source name (default: guessed from the URL's host)")
    parser.add_argument(
        "--now",
        type=_iso_datetime,
        help="fetch time as ISO 8601 (default: the FILE's .meta.json fetched_at, else now)",
    )


def _iso_datetime(value: str) -> datetime:
    """An ISO 8601 date-time (UTC when it has no offset), for ``--now``."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date-time such as 2026-12-06T09:30+03:00, got {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _meta_name(page: Path) -> str:
    return page.name.removesuffix(".gz").removesuffix(".html") + ".meta.json"


def guess_source(config: Config, url: str) -> SourceSpec | None:
    """The configured source of ``url``: among those whose domains cover it, the one on the
    same host and port as the URL, else the one whose matching domain is the most specific
    (``transport.mos.ru`` before ``mos.ru``), else the first configured."""
    host, netloc = host_of(url), urlsplit(url).netloc.lower()
    best: tuple[tuple[bool, int, int], SourceSpec] | None = None
    for order, source in enumerate(config.sources):
        if not registered_domain_matches(host, source.allowed_domains):
            continue
        same_site = urlsplit(source.url).netloc.lower() == netloc
        longest = max(
            (len(d) for d in source.allowed_domains if registered_domain_matches(host, [d])),
            default=0,
        )
        rank = (same_site, longest, -order)
        if best is None or rank > best[0]:
            best = (rank, source)
    return best[1] if best else None


def profile_for(config: Config, url: str, source: SourceSpec | None) -> SourceProfile:
    """The page-processing profile of ``source``, or of the page's own site without one."""
    if source is None:
        return SourceProfile.for_url(config, url)
    return SourceProfile.from_config(config, source)


def article_json(
    config: Config,
    body: bytes,
    url: str,
    *,
    source: SourceSpec | None,
    now: datetime,
    header_charset: str | None = None,
) -> dict[str, Any] | Dropped:
    """Process and tag one page the way a crawl does; the JSON-ready result, or the drop."""
    profile = profile_for(config, url, source)
    article = process_page(profile, body, PageFacts(url, now, header_charset))
    if isinstance(article, Dropped):
        return article
    article.topics = TopicEngine(config.topics).classify_article(article, city=profile.city)
    return {
        "url": article.url,
        "title": article.title,
        "summary": article.summary,
        "text": article.text,
        "published": article.published.isoformat(),
        "updated": article.updated.isoformat() if article.updated else None,
        "authors": article.authors,
        "section": article.section,
        "tags": article.tags,
        "image": article.image,
        "language": article.language,
        "source": article.source or None,
        "topics": [{"id": t.id, "score": t.score, "evidence": t.evidence} for t in article.topics],
        "provenance": article.provenance,
        "flags": article.flags,
        "html": article.html,
    }


def run(args: argparse.Namespace, config: Config) -> int:
    now = args.now or datetime.now(UTC)
    header_charset = None
    target = args.target
    if is_http_url(target) and not Path(target).exists():
        try:
            crawl = config.crawl
            page = fetch_page(target, crawl.user_agent, crawl.timeout, crawl.max_response_bytes)
        except FetchError as exc:
            print(f"cityfeeds: cannot fetch {exc}", file=sys.stderr)
            return 1
        body, header_charset = page.body, page.charset
        url = args.url or page.url
    else:
        path = Path(target)
        if not path.is_file():
            what = "a folder, not a page file" if path.is_dir() else "no such file or URL"
            print(f"cityfeeds: {what}: {target}", file=sys.stderr)
            return 1
        # A saved page is held to the crawl's size limit, as a fetched one is (a huge file,
        # or a small .gz that unpacks to gigabytes, would take minutes and the memory).
        limit = config.crawl.max_response_bytes
        try:
            with gzip.open(path) if path.suffix == ".gz" else path.open("rb") as file:
                body = file.read(limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            what = "is not a readable gzip file" if path.suffix == ".gz" else "cannot be read"
            print(f"cityfeeds: {target} {what}: {exc}", file=sys.stderr)
            return 2
        if len(body) > limit:
            print(f"cityfeeds: {too_large(target, limit)}", file=sys.stderr)
            return 1
        meta = fixture_meta(path) if not args.url else None
        if not args.url and not (meta and is_http_url(str(meta.get("url", "")))):
            print(
                f"cityfeeds: --url is required with a FILE that has no {_meta_name(path)} "
                "beside it (the page's address)",
                file=sys.stderr,
            )
            return 2
        url = str(args.url or (meta or {})["url"])
        if meta and not args.now and meta.get("fetched_at"):
            # A saved page is extracted as of when it was saved, as the fixture tests do.
            now = datetime.fromisoformat(meta["fetched_at"])
    source = config.source(args.source) if args.source else guess_source(config, url)
    result = article_json(config, body, url, source=source, now=now, header_charset=header_charset)
    if isinstance(result, Dropped):
        # What a crawl would do with the page: drop it, and say why.
        detail = f": {result.detail}" if result.detail else ""
        print(f"cityfeeds: {url} is no article ({result.reason}{detail})", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0
