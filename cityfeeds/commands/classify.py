"""``cityfeeds classify``: show which topics a headline matches, with scores and evidence."""

from __future__ import annotations

import argparse
import json

from crawler.config import Config
from crawler.models import TopicMatch
from crawler.topics.engine import TopicEngine
from crawler.topics.spec import TopicSpec

NAME = "classify"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title", required=True, help="article title")
    parser.add_argument("--summary", default="", help="lead or summary")
    parser.add_argument("--text", default="", help="body text")
    parser.add_argument("--url", default="", help="article URL (its path is a weak signal)")
    parser.add_argument("--section", default=None, help="the site's own rubric")
    parser.add_argument("--tag", action="append", default=[], help="a site tag (repeatable)")
    parser.add_argument("--source", default=None, help="source name, for source-restricted topics")
    parser.add_argument("--city", default=None, help="city, for city-restricted topics")
    parser.add_argument("--all", action="store_true", help="also show topics below their threshold")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace, config: Config) -> int:
    if args.source is not None:
        # A typo would silently skip the topics restricted to that source: refused as `crawl`
        # refuses it (ConfigError, exit 2).
        config.source(args.source)
    engine = TopicEngine(config.topics)
    scored = engine.score_all(
        title=args.title,
        summary=args.summary,
        text=args.text,
        url=args.url,
        section=args.section,
        tags=args.tag,
        source=args.source,
        city=args.city,
    )
    shown = [(m, ok) for m, ok in scored if ok or args.all]
    if args.json:
        topics = [{"id": m.id, "score": m.score, "evidence": m.evidence} for m, _ in shown]
        if args.all:
            for entry, (_, ok) in zip(topics, shown, strict=True):
                entry["matched"] = ok
        print(json.dumps({"topics": topics}, ensure_ascii=False, indent=2))
        return 0
    if not shown:
        print("no topic matched")
        return 0
    specs = {s.id: s for s in config.topics}
    for match, ok in shown:
        verdict = "" if ok else f"  ({_why_not(specs[match.id], match)})"
        print(f"{match.id}  {match.score:g}{verdict}")
        for line in match.evidence:
            print(f"  {line}")
    return 0


def _why_not(spec: TopicSpec, match: TopicMatch) -> str:
    """Why a scored topic did not match: its threshold, or a ``requires`` group no term met."""
    if match.score < spec.threshold:
        return f"below threshold {spec.threshold:g}"
    missing = [name for name, terms in spec.requires.items() if not _met(terms, match.evidence)]
    return "requires " + ", ".join(missing) if missing else "not matched"


def _met(terms: list[str], evidence: list[str]) -> bool:
    # The evidence names each include term that counted: "field: term ← «surface»".
    return any(f": {term} ←" in line for term in terms for line in evidence)
