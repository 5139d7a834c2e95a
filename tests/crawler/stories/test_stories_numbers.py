"""Numbers in Russian news text (crawler/stories/numbers.py), normalised to compare equal."""

from __future__ import annotations

import pytest

from crawler.stories.numbers import number_facts, word_number


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("на маршрут вышел 2 000-й электробус", {"2000"}),
        ("на маршрут вышел 2000-й электробус", {"2000"}),
        ("в парке 2,5 тыс. электробусов", {"2500"}),
        ("маршрут № 776 и №812", {"776", "812"}),
        ("норма 38 см, рекорд 1966 года — 64 см", {"38", "64"}),
        ("с 23:00 до 18 часов", set()),
    ],
)
def test_numbers_are_normalised(text: str, numbers: set[str]) -> None:
    assert set(number_facts(text).numbers) == numbers


def test_dates_years_and_codes_are_kept_apart_from_quantities() -> None:
    facts = number_facts("С 2 января 2026 года на маршрутах т25 и с856 проезд стоит 75 рублей")
    assert facts.dates == {"02.01"}
    assert facts.years == {"2026"}
    assert facts.codes == {"т25", "с856"}
    assert facts.numbers == {"75"}


@pytest.mark.parametrize(
    ("lemmas", "value"),
    [
        (["двухтысячный"], 2000),
        (["два", "тысяча"], 2000),
        (["два", "тысяча", "пятисотый"], 2500),
        (["пятисотый"], 500),
        (["электробус"], None),
    ],
)
def test_number_words(lemmas: list[str], value: int | None) -> None:
    assert word_number(lemmas) == value


def test_a_minus_after_a_space_is_a_sign_and_after_a_word_a_hyphen() -> None:
    assert number_facts("Пик похолодания до -20°C ожидается в среду").numbers == {"20"}
    assert number_facts("температура приблизится к минус 20").numbers == {"20"}
    assert not number_facts("участок МЦД-2 и 10-15 человек").numbers - {"10"}
