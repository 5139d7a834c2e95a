"""Precision, recall and F1 of the topic engine vs a naive substring baseline (labelled set),
the independent tester's set (electric-transport), and the engine's cost in ms per article (a
typical article and a 64 KB one, cold and warm cache)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cityfeeds.commands.classify import as_crawled  # noqa: E402
from cityfeeds.devtools.demo_site import STORIES  # noqa: E402
from crawler.topics.engine import SCAN_LIMIT, TopicEngine  # noqa: E402
from crawler.topics.evaluation import (  # noqa: E402
    Case,
    SubstringBaseline,
    evaluate,
    load_cases,
    load_labelled,
)
from crawler.topics.morph import parse_word  # noqa: E402
from crawler.topics.spec import TopicSpec, load_topic_specs  # noqa: E402

DEFAULT_CONFIG = ROOT / "cityfeeds.toml"
DEFAULT_CASES = ROOT / "tests" / "fixtures" / "topics" / "labelled.jsonl"
# Written by a tester who had not seen the engine: electric-transport true/false, title + lead.
INDEPENDENT_CASES = ROOT / "tests" / "fixtures" / "topics" / "independent.jsonl"
INDEPENDENT_TOPIC = "electric-transport"
# Real article bodies (258 pages, mostly German and English, 2 Russian) from the fundus corpus.
FUNDUS_CASES = ROOT / "tests" / "corpus" / "fundus" / "cases.jsonl"


@dataclass(frozen=True)
class BenchArticle:
    """One article for the speed benchmark, with the fields a crawl passes to the engine."""

    name: str
    title: str
    summary: str
    text: str
    url: str
    section: str


def bench_articles(cases: Sequence[Case]) -> list[BenchArticle]:
    """A typical crawled article (title, lead, ~4 KB body) and one with a 64 KB body.

    Bodies are paragraphs of the demo site's stories followed by the labelled headlines, in file
    order, cycled to the size: Moscow transport and city news, so they hit many terms. The 64 KB
    body repeats the ~27 KB of headlines, so its vocabulary is smaller than a real article's and
    its cold cost, if the whole body were read, is an underestimate.
    """
    paragraphs = [p for s in STORIES for p in s.paragraphs]
    paragraphs += [f"{c.title}. {c.summary}" for c in cases]
    lead = STORIES[0]

    def body(size: int) -> str:
        out: list[str] = []
        length, i = 0, 0
        while length < size:
            out.append(paragraphs[i % len(paragraphs)])
            length += len(out[-1]) + 1
            i += 1
        return "\n".join(out)[:size]

    url = "https://example.ru/news/1001-elektrobusy-vyshli-na-novye-marshruty"
    return [
        BenchArticle(f"{name} body", lead.title, lead.lead, body(size), url, lead.section)
        for name, size in (("4 KB", 4_000), ("64 KB", 64_000))
    ]


def time_article(
    specs: Sequence[TopicSpec], article: BenchArticle, *, cold_runs: int = 5, warm_runs: int = 30
) -> tuple[float, float]:
    """Best-of-runs ms to classify ``article``: cold (new engine, empty caches) and warm (again)."""
    kwargs = {
        "title": article.title,
        "summary": article.summary,
        "text": article.text,
        "url": article.url,
        "section": article.section,
    }
    cold, warm = [], []
    for _ in range(cold_runs):
        engine = TopicEngine(specs)  # the pymorphy dictionaries stay loaded: one per process
        parse_word.cache_clear()  # the readings' cache is the process's, not the engine's
        start = time.perf_counter()
        engine.classify(**kwargs)
        cold.append(time.perf_counter() - start)
    for _ in range(warm_runs):
        start = time.perf_counter()
        engine.classify(**kwargs)
        warm.append(time.perf_counter() - start)
    # Best of several runs, as timeit does: the machine is shared, and load only adds time.
    return min(cold) * 1000, min(warm) * 1000


def real_bodies() -> list[BenchArticle]:
    """The demo site's stories and, when the shared corpus is there, the Fundus test pages."""
    articles = [
        BenchArticle(str(s.id), s.title, s.lead, "\n".join(s.paragraphs), "", s.section)
        for s in STORIES
    ]
    if FUNDUS_CASES.exists():
        for line in FUNDUS_CASES.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            expected = row["expected"]
            articles.append(
                BenchArticle(
                    row["id"],
                    expected.get("title") or "",
                    "",
                    expected["body_text"],
                    row["url"],
                    "",
                )
            )
    return articles


def scan_limit_agreement(
    specs: Sequence[TopicSpec], articles: Sequence[BenchArticle]
) -> tuple[int, list[tuple[str, set[str], set[str]]]]:
    """How many bodies are longer than the scan limit, and where reading them whole changes the
    matched topics: (article, topics with the limit, topics reading the whole body)."""
    bounded, whole = TopicEngine(specs), TopicEngine(specs, scan_limit=None)
    longer, differ = 0, []
    for a in articles:
        if len(a.text) <= SCAN_LIMIT:
            continue
        longer += 1
        kwargs = {"title": a.title, "summary": a.summary, "text": a.text, "url": a.url}
        got = {m.id for m in bounded.classify(**kwargs, section=a.section)}
        full = {m.id for m in whole.classify(**kwargs, section=a.section)}
        if got != full:
            differ.append((a.name, got, full))
    return longer, differ


