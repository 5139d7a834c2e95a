"""Measuring topic tagging against a labelled set: cases, confusion counts, a naive baseline.

Shared by ``bench/topics.py`` (the report) and the tests that hold the engine to its figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crawler.topics.spec import TopicSpec

__all__ = ["Case", "Counts", "SubstringBaseline", "evaluate", "load_cases", "load_labelled"]


@dataclass(frozen=True)
class Case:
    """One labelled headline: the gold topics cover every shipped topic."""

    title: str
    summary: str
    labels: frozenset[str]
    kind: str
    split: str
    note: str = ""
    focus: str = ""
    source: str = ""  # the public page a real headline was gathered from (empty: written)
    text: str = ""  # the body, when the set has one


def load_cases(path: Path) -> list[Case]:
    """Read the labelled JSONL set."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            cases.append(
                Case(
                    row["title"],
                    row.get("summary", ""),
                    frozenset(row["labels"]),
                    row["kind"],
                    row.get("split", "dev"),
                    row.get("note", ""),
                    row.get("focus", ""),
                    row.get("source", ""),
                )
            )
    return cases


def load_labelled(path: Path, topic: str | None = None) -> list[Case]:
    """Read a user's labelled JSONL set: ``title``, ``summary`` and/or ``text``, and either
    ``labels`` (topic ids) or, with ``topic``, ``label`` (true/false for that topic).

    The fields are kept as written (``cityfeeds classify`` fills in the ones a crawl would);
    ``split`` and ``id`` (as ``note``) are kept if present. Raise ValueError naming the line of
    a malformed row.
    """
    cases = []
    # utf-8-sig: a file saved by a Windows editor starts with a BOM.
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            cases.append(_labelled_case(row, topic))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return cases


def _labelled_case(row: dict[str, object], topic: str | None) -> Case:
    for key in ("title", "summary", "text"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise ValueError(f'"{key}" must be text')
    title, summary, text = (str(row.get(k) or "") for k in ("title", "summary", "text"))
    if not (title or summary or text):
        raise ValueError("needs a title, summary or text")
    if "labels" in row and "label" in row:
        raise ValueError('has both "labels" and "label": give one')
    labels = row.get("labels")
    if isinstance(labels, list) and all(isinstance(t, str) for t in labels):
        gold = frozenset(str(t) for t in labels)
    elif isinstance(row.get("label"), bool) and topic is not None:
        gold = frozenset({topic}) if row["label"] else frozenset()
    elif "label" in row and topic is None:
        raise ValueError('"label" needs --topic to say which topic it is about')
    else:
        raise ValueError('needs "labels" (a list of topic ids) or "label" (true/false)')
    name = str(row.get("id") or "")
    return Case(
        title,
        summary,
        gold,
        "labelled",
        str(row.get("split") or "all"),
        note=name,
        text=text,
    )


class SubstringBaseline:
    """The naive approach: a topic matches if, case-insensitively, the text contains one of its
    terms as a substring (``*`` dropped; for a phrase, every word of it)."""

    def __init__(self, specs: Sequence[TopicSpec]) -> None:
        """Take each topic's include terms, lower-cased, without ``*``."""
        self._terms = {
            s.id: [[w.rstrip("*").lower() for w in t.split()] for t in s.include] for s in specs
        }

    def topics(self, text: str) -> set[str]:
        """The topic ids whose words occur in ``text``."""
        low = text.lower()
        return {
            tid
            for tid, terms in self._terms.items()
            if any(all(w in low for w in words) for words in terms)
        }


@dataclass
class Counts:
    """Confusion counts of one topic."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def prf(self) -> tuple[float, float, float]:
        """Precision, recall and F1 (1.0 when there is nothing to get wrong)."""
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f


def evaluate(
    cases: Sequence[Case], topic_ids: Sequence[str], predict: Callable[[Case], set[str]]
) -> tuple[dict[str, Counts], list[tuple[Case, str, str]]]:
    """Count TP/FP/FN per topic; also return the errors as (case, topic, "FP"|"FN")."""
    counts = {t: Counts() for t in topic_ids}
    errors = []
    for case in cases:
        predicted = predict(case)
        for t in topic_ids:
            gold, got = t in case.labels, t in predicted
            if gold and got:
                counts[t].tp += 1
            elif got:
                counts[t].fp += 1
                errors.append((case, t, "FP"))
            elif gold:
                counts[t].fn += 1
                errors.append((case, t, "FN"))
    return counts, errors
