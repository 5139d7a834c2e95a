"""Topic definitions (data from the config) and the engine that scores articles against them."""

from __future__ import annotations

import functools
import math
import re
import re._constants as sre_constants  # the stdlib parser's opcodes, used only by the ReDoS check
import re._parser as sre_parser
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crawler.models import Article, TopicMatch
from crawler.topics.morph import (
    BREAK_GAP,
    BREAK_STARTS,
    HYPHENS,
    Lemmatizer,
    fold,
    fold_case_kept,
    hyphen_parts,
    pieces,
)

__all__ = [
    "DEFAULT_FIELD_WEIGHTS",
    "FIELDS",
    "SCAN_LIMIT",
    "TopicEngine",
    "TopicSpec",
    "load_topic_specs",
    "parse_term",
]

FIELDS: tuple[str, ...] = ("title", "summary", "body", "section", "tags", "url")
"""The article fields a topic is scored on, in evidence order."""

DEFAULT_FIELD_WEIGHTS: dict[str, float] = {
    "title": 3.0,
    "summary": 2.0,
    "body": 1.0,
    "section": 1.5,
    "tags": 1.5,
    "url": 1.0,
}
"""Field weights used for any field a topic does not set: title > summary > body."""

LANGUAGES = frozenset({"ru", "en"})
_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# Words between two words of a phrase: «зарядных электрических станций» still matches
# «зарядн* станц*», but a word three positions away does not.
PHRASE_GAP = 1
# A term repeated in one field adds this share of its weight per extra occurrence, at most twice:
# a body that says «трамвай» five times is about trams, one passing mention is not.
REPEAT_BONUS = 0.25
REPEAT_CAP = 2
# Each field is read up to this many characters (cut back to a word boundary). The lead of a
# news article carries its topic: a typical body (3-5 KB) is read whole, and a 64 KB page costs
# what a 5 KB one does instead of thirteen times more. A term mentioned only past the first 5,000
# characters of the body adds at most 1.5 to a topic's score, so this can only turn a borderline
# match off, never a title/lead match (bench/topics.py compares both ways over real bodies).
SCAN_LIMIT = 5_000
# Regexes see at most this many characters per field (fields are already cut to the scan limit;
# this also bounds an engine built with a larger one), which bounds their worst-case cost.
REGEX_INPUT_LIMIT = 20_000
REGEX_MAX_LENGTH = 300
MIN_PREFIX = 3
_WORD_RE = re.compile(r"[^\W_]+(?:[-‐‑][^\W_]+)*")
# A word is only sent to the dictionary (pymorphy3, ~0.3 ms per new word) when it could lead to a
# term: its first HEAD letters are those of a term word, or it is a listed irregular form.
HEAD = 3
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


# ----------------------------------------------------------------------------- terms


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


# ----------------------------------------------------------------------------- regex guard


