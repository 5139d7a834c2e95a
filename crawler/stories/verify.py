"""The verification step: score a candidate pair and check the entities that tell events apart."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.stories.features import Fingerprint, stem_name
from crawler.stories.settings import StorySettings


@dataclass(frozen=True)
class Verdict:
    """Whether two reports are about one event, their score and the evidence either way."""

    joined: bool
    score: float
    evidence: tuple[str, ...]

    @property
    def apart(self) -> bool:
        """Whether the reports disagree on a number, date, place or event (rival events)."""
        return any(e.startswith("apart: ") for e in self.evidence)

    @property
    def another_day(self) -> bool:
        """Whether the reports name different days (dates or days of the week)."""
        return any(e.startswith(("apart: dates ", "apart: days ")) for e in self.evidence)


def _similarity(
    a: Fingerprint, b: Fingerprint, shared: frozenset[str], in_heads: int, body_weight: float
) -> float:
    """The mean of the Jaccard index and the overlap coefficient of the content lemmas (so a
    short lead inside a long text still counts), where a shared lemma that neither headline
    (title and the lead's first sentence) names counts ``body_weight``: a closing sentence an
    outlet puts under every brief («Работы ведутся по плану…», «Подписывайтесь…») is shared
    body text of unrelated reports, and in two short briefs it alone made them alike.
    ``in_heads``: how many of ``shared`` a headline names."""
    if not shared:
        return 0.0
    weight = in_heads + body_weight * (len(shared) - in_heads)
    return (weight / len(a.lemmas | b.lemmas) + weight / min(len(a.lemmas), len(b.lemmas))) / 2


def _in_heads(words: frozenset[str], a: Fingerprint, b: Fingerprint) -> frozenset[str]:
    """Those of ``words`` that either headline names (a headline's few lemmas are looked up in
    ``words``, not the other way: two long texts share many)."""
    return frozenset(w for w in (*a.head_lemmas, *b.head_lemmas) if w in words)


def _head_support(a: Fingerprint, b: Fingerprint, lemmas: frozenset[str]) -> frozenset[str]:
    """What one report's headline shares with the other report: content ``lemmas`` (shared,
    named by a headline), headline numbers found anywhere in the other, and small counts both
    headlines lead with."""
    numbers = (a.head_numbers & (b.numbers | b.codes)) | (b.head_numbers & (a.numbers | a.codes))
    return lemmas | numbers | (a.head_counts & b.head_counts)


def _show(values: frozenset[str], limit: int = 4) -> str:
    return ", ".join(sorted(values)[:limit])


def compare(a: Fingerprint, b: Fingerprint, settings: StorySettings) -> Verdict:
    """Score reports ``a`` and ``b`` and decide whether they report the same event.

    The score is the content similarity (the mean of the Jaccard index and the overlap
    coefficient of content lemmas, so a short lead inside a long text still counts) plus a
    bonus for each shared number, headline count, date, weekday, place and name. Numbers,
    codes, dates and places are also evidence *against*: when both reports name some and share
    none (route 776 against 812, the 2000th bus against the 2500th, Шаболовка against Лесная),
    they stay apart; so are headlines naming different phases of one object. Shared words no
    headline names count less (``body_weight``), and a pair joins only when its headlines
    share ``head_support`` lemmas, numbers or counts with the other report (a closing line
    under two briefs is no evidence: :func:`_similarity`).
    """
    shared = a.lemmas & b.lemmas
    # Fingerprints stored before headline lemmas were (read back empty): every lemma counts,
    # and no headline support is asked for.
    in_heads = _in_heads(shared, a, b) if a.head_lemmas and b.head_lemmas else None
    similarity = _similarity(
        a,
        b,
        shared,
        len(shared) if in_heads is None else len(in_heads),
        settings.body_weight,
    )
    evidence = [f"similarity {similarity:.2f}"]
    score = similarity
    conflicts = []
    for label, mine, theirs, bonus in (
        ("numbers", a.numbers | a.codes, b.numbers | b.codes, 0.08),
        ("counts", a.head_counts, b.head_counts, 0.08),
        ("days", a.weekdays, b.weekdays, 0.06),
        ("dates", a.dates, b.dates, 0.06),
        ("places", a.places, b.places, 0.06),
    ):
        shared = _shared_places(a, b) if label == "places" else mine & theirs
        if shared:
            score += bonus * min(len(shared), 3)
            evidence.append(f"{label} {_show(shared)}")
    # Numbers in the headline are the event's identity (route 776, the 2000th bus); numbers
    # further down are details each outlet picks differently. So reports stay apart when each
    # headline has a number the other report never gives (a count both share, «15 новых
    # электробусов», does not make routes 904 and 812 one event), when both name route codes and
    # share none, or when all their numbers differ and one headline has a number — unless
    # both headlines lead with the same small count («Восемь маршрутов...», «8 новых
    # маршрутов...»): outlets pick different figures of one announcement further down.
    mine, theirs = a.numbers | a.codes, b.numbers | b.codes
    if (a.head_numbers - b.numbers) and (b.head_numbers - a.numbers):
        conflicts.append(f"numbers {_show(a.head_numbers)} ≠ {_show(b.head_numbers)}")
    elif a.codes and b.codes and not (a.codes & b.codes):
        conflicts.append(f"numbers {_show(a.codes)} ≠ {_show(b.codes)}")
    elif (
        mine
        and theirs
        and not (mine & theirs)
        and (a.head_numbers or b.head_numbers)
        and not (a.head_counts & b.head_counts)
    ):
        conflicts.append(f"numbers {_show(mine)} ≠ {_show(theirs)}")
    if a.dates and b.dates and not (a.dates & b.dates):
        conflicts.append(f"dates {_show(a.dates)} ≠ {_show(b.dates)}")
    if a.weekdays and b.weekdays and not (a.weekdays & b.weekdays):
        # «В среду» against «в пятницу»: two days, as «3 декабря» against «5 декабря» are.
        conflicts.append(f"days {_show(a.weekdays)} ≠ {_show(b.weekdays)}")
    if a.places and b.places and not _shared_places(a, b):
        conflicts.append(f"places {_show(a.places)} ≠ {_show(b.places)}")
    # Headlines naming different phases of one object (its assembly against its opening, a
    # tree's trip against its presentation) are neighbouring events, unless the reports share
    # a figure or a date of one announcement (a closure's dates and its reopening).
    if (
        a.events
        and b.events
        and not (a.events & b.events)
        and not ((a.numbers | a.codes) & (b.numbers | b.codes))
        and not (a.dates & b.dates)
    ):
        conflicts.append(f"events {_show(a.events)} ≠ {_show(b.events)}")
    names = (a.names & b.names) - {stem_name(p) for p in _shared_places(a, b)}
    if names:
        score += 0.03 * min(len(names), 4)
        evidence.append(f"names {_show(names)}")
    if conflicts:
        return Verdict(False, round(score, 3), tuple(evidence + ["apart: " + c for c in conflicts]))
    # Similarity the headlines do not carry is not enough: two reports of one event name its
    # object, place or figure in at least one headline, and the other report names it too.
    # (No conflict: the reports need not be rival events, they just are not shown to be one.)
    if in_heads is not None:
        support = _head_support(a, b, in_heads)
        if len(support) < settings.head_support:
            evidence.append(f"unsupported by the headlines: {_show(support) or 'nothing'}")
            return Verdict(False, round(score, 3), tuple(evidence))
    return Verdict(score >= settings.join_score, round(score, 3), tuple(evidence))


def _shared_places(a: Fingerprint, b: Fingerprint) -> frozenset[str]:
    """``a``'s places that ``b`` names too, compared by their stems: one street's name read in
    two cases can give two lemmas («Улицу Тверскую» → тверская, «На Тверской улице» →
    тверской)."""
    theirs = {stem_name(p) for p in b.places}
    return frozenset(p for p in a.places if stem_name(p) in theirs)
