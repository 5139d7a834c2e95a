"""The term syntax of a topic's include/exclude entries: words, ``prefix*``, ACRONYMS, ``a ~ b``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from crawler.topics.morph import fold, fold_case_kept

__all__ = ["MIN_PREFIX", "NEAR", "NEAR_WINDOW", "TermWord", "is_near_term", "parse_term"]

MIN_PREFIX = 3
NEAR = "~"
# «a ~ b»: the two words at most this many words apart, in either order. Less than the gap a
# sentence break leaves (morph.BREAK_GAP), so both words are in one sentence: «машин … должны
# стать электрическими» is a window of six.
NEAR_WINDOW = 6
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


def is_near_term(term: str) -> bool:
    """Whether ``term`` is ``a ~ b``: two words near each other rather than a phrase."""
    return NEAR in term.split()


def parse_term(term: str) -> tuple[TermWord, ...]:
    """Parse a config term (one word, a phrase or ``a ~ b``) into its words.

    ``a ~ b`` matches ``a`` and ``b`` within :data:`NEAR_WINDOW` words of each other in either
    order («электрический ~ машина» ← «машин … должны стать электрическими»); a phrase matches
    its words in order, next to each other. Raise ValueError if malformed.
    """
    words = term.split()
    if not words:
        raise ValueError("empty term")
    if NEAR in words:
        if len(words) != 3 or words[1] != NEAR:
            raise ValueError(f"a near term is two words around {NEAR!r}: 'a {NEAR} b'")
        words = [words[0], words[2]]
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
