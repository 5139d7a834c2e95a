"""Topic specs: every bad entry is refused at load, naming the topic and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.topics.spec import FIELDS, load_topic_specs
from tests.crawler.topics.topics_samples import spec


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"include": {"электро": -1.0}}, "include 'электро' needs a weight > 0"),
        ({"include": {"эл*": 1.0}}, "prefix 'эл\\*' is shorter"),
        ({"include": {"трам*вай": 1.0}}, "is not a word"),
        ({"exclude": {"": 0.0}}, "empty term"),
        ({"include": {}}, "needs at least one include term"),
        ({"field_weights": {"headline": 2.0}}, "unknown field 'headline'"),
        ({"languages": ["de"]}, "language 'de'"),
        ({"requires": {"road": ["шоссе"]}}, "'шоссе' is not an include term"),
        ({"regexes": {"КАМАЗ": 0.0}}, "needs a non-zero weight"),
    ],
)
def test_invalid_entries_are_named(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        spec(**entry)
    assert "topic 't'" in str(info.value)


def test_unknown_keys_and_bad_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="extra"):
        spec(colour="red")
    with pytest.raises(ValueError, match="pattern"):
        spec(id="Electric Transport")


def test_field_weights_fill_in_defaults() -> None:
    weights = spec(field_weights={"body": 0.5}).field_weights
    assert list(weights) == list(FIELDS)
    assert weights["title"] == 3.0 and weights["body"] == 0.5


def test_a_positive_regex_alone_is_enough_to_define_a_topic() -> None:
    assert spec(include={}, regexes={"КАМАЗ-[0-9]+": 1.0}).regexes == {"КАМАЗ-[0-9]+": 1.0}


def test_load_topic_specs_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[[topics]]\nid = "x"\ntitle = "X"\n[topics.regexes]\n"(?=a)b" = 1.0\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"(?s)topics\[0\] \('x'\).*invalid regex '\(\?=a\)b'"):
        load_topic_specs(path)
