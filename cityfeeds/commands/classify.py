"""``cityfeeds classify``: show which topics a headline matches, with scores and evidence;
with ``--labelled``, measure the topics against a labelled set of one's own."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crawler.config import Config
from crawler.models import TopicMatch
from crawler.pages import summary_from_text
from crawler.topics.engine import TopicEngine
from crawler.topics.evaluation import Case, evaluate, load_labelled
from crawler.topics.spec import TopicSpec

NAME = "classify"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title", default=None, help="article title (required without --labelled)")
    parser.add_argument(
        "--summary",
        default="",
        help="lead or summary; without --text it is also the body text, as in a crawl (the "
        "lead is stored as the summary and as the text's first paragraph)",
    )
    parser.add_argument(
        "--text",
        default="",
        help="body text; without --summary its first sentences are also the summary, as in a "
        "crawl of a page with no summary of its own",
    )
    parser.add_argument("--url", default="", help="article URL (its path is a weak signal)")
    parser.add_argument("--section", default=None, help="the site's own rubric")
    parser.add_argument("--tag", action="append", default=[], help="a site tag (repeatable)")
    parser.add_argument(
        "--source",
        default=None,
        help="source name, for source-restricted topics (and its city, unless --city)",
    )
    parser.add_argument("--city", default=None, help="city, for city-restricted topics")
    parser.add_argument("--all", action="store_true", help="also show topics below their threshold")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--labelled",
        type=Path,
        default=None,
        metavar="FILE",
        help="score a labelled JSONL set instead (rows: title, summary and/or text, and "
        '"labels": [topic ids] or "label": true/false with --topic): per-topic precision, '
        "recall, F1 and every error with its score and evidence",
    )
    parser.add_argument(
        "--topic", default=None, metavar="ID", help="with --labelled: the one topic to score"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    if args.source is not None:
        # A typo would silently skip the topics restricted to that source: refused as `crawl`
        # refuses it (ConfigError, exit 2). The source's city is the one its crawl scores
        # with, so city-restricted topics are scored as they would be for its articles.
        source = config.source(args.source)
        if args.city is None and source.city:
            args.city = source.city
    if args.labelled is not None:
        return _run_labelled(args, config)
    if args.title is None or not args.title.strip():
        print("cityfeeds classify: --title is required (or --labelled FILE)", file=sys.stderr)
        return 2
    if args.topic is not None:
        # Silently ignored, it read as if the one topic had been scored.
        print(
            "cityfeeds classify: --topic goes with --labelled (without it every topic is "
            "scored and shown)",
            file=sys.stderr,
        )
        return 2
    engine = TopicEngine(config.topics)
    summary, text = as_crawled(args.summary, args.text)
    scored = engine.score_all(
        title=args.title,
        summary=summary,
        text=text,
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


def as_crawled(summary: str, text: str) -> tuple[str, str]:
    """(summary, text) as a crawl stores an article that has only one of them.

    A page's lead is kept as the summary and as the text's first paragraph, so a lead given
    alone is both; a page with no summary gets its text's first sentences (crawler.pages).
    Scoring the lead once would underrate what a crawl tags.
    """
    if summary and not text:
        return summary, summary
    if text and not summary:
        return summary_from_text(text), text
    return summary, text


def _why_not(spec: TopicSpec, match: TopicMatch) -> str:
    """Why a scored topic did not match: its threshold, or a ``requires`` group no term met."""
    if match.score < spec.threshold:
        return f"below threshold {spec.threshold:g}"
    missing = [name for name, terms in spec.requires.items() if not _met(terms, match.evidence)]
    return "requires " + ", ".join(missing) if missing else "not matched"


def _met(terms: list[str], evidence: list[str]) -> bool:
    # The evidence names each include term that counted: "field: term ← «surface»".
    return any(f": {term} ←" in line for term in terms for line in evidence)


def _run_labelled(args: argparse.Namespace, config: Config) -> int:
    """Print per-topic precision/recall/F1 and each error over a labelled set; 0 unless unusable."""
    specs = {s.id: s for s in config.topics}
    if args.topic is not None and args.topic not in specs:
        print(f"cityfeeds classify: no topic {args.topic!r} in the config", file=sys.stderr)
        return 2
    if args.title is not None or args.summary or args.text:
        print(
            "cityfeeds classify: --labelled scores its file's rows: drop --title, --summary and "
            "--text",
            file=sys.stderr,
        )
        return 2
    try:
        cases = load_labelled(args.labelled, args.topic)
    except (OSError, ValueError) as exc:
        print(f"cityfeeds classify: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print(f"cityfeeds classify: {args.labelled} holds no labelled rows", file=sys.stderr)
        return 2
    # A label naming no configured topic (a typo, another case) would count every true match
    # of the intended topic as a false positive.
    unknown = sorted({t for c in cases for t in c.labels} - specs.keys())
    if unknown:
        print(
            f"cityfeeds classify: {args.labelled} labels topics the config does not have: "
            f"{', '.join(unknown)} (known: {', '.join(specs)})",
            file=sys.stderr,
        )
        return 2
    topic_ids = [args.topic] if args.topic else list(specs)
    engine = TopicEngine(config.topics)
    scored = {id(c): _score_case(engine, c, args) for c in cases}

    def predict(case: Case) -> set[str]:
        return {m.id for m, ok in scored[id(case)] if ok}

    counts, errors = evaluate(cases, topic_ids, predict)
    report = {
        "cases": len(cases),
        "topics": {
            t: dict(zip(("precision", "recall", "f1"), counts[t].prf(), strict=True))
            | {"tp": counts[t].tp, "fp": counts[t].fp, "fn": counts[t].fn}
            for t in topic_ids
        },
        "errors": [_error(case, topic, kind, scored[id(case)]) for case, topic, kind in errors],
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"{len(cases)} labelled cases")
    print(f"{'topic':24} {'P':>6} {'R':>6} {'F1':>6}   TP   FP   FN")
    for t, row in report["topics"].items():
        print(
            f"{t:24} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1']:6.3f} "
            f"{row['tp']:4d} {row['fp']:4d} {row['fn']:4d}"
        )
    for error in report["errors"]:
        name = f" [{error['id']}]" if error["id"] else ""
        print(f"\n{error['kind']} {error['topic']}{name} {error['score']:g}: {error['title']}")
        for line in error["evidence"]:
            print(f"  {line}")
    return 0


def _score_case(
    engine: TopicEngine, case: Case, args: argparse.Namespace
) -> list[tuple[TopicMatch, bool]]:
    summary, text = as_crawled(case.summary, case.text)
    return engine.score_all(
        title=case.title, summary=summary, text=text, source=args.source, city=args.city
    )


def _error(
    case: Case, topic: str, kind: str, scored: list[tuple[TopicMatch, bool]]
) -> dict[str, object]:
    match = next(m for m, _ in scored if m.id == topic)
    return {
        "kind": kind,
        "topic": topic,
        "id": case.note,
        "score": match.score,
        "title": case.title or case.summary or case.text,
        "evidence": match.evidence,
    }
