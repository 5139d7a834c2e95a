"""An article's fingerprint for story matching: content lemmas, numbers, dates, places, names."""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import weakref
from dataclasses import dataclass, fields
from itertools import compress
from typing import Any

import snowballstemmer

from crawler.stories.numbers import is_number_word, number_facts, word_number
from crawler.topics.morph import BREAK_STARTS, Lemmatizer, may_name_a_place, pieces

#: How much of the body text joins title and lead in a fingerprint: the first paragraphs carry
#: the event; the rest is background that every outlet words differently.
TEXT_CHARS = 1200

# Function words and the vocabulary of every Moscow city report: they say nothing about which
# event a report is about, and would make any two reports look alike.
STOPWORDS = frozenset(
    """
    а без более бы был быть в во вот все всего вы где да для до его ее если есть еще же за и из
    или им их к как когда кто ли либо между мы на над не нет ни но о об около от по под после
    при про раз с со так также там то тот только у уже чем что чтобы эта это этот я он она они
    оно свой который весь наш ваш сам себя мочь год день время ранее сегодня теперь сейчас
    москва московский столица столичный город городской горожанин москвич россия российский
    мэр собянин сергей семенович сообщить сообщать рассказать заявить отметить подчеркнуть
    добавить написать говориться сказать пресс-служба пресс служба департамент ведомство
    телеграм-канал telegram канал мессенджер max новость подробно эфир телеканал программа
    """.split()
)
_PLACE_WORDS = frozenset(
    """
    улица проспект шоссе переулок бульвар площадь набережная проезд тупик аллея вал мост
    станция метро платформа район парк сквер поселение округ депо вокзал кольцо
    """.split()
)
# What happens to a report's object, by phase: a rink's assembly and its opening, a tree's trip
# and its presentation are the same place and object on neighbouring days, told with different
# verbs. The headline's phases are evidence: two headlines that each name some and share none
# report different events (read in the headline and the lead's first sentence only — further
# down, reports recall earlier phases).
EVENT_PHASES: dict[str, str] = {
    **dict.fromkeys(
        "монтаж монтировать смонтировать строительство строить построить возвести "
        "возведение".split(),
        "build",
    ),
    **dict.fromkeys("демонтаж демонтировать".split(), "dismantle"),
    **dict.fromkeys("открытие открыть открыться заработать запуск запустить".split(), "open"),
    **dict.fromkeys(
        "закрытие закрыть закрыться закрытый приостановить перекрыть перекрытие".split(), "close"
    ),
    **dict.fromkeys(
        "отправить отправка доставить доставка привезти отвезти перевезти перевозить "
        "прибыть".split(),
        "deliver",
    ),
    **dict.fromkeys("презентация презентовать представить".split(), "present"),
}
_QUOTED_RE = re.compile(r"[«\"“„]([^»\"”“]{2,60})[»\"”]")
# A window's index holds thousands of fingerprints, most of whose sets are empty (216 bytes
# each): they share this one.
_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fingerprint:
    """What story matching compares: all sets of folded lemmas or normalised values.

    ``lemmas`` are the content lemmas of title, lead and the start of the text; ``numbers``
    quantities and ordinals of 10 and more («2 000-й» and «двухтысячный» are both ``2000``);
    ``head_numbers`` those of the title and the lead's first sentence; ``codes`` route and line
    codes («т25»); ``dates`` day.month; ``events`` the phases of :data:`EVENT_PHASES` the
    title and the lead's first sentence name; ``head_counts`` their small numbers (2-9:
    «восемь маршрутов», «8 маршрутов»), evidence for, never against; ``places`` the names next
    to a place word (street, station, district...); ``names`` capitalised words and quoted
    names (Snowball stems, see :func:`stem_name`); ``weekdays`` the days of the week named;
    ``head_lemmas`` the content lemmas of the title and the lead's first sentence, a sorted
    tuple (a frozenset of ~15 words costs ~1 KB per member of the index, a tuple ~0.2 KB; only
    a few lemmas per pair are looked up in it).
    """

    lemmas: frozenset[str]
    numbers: frozenset[str]
    codes: frozenset[str]
    dates: frozenset[str]
    places: frozenset[str]
    names: frozenset[str]
    head_numbers: frozenset[str] = _EMPTY
    events: frozenset[str] = _EMPTY
    head_counts: frozenset[str] = _EMPTY
    weekdays: frozenset[str] = _EMPTY
    head_lemmas: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "head_lemmas":
                object.__setattr__(self, f.name, tuple(sorted(self.head_lemmas)))
            elif not getattr(self, f.name):
                object.__setattr__(self, f.name, _EMPTY)

    def to_json(self) -> dict[str, list[str]]:
        """A JSON-able dict (sorted lists), as stored with each story member."""
        return {name: sorted(getattr(self, name)) for name in _FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint:
        """The fingerprint :meth:`to_json` gave. Its words are interned: the members read from
        the store share one copy of each lemma, as those fingerprinted in the process share the
        lemmatizer's."""
        values: dict[str, Any] = {
            name: frozenset(map(sys.intern, data.get(name, ()))) for name in _SET_FIELDS
        }
        values["head_lemmas"] = tuple(map(sys.intern, data.get("head_lemmas", ())))
        return cls(**values)


#: Every field, stored by :meth:`Fingerprint.to_json` (a member read back from the store must
#: verify as the one fingerprinted in the process: ``weekdays`` was once left out). Members
#: stored before a field existed read it back empty.
_FIELDS = tuple(f.name for f in fields(Fingerprint))
#: The fields held as frozensets (``head_lemmas`` is a sorted tuple).
_SET_FIELDS = tuple(name for name in _FIELDS if name != "head_lemmas")
#: Numbers below this are wording («два электробуса», «4-му диаметру»), not an event's identity.
MIN_NUMBER = 10


def _first_sentence(text: str) -> str:
    m = re.search(r"[.!?…](?:\s|$)", text)
    return text[: m.end()] if m else text


#: A tag written in a text («Хакеры вставили <script>alert(1)</script>», a hostile headline):
#: its words are no report's words, and two headlines sharing them joined unrelated reports.
_MARKUP_RE = re.compile(
    r"<(script|style)\b[^<>]*>.*?</\1\s*>|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", re.I | re.S
)


def _without_markup(value: str) -> str:
    return _MARKUP_RE.sub(" ", value) if "<" in value else value


def fingerprint(title: str, lead: str, text: str, lemmatizer: Lemmatizer) -> Fingerprint:
    """The fingerprint of an article from its title, lead (summary) and body text, tags
    written in them left out."""
    title, lead, text = _without_markup(title), _without_markup(lead), _without_markup(text)
    body = text[:TEXT_CHARS]
    if not lead:
        lead, body = _first_sentence(body), body[len(_first_sentence(body)) :]
    head_text = f"{title}\n{_first_sentence(lead)}" if title else _first_sentence(lead)
    full = f"{title}\n{lead}\n{body}"
    lemmas, names, places, word_numbers = _read(full, lemmatizer)
    head_lemmas, _, _, head_words = _read(head_text, lemmatizer)
    facts = number_facts(full)
    head_facts = number_facts(head_text)
    for quoted in _QUOTED_RE.findall(full):
        names.update(
            lemmatizer.lemma(w) for w in pieces(quoted) if w[0] not in BREAK_STARTS and len(w) > 2
        )
    return Fingerprint(
        lemmas=frozenset(lemmas),
        numbers=_big(facts.numbers | word_numbers),
        codes=facts.codes,
        dates=facts.dates,
        places=frozenset(places),
        names=frozenset(stem_name(n) for n in names - STOPWORDS),
        weekdays=frozenset(m.lower() for m in _WEEKDAY_RE.findall(full)),
        head_numbers=_big(head_facts.numbers | head_words),
        events=frozenset(EVENT_PHASES[w] for w in head_lemmas if w in EVENT_PHASES),
        head_counts=frozenset(
            n for n in head_facts.numbers | head_words if 2 <= int(n) < MIN_NUMBER
        ),
        head_lemmas=tuple(head_lemmas),
    )


#: Days of the week: «в среду» dates an event as «16 февраля» does (evidence for only: one
#: report's weekday and another's date cannot be compared). «Среда» is read only as «среду»
#: («в среду», «на среду»): its other forms are as often the environment («городская среда»).
#: Spelled to start with a set of plain characters, so that the regex engine skips to the
#: next one of them instead of trying the match at every position (~2x faster), as
#: ``(?<!\w)(понедельник|вторник|среду|четверг|пятниц|суббот|воскресень)`` (ignoring case)
#: matches (tests/crawler/stories/test_stories_regexes.py holds the two equal): the first
#: letter of each name is read by a lookbehind after it, and ᲀ, ᲃ are the old rounded в and
#: с that match them ignoring case.
_WEEKDAY_RE = re.compile(
    r"((?-i:[ВПСЧвпсч\u1c80\u1c83])(?<!\w.)"
    r"(?:(?<=п)онедельник|(?<=в)торник|(?<=с)реду|(?<=ч)етверг|(?<=п)ятниц|(?<=с)уббот"
    r"|(?<=в)оскресень))",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=65536)
def stem_name(word: str) -> str:
    """A name's Snowball stem: pymorphy3 guesses unknown surnames and places by their endings,
    so one name in two cases can give two lemmas («Леус», «Леуса»; «Фобос», «фобосой»)."""
    return _STEMMER.stemWord(word)


_STEMMER = snowballstemmer.stemmer("russian")


def _big(numbers: set[str] | frozenset[str]) -> frozenset[str]:
    return frozenset(n for n in numbers if int(n) >= MIN_NUMBER)


class _CachedLemmas(Lemmatizer):
    """A lemmatizer that remembers each word's lemma: pymorphy3 costs ~0.3 ms per word, and a
    news stream repeats most of its vocabulary."""

    def __init__(self, cache_size: int = 200_000) -> None:
        super().__init__(cache_size)
        self.lemma = functools.lru_cache(maxsize=cache_size)(super().lemma)  # type: ignore[method-assign]


@dataclass(frozen=True)
class Precomputed:
    """A fingerprint computed ahead (by an extraction worker), and a digest of what it read."""

    inputs: bytes
    fingerprint: Fingerprint


def inputs_digest(title: str, lead: str, text: str) -> bytes:
    """A digest of what :func:`fingerprint` reads of an article (the text's first
    :data:`TEXT_CHARS` only): a fingerprint computed ahead holds for the article while equal."""
    read = "\x00".join((title, lead, text[:TEXT_CHARS])).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(read, digest_size=16).digest()


class Fingerprinter:
    """Fingerprints articles with one lemmatizer (and its word cache) kept between calls."""

    def __init__(self, cache_size: int = 200_000) -> None:
        """``cache_size``: the word forms whose lemma the lemmatizer remembers."""
        self.lemmatizer: Lemmatizer = _CachedLemmas(cache_size)

    def __call__(self, title: str, lead: str, text: str) -> Fingerprint:
        """The fingerprint of an article (see :func:`fingerprint`)."""
        return fingerprint(title, lead, text, self.lemmatizer)

    def ahead(self, title: str, lead: str, text: str) -> Precomputed:
        """The fingerprint of an article, computed ahead for :meth:`of`."""
        return Precomputed(inputs_digest(title, lead, text), self(title, lead, text))

    def of(self, title: str, lead: str, text: str, ahead: Precomputed | None) -> Fingerprint:
        """The fingerprint of an article: ``ahead``'s when it read these same fields (its words
        interned, as this lemmatizer's are shared), else computed now."""
        return self.read(title, lead, text, ahead)[0]

    def read(
        self, title: str, lead: str, text: str, ahead: Precomputed | None
    ) -> tuple[Fingerprint, dict[str, list[str]] | None]:
        """:meth:`of`, and the JSON form ``ahead``'s went through when it was used (None when
        computed now): the store keeps it for the member's row instead of making it again."""
        if ahead is None or ahead.inputs != inputs_digest(title, lead, text):
            return self(title, lead, text), None
        stored = ahead.fingerprint.to_json()
        return Fingerprint.from_json(stored), stored


class _WordFacts:
    """What :func:`_read` needs of each distinct piece (word or break) it has seen, by piece.

    A word's lemma decides which of the sets it can go to; whether it goes there depends on its
    neighbours only for names (not a sentence's first word), places (the words next to a place
    word) and numbers (runs of number words). So each set is looked up once per piece at C speed
    (``map``), and Python visits only the pieces that may be a name, a place word or a number.
    """

    def __init__(self, lemmatizer: Lemmatizer, cap: int) -> None:
        self.lemma_of = lemmatizer.lemma
        self.cap = cap
        #: Every piece seen -> its content lemma (one that joins ``lemmas``), else None.
        self.content: dict[str, str | None] = {}
        #: Words that are a name when not a sentence's first word -> their lemma.
        self.nameable: dict[str, str] = {}
        #: Words whose lemma is a place word -> their lemma.
        self.place: dict[str, str] = {}
        #: Words whose lemma is a number word.
        self.number: set[str] = set()
        #: Word -> lemma, for the words next to a place word and number runs.
        self.lemma: dict[str, str] = {}

    def learn(self, pieces: list[str]) -> None:
        """Note the facts of the pieces not seen yet (all of them again past the cap)."""
        new = set(pieces).difference(self.content)
        if not new:
            return
        if len(self.content) + len(new) > self.cap:
            for table in (self.content, self.nameable, self.place, self.number, self.lemma):
                table.clear()
            new = set(pieces)
        for piece in new:
            if piece[0] in BREAK_STARTS:
                self.content[piece] = None
                continue
            lemma = self.lemma_of(piece)
            self.lemma[piece] = lemma
            number_word = is_number_word(lemma)
            if number_word:
                self.number.add(piece)
            if piece[0].isdigit() or len(lemma) < 2:
                self.content[piece] = None
                continue
            stop = lemma in STOPWORDS
            self.content[piece] = None if stop or number_word else lemma
            if not stop and piece[0].isupper():
                self.nameable[piece] = lemma
            if lemma in _PLACE_WORDS:
                self.place[piece] = lemma


#: Each lemmatizer's :class:`_WordFacts` (a fingerprinter's lemmatizer lives as long as it).
_FACTS: weakref.WeakKeyDictionary[Lemmatizer, _WordFacts] = weakref.WeakKeyDictionary()
#: Pieces a lemmatizer's :class:`_WordFacts` remembers before starting again.
FACTS_CAP = 200_000


def _read(text: str, lemmatizer: Lemmatizer) -> tuple[set[str], set[str], set[str], set[str]]:
    """Content lemmas, names, places and numbers-in-words of ``text``.

    The same sets as :func:`_read_plain` (which reads word by word): a word goes to ``lemmas``
    by its lemma alone, to ``names`` unless it starts a sentence (the first piece, or one right
    after a break), and a place word's neighbours are the pieces right next to it (a neighbour
    across a break starts a sentence, which the plain loop refuses too).
    """
    facts = _FACTS.get(lemmatizer)
    if facts is None:
        facts = _FACTS[lemmatizer] = _WordFacts(lemmatizer, FACTS_CAP)
    text_pieces = pieces(text)
    if not text_pieces:
        return set(), set(), set(), set()
    facts.learn(text_pieces)
    lemmas = set(map(facts.content.__getitem__, text_pieces))
    lemmas.discard(None)  # type: ignore[arg-type]
    names: set[str] = set()
    places: set[str] = set()
    numbers: set[str] = set()
    nameable = facts.nameable
    indexes = range(len(text_pieces))
    for i in compress(indexes, map(nameable.__contains__, text_pieces)):
        if i and text_pieces[i - 1][0] not in BREAK_STARTS:
            names.add(nameable[text_pieces[i]])
    place = facts.place
    last = len(text_pieces) - 1
    lemma = facts.lemma
    for i in compress(indexes, map(place.__contains__, text_pieces)):
        # The word before: in the same sentence as the place word, a name, and (if it starts
        # the sentence) one that can name a place.
        if i and (before := text_pieces[i - 1])[0] not in BREAK_STARTS:
            starts = i == 1 or text_pieces[i - 2][0] in BREAK_STARTS
            if (
                (not starts or may_name_a_place(before))
                and before[0].isupper()
                and lemma[before] not in STOPWORDS
            ):
                places.add(lemma[before])
        if i < last and (after := text_pieces[i + 1])[0] not in BREAK_STARTS:
            if after[0].isupper() and lemma[after] not in STOPWORDS:
                places.add(lemma[after])
    if not facts.number.isdisjoint(text_pieces):
        run: list[str] = []
        number = facts.number
        for piece in text_pieces:
            if piece[0] in BREAK_STARTS:
                continue  # a run of number words goes on across a break, as it always did
            if piece in number:
                run.append(lemma[piece])
            elif run:
                _flush_number(run, numbers)
        _flush_number(run, numbers)
    return lemmas, names, places, numbers  # type: ignore[return-value]


def _read_plain(text: str, lemmatizer: Lemmatizer) -> tuple[set[str], set[str], set[str], set[str]]:
    """Content lemmas, names, places and numbers-in-words of ``text``: the plain spelling of
    :func:`_read`, word by word (tests hold the two equal)."""
    lemmas: set[str] = set()
    names: set[str] = set()
    places: set[str] = set()
    numbers: set[str] = set()
    words: list[tuple[str, str, bool]] = []  # (lemma, surface, starts a sentence)
    sentence_start = True
    lemma_of = lemmatizer.lemma
    for piece in pieces(text):
        if piece[0] in BREAK_STARTS:
            sentence_start = True
            continue
        words.append((lemma_of(piece), piece, sentence_start))
        sentence_start = False
    run: list[str] = []
    for i, (lemma, surface, starts) in enumerate(words):
        # Each test once per word: this loop runs for every word of every article.
        number_word = is_number_word(lemma)
        if number_word:
            run.append(lemma)
        elif run:
            _flush_number(run, numbers)
        if surface[0].isdigit() or len(lemma) < 2:
            continue
        if lemma not in STOPWORDS:
            if not number_word:
                lemmas.add(lemma)
            if not starts and surface[0].isupper():
                names.add(lemma)
        if lemma in _PLACE_WORDS:
            # The name next to a place word, in the same sentence: «…станции метро.
            # Церемония…» or a headline's last word and the lead's first are no place. A
            # sentence's first word is capitalised anyway: before the place word it names the
            # place only if it can be a name («Тверскую улицу», not «Жители района»).
            for j in (i - 1, i + 1):
                if (
                    0 <= j < len(words)
                    and not words[max(i, j)][2]
                    and (not words[j][2] or may_name_a_place(words[j][1]))
                    and words[j][1][0].isupper()
                    and words[j][0] not in STOPWORDS
                ):
                    places.add(words[j][0])
    _flush_number(run, numbers)
    return lemmas, names, places, numbers


def _flush_number(run: list[str], numbers: set[str]) -> None:
    if run:
        value = word_number(run)
        # «один», «первый» are wording; other small numbers are kept for ``head_counts``.
        if value is not None and value >= 2:
            numbers.add(str(value))
        run.clear()
