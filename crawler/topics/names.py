"""Where a term word is part of a name (a work, a venue, a street, a person), and so no evidence.

«Спектакль «Трамвай «Желание»», «ЖК «Трамвайный»», «фестиваль «Трамвайный парк»», «Электричка —
новый бар на Покровке», «Трамвайный переулок», «музей Николы Теслы»: the word names something
that is not the thing. Only that occurrence is dropped; «в трамвае» elsewhere in the same text
still counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from crawler.topics.morph import BREAK_STARTS

__all__ = [
    "NOT_NAMING_NOUNS",
    "OPERATOR_ABBREVIATIONS",
    "STREET_WORDS",
    "VEHICLE_NOUNS",
    "WORK_NOUNS",
    "WordTests",
    "name_positions",
]

WORK_NOUNS = frozenset(
    """спектакль постановка пьеса мюзикл опера балет песня сингл трек клип композиция альбом
    фильм сериал мультфильм картина роман повесть рассказ книга стихотворение журнал выставка
    экспозиция инсталляция скульптура бар ресторан кафе кофейня клуб группа театр кинотеатр
    магазин шоу""".split()
)
"""Dictionary forms of the nouns that introduce the name of a work or a venue."""

STREET_WORDS = frozenset(
    """улица переулок проезд тупик площадь шоссе бульвар набережная аллея просек просека
    проспект тракт спуск""".split()
)
"""Dictionary forms of the words that make an adjective next to them a street name."""

VEHICLE_NOUNS = frozenset(
    """модель модификация версия серия вагон состав поезд электропоезд локомотив электровоз
    машина автомобиль кроссовер седан хэтчбек минивэн фургон автобус судно катер теплоход""".split()
)
"""Nouns whose quoted name is a vehicle («модель «Москвич 3е»», «вагоны «Витязь-Москва»»): the
name stays evidence even when the noun is not a term of any topic."""

NOT_NAMING_NOUNS = frozenset(
    """год месяц неделя день сутки час минута утро вечер ночь время раз понедельник вторник
    среда четверг пятница суббота воскресенье январь февраль март апрель май июнь июль август
    сентябрь октябрь ноябрь декабрь весна лето осень зима дтп чп авария сбой""".split()
)
"""Nouns of time and of events, which a sentence's subject follows: «через год «Трамвай
будущего» выйдет», «из-за ДТП «Ласточки» задерживаются» name no year and no accident."""

OPERATOR_ABBREVIATIONS = frozenset("гуп муп фгуп гбу гку".split())
"""A city's enterprises and agencies: their name is the service they run («ГУП «Московский
метрополитен»»), unlike a company's («ООО «Трамвайный двор»»)."""

# Every form of these words starts with the first three letters of its dictionary form: a word
# that does not is never sent to the dictionary (the cost of a crawl's first read of a text).
_HEAD = 3
_WORK_HEADS = frozenset(w[:_HEAD] for w in WORK_NOUNS)
_NOT_NAMED = VEHICLE_NOUNS | NOT_NAMING_NOUNS | OPERATOR_ABBREVIATIONS
_STREET_HEADS = frozenset(w[:_HEAD] for w in STREET_WORDS)

# The work noun is one of this many words before the opening quote («песня «…»», «новая песня
# группы «…»» is the group's name, which holds no term anyway).
_NOUN_BEFORE_QUOTE = 2
# «Электричка — новый бар»: at most this many words before the dash and after it up to the noun.
_APPOSITION_WORDS = 3
_OPENING = "«„"
_CLOSING = "»”"

Keys = Callable[[str], frozenset[str]]
Test = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class WordTests:
    """What :func:`name_positions` asks of a word (pymorphy3 through a cached Lemmatizer)."""

    keys: Keys  # its dictionary forms, folded
    is_adjective: Test  # likeliest reading a full adjective or participle
    is_noun: Test  # likeliest reading a noun
    may_be_nominative: Test  # some reading in the nominative, or no case at all
    is_given_name: Test  # some reading a first name
    is_vocabulary: Test  # hits an include term of some topic (transport vocabulary)
    is_term_name: Test  # hits an include term word written with a capital («Тройка»)


