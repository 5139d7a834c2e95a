"""The term syntax: lemma words, ``prefix*`` words, case-sensitive ACRONYMS, phrases."""

from __future__ import annotations

import pytest

from crawler.topics.terms import TermWord, parse_term


def test_parse_term_kinds() -> None:
    kinds = [(w.kind, w.value) for w in parse_term("зарядн* станция ЭЗС")]
    assert kinds == [("prefix", "зарядн"), ("lemma", "станция"), ("exact", "ЭЗС")]


def test_words_are_folded_but_acronyms_keep_their_case() -> None:
    assert parse_term("Ёлка") == (TermWord("lemma", "елка"),)
    assert parse_term("КАМАЗ-6282") == (TermWord("exact", "КАМАЗ-6282"),)
    # One capital letter is not an acronym: «Москва» is a word like any other.
    assert parse_term("Москва") == (TermWord("lemma", "москва"),)


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("", "empty term"),
        ("   ", "empty term"),
        ("эл*", "shorter than 3"),
        ("трам*вай", "is not a word"),
        ("электро_бус", "is not a word"),
        ("-бус", "is not a word"),
    ],
)
def test_malformed_terms_are_refused(term: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_term(term)
