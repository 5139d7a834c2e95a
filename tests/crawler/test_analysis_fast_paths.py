"""The fast paths of topic tagging and story fingerprints give what their plain spellings give.

Issue 15 cut the instructions a worker spends per article tagging and fingerprinting it; each
cut keeps a plain spelling of what it replaced, and these tests hold the two equal on the
labelled sets, the fundus corpus's bodies and random texts dense in what decides (breaks,
capitals, quotes, dashes, hyphens, place and street words, number words, phrases that repeat).
``bench/analysis_equivalence.py`` checks whole articles across two trees.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import pytest

from crawler.stories import features
from crawler.stories.features import Fingerprinter
from crawler.topics import engine as engine_module
from crawler.topics import names, vocabulary
from crawler.topics.engine import TopicEngine
from crawler.topics.morph import Lemmatizer, _analyzer, parse_word

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
FUNDUS = ROOT / "tests" / "corpus" / "fundus" / "cases.jsonl"

_ODD = [
    ".",
    ". ",
    "!",
    "…",
    ":",
    "\n",
    ",",
    ", «",
    "«",
    "»",
    '"',
    "“",
    " — ",
    " - ",
    "-",
    "э-",
    "МЦД-",
    "СИМ-",
    "две тысячи",
    "двухтысячный",
    "пятый",
    "улица",
    "проспекта",
    "Тверская",
    "станции метро",
    "Никола",
    "Иван",
    "Тесла",
    "спектакль",
]


def _read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _corpus_texts() -> list[str]:
    texts: list[str] = []
    for name in ("topics/labelled.jsonl", "topics/independent.jsonl", "stories/labelled.jsonl"):
        for case in _read_jsonl(FIXTURES / name):
            texts.extend(str(case.get(k, "")) for k in ("title", "summary", "lead", "text"))
    for case in islice(_read_jsonl(FUNDUS), 60):
        expected = case.get("expected")
        if isinstance(expected, dict):
            texts.append(str(expected.get("body_text") or "")[:3000])
    return [t for t in texts if t]


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [w for t in _corpus_texts()[:2000] for w in t.split()]
    out = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randrange(0, 120)):
            roll = rng.random()
            piece = rng.choice(_ODD) if roll < 0.3 else rng.choice(words)
            if 0.3 <= roll < 0.4:
                piece = piece.capitalize()
            pieces.append(piece + rng.choice(("", " ", " ", " ")))
        out.append("".join(pieces))
    return out


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _corpus_texts() + _random_texts(1500, 15)


def test_read_equals_its_plain_spelling(texts: list[str]) -> None:
    lemmatizer = Fingerprinter().lemmatizer
    for text in texts:
        assert features._read(text, lemmatizer) == features._read_plain(text, lemmatizer), text


def test_read_equals_its_plain_spelling_past_the_cap(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pieces' facts are forgotten and learned again when past the cap: the same sets.
    monkeypatch.setattr(features, "FACTS_CAP", 50)
    lemmatizer = Lemmatizer()
    for text in texts[:400]:
        assert features._read(text, lemmatizer) == features._read_plain(text, lemmatizer), text


def test_name_positions_equal_their_plain_spelling(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.crawler.topics.topics_samples import shipped_specs

    calls: list[tuple[object, ...]] = []
    plain = names._name_positions_plain

    def both(*args: object) -> set[int]:
        given = list(args)
        if len(given) == 6:
            given[5] = list(given[5])  # type: ignore[call-overload]
        calls.append(tuple(given))
        return plain(*given[:4])  # type: ignore[arg-type]

    monkeypatch.setattr(vocabulary, "name_positions", both)
    engine = TopicEngine(shipped_specs())
    for text in texts:
        engine.classify(title=text)
    assert len(calls) > 500
    for args in calls:
        expected = plain(*args[:4])  # type: ignore[arg-type]
        # With the capitals and street words the reading noted, and finding them itself.
        assert names.name_positions(*args) == expected  # type: ignore[arg-type]
        assert names.name_positions(*args[:4]) == expected  # type: ignore[arg-type]


def test_one_word_terms_and_bisection_equal_the_plain_walks(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tagging with the one-word memo and the bisections gives what the plain walks give."""
    from tests.crawler.topics.topics_samples import shipped_specs

    def next_after_plain(found: list[tuple[int, str]], last: int) -> tuple[int, str] | None:
        gap = engine_module.PHRASE_GAP
        return next(((p, s) for p, s in found if last < p <= last + 1 + gap), None)

    fast = TopicEngine(shipped_specs())
    results = []
    for text in texts:
        body = f"{text} {text}"  # repeats, so a term occurs more than once
        results.append(fast.score_all(title=text[:200], summary=text, text=body))
    monkeypatch.setattr(engine_module, "_next_after", next_after_plain)
    monkeypatch.setattr(
        engine_module,
        "_one_word",
        lambda hits, mid, memo: (
            min(len({p for p, _ in hits[mid]}) - 1, engine_module.REPEAT_CAP),
            hits[mid][0][0],
            engine_module._quote([((p,), s) for p, s in hits[mid]]),
        ),
    )
    plain = TopicEngine(shipped_specs())
    for text, expected in zip(texts, results, strict=True):
        body = f"{text} {text}"
        assert plain.score_all(title=text[:200], summary=text, text=body) == expected, text