def name_positions(
    pieces: Sequence[str],
    candidates: Sequence[tuple[int, int]],
    marks: Sequence[tuple[int, int]],
    words: WordTests,
    capitals: Sequence[tuple[int, int]] | None = None,
    streets: Iterable[int] | None = None,
) -> set[int]:
    """The word positions of ``candidates`` that are part of a name.

    ``pieces`` are the text's words, sentence breaks (starting with «.», «\\n», …), quotes,
    spaced dashes and commas, in order (:func:`crawler.topics.morph.marked_pieces`).
    ``candidates`` are (index, position) of the words that hit a term; ``marks`` (index,
    position of the next word) of the breaks, quotes, dashes and commas. ``capitals``: the
    candidates whose word starts with a capital, and ``streets``: the indexes of the pieces
    that start like a street word (:func:`starts_like_street_word`), in order; found here when
    not given (:meth:`TermVocabulary.hits` notes both as it reads). The work is proportional
    to the marks, the hits and those pieces, not to the text.

    The same set as :func:`_name_positions_plain`, which asks each candidate in turn; here only
    the candidates that pass the cheap test before each dictionary test are asked (most pass
    neither): a capitalised hit after a capital (a surname?) and a hit next to a piece starting
    like a street word (a street's name?). The tests are pure, so their order does not matter.
    """
    names = _quoted(pieces, marks, words, candidates)
    names |= _appositions(pieces, marks, words.keys)
    found = names.intersection([pos for _, pos in candidates])
    if capitals is None:
        capitals = [(i, pos) for i, pos in candidates if pieces[i][0].isupper()]
    if streets is None:
        streets = [i for i, piece in enumerate(pieces) if starts_like_street_word(piece)]
    for i, pos in capitals:
        if i > 0 and pieces[i - 1][:1].isupper() and _is_surname(pieces[i], pieces[i - 1], words):
            found.add(pos)
    candidate_at = dict(candidates)
    last = len(pieces) - 1
    for street in streets:
        for i in (street - 1, street + 1):
            at = candidate_at.get(i)
            if at is None or at in found:
                continue
            before = pieces[i - 1] if i > 0 else ""
            after = pieces[i + 1] if i < last else ""
            if _names_a_street(pieces[i], before, after, words):
                found.add(at)
    return found


def starts_like_street_word(piece: str) -> bool:
    """Whether ``piece`` starts like a street word (the cheap test before the dictionary's)."""
    return piece[:_HEAD].lower() in _STREET_HEADS


def _name_positions_plain(
    pieces: Sequence[str],
    candidates: Sequence[tuple[int, int]],
    marks: Sequence[tuple[int, int]],
    words: WordTests,
) -> set[int]:
    """:func:`name_positions` asking each candidate in turn (tests hold the two equal)."""
    names = _quoted(pieces, marks, words, candidates)
    names |= _appositions(pieces, marks, words.keys)
    found = set()
    last = len(pieces) - 1
    for i, pos in candidates:
        if pos in names:
            found.add(pos)
            continue
        before = pieces[i - 1] if i > 0 else ""
        # The cheap test first: a capitalised hit (most are lower case) after a capital.
        if (
            pieces[i][0].isupper()
            and before[:1].isupper()
            and _is_surname(pieces[i], before, words)
        ):
            found.add(pos)
            continue
        # The cheap test first: a neighbour that starts like a street word (most hits have none).
        after = pieces[i + 1] if i < last else ""
        if not starts_like_street_word(before) and not starts_like_street_word(after):
            continue
        if _names_a_street(pieces[i], before, after, words):
            found.add(pos)
    return found


