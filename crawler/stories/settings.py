"""The tunable numbers of story clustering, with the defaults the labelled benchmark chose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class StorySettings:
    """How reports are joined into stories (documented in README, "Stories").

    ``window_hours``: two reports can join only if published at most this far apart.
    ``num_perm``: MinHash permutations (more: finer similarity estimates, slower).
    ``lsh_threshold``: the estimated Jaccard similarity of content lemmas from which LSH offers
    a candidate (low on purpose: rewrites of one announcement share few exact words).
    ``max_candidates``: how many of LSH's candidates (the most similar by MinHash estimate)
    are verified.
    ``join_score``: the verified score (similarity plus shared numbers, dates, places and names)
    a candidate needs. Conflicting numbers, dates or places keep reports apart whatever their
    similarity: announcements of a new route differ in little else than the route number.
    ``body_weight``: how much a shared content lemma that neither headline (title and the
    lead's first sentence) names counts in the similarity; ``head_support``: how many shared
    lemmas, numbers or counts a headline must name for a pair to join at all. Together they
    keep apart short briefs whose similarity is a shared closing sentence.
    """

    window_hours: float = 72.0
    num_perm: int = 64
    lsh_threshold: float = 0.1
    max_candidates: int = 20
    join_score: float = 0.3
    body_weight: float = 0.35
    head_support: int = 3

    @property
    def window(self) -> timedelta:
        """``window_hours`` as a timedelta."""
        return timedelta(hours=self.window_hours)
