"""Electric transport by word formation: «электро» compounds, electric adjectives near a vehicle,
named trains in a railway context, and the false friends none of them may admit."""

from __future__ import annotations

import pytest

from crawler.topics.engine import TopicEngine
from crawler.topics.terms import TermWord, is_near_term, parse_term
from tests.crawler.topics.topics_samples import ids, shipped_specs, spec

ET = "electric-transport"


@pytest.fixture(scope="module")
def engine() -> TopicEngine:
    """The engine over the shipped topics of cityfeeds.toml."""
    return TopicEngine(shipped_specs())


def test_near_term_syntax() -> None:
    assert parse_term("электрический ~ машин*") == (
        TermWord("lemma", "электрический"),
        TermWord("prefix", "машин"),
    )
    assert is_near_term("Ласточка ~ РЖД") and not is_near_term("электрический автобус")
    for bad in ("электрический ~", "~ машина", "а ~ б ~ в", "а б ~ в"):
        with pytest.raises(ValueError, match="near term"):
            parse_term(bad)


def test_near_term_either_order_within_a_window_in_one_sentence() -> None:
    engine = TopicEngine([spec(include={"электрический ~ машина": 1.0}, threshold=2.0)])
    assert ids(engine.classify(title="Машины такси должны стать электрическими")) == ["t"]
    assert ids(engine.classify(title="Электрические машины вышли на линию")) == ["t"]
    far = "Машина " + "очень " * 7 + "электрическая"
    assert engine.classify(title=far) == []
    # A sentence break ends the window: the two words are in different sentences.
    assert engine.classify(title="Машины встали. Электрические щиты обесточены") == []
    (match,) = engine.classify(title="Машины такси должны стать электрическими")
    assert match.evidence == ["title: электрический ~ машина ← «Машины … электрическими»"]


@pytest.mark.parametrize(
    "title",
    [
        "В Москве запустили речные электротрамваи",
        "Такси в Москве оснастят электромоторами",
        "Перевести такси на электротягу",
        "Большинство машин на улицах должны стать электрическими",
        "Электрические «Москвичи» поступят в продажу",
        "Четыре новых электрических прогулочных судна выйдут на маршруты",
        "На Ленинградском направлении появились «Ласточки»",
        "РЖД показали новую скоростную «Ласточку»",
        "В порту испытали акваэлектробус",
    ],
)
def test_word_formation_is_electric_transport(engine: TopicEngine, title: str) -> None:
    assert ET in ids(engine.classify(title=title)), title


@pytest.mark.parametrize(
    "title",
    [
        "Тарифы на электроэнергию вырастут с июля",
        "Электронный дневник заработал во всех школах",
        "В Электростали открыли новый парк",
        "Электродепо построят для новой линии метро",
        "Электросети обновят в Новой Москве",
        "Станцию «Электрозаводская» закроют на выходные",
        "Гидроэлектростанция на реке выработала рекорд",
        "Электрическая энергия подорожает",
        "Ласточки прилетели в город: птицы вьют гнёзда",
        "Иволга поселилась в парке",
    ],
)
def test_false_friends_are_not_electric_transport(engine: TopicEngine, title: str) -> None:
    assert ET not in ids(engine.classify(title=title)), title
