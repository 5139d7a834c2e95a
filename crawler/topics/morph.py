"""Tokenizing and lemmatizing Russian and English text for topic matching (pymorphy3 + Snowball)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pymorphy3
import snowballstemmer

# A word is a run of letters/digits; hyphenated compounds («МЦД-2», «Витязь-М», «e-Largus») stay one
# token, and their parts are extra tokens at the same position, so «МЦД» still matches.
_WORD = r"[^\W_]+(?:[-‐‑][^\W_]+)*"
# Sentence punctuation ends a phrase: «…трамвай. Станция…» must not match «трамвайная станция».
_BREAK = r"[.!?;:…](?:\s|$)|\n"
# Words and breaks in one pass: neither can contain the other's characters, so one scan finds
# exactly what two would, at half the cost (the regex engine is the bulk of reading a text).
_PIECE_RE = re.compile(f"{_WORD}|{_BREAK}")
# The same, plus the marks that delimit a name: quotes («Трамвай «Желание»»), a dash between
# spaces («Электричка — новый бар») and a comma before a quote, which parts a quotation from the
# noun before it («по словам мэра, «трамваи…»»; other commas are no piece: they are frequent and
# mean nothing here). Only the topic engine reads them (see crawler.topics.names).
# The spaced dash is spelled to start with the dash, its lookbehind after it spanning it (as
# ``(?<!\S)[—–-](?!\S)`` before it): the regex engine skips a branch at once when its first
# character cannot match, but tries a leading lookbehind at every position (tests hold the
# two spellings equal).
_MARK = r"[«»„“”\"]|,(?=\s*[«„“\"])|[—–-](?<!\S.)(?!\S)"
_MARKED_PIECE_RE = re.compile(f"{_WORD}|{_BREAK}|{_MARK}")
MARK_STARTS = frozenset('«»„“”"—–-,')
"""A piece from :func:`marked_pieces` that starts with one of these is a quote, a dash or a comma
before a quote."""
HYPHENS = "-‐‑"
_HYPHENS_RE = re.compile(f"[{HYPHENS}]")
BREAK_STARTS = frozenset(".!?;:…\n")
"""A piece from :func:`pieces` that starts with one of these is a sentence break, not a word."""
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)
# Positions skipped at a sentence break: larger than any phrase gap, so phrases never span one.
BREAK_GAP = 10


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


# The same two patterns, faster for a text without «_», where ``\w`` is ``[^\W_]`` (a word
# character that is no underscore: underscores are not alphanumeric): one category test per
# character instead of a negated set of two. And each starts with one character from
# ``[\S\n]`` (every piece starts with one), then tells the branch by a lookbehind on it: a
# pattern starting with a set lets the regex engine skip to the next character in it instead
# of trying every branch at every space. Tests hold them to the plain spellings.
_FAST_WORD = r"(?<=\w)\w*(?:[-‐‑]\w+)*"
_FAST_BREAK = r"(?<=[.!?;:…])(?:\s|$)|(?<=\n)"
_FAST_MARK = r"(?<=[«»„“”\"])|(?<=,)(?=\s*[«„“\"])|(?<=[—–-])(?<!\S.)(?!\S)"
_FAST_PIECE_RE = re.compile(rf"[\S\n](?:{_FAST_WORD}|{_FAST_BREAK})")
_FAST_MARKED_PIECE_RE = re.compile(rf"[\S\n](?:{_FAST_WORD}|{_FAST_BREAK}|{_FAST_MARK})")


def pieces(text: str) -> list[str]:
    """The words and sentence breaks of ``text`` in order (breaks start with a BREAK_STARTS char).

    Hyphenated compounds are one piece; :func:`hyphen_parts` splits them.
    """
    if "_" in text:
        return _PIECE_RE.findall(text)
    return _FAST_PIECE_RE.findall(text)


def marked_pieces(text: str) -> list[str]:
    """:func:`pieces`, plus quotes, spaced dashes and commas before a quote as pieces of their own
    (MARK_STARTS)."""
    if "_" in text:
        return _MARKED_PIECE_RE.findall(text)
    return _FAST_MARKED_PIECE_RE.findall(text)


def hyphen_parts(word: str) -> list[str]:
    """The parts of a hyphenated word («МЦД-2» → «МЦД», «2»)."""
    return [part for part in _HYPHENS_RE.split(word) if part]


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into word tokens; hyphenated words yield the whole word and then its parts.

    Positions count words; a sentence break adds :data:`BREAK_GAP`. The topic engine walks the
    same :func:`pieces` without building tokens, so the two agree.
    """
    tokens: list[Token] = []
    pos = 0
    for piece in pieces(text):
        if piece[0] in BREAK_STARTS:
            pos += BREAK_GAP
            continue
        tokens.append(Token(piece, pos))
        if _HYPHENS_RE.search(piece):
            tokens.extend(Token(part, pos) for part in hyphen_parts(piece))
        pos += 1
    return tokens


