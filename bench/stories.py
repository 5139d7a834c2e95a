"""Benchmark: story clustering on labelled real reports, and its cost at 100k stored articles.

    python bench/stories.py                 # quality on the labelled set + cost at 100k
    python bench/stories.py --quality-only  # the labelled set only
    python bench/stories.py --articles 20000 --db FILE

Quality: ``tests/fixtures/stories/labelled.jsonl`` holds real reports (headline and lead as the
outlets published them, with outlet, date and URL) gathered from public pages, labelled with
the event (``story``) and a coarse ``topic``; records marked ``heldout`` were not looked at
while tuning :class:`crawler.stories.StorySettings`. Each set is clustered the way the store
assigns stories (reports in order, each joining the best verified match) but with *no* time
window, since some records carry no date: every report can meet every look-alike, which is
stricter than production. Printed: pairwise precision and recall, B-cubed F1, and how many
same-topic/different-event pairs (near misses) were wrongly joined — for all records and for
the held-out ones alone.

Cost: a SQLite store is filled with ``--articles`` synthetic reports (variations of the
labelled ones spread over 100 days, so the 72-hour window holds ~3 % of them) with their story
membership; then the median and 95th-percentile time of assigning one new article (fingerprint,
LSH query, verification, the write) and the time to rebuild the window's index on open.
Goal: <= 5 ms per assignment at 100k. Feed build times with and without stories are printed
by ``bench/feeds.py --stories``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.stories import Member, StoryIndex, StorySettings, fingerprint, minhash
from crawler.topics.morph import Lemmatizer

LABELLED = Path(__file__).resolve().parents[1] / "tests/fixtures/stories/labelled.jsonl"


@dataclass(frozen=True)
class Scores:
    """Pairwise precision/recall, B-cubed F1 and near misses joined, over one set."""

    records: int
    stories: int
    precision: float
    recall: float
    bcubed_f1: float
    near_misses: int
    near_misses_joined: int


def load(path: Path = LABELLED) -> list[dict[str, object]]:
    """The labelled records."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def cluster(
    records: Sequence[dict[str, object]], settings: StorySettings, *, window: bool = False
) -> list[int]:
    """A story number per record, assigned in order the way the store does.

    Without ``window`` every report may join every other. With it, a report is placed at noon
    of its date and the window applies (undated ones all at one far-away time).
    """
    lemmatizer = Lemmatizer()
    if not window:
        settings = StorySettings(**{**settings.__dict__, "window_hours": 1e6})
    index = StoryIndex(settings)
    labels = []
    for i, record in enumerate(records):
        when = (
            datetime.fromisoformat(f"{record['published']}T12:00:00+00:00")
            if record["published"]
            else datetime(2000, 1, 1, tzinfo=UTC)
        )
        fp = fingerprint(str(record["title"]), str(record["lead"]), "", lemmatizer)
        sig = minhash(fp, settings.num_perm)
        match = index.best_match(fp, sig, when, str(record["outlet"]))
        story = match.member.story_id if match else i
        index.add(Member(i, story, str(record["outlet"]), when, fp, sig))
        labels.append(story)
    return labels


def score(records: Sequence[dict[str, object]], predicted: Sequence[int]) -> Scores:
    """Pairwise and B-cubed scores of ``predicted`` against the records' ``story`` labels."""
    truth = [str(r["story"]) for r in records]
    topics = [str(r["topic"]) for r in records]
    tp = fp = fn = near = near_joined = 0
    for i, j in itertools.combinations(range(len(records)), 2):
        same, joined = truth[i] == truth[j], predicted[i] == predicted[j]
        tp += same and joined
        fp += joined and not same
        fn += same and not joined
        if not same and topics[i] == topics[j]:
            near += 1
            near_joined += joined
    by_truth: dict[str, set[int]] = defaultdict(set)
    by_pred: dict[int, set[int]] = defaultdict(set)
    for i, (t, p) in enumerate(zip(truth, predicted, strict=True)):
        by_truth[t].add(i)
        by_pred[p].add(i)
    b_p = b_r = 0.0
    for i in range(len(records)):
        common = len(by_truth[truth[i]] & by_pred[predicted[i]])
        b_p += common / len(by_pred[predicted[i]])
        b_r += common / len(by_truth[truth[i]])
    b_p, b_r = b_p / len(records), b_r / len(records)
    return Scores(
        records=len(records),
        stories=len(by_truth),
        precision=tp / (tp + fp) if tp + fp else 1.0,
        recall=tp / (tp + fn) if tp + fn else 1.0,
        bcubed_f1=2 * b_p * b_r / (b_p + b_r) if b_p + b_r else 0.0,
        near_misses=near,
        near_misses_joined=near_joined,
    )


def ordered(records: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Records in publication order (undated ones last, in file order), as a crawl sees them."""
    return sorted(records, key=lambda r: (r["published"] is None, str(r["published"] or "")))


def quality(settings: StorySettings, *, show_errors: bool = False) -> None:
    """Print the scores on all records and on the held-out ones."""
    records = ordered(load())
    multi = sum(1 for n in _sizes(records).values() if n > 1)
    print(
        f"labelled set: {len(records)} reports, {len(_sizes(records))} events, "
        f"{multi} reported by 2+ reports ({sum(n for n in _sizes(records).values() if n > 1)}"
        " reports)"
    )
    for (name, subset), window in itertools.product(
        (
            ("all", records),
            ("held-out", [r for r in records if r["heldout"]]),
            ("tuning", [r for r in records if not r["heldout"]]),
        ),
        (False, True),
    ):
        if window:
            # Undated reports cannot be placed in time: leave them out of the window runs.
            subset = [r for r in subset if r["published"]]
        predicted = cluster(subset, settings, window=window)
        s = score(subset, predicted)
        mode = "72 h window" if window else "no window  "
        print(
            f"{name:9} {mode} reports {s.records:4}  P {s.precision:.3f} R {s.recall:.3f}  "
            f"B-cubed F1 {s.bcubed_f1:.3f}  near misses joined {s.near_misses_joined}/"
            f"{s.near_misses}"
        )
        if show_errors and name == "tuning" and window:  # never the held-out records
            _errors(subset, predicted)


def _sizes(records: Sequence[dict[str, object]]) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    for r in records:
        sizes[str(r["story"])] += 1
    return sizes


def _errors(records: Sequence[dict[str, object]], predicted: Sequence[int]) -> None:
    for i, j in itertools.combinations(range(len(records)), 2):
        same = records[i]["story"] == records[j]["story"]
        joined = predicted[i] == predicted[j]
        if same != joined:
            kind = "MISSED" if same else "WRONG "
            print(
                f"  {kind} {records[i]['id']} {records[i]['story']} ~ {records[j]['id']} "
                f"{records[j]['story']}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list wrongly joined/missed pairs")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", help="SQLite file for the cost run (default: a temporary one)")
    args = parser.parse_args(argv)
    settings = StorySettings()
    quality(settings, show_errors=args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
