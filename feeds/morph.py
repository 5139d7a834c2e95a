"""Tokenizing and lemmatizing Russian and English text for topic matching (pymorphy3 + Snowball)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pymorphy3
import snowballstemmer

# A word is a run of letters/digits; hyphenated compounds («МЦД-2», «Витязь-М», «e-Largus») stay one
# token, and their parts are extra tokens at the same position, so «МЦД» still matches.
_WORD_RE = re.compile(r"[^\W_]+(?:[-‐‑][^\W_]+)*")
# Sentence punctuation ends a phrase: «…трамвай. Станция…» must not match «трамвайная станция».
_BREAK_RE = re.compile(r"[.!?;:…](?:\s|$)|\n")
_HYPHENS_RE = re.compile(r"[-‐‑]")
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)
# Positions skipped at a sentence break: larger than any phrase gap, so phrases never span one.
_BREAK_GAP = 10


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its surface form as written and its position (for phrase adjacency)."""

    text: str
    pos: int


def fold(word: str) -> str:
    """Lower-case a word and fold ё to е, the way Russian news is inconsistently spelled."""
    return word.lower().replace("ё", "е")


def fold_case_kept(word: str) -> str:
    """Fold ё/Ё to е/Е but keep the case (for case-sensitive acronyms such as «СИМ»)."""
    return word.replace("ё", "е").replace("Ё", "Е")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into word tokens; hyphenated words yield the whole word and then its parts."""
    tokens: list[Token] = []
    pos = 0
    breaks = [m.start() for m in _BREAK_RE.finditer(text)]
    next_break = 0
    for match in _WORD_RE.finditer(text):
        while next_break < len(breaks) and breaks[next_break] < match.start():
            pos += _BREAK_GAP
            next_break += 1
        word = match.group()
        tokens.append(Token(word, pos))
        if _HYPHENS_RE.search(word):
            tokens.extend(Token(part, pos) for part in _HYPHENS_RE.split(word) if part)
        pos += 1
    return tokens


@functools.cache
def _analyzer() -> pymorphy3.MorphAnalyzer:
    # Loading the dictionaries takes ~0.15 s and ~15 MB; they are read-only, so one per process.
    return pymorphy3.MorphAnalyzer(lang="ru")


class Lemmatizer:
    """Maps a word to the set of its possible dictionary forms, with an LRU cache per instance.

    Russian words go through pymorphy3 and keep the normal forms of *all* parses (so «дороги»
    gives both «дорога» and «дорогой»: recall first, the topic's weights and threshold decide).
    Latin words go through the Snowball English stemmer. Every key is folded (lower case, ё→е)
    and the folded surface form is always included.
    """

    def __init__(self, cache_size: int = 200_000) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        # pymorphy3 costs tens of µs per word; news vocabulary repeats a lot, so cache per word.
        self.keys = functools.lru_cache(maxsize=cache_size)(self._keys)

    def _keys(self, word: str) -> frozenset[str]:
        folded = fold(word)
        keys = {folded}
        if _CYRILLIC_RE.search(folded):
            keys.update(fold(parse.normal_form) for parse in _analyzer().parse(folded))
        elif _LATIN_RE.search(folded):
            keys.add(self._stemmer.stemWord(folded))
            if folded.endswith("es"):
                # Snowball leaves «buses» as «buse»: also try the «-es» plural.
                keys.add(self._stemmer.stemWord(folded[:-2]))
        return frozenset(keys)

    def lemma(self, word: str) -> str:
        """The single most likely dictionary form of ``word`` (used for terms in the config)."""
        folded = fold(word)
        if _CYRILLIC_RE.search(folded):
            return fold(_analyzer().parse(folded)[0].normal_form)
        if _LATIN_RE.search(folded):
            return self._stemmer.stemWord(folded)
        return folded
