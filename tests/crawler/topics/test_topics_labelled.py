"""The labelled headline set: its shape, and the engine's precision/recall against the baseline."""

from __future__ import annotations

import pytest

from crawler.topics.engine import TopicEngine
from crawler.topics.evaluation import Case, Counts, SubstringBaseline, evaluate, load_cases
from tests.crawler.topics.topics_samples import ROOT, shipped_specs

CASES = ROOT / "tests" / "fixtures" / "topics" / "labelled.jsonl"
SHIPPED = ("electric-transport", "public-transport", "road-works")

Scores = dict[str, dict[str, dict[str, tuple[float, float, float]]]]


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """The labelled set."""
    return load_cases(CASES)


@pytest.fixture(scope="module")
def results(cases: list[Case]) -> Scores:
    """P/R/F1 per split ("all", "heldout"), method and topic."""
    engine, baseline = TopicEngine(shipped_specs()), SubstringBaseline(shipped_specs())
    methods = {
        "engine": lambda c: {m.id for m in engine.classify(title=c.title, summary=c.summary)},
        "baseline": lambda c: baseline.topics(f"{c.title}\n{c.summary}"),
    }
    out: Scores = {}
    for split in ("all", "heldout"):
        subset = [c for c in cases if split == "all" or c.split == split]
        out[split] = {
            name: {t: c.prf() for t, c in evaluate(subset, SHIPPED, predict)[0].items()}
            for name, predict in methods.items()
        }
    return out


def test_labelled_set_is_large_and_covers_every_topic_and_kind(cases: list[Case]) -> None:
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
def test_electric_transport_precision_and_recall(results: Scores, split: str) -> None:
    p, r, f = results[split]["engine"]["electric-transport"]
    assert p >= 0.95 and r >= 0.95, (p, r)
    assert f > results[split]["baseline"]["electric-transport"][2]


@pytest.mark.parametrize("topic", SHIPPED)
def test_every_topic_beats_the_substring_baseline(results: Scores, topic: str) -> None:
    p, r, f = results["all"]["engine"][topic]
    assert f >= 0.85, (p, r, f)
    assert f > results["all"]["baseline"][topic][2]


def test_no_false_friend_case_matches_its_focus_topic(cases: list[Case]) -> None:
    engine = TopicEngine(shipped_specs())
    focused = [c for c in cases if c.kind == "false_friend" and c.focus == "electric-transport"]
    assert focused  # the set does hold false friends aimed at this topic
    wrong = [
        c.title
        for c in focused
        if "electric-transport" in {m.id for m in engine.classify(title=c.title, summary=c.summary)}
    ]
    assert wrong == []


def test_counts_and_baseline_on_a_hand_made_set() -> None:
    counts = Counts(tp=3, fp=1, fn=0)
    assert counts.prf() == (0.75, 1.0, 6 / 7)
    assert Counts().prf() == (1.0, 1.0, 1.0)
    baseline = SubstringBaseline(shipped_specs())
    assert "electric-transport" in baseline.topics("Новые ЭЛЕКТРОБУСЫ")
    case = Case("t", "", frozenset({"a"}), "in", "dev")
    counts_by_topic, errors = evaluate([case], ["a", "b"], lambda c: {"b"})
    assert (counts_by_topic["a"].fn, counts_by_topic["b"].fp) == (1, 1)
    assert errors == [(case, "a", "FN"), (case, "b", "FP")]
