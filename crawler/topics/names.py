"""Where a term word is part of a name (a work, a venue, a street), and so no evidence of a topic.

«Спектакль «Трамвай «Желание»», «песня «Последний троллейбус»», «Электричка — новый бар на
Покровке», «Трамвайный переулок»: the word names something that is not the thing. Only that
occurrence is dropped; «в трамвае» elsewhere in the same text still counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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

# The work noun is one of this many words before the opening quote («песня «…»», «новая песня
# группы «…»» is the group's name, which holds no term anyway).
_NOUN_BEFORE_QUOTE = 2
# «Электричка — новый бар»: at most this many words before the dash and after it up to the noun.
_APPOSITION_WORDS = 3
_OPENING = "«„"
_CLOSING = "»”"

Keys = Callable[[str], frozenset[str]]


def name_positions(
    items: Sequence[tuple[int, str]],
    candidates: set[int],
    keys: Keys,
    is_adjective: Callable[[str], bool],
) -> set[int]:
    """The positions among ``candidates`` (term hits) whose word is part of a name.

    ``items`` are the text's pieces in order with their word positions: words, sentence breaks
    (starting with «.», «\\n», …), quotes and spaced dashes. ``keys`` gives a word's dictionary
    forms and ``is_adjective`` says whether it is an adjective.
    """
    names = _quoted(items, keys) | _appositions(items, keys)
    words = {pos: piece for pos, piece in items if piece[0].isalnum()}
    for pos in candidates - names:
        if not is_adjective(words.get(pos, "")):
            continue
        if any(not keys(words.get(pos + step, "")).isdisjoint(STREET_WORDS) for step in (-1, 1)):
            names.add(pos)
    return names & candidates


def _quoted(items: Sequence[tuple[int, str]], keys: Keys) -> set[int]:
    """Words inside a quote that a work or venue noun opens, nested quotes included."""
    names: set[int] = set()
    recent: list[str] = []  # the words since the last break or quote
    depth, naming, straight = 0, False, False  # depth: open quotes (only whether > 0 matters)
    for pos, piece in items:
        first = piece[0]
        if first.isalnum():
            if naming:
                names.add(pos)
            recent.append(piece)
            continue
        # «“» opens an English quote and closes a „German-style“ one; «"» alternates.
        opens = first in _OPENING or (first == "“" and depth == 0)
        opens = opens or (first == '"' and not straight)
        if first == '"':
            straight = not straight
        if opens:
            if depth == 0:
                naming = any(
                    not keys(w).isdisjoint(WORK_NOUNS) for w in recent[-_NOUN_BEFORE_QUOTE:]
                )
            depth += 1
        elif first in _CLOSING or first in '“"':
            # Russian typography merges the closing quotes of nested names («Трамвай «Желание»):
            # any closing quote ends the name.
            depth, naming = 0, False
        elif first not in "—–-":  # a sentence break ends any quote
            depth, naming, straight = 0, False, False
        recent = []
    return names


def _appositions(items: Sequence[tuple[int, str]], keys: Keys) -> set[int]:
    """The words of a short sentence opening that a dash defines as a work or venue:
    «Электричка — новый бар на Покровке», «Электробус — новая песня группы «Звери»»."""
    names: set[int] = set()
    sentence: list[int] = []  # word positions since the last break
    for i, (pos, piece) in enumerate(items):
        first = piece[0]
        if first.isalnum():
            sentence.append(pos)
        elif first in "—–-":
            if 0 < len(sentence) <= _APPOSITION_WORDS and _work_noun_follows(items, i + 1, keys):
                names.update(sentence)
            sentence = [-1] * (_APPOSITION_WORDS + 1)  # only the first dash of a sentence
        elif first not in _OPENING + _CLOSING + '“"':
            sentence = []
    return names


def _work_noun_follows(items: Sequence[tuple[int, str]], start: int, keys: Keys) -> bool:
    seen = 0
    for _, piece in items[start:]:
        if not piece[0].isalnum():
            return False
        if not keys(piece).isdisjoint(WORK_NOUNS):
            return True
        seen += 1
        if seen == _APPOSITION_WORDS:
            return False
    return False
