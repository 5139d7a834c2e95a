"""The in-memory index of a window's story members: MinHash LSH candidates, then verification."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from crawler.stories.features import Fingerprint
from crawler.stories.settings import StorySettings
from crawler.stories.verify import Verdict, compare

_SEED = 1
_SCHEME = "affine32"  # datasketch 2.x: 32-bit hash values, so a signature is 4 bytes per perm


def minhash(fingerprint: Fingerprint, num_perm: int) -> LeanMinHash:
    """The MinHash signature of a fingerprint's content lemmas."""
    sketch = MinHash(num_perm=num_perm, seed=_SEED, scheme=_SCHEME)
    sketch.update_batch([lemma.encode("utf-8") for lemma in sorted(fingerprint.lemmas)])
    return LeanMinHash(sketch)


def signature_bytes(sketch: LeanMinHash) -> bytes:
    """A signature as stored (little-endian uint32 per permutation)."""
    return np.asarray(sketch.hashvalues, dtype="<u4").tobytes()


def signature_from_bytes(data: bytes) -> LeanMinHash:
    """The signature :func:`signature_bytes` stored."""
    values = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    return LeanMinHash(seed=_SEED, hashvalues=values, scheme=_SCHEME)


@dataclass
class Member:
    """One article of a story, as the index holds it."""

    article_id: int
    story_id: int
    source: str
    published: datetime
    fingerprint: Fingerprint
    signature: LeanMinHash


@dataclass(frozen=True)
class Match:
    """The member a new report joins, and why."""

    member: Member
    verdict: Verdict


class StoryIndex:
    """Story members published within the window, searchable by MinHash LSH.

    Not thread-safe; the store holds one per process and uses it under its assignment lock.
    ``last_seq`` is the highest assignment sequence number the index has seen (see
    :mod:`crawler.storage.stories`), so it can catch up on what other processes assigned.
    """

    def __init__(self, settings: StorySettings) -> None:
        self.settings = settings
        self.members: dict[int, Member] = {}
        self.last_seq = 0
        self._lsh = MinHashLSH(threshold=settings.lsh_threshold, num_perm=settings.num_perm)

    def __len__(self) -> int:
        return len(self.members)

    def add(self, member: Member) -> None:
        """Index a member (replacing an older entry of the same article)."""
        if member.article_id in self.members:
            self.remove(member.article_id)
        self.members[member.article_id] = member
        self._lsh.insert(member.article_id, member.signature, check_duplication=False)

    def remove(self, article_id: int) -> None:
        """Forget an article."""
        if self.members.pop(article_id, None) is not None:
            self._lsh.remove(article_id)

    def evict(self, before: datetime) -> int:
        """Forget members published before ``before``; returns how many."""
        old = [m.article_id for m in self.members.values() if m.published < before]
        for article_id in old:
            self.remove(article_id)
        return len(old)

    def candidates(
        self, signature: LeanMinHash, published: datetime, source: str
    ) -> Iterable[Member]:
        """Members LSH offers for ``signature``: published within the window, by other sources.

        A story gathers *different* outlets' reports; a source's own follow-up or near-copy is
        its own article, as in its source feed.
        """
        window = self.settings.window
        for article_id in self._lsh.query(signature):
            member = self.members[article_id]
            if member.source != source and abs(member.published - published) <= window:
                yield member

    def best_match(
        self, fingerprint: Fingerprint, signature: LeanMinHash, published: datetime, source: str
    ) -> Match | None:
        """The best-scoring verified member for a new report, or None (a new story)."""
        best: Match | None = None
        for member in self.candidates(signature, published, source):
            verdict = compare(fingerprint, member.fingerprint, self.settings)
            if not verdict.joined:
                continue
            if (
                best is None
                or verdict.score > best.verdict.score
                or (
                    verdict.score == best.verdict.score
                    and member.article_id < best.member.article_id
                )
            ):
                best = Match(member, verdict)
        return best
