"""How the topic engine reads an article: fields bounded to the scan limit, whole words only."""

from __future__ import annotations

from crawler.topics.engine import SCAN_LIMIT, TopicEngine
from tests.crawler.topics.topics_samples import spec


def test_body_is_read_up_to_the_scan_limit_only() -> None:
    engine = TopicEngine([spec(threshold=1.0)])
    filler = "Городские новости дня. " * (SCAN_LIMIT // 23 + 1)
    assert engine.classify(title="x", text="Электробусы вышли. " + filler)
    assert not engine.classify(title="x", text=filler + " Электробусы вышли.")
    whole = TopicEngine([spec(threshold=1.0)], scan_limit=None)
    assert whole.classify(title="x", text=filler + " Электробусы вышли.")


def test_a_word_cut_by_the_limit_is_dropped_not_halved() -> None:
    engine = TopicEngine([spec(include={"электро*": 1.0}, threshold=1.0)])
    text = "а " * ((SCAN_LIMIT - 5) // 2) + "электробусами"
    assert len(text) > SCAN_LIMIT and text.index("электро") < SCAN_LIMIT - 5
    assert not engine.classify(title="x", text=text)
