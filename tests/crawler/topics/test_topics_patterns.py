"""Topic regexes: RE2 syntax, matched in linear time; what RE2 cannot run is refused by name."""

from __future__ import annotations

import re

import pytest

from crawler.topics.engine import TopicEngine
from crawler.topics.patterns import REGEX_INPUT_LIMIT, compile_pattern
from tests.crawler.topics.topics_samples import spec

# Under Python's re, (a+)+$ tries every way to split a run of «a» before giving up at «!»:
# 2^40 paths here, which would not finish. RE2 reads the text once, so these tests need no clock:
# with a backtracking engine they would hang instead of passing.
EVIL = "(a+)+$"
EVIL_INPUT = "a" * 40 + "!"


def test_regexes_contribute_with_evidence() -> None:
    engine = TopicEngine([spec(regexes={r"КАМАЗ-\d{4,5}": 1.0}, threshold=1.0)])
    (match,) = engine.classify(title="Поставлены КАМАЗ-62821")
    assert match.evidence == ["title: /КАМАЗ-\\d{4,5}/ ← «КАМАЗ-62821»"]


def test_negative_regex_subtracts_with_evidence() -> None:
    engine = TopicEngine([spec(regexes={"(?i)электроэнерги": -1.0})])
    (match, ok) = engine.score_all(title="Электробус", summary="Электроэнергия подорожает")[0]
    assert not ok and match.score == 1.0  # 3.0 (title term) - 2.0 (summary regex)
    assert match.evidence[-1] == "summary: −/(?i)электроэнерги/ ← «Электроэнерги»"


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        (r"КАМАЗ-\d{4,5}", "Поставлены КАМАЗ-62821 и КАМАЗ-6282", "КАМАЗ-62821"),
        (r"(?:МЦД|МЦК)-?[1-5]?", "Поезда МЦД-4 и МЦК", "МЦД-4"),
        (r"электро\pL+", "Новый электробус", "электробус"),
        (r"(?i)\p{Cyrillic}+бус", "ЭЛЕКТРОБУС", "ЭЛЕКТРОБУС"),
        ("a|ab", "ab", "a"),  # leftmost-first, as Python's re (not POSIX longest)
        ("x?", "абв", ""),  # an empty match is a match
        ("трамвай", "Троллейбус", None),
    ],
)
def test_safe_regexes_compile_and_find_what_re_would(
    pattern: str, text: str, found: str | None
) -> None:
    assert compile_pattern(pattern).first_match(text) == found


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ('(["', r"invalid regex '\(\[\"': missing \]"),
        (r"(a)\1", r"invalid regex .*invalid escape sequence: \\1"),
        ("(?=a)b", "invalid regex .*invalid perl operator"),
        ("(?<!a)b", "invalid regex .*invalid perl operator"),
        ("a++", "invalid regex .*bad repetition operator"),
        ("a{1001}", "invalid regex .*invalid repetition size"),
        (r"\bэлектро", r"\\b sees only ASCII letters"),
        (r"электро\w+", r"\\w sees only ASCII letters"),
        (r"[\W\d]", r"\\W sees only ASCII letters"),
        ("a" * 301, "longer than 300"),
    ],
)
def test_bad_regex_is_refused_with_one_line_naming_the_topic(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        spec(id="road-works", regexes={pattern: 1.0})
    # pydantic wraps the message in lines of its own; ours is one line: topic, pattern, reason.
    (line,) = [x for x in str(info.value).splitlines() if "topic 'road-works'" in x]
    assert re.search(reason, line), line


@pytest.mark.parametrize("pattern", [r"\\w", r"\Q\b\E", r"[\\]b"])
def test_a_quoted_backslash_is_not_an_ascii_class(pattern: str) -> None:
    assert compile_pattern(pattern).pattern == pattern


@pytest.mark.parametrize("pattern", [EVIL, r"(\pL*\s?)*x", "(a|ab)*c", "(a|aa)+$"])
def test_patterns_that_backtrack_in_re_are_accepted_and_linear(pattern: str) -> None:
    assert compile_pattern(pattern).first_match(EVIL_INPUT) is None


def test_evil_regex_in_a_topic_neither_stalls_nor_misses() -> None:
    engine = TopicEngine([spec(include={}, regexes={EVIL: 2.0})])
    assert engine.classify(title=EVIL_INPUT) == []
    (match,) = engine.classify(title="a" * 40)
    assert match.evidence == [f"title: /{EVIL}/ ← «{'a' * 40}»"]


def test_regex_sees_only_the_input_limit() -> None:
    pattern = compile_pattern("КАМАЗ")
    assert pattern.first_match("x" * (REGEX_INPUT_LIMIT - 5) + "КАМАЗ") == "КАМАЗ"
    assert pattern.first_match("x" * (REGEX_INPUT_LIMIT - 4) + "КАМАЗ") is None
