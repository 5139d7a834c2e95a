"""Term words inside names (works, venues, streets) are no evidence; «электро-X», «э-X», «е-X»
spellings are read as the compound; near pairs with an adjective need it to agree."""

from __future__ import annotations

import pytest

from crawler.topics.engine import TopicEngine
from crawler.topics.morph import Lemmatizer
from tests.crawler.topics.topics_samples import ids, shipped_specs, spec

ET = "electric-transport"


@pytest.fixture(scope="module")
def engine() -> TopicEngine:
    """The engine over the shipped topics of cityfeeds.toml."""
    return TopicEngine(shipped_specs())


def _matches(engine: TopicEngine, title: str, lead: str = "") -> bool:
    return ET in ids(engine.classify(title=title, summary=lead, text=lead))


@pytest.mark.parametrize(
    "title",
    [
        "Спектакль «Трамвай «Желание» покажут в Театре Маяковского",
        "На концерте прозвучит песня «Последний троллейбус»",
        "Фильм «Электричка» покажут в кинотеатре «Октябрь»",
        "Новый альбом „Трамвайные истории“ вышел в пятницу",
        'Книга "Электробус" стала бестселлером',
        "Трамвайный переулок перекроют для ремонта",
        "На Троллейбусной улице высадят липы",
        "Электричка — новый бар на Покровке",
        "Электробус — новая песня группы «Звери»",
    ],
)
def test_a_term_in_the_name_of_a_work_venue_or_street_is_no_evidence(
    engine: TopicEngine, title: str
) -> None:
    assert not _matches(engine, title)


@pytest.mark.parametrize(
    "title",
    [
        # The same words used for the thing, next to a name or elsewhere in the text.
        "Спектакль «Трамвай «Желание» покажут, зрителей довезут на трамвае",
        "Кафе «Трамвай» откроют в старом трамвае на Чистых прудах",
        "Новый трамвай «Витязь-Москва» вышел на линию",
        "Электрички «Ласточка» пойдут чаще",
        "Трамвайную линию продлят до улицы Бутлерова",
        "Электробус — новый вид транспорта в Казани",
        "Трамвайные пути на улице Лесной отремонтируют",
    ],
)
def test_real_uses_next_to_names_still_count(engine: TopicEngine, title: str) -> None:
    assert _matches(engine, title)


def test_a_name_drops_only_its_own_occurrence() -> None:
    engine = TopicEngine([spec(include={"трамвай": 1.0}, threshold=2.0)])
    title = "Спектакль «Трамвай «Желание» покажут в трамвае"
    match = engine.classify(title=title)
    assert ids(match) == ["t"] and match[0].evidence == ["title: трамвай ← «трамвае»"]


@pytest.mark.parametrize(
    "title",
    [
        "Электро-автобусы начнут ходить в Новой Москве",
        "Электро-самокаты ограничат в парках",
        "Е-самокаты запретят на тротуарах",
        "Э-бусы вышли на новые маршруты",
        "E-самокаты запретят в парках",  # a Latin «e»
        "Электро‑трамваи вернутся на Арбат",  # a non-breaking hyphen
    ],
)
def test_hyphenated_and_short_electro_spellings_read_as_the_compound(
    engine: TopicEngine, title: str
) -> None:
    assert _matches(engine, title)


def test_a_short_electro_spelling_needs_a_transport_word() -> None:
    engine = TopicEngine(shipped_specs())
    assert not _matches(engine, "Е-мейлы жителей проверят")
    assert not _matches(engine, "Электро-щиты заменят в подъездах")


@pytest.mark.parametrize(
    "title",
    [
        "Автобус врезался в электрический столб",
        "Электрическая проводка автобуса загорелась на остановке",
        "Водитель автобуса задел электрический кабель",
    ],
)
def test_an_electric_adjective_that_belongs_to_another_noun_is_no_pair(
    engine: TopicEngine, title: str
) -> None:
    assert not _matches(engine, title)


@pytest.mark.parametrize(
    "title",
    [
        "Электрические и гибридные автобусы закупит Мосгортранс",
        "Все городские автобусы станут электрическими к 2030 году",
        "Два электрических прогулочных судна спустили на воду",
        "Машины такси должны стать электрическими",
        "В парке появится электрическое такси",
        "Коммунальщики получат электрические мусоровозы",
    ],
)
def test_an_agreeing_or_predicative_electric_adjective_makes_a_pair(
    engine: TopicEngine, title: str
) -> None:
    assert _matches(engine, title)


def test_agreement_by_case_number_and_gender() -> None:
    lemmatizer = Lemmatizer()
    assert lemmatizer.agrees("электрические", "автобусы")
    assert lemmatizer.agrees("электрических", "судна")  # «два электрических судна»
    assert not lemmatizer.agrees("электрическая", "автобуса")  # gender and case differ
    assert lemmatizer.agrees("электрическое", "такси")  # indeclinable: every case
    assert lemmatizer.is_predicative("электрическими")
    assert not lemmatizer.is_predicative("электрический")


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("Станции электрозарядки оборудуют в каждом районе", ""),
        ("Moskvich starts production of electric crossover", ""),
        ("Electric SUVs sold out at the Moscow motor show", ""),
        ("Владельцев Теслы в Москве стало вдвое больше", ""),  # Cyrillic Tesla + a car word
        ("Electric taxis arrive in Moscow", ""),
        ("Автобус с электродвигателем испытают на маршруте", "Машину собрали на КАМАЗе."),
    ],
)
def test_vocabulary_gaps_found_by_the_independent_set(
    engine: TopicEngine, title: str, lead: str
) -> None:
    assert _matches(engine, title, lead)
