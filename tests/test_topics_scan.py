"""How the topic engine reads a text: one pass per field, bounded fields, the dictionary filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.topics.engine import SCAN_LIMIT, TopicEngine, TopicSpec, load_topic_specs
from crawler.topics.morph import tokenize

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def engine() -> TopicEngine:
    """The engine over the shipped topics of cityfeeds.toml."""
    return TopicEngine(load_topic_specs(ROOT / "cityfeeds.toml"))


def spec(**kwargs: object) -> TopicSpec:
    base: dict[str, object] = {"id": "t", "title": "T", "include": {"электробус": 1.0}}
    return TopicSpec.model_validate(base | kwargs)


TEXTS = [
    "Электробусы КАМАЗ-6282 вышли на маршрут. Трамваи — нет!\nМЦД-2 и МЦК: интервалы…",
    "Ремонт дороги. Перекроют съезд; объезд по дублёру? Да.\n\nРазметку нанесут",
    "e-Largus и Москвич 3е; зарядные электрические станции, МЦД‑4 (неразрывный дефис)",
    "",
    "...\n.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_hits_see_the_same_words_and_positions_as_tokenize(engine: TopicEngine, text: str) -> None:
    expected: dict[int, list[tuple[int, str]]] = {}
    for token in tokenize(text):
        for mid in engine.word_matchers(token.text):
            expected.setdefault(mid, []).append((token.pos, token.text))
    assert engine._hits(text) == expected


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


def test_words_that_cannot_lead_to_a_term_skip_the_dictionary() -> None:
    engine = TopicEngine([spec()])
    before = engine._lemmatizer.keys.cache_info().misses
    engine.classify(title="Собянин открыл парк", summary="Жители района")
    assert engine._lemmatizer.keys.cache_info().misses == before
    engine.classify(title="Электробусов стало больше")
    assert engine._lemmatizer.keys.cache_info().misses == before + 1


@pytest.mark.parametrize(
    ("include", "title"),
    [
        ({"идти": 1.0}, "Он шёл домой"),  # irregular stem: listed from the dictionary
        ({"быстрый": 1.0}, "Поедем побыстрее"),  # comparative «по-»
        ({"окн*": 1.0}, "Замена окон"),  # fleeting vowel inside the first letters
        ({"остановк*": 1.0}, "Ремонт остановок"),
    ],
)
def test_dictionary_forms_that_start_differently_still_match(
    include: dict[str, float], title: str
) -> None:
    assert TopicEngine([spec(include=include, threshold=1.0)]).classify(title=title)
