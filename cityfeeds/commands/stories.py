"""``cityfeeds stories``: recent stories with their members and the evidence that joined them."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cityfeeds.commands._args import positive_int
from cityfeeds.commands._store import store_for_reading
from crawler.config import Config

NAME = "stories"
DESCRIPTION = """\
List the stories updated within --since (default 2d), newest first: each story's first-seen
article (its feed entry) and every other member with the evidence it joined on (similarity,
shared numbers, dates, places, names). --topic limits to stories with a member in that topic;
--all also lists single-article stories.
"""

_SINCE_RE = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_MAX_SINCE = timedelta(days=36500)


def parse_since(value: str) -> timedelta:
    """``30m``, ``12h`` or ``2d`` as a timedelta."""
    match = _SINCE_RE.match(value.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"expected e.g. 30m, 12h or 2d, got {value!r}")
    try:
        since = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    except OverflowError:
        since = _MAX_SINCE + _MAX_SINCE
    if since > _MAX_SINCE:
        raise argparse.ArgumentTypeError(f"at most 36500d (100 years), got {value!r}")
    return since


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", help="only stories with a member in this topic")
    parser.add_argument(
        "--since", type=parse_since, default=timedelta(days=2), help="e.g. 12h, 2d (default 2d)"
    )
    parser.add_argument("--all", action="store_true", help="include single-article stories")
    parser.add_argument("--limit", type=positive_int, default=100, help="at most this many stories")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace, config: Config) -> int:
    topics = sorted(t.id for t in config.topics)
    if args.topic is not None and args.topic not in topics:
        print(
            f"cityfeeds: unknown topic {args.topic!r} (topics: {', '.join(topics)})",
            file=sys.stderr,
        )
        return 2
    if not config.stories.enabled:
        print(
            "cityfeeds: story clustering is off ([stories] enabled = false): no story is made "
            "or shown in feeds; any listed below were made before",
            file=sys.stderr,
        )
    store = store_for_reading(config)
    try:
        found = store.recent_stories(
            since=datetime.now(UTC) - args.since,
            topic=args.topic,
            min_size=1 if args.all else 2,
            limit=args.limit,
            sources=[s.name for s in config.sources],
        )
    finally:
        store.close()
    titles = {s.name: s.title for s in config.sources}
    if args.json:
        rows = [
            {
                "id": s.id,
                "created": s.created.isoformat(),
                "updated": s.updated.isoformat(),
                "members": [
                    {
                        "url": m.url,
                        "source": m.source,
                        "title": m.title,
                        "published": m.published.isoformat(),
                        "joined_at": m.joined_at.isoformat(),
                        "matched": m.matched_id,
                        "evidence": m.evidence,
                    }
                    for m in s.members
                ],
            }
            for s in found
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("No stories in that period.")
        return 0
    zone = ZoneInfo(config.timezone)  # as the crawl summary and status show times
    for story in found:
        print(
            f"story {story.id}: {len(story.members)} report(s), "
            f"updated {story.updated.astimezone(zone):%Y-%m-%d %H:%M %z}"
        )
        for m in story.members:
            joined = f"  [{'; '.join(m.evidence)}]" if m.matched_id is not None else "  (first)"
            print(f"  {titles.get(m.source, m.source)}: {m.title}\n    {m.url}{joined}")
    return 0
