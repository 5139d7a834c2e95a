"""``requires``: all-of groups of include terms, and the road-works false positives they stop."""

from __future__ import annotations

import pytest

from cityfeeds.devtools.demo_site import STORIES
from crawler.topics.engine import TopicEngine
from crawler.topics.spec import TopicSpec
from tests.crawler.topics.topics_samples import shipped_specs


@pytest.fixture(scope="module")
def engine() -> TopicEngine:
    """The engine over the shipped topics of cityfeeds.toml."""
    return TopicEngine(shipped_specs())


def works_and_road(**kwargs: object) -> TopicSpec:
    base: dict[str, object] = {
        "id": "t",
        "title": "T",
        "include": {"ремонт*": 1.0, "строительств*": 1.0, "шоссе": 1.0, "асфальт*": 1.0},
        "requires": {
            "works": ["ремонт*", "строительств*", "асфальт*"],
            "road": ["шоссе", "асфальт*"],
        },
        "threshold": 2.0,
    }
    return TopicSpec.model_validate(base | kwargs)


def test_a_topic_needs_one_term_of_every_group() -> None:
    engine = TopicEngine([works_and_road()])
    assert engine.classify(title="Ремонт шоссе")
    assert engine.classify(title="Новый асфальт")  # a term may stand in both groups
    (match, ok) = engine.score_all(title="Ремонт и строительство школы")[0]
    assert match.score == 6.0 and not ok  # the score is kept, the match is not
    (match, ok) = engine.score_all(title="Шоссе", summary="Шоссе")[0]
    assert match.score == 5.0 and not ok


def test_a_masked_term_does_not_satisfy_a_group() -> None:
    engine = TopicEngine([works_and_road(exclude={"ремонт квартир*": 0.0})])
    assert not engine.classify(title="Ремонт квартир у шоссе", summary="Шоссе и шоссе")
    assert engine.classify(title="Ремонт у шоссе")


def test_no_groups_means_score_alone_decides() -> None:
    engine = TopicEngine([works_and_road(requires={})])
    assert engine.classify(title="Ремонт и строительство школы")


@pytest.mark.parametrize(
    ("requires", "message"),
    [
        ({"road": []}, "requires group 'road' is empty"),
        ({"road": ["улица"]}, "requires group 'road': 'улица' is not an include term"),
    ],
)
def test_bad_groups_are_named(requires: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        works_and_road(requires=requires)
    assert "topic 't'" in str(info.value)


def test_demo_e_bus_depot_story_is_not_road_works(engine: TopicEngine) -> None:
    story = next(s for s in STORIES if s.id == 1012)
    kwargs = {
        "title": story.title,
        "summary": story.lead,
        "text": "\n".join(story.paragraphs),
        "section": story.section,
    }
    scores = {m.id: (m, ok) for m, ok in engine.score_all(**kwargs)}
    road, ok = scores["road-works"]
    assert road.score > 0 and not ok  # «построят», «Строительство», «ремонтную»: works only
    assert scores["electric-transport"][1]


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Участок Филёвской линии закроют на ремонт", "Поезда не будут ходить до понедельника."),
        ("В Марьине построят новую школу", "Строительство и ремонт здания займут два года."),
    ],
)
def test_works_words_without_a_road_are_not_road_works(
    engine: TopicEngine, title: str, summary: str
) -> None:
    assert "road-works" not in {m.id for m in engine.classify(title=title, summary=summary)}


@pytest.mark.parametrize(
    "title",
    [
        "Из-за прорыва трубы перекрыли Ленинский проспект",
        "В Люблине открыли путепровод через железную дорогу",
        "Ремонт Третьего транспортного кольца продлится до осени",
    ],
)
def test_works_and_road_together_still_match(engine: TopicEngine, title: str) -> None:
    assert "road-works" in {m.id for m in engine.classify(title=title)}