@functools.cache
def _analyzer() -> pymorphy3.MorphAnalyzer:
    # Loading the dictionaries takes ~0.15 s and ~15 MB; they are read-only, so one per process.
    return pymorphy3.MorphAnalyzer(lang="ru")


#: Words whose readings :func:`parse_word` remembers. A worker tags an article, then
#: fingerprints it: both ask about the same new words (the fingerprint's lemma of a word the
#: names' tests read, a place's neighbour it lemmatized), and each asked pymorphy3 again
#: (~0.5-1 M instructions a word: its dictionary walk is pure Python). Their own caches keep
#: what they derive; this one only spans the asking about one article, so it stays small.
PARSE_CACHE = 4096


@functools.lru_cache(maxsize=PARSE_CACHE)
def parse_word(folded: str) -> tuple[pymorphy3.analyzer.Parse, ...]:
    """pymorphy3's readings of a folded word, likeliest first, remembered (see PARSE_CACHE)."""
    return tuple(_analyzer().parse(folded))


def preload_dictionaries() -> None:
    """Load the dictionaries now: a process that forks workers shares them (see preloaded.py)."""
    _analyzer()


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
            keys.update(fold(parse.normal_form) for parse in parse_word(folded))
        elif _LATIN_RE.search(folded):
            keys.add(self._stemmer.stemWord(folded))
            if folded.endswith("es"):
                # Snowball leaves «buses» as «buse»: also try the «-es» plural.
                keys.add(self._stemmer.stemWord(folded[:-2]))
        return frozenset(keys)

    def forms(self, lemma: str) -> frozenset[str]:
        """Every folded form of the dictionary words whose dictionary form is ``lemma``.

        «идти» gives «шел» and «пошел» too: the topic engine uses this to know which words can
        lead to a term without starting like it.
        """
        folded = fold(lemma)
        if not _CYRILLIC_RE.search(folded):
            return frozenset({folded})
        found = {folded}
        for parse in parse_word(folded):
            if fold(parse.normal_form) == folded:
                found.update(fold(form.word) for form in parse.lexeme)
        return frozenset(found)

    def guessed_keys(self, word: str) -> frozenset[str]:
        """For a Russian word the dictionary does not know, the keys its forms can have.

        pymorphy3 guesses such a word's dictionary form from its ending, and guesses differ
        between forms of one word: «велобайк» stays «велобайк», «велобайки» becomes
        «велобайка», «велобайков» stays «велобайков». So the term is given every form of its
        guessed paradigms (of the word as written and of its lemma) with each form's guessed
        dictionary forms. Keys the dictionary knows are left out: a word it knows has a
        lexeme of its own and is never taken for a form of an unknown one (no new false
        friends). Empty for a known or non-Russian word: the dictionary's keys suffice.
        """
        folded = fold(word)
        analyzer = _analyzer()
        if not _CYRILLIC_RE.search(folded) or analyzer.word_is_known(folded):
            return frozenset()
        forms: set[str] = set()
        for start in {folded, self.lemma(folded)}:
            for parse in analyzer.parse(start):
                forms.update(fold(form.word) for form in parse.lexeme)
        keys = set(forms)
        for form in forms:
            keys.update(fold(parse.normal_form) for parse in analyzer.parse(form))
        return frozenset(k for k in keys if not analyzer.word_is_known(k))

    @staticmethod
    def form_prefixes() -> tuple[str, ...]:
        """Prefixes the dictionary strips from forms (comparative «по-», superlative «наи-»)."""
        return tuple(sorted(fold(p) for p in _analyzer().dictionary.paradigm_prefixes if p))

    def is_adjective(self, word: str) -> bool:
        """Whether pymorphy3's likeliest reading of ``word`` is a full adjective or participle."""
        parses = parse_word(fold(word))
        return bool(parses) and parses[0].tag.POS in _ADJECTIVES

    def is_noun(self, word: str) -> bool:
        """Whether pymorphy3's likeliest reading of ``word`` is a noun (not «стали» ← стать)."""
        return _is_noun(fold(word))

    def may_be_nominative(self, word: str) -> bool:
        """Whether ``word`` can be in the nominative: some reading is, or no reading has a case
        (a preposition, a number, a Latin word). «Трамвайный», «Ласточки» can; «Ласточек»,
        «Москвича» cannot."""
        return _may_be_nominative(fold(word))

    def is_given_name(self, word: str) -> bool:
        """Whether some reading of ``word`` is a first name (Никола, Николы, Иван)."""
        return _is_given_name(fold(word))

    def agrees(self, adjective: str, noun: str) -> bool:
        """Whether ``adjective`` can modify ``noun``: some two readings share case and number
        (and gender in the singular), or form «два электрических судна» (a numeral's genitive).

        A noun with no Russian reading (a Latin name) cannot be checked and agrees.
        """
        return _agrees(fold(adjective), fold(noun))

    def is_predicative(self, adjective: str) -> bool:
        """Whether ``adjective`` can be a predicate after its noun: short («электрические» no,
        «электрическ» in ADJS) or instrumental («станут электрическими»)."""
        return _is_predicative(fold(adjective))

    def lemma(self, word: str) -> str:
        """The single most likely dictionary form of ``word`` (used for terms in the config)."""
        folded = fold(word)
        if _CYRILLIC_RE.search(folded):
            return fold(parse_word(folded)[0].normal_form)
        if _LATIN_RE.search(folded):
            return self._stemmer.stemWord(folded)
        return folded


