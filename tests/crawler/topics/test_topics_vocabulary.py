"""The term vocabulary: one pass per text, the same words as ``tokenize``, the dictionary filter."""

from __future__ import annotations

import pytest

from crawler.topics.engine import TopicEngine
from crawler.topics.morph import Lemmatizer, tokenize
from crawler.topics.terms import parse_term
from crawler.topics.vocabulary import TermVocabulary
from tests.crawler.topics.topics_samples import shipped_specs, spec


def vocabulary_of(terms: list[str], lemmatizer: Lemmatizer | None = None) -> TermVocabulary:
    """A sealed vocabulary of ``terms``, as an engine builds it from its topics."""
    vocabulary = TermVocabulary(lemmatizer or Lemmatizer(1_000), 1_000)
    for term in terms:
        for word in parse_term(term):
            vocabulary.add(word)
    vocabulary.seal()
    return vocabulary


@pytest.fixture(scope="module")
def shipped() -> TermVocabulary:
    """Every include and exclude term of the shipped topics."""
    return vocabulary_of([t for s in shipped_specs() for t in [*s.include, *s.exclude]])


TEXTS = [
    "Электробусы КАМАЗ-6282 вышли на маршрут. Трамваи — нет!\nМЦД-2 и МЦК: интервалы…",
    "Ремонт дороги. Перекроют съезд; объезд по дублёру? Да.\n\nРазметку нанесут",
    "e-Largus и Москвич 3е; зарядные электрические станции, МЦД‑4 (неразрывный дефис)",
    "",
    "...\n.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_hits_see_the_same_words_and_positions_as_tokenize(
    shipped: TermVocabulary, text: str
) -> None:
    expected: dict[int, list[tuple[int, str]]] = {}
    for token in tokenize(text):
        for mid in shipped.word_matchers(token.text):
            expected.setdefault(mid, []).append((token.pos, token.text))
    assert shipped.hits(text) == expected
    if text.startswith("Электробусы"):
        assert expected  # the sample does hit terms: the comparison is not of two empty dicts


def test_a_term_word_is_numbered_once_in_any_form() -> None:
    vocabulary = TermVocabulary(Lemmatizer(1_000), 1_000)
    (bus,) = parse_term("электробус")
    (buses,) = parse_term("электробусы")
    (prefix,) = parse_term("электробус*")
    assert vocabulary.add(bus) == vocabulary.add(buses) == 0
    assert vocabulary.add(prefix) == 1


def test_words_that_cannot_lead_to_a_term_skip_the_dictionary() -> None:
    lemmatizer = Lemmatizer(1_000)
    vocabulary = vocabulary_of(["электробус"], lemmatizer)
    before = lemmatizer.keys.cache_info().misses
    vocabulary.hits("Собянин открыл парк. Жители района")
    assert lemmatizer.keys.cache_info().misses == before
    assert vocabulary.hits("Электробусов стало больше") == {0: [(0, "Электробусов")]}
    assert lemmatizer.keys.cache_info().misses == before + 1


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
