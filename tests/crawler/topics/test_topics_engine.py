"""Topic engine: shipped topics, morphology, false friends, phrases, weights, evidence."""

from __future__ import annotations

import pytest

from crawler.topics.engine import TopicEngine
from tests.crawler.topics.topics_samples import ROOT, ids, shipped_specs, spec

SEED = ROOT / "tests" / "fixtures" / "seed" / "mymsk-online-article.txt"


@pytest.fixture(scope="module")
def engine() -> TopicEngine:
    """The engine over the shipped topics of cityfeeds.toml."""
    return TopicEngine(shipped_specs())


# ----------------------------------------------------------------------------- shipped topics


def test_shipped_topics_load() -> None:
    assert {"electric-transport", "public-transport", "road-works"} <= {
        s.id for s in shipped_specs()
    }


def test_seed_article_matches_electric_transport(engine: TopicEngine) -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    url, title, lead = lines[0], lines[1], lines[2]
    body = max(lines, key=len)
    matches = engine.classify(title=title, summary=lead, text=body, url=url, section="Город")
    assert ids(matches)[0] == "electric-transport"
    assert "title: электромобил* ← «электромобилестроения»" in matches[0].evidence


@pytest.mark.parametrize(
    "title",
    [
        "На маршрут вышли новые электробусы",
        "Пассажиры оценили поездки на электробусах",
        "Число электробусов выросло",
        "Беспилотный трамвай начал возить пассажиров",
        "Троллейбусы вернулись на Бульварное кольцо",
        "Открыта ещё сотня зарядных станций",
        "Сезон кикшеринга открыт",
        "Правила для СИМ ужесточат",
        "Электросуда вышли на Москву-реку",
        "«Иволга» начала ходить по МЦД-4",
        "Электрички изменят расписание",
        "Moscow launches driverless trams",
    ],
)
def test_core_vocabulary_matches_in_title(engine: TopicEngine, title: str) -> None:
    assert "electric-transport" in ids(engine.classify(title=title))


# SOURCES.md section 3: false friends must not match on their own, even when they fill every field.
FALSE_FRIENDS = [
    "Тарифы на электроэнергию вырастут",
    "Дома остались без электричества",
    "Электроснабжение восстановили после аварии",
    "МОЭСК обновит электросети, «Россети» построят подстанцию",
    "Короткое замыкание в электропроводке",
    "Пожар в электрощитовой, сгорел электрощиток",
    "Замена электросчётчиков и электроплит",
    "Электронный дневник МЭШ и электронная очередь",
    "Электронное голосование ДЭГ и электронная подпись",
    "Завод электроники увеличил производство электроники",
    "ЭКГ и электрокардиограмма в поликлинике",
    "Новости Электростали, Электрогорска и Электроуглей",
    "Станцию «Электрозаводская» закроют",
    "Арт-кластер в «Электрозаводе»",
    "Станция «Электросила» в Петербурге",
    "Беспилотники сбиты на подлёте к Москве",
    "МСД откроют до конца года",
    "Зарядные устройства для гаджетов",
    "Электродепо построят для новой линии метро",
    "Новые электропоезда метро вышли на Кольцевую линию",
    "Сим-карты продадут по паспорту",
    "Ласточки вернулись в парки",
    "Иволгу заметили в лесу",
    "Самокат стал популярным подарком",
    "Москвич спас ребёнка",
    "Трамплин на Воробьёвых горах",
]


@pytest.mark.parametrize("text", FALSE_FRIENDS)
def test_false_friends_never_match_electric_transport(engine: TopicEngine, text: str) -> None:
    matches = engine.classify(title=text, summary=text, text=text)
    assert "electric-transport" not in ids(matches)


def test_metro_is_off_for_electric_transport_but_on_for_public_transport(
    engine: TopicEngine,
) -> None:
    matches = ids(engine.classify(title="Интервалы на Сокольнической линии метро сократят"))
    assert matches == ["public-transport"]


def test_false_friend_next_to_a_real_term_still_matches(engine: TopicEngine) -> None:
    matches = engine.classify(title="В Электростали запустят электробусы")
    assert "electric-transport" in ids(matches)


def test_evidence_names_field_term_and_surface_form(engine: TopicEngine) -> None:
    matches = engine.classify(
        title="Электробусы вышли на маршрут",
        summary="Парк электробусов пополнился машинами КАМАЗ-6282.",
    )
    et = next(m for m in matches if m.id == "electric-transport")
    assert et.evidence == [
        "title: электробус* ← «Электробусы»",
        "summary: электробус* ← «электробусов»",
        "summary: КАМАЗ-6282 ← «КАМАЗ-6282»",
    ]


def test_results_are_sorted_rounded_and_deterministic(engine: TopicEngine) -> None:
    kwargs = {
        "title": "Трамваи пойдут в объезд из-за ремонта дороги",
        "summary": "Движение автомобилей по улице ограничат, трамвайные пути заменят.",
    }
    first = engine.classify(**kwargs)
    again = TopicEngine(engine.specs).classify(**kwargs)
    assert first == again
    assert [m.score for m in first] == sorted((m.score for m in first), reverse=True)
    assert all(m.score == round(m.score, 3) for m in first)


# ----------------------------------------------------------------------------- matching rules


def test_lemma_term_matches_inflections_and_yo() -> None:
    engine = TopicEngine([spec(include={"электросчетчик": 1.0, "ёлка": 1.0}, threshold=1.0)])
    for title in ("Новые электросчётчики", "Замена электросчетчиков", "Ёлки", "Елкой"):
        assert engine.classify(title=title), title