#: Tags of adjectives that describe rather than name (новая, первая, эта): such a word
#: capitalised at a sentence's start before «улицу» is no street's name.
_COMMON_ADJECTIVE_TAGS = frozenset({"Qual", "Anum", "Apro"})


@functools.lru_cache(maxsize=65536)
def may_name_a_place(word: str) -> bool:
    """Whether a Russian ``word`` can be a place's name: a geographical name (Арбат, Тверская)
    or a relational adjective (Мясницкая, Профсоюзная, Кутузовский), not a qualitative,
    ordinal or pronoun adjective (Новая, Первая, Эта) nor a common noun (Жители)."""
    folded = fold(word)
    if not _CYRILLIC_RE.search(folded):
        return False
    for parse in parse_word(folded):
        tag = parse.tag
        if "Geox" in tag or (tag.POS == "ADJF" and not _COMMON_ADJECTIVE_TAGS & tag.grammemes):
            return True
    return False


_ADJECTIVES = frozenset({"ADJF", "PRTF"})
# pymorphy3's second genitive/locative/accusative are forms of the main cases for agreement.
_CASES = {"gen1": "gent", "gen2": "gent", "loc1": "loct", "loc2": "loct", "acc2": "accs"}


def _grammemes(word: str, parts: frozenset[str]) -> list[tuple[str, str, str | None]]:
    """(case, number, gender) of each reading of ``word`` whose part of speech is in ``parts``."""
    found = []
    for parse in parse_word(word):
        tag = parse.tag
        if tag.POS in parts and tag.case and tag.number:
            case, number = str(tag.case), str(tag.number)
            gender = None if tag.gender is None else str(tag.gender)
            found.append((_CASES.get(case, case), number, gender))
    return found


@functools.lru_cache(maxsize=4096)
def _agrees(adjective: str, noun: str) -> bool:
    nouns = _grammemes(noun, frozenset({"NOUN"}))
    if not nouns:
        return not _CYRILLIC_RE.search(noun)
    for case, number, gender in _grammemes(adjective, _ADJECTIVES):
        for n_case, n_number, n_gender in nouns:
            if case == n_case and number == n_number:
                if number == "plur" or gender is None or n_gender in (None, gender):
                    return True
            # «два электрических судна», «две электрические машины»: the numeral governs both.
            if number == "plur" and n_number == "sing" and n_case == "gent":
                if case in ("gent", "nomn", "accs"):
                    return True
    return False


@functools.lru_cache(maxsize=65536)
def _is_noun(word: str) -> bool:
    parses = parse_word(word)
    return bool(parses) and parses[0].tag.POS == "NOUN"


@functools.lru_cache(maxsize=65536)
def _may_be_nominative(word: str) -> bool:
    cases = {parse.tag.case for parse in parse_word(word)} - {None}
    return not cases or "nomn" in cases


@functools.lru_cache(maxsize=65536)
def _is_given_name(word: str) -> bool:
    return any("Name" in parse.tag for parse in parse_word(word))


@functools.lru_cache(maxsize=4096)
def _is_predicative(adjective: str) -> bool:
    return any(
        parse.tag.POS == "ADJS" or (parse.tag.POS in _ADJECTIVES and parse.tag.case == "ablt")
        for parse in parse_word(adjective)
    )