def independent_report(specs: Sequence[TopicSpec], path: Path, errors: str) -> None:
    """P/R/F1 on the independent set: odd ids were tuned on ("dev"), even ids are held out.

    Each case is read twice: with the lead once (as the summary only) and as a crawl stores it
    (the lead also as the text), which is how ``cityfeeds classify`` reads it.
    """
    cases = load_labelled(path, INDEPENDENT_TOPIC)
    engine = TopicEngine(specs)
    readings = {
        "lead once": lambda c: (c.text, ""),
        "crawled": lambda c: as_crawled("", c.text),
    }
    splits = {
        "dev": [c for c in cases if int(c.note[1:]) % 2],
        "heldout": [c for c in cases if not int(c.note[1:]) % 2],
        "all": cases,
    }
    print(f"independent set ({path.name}): {len(cases)} cases, {INDEPENDENT_TOPIC}")
    header = f"{'split':8} {'reading':10} {'P':>6} {'R':>6} {'F1':>6}   TP  FP  FN"
    print(header)
    print("-" * len(header))
    for reading, fields in readings.items():
        scored = {}
        for c in cases:
            summary, text = fields(c)
            scored[id(c)] = engine.score_all(title=c.title, summary=summary, text=text)
        for split, subset in splits.items():
            counts, found = evaluate(
                subset,
                [INDEPENDENT_TOPIC],
                lambda c, scored=scored: {m.id for m, ok in scored[id(c)] if ok},
            )
            n = counts[INDEPENDENT_TOPIC]
            p, r, f = n.prf()
            print(f"{split:8} {reading:10} {p:6.3f} {r:6.3f} {f:6.3f} {n.tp:4d}{n.fp:4d}{n.fn:4d}")
            if reading == "crawled" and split == errors:
                for case, _, kind in found:
                    match = next(m for m, _ in scored[id(case)] if m.id == INDEPENDENT_TOPIC)
                    print(f"  {kind} {case.note} {match.score:.2f} {case.title} {match.evidence}")
    print()


def main(argv: Sequence[str] | None = None) -> int:
    """Print the per-topic table for the dev, held-out and whole set."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument(
        "--errors",
        choices=["none", "dev", "all"],
        default="none",
        help="list misclassified cases (tune on dev only; heldout is for reports)",
    )
    parser.add_argument("--independent", type=Path, default=INDEPENDENT_CASES)
    args = parser.parse_args(argv)

    specs = load_topic_specs(args.config)
    cases = load_cases(args.cases)
    labelled = {t for c in cases for t in c.labels}
    topic_ids = [s.id for s in specs if s.id in labelled]
    engine = TopicEngine(specs)
    baseline = SubstringBaseline(specs)

    start = time.perf_counter()
    engine_pred = {
        id(c): {m.id for m in engine.classify(title=c.title, summary=c.summary)} for c in cases
    }
    elapsed = time.perf_counter() - start
    base_pred = {id(c): baseline.topics(f"{c.title}\n{c.summary}") for c in cases}

    # Real headlines (with a source page, title only) are reported apart from the written ones.
    real = [c for c in cases if c.source]
    splits = {
        "dev": [c for c in cases if c.split == "dev"],
        "heldout": [c for c in cases if c.split == "heldout"],
        "all": cases,
        "real-dev": [c for c in real if c.split == "dev"],
        "real-ho": [c for c in real if c.split == "heldout"],
        "real": real,
    }
    kinds = {
        k: sum(c.kind == k for c in cases) for k in ("in", "out", "false_friend", "borderline")
    }
    print(
        f"labelled set: {len(cases)} cases ({', '.join(f'{k} {n}' for k, n in kinds.items())}); "
        f"dev {len(splits['dev'])}, heldout {len(splits['heldout'])}"
    )
    print(f"engine: {len(cases) / elapsed:.0f} cases/s cold (first pass, lemma cache empty)")
    for article in bench_articles(cases):
        cold, warm = time_article(specs, article)
        size = len(article.title) + len(article.summary) + len(article.text)
        print(
            f"engine: {cold:7.2f} ms/article cold, {warm:6.2f} ms/article warm "
            f"({article.name}, {size} chars)"
        )
    longer, differ = scan_limit_agreement(specs, real_bodies())
    print(
        f"scan limit {SCAN_LIMIT} chars/field: {longer} real bodies are longer; reading them whole "
        f"changes the topics of {len(differ)}"
    )
    for name, got, full in differ:
        print(f"  {name}: {sorted(got)} with the limit, {sorted(full)} whole")
    print()
    independent_report(specs, args.independent, args.errors)
    header = f"{'split':8} {'topic':20} {'method':9} {'P':>6} {'R':>6} {'F1':>6}   TP  FP  FN"
    print(header)
    print("-" * len(header))
    all_errors = {}
    for split, subset in splits.items():
        for method, pred in (("engine", engine_pred), ("baseline", base_pred)):
            counts, errors = evaluate(subset, topic_ids, lambda c, pred=pred: pred[id(c)])
            if method == "engine":
                all_errors[split] = errors
            for t in topic_ids:
                p, r, f = counts[t].prf()
                c = counts[t]
                print(
                    f"{split:8} {t:20} {method:9} {p:6.3f} {r:6.3f} {f:6.3f} "
                    f"{c.tp:4d}{c.fp:4d}{c.fn:4d}"
                )
        print()
    if args.errors != "none":
        for case, t, kind in all_errors["dev" if args.errors == "dev" else "all"]:
            matches = engine.score_all(title=case.title, summary=case.summary)
            score = next((m.score for m, _ in matches if m.id == t), 0.0)
            print(
                f"{kind} {t} [{case.kind}/{case.split}] {score:.2f} {case.title} | {case.summary}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
