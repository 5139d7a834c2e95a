"""Numbers, dates and years in Russian news text, normalised so different spellings compare equal.

«2 000-й», «2000-й», «двухтысячный» and «две тысячи» all give ``2000``; «2,5 тыс.» gives
``2500``; «№ 776» gives ``776``; route codes such as «т25» or «с856» stay codes; «21 февраля»
is a date (``21.02``), «в 1966 году» a year, «23:00» a time of day (ignored: outlets round it).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

MONTHS = {
    "январ": 1,
    "феврал": 2,
    "март": 3,
    "апрел": 4,
    "ма": 5,
    "июн": 6,
    "июл": 7,
    "август": 8,
    "сентябр": 9,
    "октябр": 10,
    "ноябр": 11,
    "декабр": 12,
}
_MONTH_RE = (
    r"(январ[ьяе]|феврал[ьяе]|марта?|марте|апрел[ьяе]|ма[йяе]|июн[ьяе]|июл[ьяе]|августа?|"
    r"августе|сентябр[ьяе]|октябр[ьяе]|ноябр[ьяе]|декабр[ьяе])"
)
# A minus sign after a space is a sign («до -20°C», as «минус 20», is 20); after a word or a
# number it is a hyphen («МЦД-2», «10-15»), and what follows is no number of its own.
# A digit run with thousands groups («2 000», «2 570»), a decimal part and an optional
# ordinal or case ending («2000-й», «70-летие» stays 70), then an optional multiplier word.
#
# These three patterns start with the digit itself and test what precedes it by a lookbehind
# that spans the digit («(?<![\w.,:/]\d)» after it is «(?<![\w.,:/])» before it; «(?<!\w\d)»
# after it is «\b» before it): a pattern that starts with a lookbehind or «\b» is tried at every
# position of the text, one that starts with a digit lets the regex engine skip to the next
# digit (~2.5x faster; tests/crawler/stories/test_stories_regexes.py holds each to its
# plain spelling).
_NUMBER_RE = re.compile(
    r"(\d(?<![\w.,:/]\d)(?<![\w.,:/]-\d)(?:\d{0,2}(?:[ \u00a0\u202f]\d{3})+|\d*))"
    r"(?:[.,](\d+))?"
    r"(?:[-‐‑–]?(?:[а-яё]{1,3})\b)?"
    r"(?:[ \u00a0]*(тыс|млн|млрд|миллион\w*|миллиард\w*|тысяч\w*)\.?)?",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"(\d(?<!\w\d)\d?)(?:[-–]го)?[ \u00a0]+" + _MONTH_RE + r"\b", re.IGNORECASE)
_TIME_RE = re.compile(r"\d(?<!\w\d)\d?(?:[:.]\d{2}\b|[ \u00a0]+час)", re.IGNORECASE)
_YEAR_AFTER_RE = re.compile(r"^[-–]?(?:й|го|м)?[ \u00a0]*(?:год|году|года|г\.|гг)", re.IGNORECASE)
_CODE_RE = re.compile(
    r"(?<![\w-])([а-яёa-z]{1,2})[-‐‑]?(\d{1,4})([а-яёa-z]?)(?![\w-])", re.IGNORECASE
)
#: What ``[а-яёa-z]`` matches ignoring case, spelled out (İ, ı, ſ, K and the old rounded
#: Cyrillic letters match too).
_CODE_LETTER = "[A-Za-z\u0130\u0131\u017f\u0401\u0410-\u044f\u0451\u1c80-\u1c86\u212a]"
#: A digit right after a code's letter (or its letter and hyphen): a text without one holds no
#: code. Most texts hold none, and this pattern, starting with a digit, skips from digit to
#: digit; :data:`_CODE_RE` is tried at every letter (~4x the cost).
_CODE_GATE_RE = re.compile(rf"\d(?:(?<={_CODE_LETTER}\d)|(?<={_CODE_LETTER}[-‐‑]\d))")
_MULTIPLIERS = {"тыс": 1000, "тысяч": 1000, "млн": 10**6, "миллион": 10**6}
_MULTIPLIERS.update({"млрд": 10**9, "миллиард": 10**9})
# Letters that start route and line codes («т25», «с856», «м89к», «н8», «мцд2»): a code is one
# or two letters then digits; words like «в 2025» are separated by a space and never match.
_CODE_PREFIXES = {"т", "с", "м", "н", "б", "к", "e", "е", "мцд", "d", "a", "а"}

# Number words by lemma (pymorphy3 normal form): cardinals and ordinals of the units, teens,
# tens and hundreds; thousands and millions multiply what precedes them.
_UNITS = "один два три четыре пять шесть семь восемь девять".split()
_UNIT_ORD = "первый второй третий четвертый пятый шестой седьмой восьмой девятый".split()
_TEENS = (
    "десять одиннадцать двенадцать тринадцать четырнадцать пятнадцать шестнадцать семнадцать "
    "восемнадцать девятнадцать"
).split()
_TEEN_ORD = (
    "десятый одиннадцатый двенадцатый тринадцатый четырнадцатый пятнадцатый шестнадцатый "
    "семнадцатый восемнадцатый девятнадцатый"
).split()
_TENS = "двадцать тридцать сорок пятьдесят шестьдесят семьдесят восемьдесят девяносто".split()
_TEN_ORD = (
    "двадцатый тридцатый сороковой пятидесятый шестидесятый семидесятый восьмидесятый девяностый"
).split()
_HUNDREDS = "сто двести триста четыреста пятьсот шестьсот семьсот восемьсот девятьсот".split()
_HUNDRED_ORD = (
    "сотый двухсотый трехсотый четырехсотый пятисотый шестисотый семисотый восьмисотый девятисотый"
).split()
WORD_VALUES: dict[str, int] = {}
for _i, (_c, _o) in enumerate(zip(_UNITS, _UNIT_ORD, strict=True)):
    WORD_VALUES[_c] = WORD_VALUES[_o] = _i + 1
for _i, (_c, _o) in enumerate(zip(_TEENS, _TEEN_ORD, strict=True)):
    WORD_VALUES[_c] = WORD_VALUES[_o] = _i + 10
for _i, (_c, _o) in enumerate(zip(_TENS, _TEN_ORD, strict=True)):
    WORD_VALUES[_c] = WORD_VALUES[_o] = (_i + 2) * 10
for _i, (_c, _o) in enumerate(zip(_HUNDREDS, _HUNDRED_ORD, strict=True)):
    WORD_VALUES[_c] = WORD_VALUES[_o] = (_i + 1) * 100
WORD_MULTIPLIERS = {"тысяча": 1000, "тысячный": 1000, "миллион": 10**6, "миллионный": 10**6}
# Compound ordinals written as one word: «двухтысячный» = 2 × 1000, «пятитысячный» = 5 × 1000.
_COMPOUND_RE = re.compile(
    r"^(одно|двух|трех|четырех|пяти|шести|семи|восьми|девяти|десяти|ста)"
    r"(тысячный|миллионный)$"
)
_COMPOUND_HEADS = {
    "одно": 1,
    "двух": 2,
    "трех": 3,
    "четырех": 4,
    "пяти": 5,
    "шести": 6,
    "семи": 7,
    "восьми": 8,
    "девяти": 9,
    "десяти": 10,
    "ста": 100,
}


@dataclass(frozen=True)
class NumberFacts:
    """What a text says in numbers: quantities and ordinals, codes, dates and years."""

    numbers: frozenset[str]
    codes: frozenset[str]
    dates: frozenset[str]
    years: frozenset[str]


def _month(word: str) -> int:
    word = word.lower()
    for stem, month in MONTHS.items():
        if word.startswith(stem) and (stem != "ма" or word[:3] in {"май", "мая", "мае"}):
            return month
    return 0


def _scale(word: str | None) -> int:
    if not word:
        return 1
    word = word.lower()
    for stem, value in _MULTIPLIERS.items():
        if word.startswith(stem):
            return value
    return 1


def number_facts(text: str) -> NumberFacts:
    """The normalised numbers, codes, dates and years of ``text`` (digits only; see
    :func:`word_number` for numbers written in words)."""
    text = text.replace("ё", "е").replace("Ё", "Е")
    dates: set[str] = set()
    taken: list[tuple[int, int]] = []
    for m in _DATE_RE.finditer(text):
        month = _month(m.group(2))
        day = int(m.group(1))
        if month and 1 <= day <= 31:
            dates.add(f"{day:02d}.{month:02d}")
            taken.append(m.span(1))
    for m in _TIME_RE.finditer(text):
        taken.append(m.span())
    codes: set[str] = set()
    for m in _CODE_RE.finditer(text) if _CODE_GATE_RE.search(text) else ():
        prefix = m.group(1).lower()
        if prefix in _CODE_PREFIXES:
            codes.add(f"{prefix}{int(m.group(2))}{m.group(3).lower()}")
            taken.append(m.span())
    numbers: set[str] = set()
    years: set[str] = set()
    for m in _NUMBER_RE.finditer(text):
        start = m.start(1)
        if any(a <= start < b for a, b in taken):
            continue
        whole = int(re.sub(r"\D", "", m.group(1)))
        scale = _scale(m.group(3))
        if m.group(2) and scale > 1:
            # «2,5 тыс.» is 2 500: the decimal part only means something with a multiplier.
            value = round((whole + int(m.group(2)) / 10 ** len(m.group(2))) * scale)
        else:
            value = whole * scale
        after = text[m.end(1) : m.end(1) + 12]
        if 1800 <= whole <= 2100 and scale == 1 and _YEAR_AFTER_RE.match(after.lstrip()):
            years.add(str(whole))
            continue
        numbers.add(str(value))
    return NumberFacts(frozenset(numbers), frozenset(codes), frozenset(dates), frozenset(years))


def word_number(lemmas: list[str]) -> int | None:
    """The value of consecutive number-word lemmas («две», «тысяча» → 2000), else None."""
    if len(lemmas) == 1:
        m = _COMPOUND_RE.match(lemmas[0])
        if m:
            return _COMPOUND_HEADS[m.group(1)] * WORD_MULTIPLIERS[m.group(2)]
    total = current = 0
    seen = False
    for lemma in lemmas:
        if lemma in WORD_VALUES:
            current += WORD_VALUES[lemma]
            seen = True
        elif lemma in WORD_MULTIPLIERS:
            total += max(current, 1) * WORD_MULTIPLIERS[lemma]
            current = 0
            seen = True
        else:
            return None
    return total + current if seen else None


@functools.lru_cache(maxsize=65536)
def is_number_word(lemma: str) -> bool:
    """True for a lemma that is (part of) a number written in words (memoized: it is asked
    twice for every word of every fingerprinted article)."""
    return lemma in WORD_VALUES or lemma in WORD_MULTIPLIERS or bool(_COMPOUND_RE.match(lemma))
