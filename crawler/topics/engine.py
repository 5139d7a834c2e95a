"""The topic engine: scores an article's fields against compiled topics, with evidence."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from urllib.parse import unquote, urlsplit

from crawler.models import Article, TopicMatch
from crawler.topics.morph import HYPHENS, Lemmatizer, fold
from crawler.topics.patterns import TopicPattern, compile_pattern
from crawler.topics.spec import FIELDS, REPEAT_BONUS, REPEAT_CAP, TopicSpec
from crawler.topics.terms import NEAR, NEAR_WINDOW, is_near_term, parse_term
from crawler.topics.vocabulary import Hits, TermVocabulary

__all__ = ["NAME_WEIGHT", "SCAN_LIMIT", "TopicEngine"]

# Words between two words of a phrase: «зарядных электрических станций» still matches
# «зарядн* станц*», but a word three positions away does not.
PHRASE_GAP = 1
# Each field is read up to this many characters (cut back to a word boundary). The lead of a
# news article carries its topic: a typical body (3-5 KB) is read whole, and a 64 KB page costs
# what a 5 KB one does instead of thirteen times more. A term mentioned only past the first 5,000
# characters of the body adds at most 1.5 to a topic's score, so this can only turn a borderline
# match off, never a title/lead match (bench/topics.py compares both ways over real bodies).
SCAN_LIMIT = 5_000
# A capitalised include term of at least this weight is a name that means one thing («Тройка»,
# «Москвич 3е»); a lighter one is an ambiguous word («Ласточка» 0.3: a bird, a hotel's name).
NAME_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class _Term:
    text: str  # as written in the config, shown in evidence
    matchers: tuple[int, ...]
    weight: float
    near: bool = False  # «a ~ b»: two words within NEAR_WINDOW, either order
    # Of a near term, the index (0 or 1) of its word that is an adjective: the pair then needs
    # the adjective to agree with the other word (see _near), or None.
    adjective: int | None = None


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: TopicSpec
    include: tuple[_Term, ...]
    exclude: tuple[_Term, ...]
    regexes: tuple[tuple[TopicPattern, float], ...]
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


class TopicEngine:
    """Scores articles against compiled topics; build once, call :meth:`classify` per article.

    Construction lemmatizes every term once. Each field of an article is read once for all topics,
    up to :data:`SCAN_LIMIT` characters; a per-engine LRU cache maps a word to the term words it
    matches (:class:`~crawler.topics.vocabulary.TermVocabulary`), so a word costs one dictionary
    look-up once seen, and only if it could lead to a term, which keeps a crawl's steady stream of
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
        self._vocabulary = TermVocabulary(self._lemmatizer, cache_size)
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
                    exclude=tuple(
                        self._term(t, w, evidence=False) for t, w in spec.exclude.items()
                    ),
                    regexes=tuple((compile_pattern(p), w) for p, w in spec.regexes.items()),
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
        self._vocabulary.seal()
        self.word_matchers = self._vocabulary.word_matchers

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

    def tag(self, article: Article, *, city: str | None = None) -> None:
        """Set ``article.topics`` (and ``topics_url``, the URL they were scored with)."""
        article.topics = self.classify_article(article, city=city)
        article.topics_url = article.url

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

    def _term(self, text: str, weight: float, *, evidence: bool = True) -> _Term:
        words = parse_term(text)
        # A word written with a capital is a name itself («Тройка», «Москвич 3е»), unless the
        # config weighs it as ambiguous (Ласточка, Иволга: also birds): see TermVocabulary.add.
        written = [w for w in text.split() if w != NEAR]
        named = evidence and weight >= NAME_WEIGHT and not is_near_term(text)
        matchers = tuple(
            self._vocabulary.add(w, evidence=evidence, name=named and raw[:1].isupper())
            for w, raw in zip(words, written, strict=True)
        )
        near = is_near_term(text)
        adjective = None
        if near:
            adjective = next(
                (
                    i
                    for i, w in enumerate(words)
                    if w.kind == "lemma" and self._lemmatizer.is_adjective(w.value)
                ),
                None,
            )
        return _Term(text, matchers, weight, near, adjective)

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
        hits = {f: self._vocabulary.hits(v) for f, v in fields.items() if v}
        results: list[tuple[TopicMatch, bool]] = []
        # Per field, what a one-word term's matcher gives (see _one_word), for every topic.
        words: dict[str, dict[int, tuple[int, int, str]]] = {f: {} for f in hits}
        for topic in topics:
            score = 0.0
            evidence: list[tuple[int, int, str, str]] = []
            found: set[str] = set()  # include terms that counted, for ``requires``
            for field_no, field in enumerate(FIELDS):
                weight = topic.spec.field_weights[field]
                if field not in hits or weight == 0:
                    continue
                score += self._score_field(
                    topic,
                    field,
                    field_no,
                    fields[field],
                    hits[field],
                    weight,
                    evidence,
                    found,
                    words[field],
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
        hits: Hits,
        weight: float,
        evidence: list[tuple[int, int, str, str]],
        found_terms: set[str],
        words: dict[int, tuple[int, int, str]],
    ) -> float:
        score = 0.0
        masked: set[int] = set()
        for term in _present(topic.exclude, topic.exclude_by_first, hits):
            found = _occurrences(term, hits, self._lemmatizer)
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
            if len(term.matchers) == 1 and not masked:
                # One word, nothing masked: its occurrences are the word's hits, whatever the
                # topic, so what they give is worked out once per field (``words``).
                extra, first_pos, quoted = _one_word(hits, term.matchers[0], words)
            else:
                found = _occurrences(term, hits, self._lemmatizer)
                if masked:
                    found = [o for o in found if masked.isdisjoint(o[0])]
                if not found:
                    continue
                extra = min(len({positions[0] for positions, _ in found}) - 1, REPEAT_CAP)
                first_pos, quoted = found[0][0][0], _quote(found)
            score += term.weight * weight * (1 + REPEAT_BONUS * extra)
            found_terms.add(term.text)
            evidence.append((field_no, first_pos, term.text, f"{field}: {term.text} ← {quoted}"))
        for regex, regex_weight in topic.regexes:
            matched = regex.first_match(value)
            if matched is not None:
                score += regex_weight * weight
                sign = "" if regex_weight > 0 else "−"
                pattern = regex.pattern
                evidence.append(
                    (field_no, 1 << 30, pattern, f"{field}: {sign}/{pattern}/ ← «{matched}»")
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
    terms: tuple[_Term, ...], by_first: dict[int, tuple[int, ...]], hits: Hits
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


def _occurrences(term: _Term, hits: Hits, lemmatizer: Lemmatizer) -> list[_Occurrence]:
    first = hits.get(term.matchers[0])
    if not first:
        return []
    if len(term.matchers) == 1:
        return [((pos,), surface) for pos, surface in first]
    if term.near:
        second = hits.get(term.matchers[1], ())
        if term.adjective is None:
            return _near(first, second)
        return _near(first, second, _Agreement(term.adjective == 0, lemmatizer))
    found: list[_Occurrence] = []
    for pos, surface in first:
        positions, surfaces = [pos], [surface]
        for mid in term.matchers[1:]:
            nxt = _next_after(hits.get(mid, ()), positions[-1])
            if nxt is None:
                break
            positions.append(nxt[0])
            surfaces.append(nxt[1])
        else:
            found.append((tuple(positions), " ".join(surfaces)))
    return found


_POSITION = itemgetter(0)


def _next_after(found: Sequence[tuple[int, str]], last: int) -> tuple[int, str] | None:
    """The first hit of ``found`` (sorted by position, as :meth:`TermVocabulary.hits` gives
    them) after ``last`` by at most ``1 + PHRASE_GAP`` positions, or None: the first after
    ``last`` found by bisection; if it is too far, so are all after it."""
    i = bisect_right(found, last, key=_POSITION)
    if i < len(found) and found[i][0] <= last + 1 + PHRASE_GAP:
        return found[i]
    return None


# An adjective stands at most this many words before its noun: «электрические и гибридные
# автобусы» (3), not «электрическая проводка салона автобуса».
ADJECTIVE_BEFORE = 3


@dataclass(frozen=True, slots=True)
class _Agreement:
    """Whether a near pair's adjective can belong to its noun: «электрический ~ автобус» is met
    by «электрические и гибридные автобусы» and «автобусы станут электрическими», not by
    «автобус врезался в электрический столб» or «электрическая проводка автобуса»."""

    adjective_first: bool  # the term's first word is the adjective
    lemmatizer: Lemmatizer

    def __call__(self, first: tuple[int, str], second: tuple[int, str]) -> bool:
        (a_pos, adjective), (n_pos, noun) = (
            (first, second) if self.adjective_first else (second, first)
        )
        if a_pos < n_pos:
            return n_pos - a_pos <= ADJECTIVE_BEFORE and self.lemmatizer.agrees(adjective, noun)
        # After the noun only as its predicate: «станут электрическими», «стали электрическими».
        return self.lemmatizer.is_predicative(adjective)


def _near(
    first: list[tuple[int, str]],
    second: Sequence[tuple[int, str]],
    agreement: _Agreement | None = None,
) -> list[_Occurrence]:
    """Pairs of the two words of a near term, at most NEAR_WINDOW words apart, either order
    (and, where one is an adjective, agreeing: see :class:`_Agreement`)."""
    found: list[_Occurrence] = []
    for pos, surface in first:
        # The first of ``second`` (in text order: sorted by position) within the window, not
        # at ``pos`` and agreeing: the window's start found by bisection, not by a walk.
        other = None
        for j in range(bisect_left(second, pos - NEAR_WINDOW, key=_POSITION), len(second)):
            p, s = second[j]
            if p > pos + NEAR_WINDOW:
                break
            if p != pos and (agreement is None or agreement((pos, surface), (p, s))):
                other = (p, s)
                break
        if other is not None:
            pair = sorted([(pos, surface), other])
            found.append(((pair[0][0], pair[1][0]), f"{pair[0][1]} … {pair[1][1]}"))
    return found


def _one_word(hits: Hits, mid: int, memo: dict[int, tuple[int, int, str]]) -> tuple[int, int, str]:
    """What the hits of one word give a one-word term, nothing masked: the repeats that count
    (distinct positions less one, at most :data:`REPEAT_CAP`), the first position and the
    quote; as :func:`_occurrences` and :func:`_quote` give them, remembered in ``memo``."""
    known = memo.get(mid)
    if known is None:
        found = hits[mid]
        extra = min(len(set(map(itemgetter(0), found))) - 1, REPEAT_CAP)
        known = memo[mid] = (extra, found[0][0], _quote_surfaces(map(itemgetter(1), found)))
    return known


def _quote(found: list[_Occurrence]) -> str:
    return _quote_surfaces(surface for _, surface in found)


def _quote_surfaces(found: Iterable[str]) -> str:
    # The first three distinct surfaces, found without deduplicating every occurrence: a
    # frequent word occurs dozens of times in a body (2.4 % of tagging the bench's articles).
    surfaces: dict[str, None] = {}
    for surface in found:
        surfaces[surface] = None
        if len(surfaces) == 3:
            break
    return ", ".join(f"«{s}»" for s in surfaces)