def test_prefix_term_matches_compounds() -> None:
    engine = TopicEngine([spec(include={"электромобил*": 1.0}, threshold=1.0)])
    (match,) = engine.classify(title="Кластер электромобилестроения")
    assert match.evidence == ["title: электромобил* ← «электромобилестроения»"]


def test_acronym_is_case_sensitive_and_matches_hyphenated_parts() -> None:
    engine = TopicEngine([spec(include={"СИМ": 1.0, "МЦД": 1.0}, threshold=1.0)])
    assert engine.classify(title="Пользователи СИМ")
    assert engine.classify(title="Поезда МЦД-2 стали ходить чаще")
    assert not engine.classify(title="Новые сим-карты и симы")


def test_phrase_allows_one_word_between_but_not_a_sentence_break() -> None:
    engine = TopicEngine([spec(include={"зарядн* станц*": 1.0}, threshold=1.0)])
    assert engine.classify(title="Открыты зарядные станции")
    assert engine.classify(title="Открыты зарядные электрические станции")
    assert not engine.classify(title="Зарядные кабели и насосные станции")
    assert not engine.classify(title="Купили зарядные. Станции открыты")


def test_exclude_masks_tokens_and_penalty_subtracts() -> None:
    engine = TopicEngine(
        [
            spec(
                include={"электро*": 1.0},
                exclude={"электроэнерги*": 0.0, "тариф": 1.0},
                threshold=1.0,
            )
        ]
    )
    assert not engine.classify(title="Электроэнергия подорожает")
    assert engine.classify(title="Электромобили подешевеют")
    (match, ok) = engine.score_all(title="Электромобили и тариф")[0]
    assert not ok and match.score == 0.0
    assert match.evidence == ["title: электро* ← «Электромобили»", "title: −тариф ← «тариф»"]


def test_evidence_quotes_the_first_three_distinct_words_in_text_order() -> None:
    engine = TopicEngine([spec(include={"трамва*": 1.0}, threshold=1.0)])
    text = "Трамвай, трамвай и трамваи. Трамвая нет. Трамваи, трамваю, трамваем."
    (match,) = engine.classify(title="x", text=text)
    assert match.evidence == ["body: трамва* ← «Трамвай», «трамвай», «трамваи»"]


def test_field_weights_rank_title_over_summary_over_body() -> None:
    engine = TopicEngine([spec(threshold=2.5)])
    assert engine.score_all(title="электробус")[0][0].score == 3.0
    assert engine.score_all(title="x", summary="электробус")[0][0].score == 2.0
    assert engine.score_all(title="x", text="электробус")[0][0].score == 1.0
    assert not engine.classify(title="x", summary="электробус")


def test_url_section_and_tags_are_signals() -> None:
    engine = TopicEngine([spec(include={"transport": 1.0, "транспорт": 1.0}, threshold=1.0)])
    (match,) = engine.classify(title="x", url="https://www.m24.ru/news/transport/01022026/1")
    assert match.evidence == ["url: transport ← «transport»"]
    (match,) = engine.classify(title="x", section="Транспорт", tags=["Транспорт", "Город"])
    assert match.evidence == ["section: транспорт ← «Транспорт»", "tags: транспорт ← «Транспорт»"]


def test_english_terms_use_the_english_stemmer() -> None:
    engine = TopicEngine(
        [spec(include={"tram": 1.0, "electric* bus": 1.0}, languages=["en"], threshold=1.0)]
    )
    assert engine.classify(title="New trams for Moscow")
    assert engine.classify(title="Electric buses everywhere")
    assert not engine.classify(title="Trampoline park opens")


def test_sources_and_cities_restrict_a_topic() -> None:
    engine = TopicEngine([spec(sources=["mosru"], cities=["Moscow"], threshold=1.0)])
    assert engine.classify(title="Электробус", source="mosru", city="moscow")
    assert not engine.classify(title="Электробус", source="m24", city="Moscow")
    assert not engine.classify(title="Электробус", source="mosru", city="Kazan")
    assert not engine.classify(title="Электробус")


def test_word_cache_is_reused_across_articles() -> None:
    engine = TopicEngine([spec()])
    engine.classify(title="Электробусы вышли на маршрут")
    analysed = engine.word_matchers.cache_info().misses
    assert analysed >= 4
    engine.classify(title="Электробусы вышли на маршрут")
    assert engine.word_matchers.cache_info().misses == analysed  # no word analysed again


def test_a_small_word_cache_reads_texts_as_a_large_one() -> None:
    """The cache of words and marks read (TermVocabulary.hits) is cleared when full, mid-text
    too: what a text matches never depends on what was read before it."""
    texts = [
        "Электробусы вышли на маршрут «Трамвай» — и троллейбусы. Зарядка электромобилей!",
        "На улице Трамвайной открыли кафе «Электричка», а МЦД-2 и э-самокаты ходят.",
        "Электробусы вышли на маршрут «Трамвай» — и троллейбусы. Зарядка электромобилей!",
    ] * 3
    small, large = TopicEngine(shipped_specs(), cache_size=5), TopicEngine(shipped_specs())
    for text in texts:
        assert small.score_all(title=text, text=text) == large.score_all(title=text, text=text)


def test_duplicate_topic_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate topic id 't'"):
        TopicEngine([spec(), spec()])