def _names_a_street(word: str, before: str, after: str, words: WordTests) -> bool:
    """Whether ``word`` is an adjective beside a street word («Тверская улица», «улица
    Тверская»): a street's name, not a topic's term."""
    return (
        _is_one_of(before, STREET_WORDS, _STREET_HEADS, words.keys)
        or _is_one_of(after, STREET_WORDS, _STREET_HEADS, words.keys)
    ) and words.is_adjective(word)


def _is_surname(word: str, before: str, words: WordTests) -> bool:
    """Whether ``word`` is a surname after the first name ``before``: «Николы Теслы», «Иван
    Трамваев». Both capitalised, not in capitals: a vehicle or a brand right after a first name
    is rare, a person whose surname is a term word is not («Илон Маск» too: a term meant as a
    person's name needs no first name before it)."""
    return (
        _is_capitalised(word)
        and _is_word(before)
        and _is_capitalised(before)
        and words.is_given_name(before)
    )


def _is_capitalised(word: str) -> bool:
    return word[0].isupper() and not word.isupper()


def _is_one_of(word: str, lemmas: frozenset[str], heads: frozenset[str], keys: Keys) -> bool:
    """Whether a dictionary form of ``word`` is one of ``lemmas`` (whose heads are ``heads``)."""
    return word[:_HEAD].lower() in heads and not keys(word).isdisjoint(lemmas)


def _is_word(piece: str) -> bool:
    return piece[0].isalnum()


def _word_positions(pieces: Sequence[str], start: int, end: int, pos: int) -> list[int]:
    """Positions of the words in ``pieces[start:end]`` (no break inside), the first at ``pos``."""
    words = sum(1 for piece in pieces[start:end] if _is_word(piece))
    return list(range(pos, pos + words))


def _words_from(pieces: Sequence[str], start: int, end: int, pos: int) -> list[tuple[int, str]]:
    """(position, word) of the words in ``pieces[start:end]`` (no break inside), the first at
    ``pos``."""
    found = [piece for piece in pieces[start:end] if _is_word(piece)]
    return list(zip(range(pos, pos + len(found)), found, strict=True))


def _quoted(
    pieces: Sequence[str],
    marks: Sequence[tuple[int, int]],
    words: WordTests,
    candidates: Sequence[tuple[int, int]],
) -> set[int]:
    """Words inside a quote that names something, up to its closing quote: a quote that a work
    or venue noun opens («спектакль «Трамвай «Желание»»», «новая песня группы «…»»), or one right
    after any other noun or abbreviation that is the name of that thing («ЖК «Трамвайный»»,
    «фестиваль «Трамвайный парк»», «ТЦ «Троллейбус»»; see :func:`_names_the_noun`)."""
    names: set[int] = set()
    keys = words.keys
    hit: set[int] = set()  # the candidates' positions, once a quote after a noun needs them
    depth, straight = 0, False  # quotes open, and whether a «"» is open
    start, start_pos = -1, 0  # the quote that opened a name (index, next word), or -1
    # A quote right after a noun: (index, next word) of its opening, decided at its end.
    after_noun, after_noun_pos = -1, 0
    for i, next_pos in marks:
        first = pieces[i][0]
        # «“» opens an English quote and closes a „German-style“ one; «"» alternates.
        opens = first in _OPENING or (first == "“" and depth == 0)
        opens = opens or (first == '"' and not straight)
        if first == '"':
            straight = not straight
        if opens:
            if depth == 0:
                before = [pieces[j] for j in (i - 1, i - 2) if j >= 0]
                before = before[: next((k for k, w in enumerate(before) if not _is_word(w)), 2)]
                if any(_is_one_of(w, WORK_NOUNS, _WORK_HEADS, keys) for w in before):
                    start, start_pos = i, next_pos
                elif before:
                    after_noun, after_noun_pos = i, next_pos
            depth += 1
            continue
        if first in "—–-,":
            continue
        # Any closing quote ends the name: Russian typography merges the closing quotes of
        # nested names («Трамвай «Желание»). A sentence break ends any quote.
        if start >= 0:
            names.update(_word_positions(pieces, start + 1, i, start_pos))
        elif after_noun >= 0:
            inside = _word_positions(pieces, after_noun + 1, i, after_noun_pos)
            # The dictionary is asked only about a quote that holds a term word.
            hit = hit or {pos for _, pos in candidates}
            if not hit.isdisjoint(inside) and _names_the_noun(pieces, after_noun, words):
                # A term that is a name itself is the thing named: «карта «Тройка»».
                names.update(
                    pos
                    for pos, word in _words_from(pieces, after_noun + 1, i, after_noun_pos)
                    if pos in hit and not words.is_term_name(word)
                )
        depth, start, after_noun = 0, -1, -1
        if first not in _CLOSING and first not in '“"':
            straight = False
    return names


