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


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _show(values: frozenset[str], limit: int = 4) -> str:
    return ", ".join(sorted(values)[:limit])


def compare(a: Fingerprint, b: Fingerprint, settings: StorySettings) -> Verdict:
    """Score reports ``a`` and ``b`` and decide whether they report the same event.

    The score is the content similarity (the mean of the Jaccard index and the overlap
    coefficient of content lemmas, so a short lead inside a long text still counts) plus a
    bonus for each shared number, headline count, date, weekday, place and name. Numbers,
    codes, dates and places are also evidence *against*: when both reports name some and share
    none (route 776 against 812, the 2000th bus against the 2500th, Шаболовка against Лесная),
    they stay apart; so are headlines naming different phases of one object.
    """
    similarity = (_jaccard(a.lemmas, b.lemmas) + _overlap(a.lemmas, b.lemmas)) / 2
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
        shared = mine & theirs
        if shared:
            score += bonus * min(len(shared), 3)
            evidence.append(f"{label} {_show(shared)}")
    # Numbers in the headline are the event's identity (route 776, the 2000th bus); numbers
    # further down are details each outlet picks differently. So reports stay apart when their
    # headline numbers are each absent from the other report, when both name route codes and
    # share none, or when all their numbers differ and one headline has a number — unless
    # both headlines lead with the same small count («Восемь маршрутов...», «8 новых
    # маршрутов...»): outlets pick different figures of one announcement further down.
    mine, theirs = a.numbers | a.codes, b.numbers | b.codes
    if (
        a.head_numbers
        and b.head_numbers
        and not (a.head_numbers & b.numbers)
        and not (b.head_numbers & a.numbers)
    ):
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
    for label, mine, theirs in (("dates", a.dates, b.dates), ("places", a.places, b.places)):
        if mine and theirs and not (mine & theirs):
            conflicts.append(f"{label} {_show(mine)} ≠ {_show(theirs)}")
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
    names = (a.names & b.names) - {stem_name(p) for p in a.places & b.places}
    if names:
        score += 0.03 * min(len(names), 4)
        evidence.append(f"names {_show(names)}")
    if conflicts:
        return Verdict(False, round(score, 3), tuple(evidence + ["apart: " + c for c in conflicts]))
    return Verdict(score >= settings.join_score, round(score, 3), tuple(evidence))