def check_regex(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` or raise ValueError if it is invalid or could backtrack catastrophically.

    Why a static check rather than the ``regex`` module's timeout: a timeout makes the result
    depend on machine load, and topic scores are stored and must be deterministic. The check
    rejects the shapes behind exponential backtracking: a variable repeat inside another variable
    repeat (``(a+)+``, ``(\\w*\\s?)*``), an alternation under a variable repeat (``(a|ab)*``) and
    backreferences. Polynomial cases that remain are bounded by :data:`REGEX_INPUT_LIMIT`.
    """
    if len(pattern) > REGEX_MAX_LENGTH:
        raise ValueError(f"regex longer than {REGEX_MAX_LENGTH} characters")
    try:
        compiled = re.compile(pattern)
        parsed = sre_parser.parse(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
    _check_backtracking(parsed, pattern, under_repeat=False)
    return compiled


def _check_backtracking(items: Iterable[Any], pattern: str, *, under_repeat: bool) -> None:
    for op, av in items:
        if op in _REPEATS:
            low, high, sub = av
            variable = high != low and high > 1
            if variable and under_repeat:
                raise ValueError(f"regex {pattern!r} nests quantifiers (catastrophic backtracking)")
            _check_backtracking(sub, pattern, under_repeat=under_repeat or variable)
        elif op is sre_constants.BRANCH:
            if under_repeat:
                raise ValueError(f"regex {pattern!r} repeats an alternation (backtracking risk)")
            for branch in av[1]:
                _check_backtracking(branch, pattern, under_repeat=under_repeat)
        elif op in (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
            raise ValueError(f"regex {pattern!r} uses a backreference")
        elif op is sre_constants.SUBPATTERN:
            _check_backtracking(av[3], pattern, under_repeat=under_repeat)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            _check_backtracking(av[1], pattern, under_repeat=under_repeat)
        elif op is sre_constants.ATOMIC_GROUP:
            _check_backtracking(av, pattern, under_repeat=under_repeat)


# ----------------------------------------------------------------------------- spec


class TopicSpec(BaseModel):
    """One topic, as written in a ``[[topics]]`` table of the config.

    ``include`` maps a term or phrase to its weight (> 0); ``exclude`` maps a false friend to a
    penalty (>= 0): its tokens can never count as include evidence for this topic, and a positive
    penalty is subtracted per field it appears in. ``regexes`` maps a pattern to a weight
    (negative to exclude). A topic's score sums ``weight x field weight`` over the fields a term
    appears in; the topic matches when the score reaches ``threshold`` and, for each group of
    ``requires`` (name -> include terms), one of the group's terms is evidence: a road-works
    story needs a works word *and* a road word, so «построят электробусный парк» or «станцию
    закроют на ремонт» no longer add up to a match on works words alone. ``sources``/``cities``
    restrict the topic to articles from those sources or cities (empty = everywhere).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_SLUG, max_length=64)
    title: str = Field(min_length=1)
    description: str = ""
    languages: list[str] = Field(default_factory=lambda: ["ru"])
    include: dict[str, float] = Field(default_factory=dict)
    exclude: dict[str, float] = Field(default_factory=dict)
    regexes: dict[str, float] = Field(default_factory=dict)
    field_weights: dict[str, float] = Field(default_factory=dict)
    threshold: float = Field(default=2.0, gt=0)
    requires: dict[str, list[str]] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    cities: list[str] = Field(default_factory=list)
    # Whether the topic's feed shows one entry per story (see [stories]); false: every article.
    stories: bool = True

    @model_validator(mode="after")
    def _check_entries(self) -> TopicSpec:
        """Check every entry, naming the topic and the entry in the error message."""
        where = f"topic {self.id!r}"
        for language in self.languages:
            if language not in LANGUAGES:
                raise ValueError(f"{where}: language {language!r} not one of {sorted(LANGUAGES)}")
        for term, weight in self.include.items():
            _check_term(where, "include", term)
            if not (math.isfinite(weight) and weight > 0):
                raise ValueError(f"{where}: include {term!r} needs a weight > 0, got {weight}")
        for term, penalty in self.exclude.items():
            _check_term(where, "exclude", term)
            if not (math.isfinite(penalty) and penalty >= 0):
                raise ValueError(f"{where}: exclude {term!r} needs a penalty >= 0, got {penalty}")
        for pattern, weight in self.regexes.items():
            try:
                check_regex(pattern)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            if not math.isfinite(weight) or weight == 0:
                raise ValueError(f"{where}: regex {pattern!r} needs a non-zero weight")
        if not self.include and not any(w > 0 for w in self.regexes.values()):
            raise ValueError(f"{where}: needs at least one include term or positive regex")
        for group, terms in self.requires.items():
            if not terms:
                raise ValueError(f"{where}: requires group {group!r} is empty")
            for term in terms:
                if term not in self.include:
                    raise ValueError(
                        f"{where}: requires group {group!r}: {term!r} is not an include term"
                    )
        for field, weight in self.field_weights.items():
            if field not in FIELDS:
                raise ValueError(f"{where}: field_weights has unknown field {field!r} ({FIELDS})")
            if not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"{where}: field weight {field!r} must be >= 0, got {weight}")
        self.field_weights = {
            f: self.field_weights.get(f, DEFAULT_FIELD_WEIGHTS[f]) for f in FIELDS
        }
        return self


def _check_term(where: str, kind: str, term: str) -> None:
    try:
        parse_term(term)
    except ValueError as exc:
        raise ValueError(f"{where}: {kind} term {term!r}: {exc}") from None


def load_topic_specs(path: str | Path) -> list[TopicSpec]:
    """Read and validate the ``[[topics]]`` tables of a TOML file."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    specs: list[TopicSpec] = []
    for index, entry in enumerate(data.get("topics", [])):
        try:
            specs.append(TopicSpec.model_validate(entry))
        except ValidationError as exc:
            name = entry.get("id", "?") if isinstance(entry, dict) else "?"
            raise ValueError(f"{path}: topics[{index}] ({name!r}): {exc}") from exc
    return specs


# ----------------------------------------------------------------------------- engine


@dataclass(frozen=True, slots=True)
class _Term:
    text: str  # as written in the config, shown in evidence
    matchers: tuple[int, ...]
    weight: float


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: TopicSpec
    include: tuple[_Term, ...]
    exclude: tuple[_Term, ...]
    regexes: tuple[tuple[str, re.Pattern[str], float], ...]
    sources: frozenset[str]
    cities: frozenset[str]
    requires: tuple[frozenset[str], ...]  # include term texts, one set per group
    # First matcher of a term -> indexes into include/exclude, so a field only visits the terms
    # whose first word it contains (in config order, which keeps float sums identical).
    include_by_first: dict[int, tuple[int, ...]]
    exclude_by_first: dict[int, tuple[int, ...]]


def _index_by_first(terms: tuple[_Term, ...]) -> dict[int, tuple[int, ...]]:
    index: dict[int, list[int]] = {}
    for i, term in enumerate(terms):
        index.setdefault(term.matchers[0], []).append(i)
    return {mid: tuple(ids) for mid, ids in index.items()}


# One occurrence of a term: the positions of its words and their surface forms joined.
_Occurrence = tuple[tuple[int, ...], str]
# Hits of one field: matcher id -> (position, surface) in text order.
_Hits = dict[int, list[tuple[int, str]]]


class TopicEngine:
    """Scores articles against compiled topics; build once, call :meth:`classify` per article.

    Construction lemmatizes every term once. Each field of an article is read once for all topics,
    up to :data:`SCAN_LIMIT` characters; a per-engine LRU cache maps a word to the term words it
    matches, so a word costs one dictionary look-up once seen. A new word goes to pymorphy3 only
    if it could lead to a term (see :meth:`_may_match`), which keeps a crawl's steady stream of
    unseen names and numbers cheap.
    """

    def __init__(
        self,
        specs: Sequence[TopicSpec],
        *,
        lemmatizer: Lemmatizer | None = None,
        cache_size: int = 200_000,
        scan_limit: int | None = SCAN_LIMIT,
    ) -> None:
        """Compile ``specs``; ``scan_limit`` (characters per field, None = all) is for bench."""
        self._scan_limit = scan_limit
        self._lemmatizer = lemmatizer or Lemmatizer(cache_size)
        self._matcher_ids: dict[TermWord, int] = {}
        self._exact: dict[str, int] = {}
        self._lemma: dict[str, int] = {}
        self._prefixes: dict[str, int] = {}
        seen: set[str] = set()
        compiled: list[_Compiled] = []
        for spec in specs:
            if spec.id in seen:
                raise ValueError(f"duplicate topic id {spec.id!r}")
            seen.add(spec.id)
            compiled.append(
                _Compiled(
                    spec=spec,
                    include=tuple(self._term(t, w) for t, w in spec.include.items()),
                    exclude=tuple(self._term(t, w) for t, w in spec.exclude.items()),
                    regexes=tuple((p, check_regex(p), w) for p, w in spec.regexes.items()),
                    sources=frozenset(spec.sources),
                    cities=frozenset(fold(c) for c in spec.cities),
                    requires=tuple(frozenset(g) for g in spec.requires.values()),
                    include_by_first={},
                    exclude_by_first={},
                )
            )
            compiled[-1].include_by_first.update(_index_by_first(compiled[-1].include))
            compiled[-1].exclude_by_first.update(_index_by_first(compiled[-1].exclude))
        self._topics = tuple(compiled)
        self._prefix_lengths = tuple(sorted({len(p) for p in self._prefixes}))
        self._build_candidate_filter()
        # Per instance (not a module cache): the answer depends on this engine's terms.
        self.word_matchers = functools.lru_cache(maxsize=cache_size)(self._word_matchers)

    @property
    def specs(self) -> list[TopicSpec]:
        """The topic specs this engine was built from, in order."""
        return [c.spec for c in self._topics]

    def classify(
        self,
        *,
        title: str,
        summary: str = "",
        text: str = "",
        url: str = "",
        section: str | None = None,
        tags: Sequence[str] = (),
        source: str | None = None,
        city: str | None = None,
    ) -> list[TopicMatch]:
        """Return the topics this article matches, best score first, each with its evidence."""
        return [
            m for m, ok in self._score(title, summary, text, url, section, tags, source, city) if ok
        ]

    def classify_article(self, article: Article, *, city: str | None = None) -> list[TopicMatch]:
        """``classify`` over a stored or freshly crawled article's fields."""
        return self.classify(
            title=article.title,
            summary=article.summary,
            text=article.text,
            url=article.url,
            section=article.section,
            tags=article.tags,
            source=article.source or None,
            city=city or None,
        )

    def score_all(
        self,
        *,
        title: str,
        summary: str = "",
        text: str = "",
        url: str = "",
        section: str | None = None,
        tags: Sequence[str] = (),
        source: str | None = None,
        city: str | None = None,
    ) -> list[tuple[TopicMatch, bool]]:
        """Score every applicable topic, matching or not (for debugging and benchmarks)."""
        return self._score(title, summary, text, url, section, tags, source, city)

    # -- internals

    def _term(self, text: str, weight: float) -> _Term:
        return _Term(text, tuple(self._matcher(w) for w in parse_term(text)), weight)

    def _matcher(self, word: TermWord) -> int:
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
        return self._matcher_ids[word]

    def _build_candidate_filter(self) -> None:
        """Collect what :meth:`_may_match` needs: term heads and irregular forms of lemma terms."""
        self._form_prefixes = self._lemmatizer.form_prefixes()
        values = [*self._lemma, *self._prefixes]
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
            # One look-up per prefix length, not one comparison per prefix term.
            for n in self._prefix_lengths:
                mid = self._prefixes.get(key[:n])
                if mid is not None:
                    ids.add(mid)
        return tuple(sorted(ids))

    def _hits(self, text: str) -> _Hits:
        """Where each matcher hits in ``text``: the same words and positions as ``tokenize``."""
        hits: _Hits = {}
        matchers = self.word_matchers
        h1, h2, h3 = HYPHENS[0], HYPHENS[1], HYPHENS[2]
        pos = 0
        for piece in pieces(text):
            if piece[0] in BREAK_STARTS:
                pos += BREAK_GAP
                continue
            for mid in matchers(piece):
                hits.setdefault(mid, []).append((pos, piece))
            if h1 in piece or h2 in piece or h3 in piece:
                for part in hyphen_parts(piece):
                    for mid in matchers(part):
                        hits.setdefault(mid, []).append((pos, part))
            pos += 1
        return hits

    def _score(
        self,
        title: str,
        summary: str,
        text: str,
        url: str,
        section: str | None,
        tags: Sequence[str],
        source: str | None,
        city: str | None,
    ) -> list[tuple[TopicMatch, bool]]:
        limit = self._scan_limit
        fields = {
            "title": _bounded(title or "", limit),
            "summary": _bounded(summary or "", limit),
            "body": _bounded(text or "", limit),
            "section": _bounded(section or "", limit),
            # A sentence break between tags keeps phrases from spanning two tags.
            "tags": _bounded(". ".join(tags), limit),
            "url": _bounded(_url_words(url), limit),
        }
        topics = [c for c in self._topics if _applies(c, source, city)]
        # Read each field once for all topics.
        hits = {f: self._hits(v) for f, v in fields.items() if v}
        results: list[tuple[TopicMatch, bool]] = []
        for topic in topics:
            score = 0.0
            evidence: list[tuple[int, int, str, str]] = []
            found: set[str] = set()  # include terms that counted, for ``requires``
            for field_no, field in enumerate(FIELDS):
                weight = topic.spec.field_weights[field]
                if field not in hits or weight == 0:
                    continue
                score += self._score_field(
                    topic, field, field_no, fields[field], hits[field], weight, evidence, found
                )
            score = round(score + 0.0, 3)
            evidence.sort()
            match = TopicMatch(id=topic.spec.id, score=score, evidence=[e[3] for e in evidence])
            ok = score >= topic.spec.threshold and all(
                not g.isdisjoint(found) for g in topic.requires
            )
            results.append((match, ok))
        results.sort(key=lambda r: (-r[0].score, r[0].id))
        return results

    def _score_field(
        self,
        topic: _Compiled,
        field: str,
        field_no: int,
        value: str,
        hits: _Hits,
        weight: float,
        evidence: list[tuple[int, int, str, str]],
        found_terms: set[str],
    ) -> float:
        score = 0.0
        masked: set[int] = set()
        for term in _present(topic.exclude, topic.exclude_by_first, hits):
            found = _occurrences(term, hits)
            if not found:
                continue
            for positions, _ in found:
                masked.update(positions)
            if term.weight > 0:
                score -= term.weight * weight
                evidence.append(
                    (
                        field_no,
                        found[0][0][0],
                        term.text,
                        f"{field}: −{term.text} ← {_quote(found)}",
                    )
                )
        for term in _present(topic.include, topic.include_by_first, hits):
            found = _occurrences(term, hits)
            if masked:
                found = [o for o in found if masked.isdisjoint(o[0])]
            if not found:
                continue
            extra = min(len({positions[0] for positions, _ in found}) - 1, REPEAT_CAP)
            score += term.weight * weight * (1 + REPEAT_BONUS * extra)
            found_terms.add(term.text)
            evidence.append(
                (
                    field_no,
                    found[0][0][0],
                    term.text,
                    f"{field}: {term.text} ← {_quote(found)}",
                )
            )
        for pattern, regex, regex_weight in topic.regexes:
            m = regex.search(value, 0, REGEX_INPUT_LIMIT)
            if m:
                score += regex_weight * weight
                sign = "" if regex_weight > 0 else "−"
                evidence.append(
                    (field_no, 1 << 30, pattern, f"{field}: {sign}/{pattern}/ ← «{m.group()}»")
                )
        return score


def _applies(topic: _Compiled, source: str | None, city: str | None) -> bool:
    if topic.sources and source not in topic.sources:
        return False
    return not topic.cities or (city is not None and fold(city) in topic.cities)


def _bounded(value: str, limit: int | None) -> str:
    """The first ``limit`` characters of a field, without a word cut in half."""
    if limit is None or len(value) <= limit:
        return value
    end = limit
    # A word that runs past the limit is dropped whole: half of «электробусами» is no evidence.
    if _in_word(value[end]):
        while end > 0 and _in_word(value[end - 1]):
            end -= 1
    return value[:end]


def _in_word(char: str) -> bool:
    return char.isalnum() or char in HYPHENS


def _present(
    terms: tuple[_Term, ...], by_first: dict[int, tuple[int, ...]], hits: _Hits
) -> list[_Term]:
    """The terms whose first word occurs in the field, in config order."""
    found = [i for mid in hits if mid in by_first for i in by_first[mid]]
    found.sort()
    return [terms[i] for i in found]


def _url_words(url: str) -> str:
    if not url:
        return ""
    # Only the path carries a rubric or slug (/news/transport/…, /posts/id1-klaster-…).
    return unquote(urlsplit(url).path).replace("/", " . ").replace("_", " ")


def _occurrences(term: _Term, hits: _Hits) -> list[_Occurrence]:
    first = hits.get(term.matchers[0])
    if not first:
        return []
    if len(term.matchers) == 1:
        return [((pos,), surface) for pos, surface in first]
    found: list[_Occurrence] = []
    for pos, surface in first:
        positions, surfaces = [pos], [surface]
        for mid in term.matchers[1:]:
            nxt = next(
                (
                    (p, s)
                    for p, s in hits.get(mid, ())
                    if positions[-1] < p <= positions[-1] + 1 + PHRASE_GAP
                ),
                None,
            )
            if nxt is None:
                break
            positions.append(nxt[0])
            surfaces.append(nxt[1])
        else:
            found.append((tuple(positions), " ".join(surfaces)))
    return found


def _quote(found: list[_Occurrence]) -> str:
    surfaces = list(dict.fromkeys(surface for _, surface in found))
    return ", ".join(f"«{s}»" for s in surfaces[:3])
