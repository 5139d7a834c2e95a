"""The story fingerprint's fast-scanning regexes match exactly as their plain spellings do.

``crawler/stories/numbers.py`` and ``features.py`` spell some patterns so that they start with a
set of characters the regex engine can skip to (a digit, a weekday's first letter) instead of a
lookbehind or ``\\b`` tried at every position. Each is compared here with its plain spelling,
match by match (spans and groups), on the labelled reports and on random texts dense in the
characters that decide.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from crawler.stories import features, numbers

_FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "stories" / "labelled.jsonl"

_PLAIN = {
    "number": re.compile(
        r"(?<![\w.,:/])(?<![\w.,:/]-)(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,](\d+))?"
        r"(?:[-‐‑–]?(?:[а-яё]{1,3})\b)?"
        r"(?:[ \u00a0]*(тыс|млн|млрд|миллион\w*|миллиард\w*|тысяч\w*)\.?)?",
        re.IGNORECASE,
    ),
    "date": re.compile(
        r"\b(\d{1,2})(?:[-–]го)?[ \u00a0]+" + numbers._MONTH_RE + r"\b", re.IGNORECASE
    ),
    "time": re.compile(r"\b\d{1,2}(?:[:.]\d{2}\b|[ \u00a0]+час)", re.IGNORECASE),
    "weekday": re.compile(
        r"(?<!\w)(понедельник|вторник|среду|четверг|пятниц|суббот|воскресень)", re.IGNORECASE
    ),
}
_FAST = {
    "number": numbers._NUMBER_RE,
    "date": numbers._DATE_RE,
    "time": numbers._TIME_RE,
    "weekday": features._WEEKDAY_RE,
}
_PIECES = {
    "number": [*"0123456789 \u00a0\u202f.,:/-‐‑–йгомаяеьЙГМ", "тыс", "млн", "а1", "_", "\n"],
    "date": [*"0123456789 \u00a0-–.:", "-го", "марта", "мае", "Мая ", "июня", "ᲀ", "х", "_"],
    "time": [*"0123456789 \u00a0:.", "час", "ЧАС", "часов", "а", "_", "\n"],
    "weekday": [
        *"понедельвтрксучгяцбПВСЧᲀᲃ -_1\n",
        "среду",
        "Среду",
        "пятниц",
        "ВТОРНИК",
        "воскресень",
        "субботу",
        "четверг",
        "понедельник",
    ],
}


def _labelled_texts() -> list[str]:
    texts = []
    for line in _FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            texts.append(" ".join(str(v) for v in json.loads(line).values()))
    return texts


def _matches(
    pattern: re.Pattern[str], text: str
) -> list[tuple[tuple[int, int], tuple[object, ...]]]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


@pytest.mark.parametrize("name", sorted(_PLAIN))
def test_fast_pattern_matches_as_its_plain_spelling(name: str) -> None:
    rng = random.Random(name)
    pieces = _PIECES[name]
    texts = _labelled_texts()
    texts += ["".join(rng.choices(pieces, k=rng.randint(1, 40))) for _ in range(20_000)]
    plain, fast = _PLAIN[name], _FAST[name]
    assert sum(bool(plain.search(t)) for t in texts) > 100  # the random texts do match
    for text in texts:
        assert _matches(fast, text) == _matches(plain, text), text


def test_weekday_first_letters_are_all_that_match_them_ignoring_case() -> None:
    # The fast pattern's first set is case-sensitive: it must hold every character that the
    # plain pattern's first letters match ignoring case.
    first = re.compile("[пвсч]", re.IGNORECASE)
    found = {c for c in map(chr, range(0x3000)) if first.fullmatch(c)}
    assert found == set("ВПСЧвпсч\u1c80\u1c83")


def test_code_gate_passes_every_text_that_holds_a_code() -> None:
    letters = re.compile(numbers._CODE_LETTER)
    plain = re.compile("[а-яёa-z]", re.IGNORECASE)
    assert {c for c in map(chr, range(0x3000)) if plain.fullmatch(c)} == {
        c for c in map(chr, range(0x3000)) if letters.fullmatch(c)
    }
    rng = random.Random("code")
    pieces = [*"тсмнбкeеdaаТСМНБКEЕDAАᲀᲃKſİı0123456789 -‐‑_\n", "мцд", "МЦД-", "т-", "№"]
    texts = _labelled_texts()
    texts += ["".join(rng.choices(pieces, k=rng.randint(1, 30))) for _ in range(20_000)]
    coded = [t for t in texts if numbers._CODE_RE.search(t)]
    assert len(coded) > 100
    assert all(numbers._CODE_GATE_RE.search(t) for t in coded)
