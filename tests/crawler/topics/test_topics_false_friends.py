"""electric-transport false positives an independent tester found (round three), as classes:
a quoted name of something that is not transport, a brand that is also a person's surname, an
acronym inside a hyphenated compound («СИМ-карта»), a train name that is also a bird. Each class
has the tester's headline, new ones written for it, and real uses that must still match."""

from __future__ import annotations

import pytest

from crawler.topics.engine import TopicEngine
from tests.crawler.topics.topics_samples import ids, shipped_specs, spec

ET = "electric-transport"


@pytest.fixture(scope="module")
def engine() -> TopicEngine:
    """The engine over the shipped topics of cityfeeds.toml."""
    return TopicEngine(shipped_specs())


def _score(engine: TopicEngine, title: str, lead: str = "") -> tuple[bool, float, list[str]]:
    """Whether electric-transport matches (title, and the lead as summary and text), its score
    and evidence."""
    match = next(m for m in engine.score_all(title=title, summary=lead, text=lead) if m[0].id == ET)
    return match[1], match[0].score, match[0].evidence


# ----------------------------------------- a) a quoted name of something else is no evidence

QUOTED_NAMES_OF_OTHER_THINGS = [
    # The tester's headlines (each scored 6 before).
    ("Фестиваль «Трамвайный парк» пройдёт на ВДНХ", "Гостей ждут концерты и мастер-классы."),
    ("ЖК «Трамвайный» сдадут в 2027 году", "Застройщик получил разрешение на третью очередь."),
    ("Квест «Последний трамвай» открылся на Арбате", "Игроки ищут выход из запертой комнаты."),
    ("В ТЦ «Троллейбус» открыли каток", "Кататься можно будет до конца февраля."),
    # New ones: other nouns and abbreviations, other quote styles, other term words.
    ("ТРЦ «Электричка» откроется в Зеленограде", "В центре будет 120 магазинов."),
    ("Премия «Золотой троллейбус» вручена журналистам", ""),
    ("Конкурс «Трамвайная весна» стартовал в школах", "Дети рисуют весенний город."),
    ("ООО «Трамвайный двор» признали банкротом", "Долги компании превысили 40 млн рублей."),
    ("Сериал «Последняя электричка» снимут в Подмосковье", ""),
    ("Акция «Трамвай добра» пройдёт в парке Горького", "Волонтёры соберут игрушки для детей."),
    ("Жители выбрали название «Трамвайный» для нового сквера", ""),
    ('ЖК "Троллейбусный" получил разрешение на ввод', ""),
    ("Бренд „Электробус“ выпустил коллекцию кроссовок", ""),
    ("В кинотеатре «Электричка» покажут ретроспективу Феллини", ""),
    # A name the config weighs as ambiguous (a bird) names the hotel, not the train.
    ("Гостиница «Ласточка» откроется у Курского вокзала", ""),
    ("Фонд «Трамвайчик добра» собрал 2 млн рублей", ""),
]


@pytest.mark.parametrize(("title", "lead"), QUOTED_NAMES_OF_OTHER_THINGS)
def test_a_quoted_name_after_a_noun_that_is_not_transport_is_no_evidence(
    engine: TopicEngine, title: str, lead: str
) -> None:
    ok, score, evidence = _score(engine, title, lead)
    assert not ok and score == 0, (score, evidence)


QUOTED_NAMES_THAT_ARE_TRANSPORT = [
    # The noun before the quotes is a term itself: the name is the vehicle's.
    ("Новый электробус «Витязь» вышел на маршрут", "электробус*"),
    ("Трамвай «Львёнок» вышел на линию", "Львенок"),
    # A noun that introduces a vehicle's model («модель», «вагоны»): the name is the vehicle.
    ("Модель «Москвич 3е» подешевела на 10%", "Москвич 3е"),
    ("Вагоны «Витязь-Москва» получат USB-разъёмы", "Витязь-Москва"),
    # The quoted word is not a name in apposition (names stay in the nominative) but the
    # object: «производство «Москвича 3е»», «движения «Ласточек»».
    ("Производство «Москвича 3е» выросло вдвое", "Москвич 3е"),
    ("На МЦК изменят интервалы движения «Ласточек»", "Ласточка"),
    # Speech after a comma or a time word is a quotation, not a name.
    ("По словам мэра, «трамваи вернутся на Садовое кольцо»", "трамва*"),
    ("Через год «Трамвай будущего» выйдет на линию", "трамва*"),
    ("Из-за ДТП «Ласточки» на МЦК идут с опозданием", "Ласточка"),
    ("Собянин заявил журналистам «трамваи вернутся на Садовое кольцо»", "трамва*"),
]


@pytest.mark.parametrize(("title", "term"), QUOTED_NAMES_THAT_ARE_TRANSPORT)
def test_a_quoted_vehicle_name_still_counts(engine: TopicEngine, title: str, term: str) -> None:
    ok, score, evidence = _score(engine, title)
    assert ok and any(e.startswith(f"title: {term} ←") for e in evidence), (score, evidence)


