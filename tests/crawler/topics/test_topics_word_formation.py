"""Electric transport by word formation: «электро» compounds, electric adjectives near a vehicle,
named trains in a railway context, and the false friends none of them may admit."""

from __future__ import annotations

import pytest

from crawler.topics.engine import TopicEngine
from crawler.topics.morph import Lemmatizer, _analyzer
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


@pytest.mark.parametrize(
    "title",
    [
        "Велобайк появится в каждом парке",
        "Велобайки появятся в каждом парке",  # guessed as «велобайка»
        "Прокат велобайков открыли на ВДНХ",  # guessed as itself
        "По набережной на велобайке",
        "Доехать до работы велобайком",
        "Москвичи полюбили велобайки",
    ],
)
def test_forms_of_a_term_the_dictionary_does_not_know_match(title: str) -> None:
    # pymorphy3 guesses each form's dictionary form from its ending, and the guesses differ.
    engine = TopicEngine([spec(include={"велобайк": 1.0}, threshold=1.0)])
    assert ids(engine.classify(title=title)) == ["t"], title


@pytest.mark.parametrize(
    "title",
    [
        "Тарифы на электроэнергию вырастут с июля",
        "Электронный дневник заработал во всех школах",
        "В Электростали открыли новый парк",
        "Байкеры собрались у Лужников",
        "Велосипедисты выехали на Садовое кольцо",
    ],
)
def test_unknown_terms_gain_no_false_friends(title: str) -> None:
    include = {"электробайк": 1.0, "велобайк": 1.0, "электротакси": 1.0, "дептранс": 1.0}
    engine = TopicEngine([spec(include=include, threshold=1.0)])
    assert engine.classify(title=title) == [], title


def test_guessed_forms_leave_out_every_word_the_dictionary_knows() -> None:
    lemmatizer = Lemmatizer(1_000)
    keys = lemmatizer.guessed_keys("велобайк")
    assert {"велобайк", "велобайка", "велобайки", "велобайков"} <= keys
    assert not any(_analyzer().word_is_known(k) for k in keys)
    assert lemmatizer.guessed_keys("электробус") == frozenset()  # known: the dictionary decides