def test_parse_word_is_pymorphys_parse() -> None:
    for word in ("улицы", "стали", "электробусы", "рем", "подчер", "москвич", "e-bus", "2025"):
        assert list(parse_word(word)) == _analyzer().parse(word)


def test_near_equals_its_plain_walk() -> None:
    """``_near`` finds each occurrence's partner as the plain walk over all of them does."""
    window = engine_module.NEAR_WINDOW
    rng = random.Random(7)

    def plain(first, second, agreement=None):  # type: ignore[no-untyped-def]
        found = []
        for pos, surface in first:
            other = next(
                (
                    (p, s)
                    for p, s in second
                    if p != pos
                    and abs(p - pos) <= window
                    and (agreement is None or agreement((pos, surface), (p, s)))
                ),
                None,
            )
            if other is not None:
                pair = sorted([(pos, surface), other])
                found.append(((pair[0][0], pair[1][0]), f"{pair[0][1]} … {pair[1][1]}"))
        return found

    def agreement(a: tuple[int, str], b: tuple[int, str]) -> bool:
        return (a[0] + b[0] + len(a[1]) + len(b[1])) % 3 != 0

    for _ in range(3000):

        def hits() -> list[tuple[int, str]]:
            positions = sorted(rng.randrange(0, 60) for _ in range(rng.randrange(0, 12)))
            return [(p, rng.choice("abc")) for p in positions]

        first, second = hits(), hits()
        assert engine_module._near(first, second) == plain(first, second)
        got = engine_module._near(first, second, agreement)  # type: ignore[arg-type]
        assert got == plain(first, second, agreement)


def test_marked_pieces_equal_their_plain_spelling(texts: list[str]) -> None:
    """The spaced dash spelled to start with the dash finds what its plain spelling finds."""
    import re

    from crawler.topics import morph

    mark = r"[«»„“”\"]|,(?=\s*[«„“\"])|(?<!\S)[—–-](?!\S)"
    plain = re.compile(f"{morph._WORD}|{morph._BREAK}|{mark}")
    dashes = ["-", " - ", "—", " — ", "–a", "a–", "\n- ", "-\n", " -", "- "]
    rng = random.Random(3)
    extra = ["".join(rng.choice([*dashes, "a", " ", "б"]) for _ in range(20)) for _ in range(3000)]
    for text in [*texts, *extra]:
        assert morph.marked_pieces(text) == plain.findall(text), text


def _unicode_texts(count: int, seed: int) -> list[str]:
    """Random texts over every kind of character the pieces' patterns tell apart (letters and
    digits of many scripts, combining marks, underscores, every space, breaks and marks)."""
    rng = random.Random(seed)
    alphabet = [chr(c) for c in range(0x20, 0x3000) if not 0xD800 <= c < 0xE000]
    alphabet += list(' \n\t\r\x0b\x0c\x1c\x85\xa0\u2028\u3000._!?;:…«»„“”",—–-‐‑ЁёАяzZ09')
    sizes = [rng.randrange(0, 80) for _ in range(count)]
    return ["".join(rng.choice(alphabet) for _ in range(size)) for size in sizes]


def test_pieces_equal_their_plain_spellings(texts: list[str]) -> None:
    """The fast patterns of ``pieces`` and ``marked_pieces`` find what the plain ones find."""
    from crawler.topics import morph

    for text in [*texts, *_unicode_texts(20000, 5)]:
        for plain, fast in (
            (morph._PIECE_RE, morph._FAST_PIECE_RE),
            (morph._MARKED_PIECE_RE, morph._FAST_MARKED_PIECE_RE),
        ):
            if "_" not in text:
                assert fast.findall(text) == plain.findall(text), repr(text)
        assert morph.pieces(text) == morph._PIECE_RE.findall(text)
        assert morph.marked_pieces(text) == morph._MARKED_PIECE_RE.findall(text)
