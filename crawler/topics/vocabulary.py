"""The words of every topic's terms, and which of them each word of a text matches."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from itertools import accumulate, compress

from crawler.topics.morph import (
    BREAK_GAP,
    BREAK_STARTS,
    HYPHENS,
    MARK_STARTS,
    Lemmatizer,
    fold,
    fold_case_kept,
    hyphen_parts,
    marked_pieces,
)
from crawler.topics.names import WordTests, name_positions, starts_like_street_word
from crawler.topics.terms import TermWord

__all__ = ["HEAD", "Hits", "TermVocabulary"]

# A word is only sent to the dictionary (pymorphy3, ~0.3 ms per new word) when it could lead to a
# term: its first HEAD letters are those of a term word, or it is a listed irregular form.
HEAD = 3

Hits = dict[int, list[tuple[int, str]]]
"""Hits of one field: matcher id -> (position, surface) in text order."""

# «электро-автобусы», «э-бусы», «е-самокаты»: a short or hyphenated «электро» before a word is
# also read as the joined compound («электроавтобусы», «электробусы», «электросамокаты»).
# A Latin «e-» counts before a Russian word only («e-самокаты»): «e-bus» is an English term.
_ELECTRO_SPELLINGS = frozenset({"электро", "э", "е"})
_ELECTRO = "электро"


def _is_electro_spelling(first: str, rest: str) -> bool:
    folded = fold(first)
    if folded == "e":
        return "а" <= fold(rest[:1]) <= "я"
    return folded in _ELECTRO_SPELLINGS


class TermVocabulary:
    """Every distinct term word of an engine, numbered, and the reading of a text against them.

    :meth:`add` numbers the term words (a "matcher" each) while topics are compiled; :meth:`seal`
    then builds the candidate filter and the word cache, after which :meth:`hits` reads a text.
    The cache is per vocabulary (not per module): what a word matches depends on these terms.
    """

    def __init__(self, lemmatizer: Lemmatizer, cache_size: int) -> None:
        """Start empty; ``cache_size`` bounds the word -> matchers LRU cache."""
        self._lemmatizer = lemmatizer
        self._matcher_ids: dict[TermWord, int] = {}
        self._exact: dict[str, int] = {}
        self._lemma: dict[str, int] = {}
        # Keys of the forms of lemma terms the dictionary does not know (Lemmatizer.guessed_keys).
        self._guessed: dict[str, set[int]] = {}
        self._prefixes: dict[str, int] = {}
        self._prefix_lengths: tuple[int, ...] = ()
        # Filled on first use, after :meth:`seal`; ``cache_info()`` shows how well it serves.
        self.word_matchers = functools.lru_cache(maxsize=cache_size)(self._word_matchers)
        self._words = WordTests(
            keys=lemmatizer.keys,
            is_adjective=functools.lru_cache(maxsize=cache_size)(lemmatizer.is_adjective),
            is_noun=lemmatizer.is_noun,
            may_be_nominative=lemmatizer.may_be_nominative,
            is_given_name=lemmatizer.is_given_name,
            is_vocabulary=self._is_vocabulary,
            is_term_name=self._is_term_name,
        )
        # Matchers of include terms: a word that hits one is some topic's vocabulary, and a
        # quoted name right after it is that thing's («трамвай «Львёнок»»), see names.py.
        self._evidence: set[int] = set()
        self._names: set[int] = set()  # of include term words written with a capital
        # What :meth:`hits` knows of each piece (word, break or mark) it has read: how far it
        # moves the position, and whether it must be visited. Cleared when past the cap.
        self._piece_steps: dict[str, int] = {}
        # The pieces :meth:`hits` visits: a mark or break (None) or what a word hits.
        self._notable_pieces: dict[str, tuple[tuple[int, str], ...] | None] = {}
        # The words read that start like a street word (names.starts_like_street_word).
        self._street_pieces: set[str] = set()
        self._pieces_cap = cache_size

    def add(self, word: TermWord, *, evidence: bool = True, name: bool = False) -> int:
        """The matcher id of a term word, numbering it if new.

        ``evidence``: of an include term (False for an exclude term's word). ``name``: written
        with a capital (Тройка, Иволга, Москвич 3е), a name itself, so a quote holding it after a
        noun is that thing («карта «Тройка»», «модель «Москвич 3е»»), not a name that merely
        contains a term word («ТЦ «Троллейбус»»).
        """
        written = word.value
        if word.kind == "lemma":
            # Terms are written in any form; match on the dictionary form («электробусы» works too).
            word = TermWord("lemma", self._lemmatizer.lemma(word.value))
        if word not in self._matcher_ids:
            mid = len(self._matcher_ids)
            self._matcher_ids[word] = mid
            if word.kind == "exact":
                self._exact[word.value] = mid
            elif word.kind == "lemma":
                self._lemma[word.value] = mid
            else:
                self._prefixes[word.value] = mid
        mid = self._matcher_ids[word]
        if evidence:
            self._evidence.add(mid)
            if name:
                self._names.add(mid)
        if word.kind == "lemma":
            # A word the dictionary does not know: its guessed forms match too, whatever
            # dictionary form pymorphy guesses for each of them.
            for key in self._lemmatizer.guessed_keys(written):
                self._guessed.setdefault(key, set()).add(mid)
        return mid

    def seal(self) -> None:
        """Prepare for reading, once every term word is added."""
        self._prefix_lengths = tuple(sorted({len(p) for p in self._prefixes}))
        self._build_candidate_filter()

    def hits(self, text: str) -> Hits:
        """Where each matcher hits in ``text``: the same words and positions as ``tokenize``.

        A hyphenated word also hits as its parts, and «электро-X», «э-X», «е-X» also as the
        compound «электроX». Words that are part of a name (a quoted work or venue, a street:
        :mod:`crawler.topics.names`) hit nothing.
        """
        text_pieces = marked_pieces(text)
        if not text_pieces:
            return {}
        steps = self._piece_steps
        new = set(text_pieces).difference(steps)
        if new:
            if len(steps) + len(new) > self._pieces_cap:
                steps.clear()
                self._notable_pieces.clear()
                self._street_pieces.clear()
                new = set(text_pieces)
            self._learn_pieces(new)
        # Most words of a text hit nothing and only move the position on: their positions are
        # summed at C speed, and the loop below visits the breaks, marks and hitting words only.
        ends = list(accumulate(map(steps.__getitem__, text_pieces)))
        notable = self._notable_pieces
        hits: Hits = {}
        marks: list[tuple[int, int]] = []  # breaks, quotes, dashes: (index, next word's position)
        candidates: list[tuple[int, int]] = []  # words that hit a term: (index, position)
        capitals: list[tuple[int, int]] = []  # those starting with a capital
        for index in compress(range(len(text_pieces)), map(notable.__contains__, text_pieces)):
            piece = text_pieces[index]
            found = notable[piece]
            if found is None:
                marks.append((index, ends[index]))
                continue
            pos = ends[index] - 1
            for mid, surface in found:
                hits.setdefault(mid, []).append((pos, surface))
            candidates.append((index, pos))
            if piece[0].isupper():
                capitals.append((index, pos))
        if candidates:
            streets = compress(
                range(len(text_pieces)), map(self._street_pieces.__contains__, text_pieces)
            )
            names = name_positions(text_pieces, candidates, marks, self._words, capitals, streets)
            if names:
                hits = _without(hits, names)
        return hits

    def _learn_pieces(self, pieces: Iterable[str]) -> None:
        """Note how far each new piece moves the position, and whether :meth:`hits` must visit it.

        A quote, dash or comma moves it by nothing, a sentence break by :data:`BREAK_GAP`, a word
        by one. The loop visits the marks and the breaks (noted with None) and the words that
        hit a term, noted with what they hit: the (matcher, surface) pairs in the order
        :meth:`piece_hits` gives them.
        """
        steps, notable = self._piece_steps, self._notable_pieces
        for piece in pieces:
            if piece[0] in MARK_STARTS:
                steps[piece] = 0
                notable[piece] = None
            elif piece[0] in BREAK_STARTS:
                steps[piece] = BREAK_GAP
                notable[piece] = None
            else:
                steps[piece] = 1
                if starts_like_street_word(piece):
                    self._street_pieces.add(piece)
                found = self.piece_hits(piece)
                if found:
                    notable[piece] = found

    def piece_hits(self, piece: str) -> tuple[tuple[int, str], ...]:
        """What one word hits, as (matcher, surface) pairs in order: the word's matchers, then
        those of each of its hyphen parts («МЦД-3»; not an acronym before a lower-case word,
        «СИМ-карта»), then those of its «электро» compound («э-бусы» → «электробусы»), the last
        with the word as the surface. Only the piece decides them, so :meth:`hits` notes them
        once per piece."""
        matchers = self.word_matchers
        found = [(mid, piece) for mid in matchers(piece)]
        if HYPHENS[0] in piece or HYPHENS[1] in piece or HYPHENS[2] in piece:
            parts = hyphen_parts(piece)
            # «СИМ-карта», «ПИН-код»: an acronym before a hyphen and a lower-case word is
            # part of a compound noun, not the acronym on its own («МЦД-3» still is).
            if _is_acronym_compound(parts):
                parts = parts[1:]
            for part in parts:
                found.extend((mid, part) for mid in matchers(part))
            if len(parts) == 2 and _is_electro_spelling(parts[0], parts[1]):
                found.extend((mid, piece) for mid in matchers(_ELECTRO + parts[1].lower()))
        return tuple(found)

    # -- internals

    def _is_vocabulary(self, word: str) -> bool:
        """Whether ``word`` (or a part of it, «МЦД-2») hits an include term of some topic."""
        return self._hits_any(word, self._evidence)

    def _is_term_name(self, word: str) -> bool:
        """Whether ``word`` (or a part of it) hits an include term word written with a capital."""
        return self._hits_any(word, self._names)

    def _hits_any(self, word: str, matchers: set[int]) -> bool:
        words = [word, *hyphen_parts(word)] if any(h in word for h in HYPHENS) else [word]
        return any(not matchers.isdisjoint(self.word_matchers(w)) for w in words)

    def _build_candidate_filter(self) -> None:
        """Collect what :meth:`_may_match` needs: term heads and irregular forms of lemma terms."""
        self._form_prefixes = self._lemmatizer.form_prefixes()
        values = [*self._lemma, *self._guessed, *self._prefixes]
        self._heads = frozenset(v[:HEAD] for v in values)
        self._head_lengths = tuple(sorted({min(len(v), HEAD) for v in values}))
        # Forms of a lemma term that do not start like it («шел» for «идти», «лучше» for
        # «хороший»): the dictionary knows them all, so list them instead of analysing every word.
        self._irregular = frozenset(
            form
            for lemma in self._lemma
            for form in self._lemmatizer.forms(lemma)
            if not self._has_term_head(form)
        )

    def _has_term_head(self, folded: str) -> bool:
        for start in ("", *self._form_prefixes):
            if not folded.startswith(start):
                continue
            rest = folded[len(start) :]
            if self._starts_like_term(rest):
                return True
            # A fleeting vowel inside the head («окон» ← «окно», «сестер» ← «сестра»).
            for i in range(1, HEAD):
                if rest[i : i + 1] in ("о", "е"):
                    if self._starts_like_term(rest[:i] + rest[i + 1 :]):
                        return True
        return False

    def _starts_like_term(self, folded: str) -> bool:
        return any(folded[:n] in self._heads for n in self._head_lengths)

    def _may_match(self, folded: str) -> bool:
        """Whether a dictionary form of this (folded, Cyrillic) word could match a term.

        pymorphy3 builds a dictionary form by changing a word's ending, by dropping a comparative
        «по-» or superlative «наи-», by a fleeting vowel, or, in a few irregular paradigms, by a
        different stem. So a word that does not start with the first :data:`HEAD` letters of a
        term word (after those prefixes, less one fleeting о/е) and is not an irregular form of a
        lemma term cannot match one; only its folded surface form is tried. Checked against
        analysing every word over ~75,000 words (real texts, dictionary forms, made-up compounds):
        no difference.
        """
        return folded in self._irregular or self._has_term_head(folded)

    def _word_matchers(self, word: str) -> tuple[int, ...]:
        ids: set[int] = set()
        exact = self._exact.get(fold_case_kept(word))
        if exact is not None:
            ids.add(exact)
        folded = fold(word)
        if folded.isascii() or self._may_match(folded):
            keys: Iterable[str] = self._lemmatizer.keys(word)
        else:
            keys = (folded,)
        for key in keys:
            mid = self._lemma.get(key)
            if mid is not None:
                ids.add(mid)
            guessed = self._guessed.get(key)
            if guessed is not None:
                ids.update(guessed)
            # One look-up per prefix length, not one comparison per prefix term.
            for n in self._prefix_lengths:
                mid = self._prefixes.get(key[:n])
                if mid is not None:
                    ids.add(mid)
        return tuple(sorted(ids))


def _is_acronym_compound(parts: list[str]) -> bool:
    """Whether hyphenated ``parts`` are an acronym and a lower-case word: «СИМ-карт»."""
    if len(parts) < 2:
        return False
    acronym, word = parts[0], parts[1]
    return len(acronym) >= 2 and acronym.isalpha() and acronym.isupper() and word[0].islower()


def _without(hits: Hits, positions: set[int]) -> Hits:
    kept: Hits = {}
    for mid, found in hits.items():
        rest = [(p, surface) for p, surface in found if p not in positions]
        if rest:
            kept[mid] = rest
    return kept