def _names_the_noun(pieces: Sequence[str], opening: int, words: WordTests) -> bool:
    """Whether the quote opening at ``opening`` is the name of the noun right before it.

    It is when that word is a noun or an abbreviation (ЖК, ТЦ, ООО), not itself evidence of a
    topic (transport vocabulary: «трамвай «Львёнок»», «электробус «Витязь»»), not a vehicle
    noun («модель «Электробус-2»», :data:`VEHICLE_NOUNS`), a noun of time or an event
    (:data:`NOT_NAMING_NOUNS`) nor a city operator (:data:`OPERATOR_ABBREVIATIONS`), and the
    quote's first word is capitalised and can be in the nominative: a name in apposition keeps
    it («в ЖК «Трамвайный»», «на фестивале «Трамвайный парк»»), while «движения «Ласточек»»,
    «производство «Москвича»» are the trains and the car themselves.
    """
    noun = opening - 1
    word = pieces[noun]
    if words.is_vocabulary(word):
        return False
    if not (_is_abbreviation(word) or words.is_noun(word)):
        return False
    if not words.keys(word).isdisjoint(_NOT_NAMED):
        return False
    first = next((p for p in pieces[opening + 1 :] if p[0] not in _OPENING + '"“'), "")
    if not first or not _is_word(first):
        return True
    # A name starts with a capital; a quotation may not («сказал журналистам «трамваи…»»).
    return not first[0].islower() and words.may_be_nominative(first)


def _is_abbreviation(word: str) -> bool:
    """ЖК, ТЦ, ТРЦ, ООО: capitals only, two letters or more (pymorphy3 knows few of them)."""
    return len(word) >= 2 and word.isalpha() and word.isupper()


def _appositions(pieces: Sequence[str], marks: Sequence[tuple[int, int]], keys: Keys) -> set[int]:
    """The words of a short sentence opening that a dash defines as a work or venue:
    «Электричка — новый бар на Покровке», «Электробус — новая песня группы «Звери»»."""
    names: set[int] = set()
    # The sentence's first piece and word position, and whether it had a dash already.
    start, start_pos, dashed = 0, 0, False
    for i, next_pos in marks:
        first = pieces[i][0]
        if first in BREAK_STARTS:
            start, start_pos, dashed = i + 1, next_pos, False
            continue
        if first not in "—–-" or dashed:
            continue
        dashed = True  # only the first dash of a sentence
        opening = _word_positions(pieces, start, i, start_pos)
        if 0 < len(opening) <= _APPOSITION_WORDS and _work_noun_follows(pieces, i + 1, keys):
            names.update(opening)
    return names


def _work_noun_follows(pieces: Sequence[str], start: int, keys: Keys) -> bool:
    for piece in pieces[start : start + _APPOSITION_WORDS]:
        if not _is_word(piece):
            return False
        if _is_one_of(piece, WORK_NOUNS, _WORK_HEADS, keys):
            return True
    return False
