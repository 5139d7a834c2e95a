"""The labelled headline set: its shape, and the engine's precision/recall against the baseline."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from crawler.topics.engine import TopicEngine, load_topic_specs

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "fixtures" / "topics" / "labelled.jsonl"
SHIPPED = ("electric-transport", "public-transport", "road-works")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """bench/topics.py, imported as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_topics", ROOT / "bench" / "topics.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_topics"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def results(bench: ModuleType) -> dict[str, dict[str, dict[str, tuple[float, float, float]]]]:
    """P/R/F1 per split ("all", "heldout"), method and topic."""
    specs = load_topic_specs(ROOT / "cityfeeds.toml")
    engine, baseline = TopicEngine(specs), bench.SubstringBaseline(specs)
    cases = bench.load_cases(CASES)
    methods = {
        "engine": lambda c: {m.id for m in engine.classify(title=c.title, summary=c.summary)},
        "baseline": lambda c: baseline.topics(f"{c.title}\n{c.summary}"),
    }
    out: dict[str, dict[str, dict[str, tuple[float, float, float]]]] = {}
    for split in ("all", "heldout"):
        subset = [c for c in cases if split == "all" or c.split == split]
        out[split] = {
            name: {t: c.prf() for t, c in bench.evaluate(subset, SHIPPED, predict)[0].items()}
            for name, predict in methods.items()
        }
    return out


def test_labelled_set_is_large_and_covers_every_topic_and_kind(bench: ModuleType) -> None:
    cases = bench.load_cases(CASES)
    assert len(cases) >= 150
    assert {c.kind for c in cases} == {"in", "out", "false_friend", "borderline"}
    for topic in SHIPPED:
        assert sum(topic in c.labels for c in cases) >= 30, topic
    assert all(c.note for c in cases if c.kind == "borderline"), (
        "borderline cases record a decision"
    )
    assert sum(c.split == "heldout" for c in cases) >= 50
    assert set().union(*(c.labels for c in cases)) <= set(SHIPPED)


@pytest.mark.parametrize("split", ["all", "heldout"])
def test_electric_transport_precision_and_recall(results: dict, split: str) -> None:
    p, r, f = results[split]["engine"]["electric-transport"]
    assert p >= 0.95 and r >= 0.95, (p, r)
    assert f > results[split]["baseline"]["electric-transport"][2]


@pytest.mark.parametrize("topic", SHIPPED)
def test_every_topic_beats_the_substring_baseline(results: dict, topic: str) -> None:
    p, r, f = results["all"]["engine"][topic]
    assert f >= 0.85, (p, r, f)
    assert f > results["all"]["baseline"][topic][2]


def test_no_false_friend_case_matches_its_focus_topic(bench: ModuleType) -> None:
    engine = TopicEngine(load_topic_specs(ROOT / "cityfeeds.toml"))
    wrong = []
    for row in CASES.read_text(encoding="utf-8").splitlines():
        case = json.loads(row)
        if case["kind"] == "false_friend" and case.get("focus") == "electric-transport":
            got = {m.id for m in engine.classify(title=case["title"], summary=case["summary"])}
            if "electric-transport" in got:
                wrong.append(case["title"])
    assert wrong == []