@pytest.mark.parametrize(
    ("title", "topic", "term"),
    [
        # A term written with a capital is a name itself: the quote after «карта» is the card.
        ("Проезд по карте «Тройка» подорожает на 5 рублей", "public-transport", "Тройка"),
        ("Оператор «Энергия Москвы» откроет 100 зарядных станций", ET, "Энергия Москвы"),
        ("Партия «Иволг» прибыла на МЦД", ET, "Иволга"),
        # A city operator's name is the service it runs.
        (
            "ГУП «Московский метрополитен» сообщил о закрытии вестибюля",
            "public-transport",
            "метрополитен*",
        ),
    ],
)
def test_a_quoted_term_that_is_a_name_itself_still_counts(
    engine: TopicEngine, title: str, topic: str, term: str
) -> None:
    match = next(m for m, _ in engine.score_all(title=title) if m.id == topic)
    assert any(e.startswith(f"title: {term} ←") for e in match.evidence), match


# ------------------------------------------------ b) a person's surname is not the brand


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("Музей Николы Теслы откроется в Москве", "Экспозиция расскажет об изобретениях физика."),
        ("Выставку о Николе Тесле покажут в Политехе", ""),
        ("Лекцию «Никола Тесла: мифы и факты» прочтут в планетарии", ""),
        ("В Политехе покажут катушку Теслы", "Разряды длиной два метра покажут каждый час."),
    ],
)
def test_the_inventor_is_not_the_car_brand(engine: TopicEngine, title: str, lead: str) -> None:
    ok, score, evidence = _score(engine, title, lead)
    assert not ok, (score, evidence)


@pytest.mark.parametrize(
    "title",
    [
        "Продажи Теслы в Москве выросли вдвое",
        "Машины Тесла стали чаще встречаться на улицах Москвы",
        "Владелец Теслы разбил машину на МКАД",
        "Tesla открыла сервисный центр в Москве",
        "Тесла покажет новую модель в Москве",
    ],
)
def test_the_car_brand_with_car_context_or_latin_spelling_counts(
    engine: TopicEngine, title: str
) -> None:
    ok, score, evidence = _score(engine, title)
    assert ok, (score, evidence)


@pytest.mark.parametrize(
    ("title", "matches"),
    [
        ("Иван Трамваев выступил на форуме", False),
        ("Ивана Трамваева наградили", False),
        ("Трамваев на линии стало больше", True),
        ("В депо Ивана встретили новые трамваи", True),
    ],
)
def test_a_term_word_after_a_first_name_is_a_surname(title: str, matches: bool) -> None:
    engine = TopicEngine([spec(include={"трамва*": 1.0}, threshold=2.0)])
    assert (ids(engine.classify(title=title)) == ["t"]) is matches


# ----------------------------------- c) an acronym in a hyphenated compound is not the acronym


@pytest.mark.parametrize(
    ("title", "matches"),
    [
        ("Операторы предупредили о блокировке СИМ-карт", False),  # the tester's
        ("СИМ-карты мигрантов заблокируют без биометрии", False),
        ("Продажи СИМ-карт упали на треть", False),
        ("Мошенники выманивают ПИН-коды от СИМ-карт", False),
        ("СИМ карты заблокируют у мигрантов", False),  # no hyphen: an exclude phrase
        ("СИМ: новые правила для владельцев моноколёс", True),
        ("Парковки для СИМ появятся у станций метро", True),
        ("МЦД-3 перевёз 100 миллионов пассажиров", True),
        ("На МЦД-2 вышли новые поезда", True),
    ],
)
def test_an_acronym_before_a_hyphen_and_a_word_is_a_compound(
    engine: TopicEngine, title: str, matches: bool
) -> None:
    ok, score, evidence = _score(engine, title)
    assert ok is matches, (score, evidence)


# ------------------------------------------------- d) a train name that is also a bird


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("Ласточки свили гнездо на Курском вокзале", "Птенцы появятся через две недели."),  # tester
        ("Ласточки свили гнездо на Курском вокзале", ""),
        ("Иволги свили гнездо у Рижского вокзала", ""),
        ("Птенцы ласточки вылупились под крышей Курского вокзала", ""),
        ("Стая ласточек кружит над Киевским вокзалом", ""),
    ],
)
def test_a_bird_context_makes_the_train_name_a_bird(
    engine: TopicEngine, title: str, lead: str
) -> None:
    ok, score, evidence = _score(engine, title, lead)
    assert not ok, (score, evidence)


@pytest.mark.parametrize(
    "title",
    [
        "«Ласточка» прибыла на Курский вокзал с опозданием",
        "Ласточки на Курском вокзале: РЖД пустит дополнительные поезда",
        "Скоростные «Иволги» пойдут с Рижского вокзала",
    ],
)
def test_a_train_name_in_a_railway_context_still_counts(engine: TopicEngine, title: str) -> None:
    ok, score, evidence = _score(engine, title)
    assert ok, (score, evidence)


# --------------------------------------- e) borderline: an accident on an electric train is in


def test_an_accident_on_an_electric_train_is_in_the_topic(engine: TopicEngine) -> None:
    # Decided as the labelled sets do («Электричка сбила мужчину…» is in): the story is an
    # incident with an electric train. «Электротравма» itself is no evidence (electricity).
    ok, _, evidence = _score(engine, "Электротравма: подросток пострадал на крыше электрички")
    assert ok and evidence == ["title: электричк* ← «электрички»"]
    ok, score, _ = _score(engine, "Электротравма: подросток пострадал на крыше гаража")
    assert not ok and score == 0
