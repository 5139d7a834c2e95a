"""The independent tester's set: its shape, and the engine's figures on both halves."""

from __future__ import annotations

import pytest

from cityfeeds.commands.classify import as_crawled
from crawler.topics.engine import TopicEngine
from crawler.topics.evaluation import Case, Counts, evaluate, load_labelled
from tests.crawler.topics.topics_samples import ROOT, shipped_specs

CASES = ROOT / "tests" / "fixtures" / "topics" / "independent.jsonl"
ET = "electric-transport"


@pytest.fixture(scope="module")
def counts() -> dict[str, Counts]:
    """electric-transport counts on the tuned (odd ids) and held-out (even ids) halves."""
    cases = load_labelled(CASES, ET)
    engine = TopicEngine(shipped_specs())

    def predict(case: Case) -> set[str]:
        summary, text = as_crawled(case.summary, case.text)
        return {m.id for m in engine.classify(title=case.title, summary=summary, text=text)}

    halves = {
        "dev": [c for c in cases if int(c.note[1:]) % 2],
        "heldout": [c for c in cases if not int(c.note[1:]) % 2],
    }
    return {half: evaluate(subset, [ET], predict)[0][ET] for half, subset in halves.items()}


def test_the_set_is_whole_and_balanced() -> None:
    cases = load_labelled(CASES, ET)
    assert len(cases) == 262
    assert 120 <= sum(bool(c.labels) for c in cases) <= 142


@pytest.mark.parametrize(("half", "floor"), [("dev", 0.99), ("heldout", 0.95)])
def test_electric_transport_figures_on_each_half(
    counts: dict[str, Counts], half: str, floor: float
) -> None:
    p, r, f = counts[half].prf()
    assert p >= floor and r >= floor and f >= floor, (half, p, r, f)
