"""Where a term word is part of a name (a work, a venue, a street), and so no evidence of a topic.

«Спектакль «Трамвай «Желание»», «песня «Последний троллейбус»», «Электричка — новый бар на
Покровке», «Трамвайный переулок»: the word names something that is not the thing. Only that
occurrence is dropped; «в трамвае» elsewhere in the same text still counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from crawler.topics.morph import BREAK_STARTS

__all__ = ["STREET_WORDS", "WORK_NOUNS", "name_positions"]

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

# Every form of these words starts with the first three letters of its dictionary form: a word
# that does not is never sent to the dictionary (the cost of a crawl's first read of a text).
_HEAD = 3
_WORK_HEADS = frozenset(w[:_HEAD] for w in WORK_NOUNS)
_STREET_HEADS = frozenset(w[:_HEAD] for w in STREET_WORDS)

# The work noun is one of this many words before the opening quote («песня «…»», «новая песня
# группы «…»» is the group's name, which holds no term anyway).
_NOUN_BEFORE_QUOTE = 2
# «Электричка — новый бар»: at most this many words before the dash and after it up to the noun.
_APPOSITION_WORDS = 3
_OPENING = "«„"
_CLOSING = "»”"

Keys = Callable[[str], frozenset[str]]


def name_positions(
    pieces: Sequence[str],
    candidates: Sequence[tuple[int, int]],
    marks: Sequence[tuple[int, int]],
    keys: Keys,
    is_adjective: Callable[[str], bool],
) -> set[int]:
    """The word positions of ``candidates`` that are part of a name.

    ``pieces`` are the text's words, sentence breaks (starting with «.», «\\n», …), quotes and
    spaced dashes, in order (:func:`crawler.topics.morph.marked_pieces`). ``candidates`` are
    (index, position) of the words that hit a term; ``marks`` (index, position of the next
    word) of the breaks, quotes and dashes. ``keys`` gives a word's dictionary forms and
    ``is_adjective`` says whether it is an adjective. The work is proportional to the marks and
    the hits, not to the text.
    """
    names = _quoted(pieces, marks, keys) | _appositions(pieces, marks, keys)
    found = set()
    last = len(pieces) - 1
    for i, pos in candidates:
        if pos in names:
            found.add(pos)
            continue
        # The cheap test first: a neighbour that starts like a street word (most hits have none).
        before = pieces[i - 1] if i > 0 else ""
        after = pieces[i + 1] if i < last else ""
        heads = _STREET_HEADS
        if before[:_HEAD].lower() not in heads and after[:_HEAD].lower() not in heads:
            continue
        if (
            _is_one_of(before, STREET_WORDS, heads, keys)
            or _is_one_of(after, STREET_WORDS, heads, keys)
        ) and is_adjective(pieces[i]):
            found.add(pos)
    return found


def _is_one_of(word: str, lemmas: frozenset[str], heads: frozenset[str], keys: Keys) -> bool:
    """Whether a dictionary form of ``word`` is one of ``lemmas`` (whose heads are ``heads``)."""
    return word[:_HEAD].lower() in heads and not keys(word).isdisjoint(lemmas)


def _is_word(piece: str) -> bool:
    return piece[0].isalnum()


def _word_positions(pieces: Sequence[str], start: int, end: int, pos: int) -> list[int]:
    """Positions of the words in ``pieces[start:end]`` (no break inside), the first at ``pos``."""
    words = sum(1 for piece in pieces[start:end] if _is_word(piece))
    return list(range(pos, pos + words))


def _quoted(pieces: Sequence[str], marks: Sequence[tuple[int, int]], keys: Keys) -> set[int]:
    """Words inside a quote that a work or venue noun opens, up to its closing quote."""
    names: set[int] = set()
    depth, straight = 0, False  # quotes open, and whether a «"» is open
    start, start_pos = -1, 0  # the quote that opened a name (index, next word), or -1
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
            depth += 1
            continue
        if first in "—–-":
            continue
        # Any closing quote ends the name: Russian typography merges the closing quotes of
        # nested names («Трамвай «Желание»). A sentence break ends any quote.
        if start >= 0:
            names.update(_word_positions(pieces, start + 1, i, start_pos))
        depth, start = 0, -1
        if first not in _CLOSING and first not in '“"':
            straight = False
    return names


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
