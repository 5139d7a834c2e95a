"""The term syntax of a topic's include/exclude entries: words, ``prefix*`` and ACRONYMS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from crawler.topics.morph import fold, fold_case_kept

__all__ = ["MIN_PREFIX", "TermWord", "parse_term"]

MIN_PREFIX = 3
_WORD_RE = re.compile(r"[^\W_]+(?:[-‐‑][^\W_]+)*")


@dataclass(frozen=True, slots=True)
class TermWord:
    """One word of an include/exclude term and how it matches a token.

    ``lemma``: any dictionary form of the token equals the word's dictionary form.
    ``prefix`` (written ``word*``): the folded token or one of its dictionary forms starts with it,
    which is how compounds match («электромобил*» ← «электромобилестроения»).
    ``exact`` (an all-capitals acronym such as «СИМ» or «КАМАЗ-6282»): the token as written,
    case-sensitively, so «сим-карта» is not «СИМ».
    """

    kind: Literal["lemma", "prefix", "exact"]
    value: str


def parse_term(term: str) -> tuple[TermWord, ...]:
    """Parse a config term (one word or a phrase) into its words; raise ValueError if malformed."""
    words = term.split()
    if not words:
        raise ValueError("empty term")
    parsed: list[TermWord] = []
    for word in words:
        body = word[:-1] if word.endswith("*") else word
        if not _WORD_RE.fullmatch(body):
            raise ValueError(f"{word!r} is not a word (letters, digits, inner hyphens, optional *)")
        if word.endswith("*"):
            if len(body) < MIN_PREFIX:
                raise ValueError(f"prefix {word!r} is shorter than {MIN_PREFIX} characters")
            parsed.append(TermWord("prefix", fold(body)))
        elif _is_acronym(body):
            parsed.append(TermWord("exact", fold_case_kept(body)))
        else:
            parsed.append(TermWord("lemma", fold(body)))
    return tuple(parsed)


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)
