"""The in-memory index of a window's story members: MinHash LSH candidates, then verification."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING

from crawler.stories.features import Fingerprint
from crawler.stories.settings import StorySettings
from crawler.stories.verify import Verdict, compare

if TYPE_CHECKING:
    from crawler.stories.sketch import Signature

_SEED = 1  # with datasketch 2.x's "affine32" scheme: 4 bytes per permutation


def _mh() -> ModuleType:
    """crawler.stories.sketch (and numpy, ~12 MiB), imported on first use: a command that only
    opens the store (the parent of a crawl waits for minutes holding it) never needs them."""
    from crawler.stories import sketch

    return sketch


def minhash(fingerprint: Fingerprint, num_perm: int) -> Signature:
    """The MinHash signature of a fingerprint's content lemmas."""
    return _mh().Signature.of_lemmas(fingerprint.lemmas, num_perm, _SEED)


def signature_bytes(signature: Signature) -> bytes:
    """A signature as stored (little-endian uint32 per permutation)."""
    return signature.to_bytes()


def signature_from_bytes(data: bytes) -> Signature:
    """The signature :func:`signature_bytes` stored."""
    return _mh().Signature.from_bytes(data)


@dataclass
class Member:
    """One article of a story, as the index holds it."""

    article_id: int
    story_id: int
    source: str
    published: datetime
    fingerprint: Fingerprint
    signature: Signature


@dataclass(frozen=True)
class Match:
    """The member a new report joins, and why."""

    member: Member
    verdict: Verdict


#: A story's reports of one source published within the window of a time: (story id,
#: source, published) -> members (:meth:`StoryIndex.peers`).
Peers = Callable[[int, str, datetime], Sequence[Member]]


def gather(
    matches: Sequence[Match],
    sizes: Mapping[int, int],
    heads: Mapping[int, int],
    settings: StorySettings,
    source: str = "",
    peers: Peers | None = None,
) -> tuple[int, list[Match]]:
    """The story a new report (of ``source``) joins, and the one-report stories that move in.

    ``matches`` are the report's verified matches, best first (not empty); ``sizes`` and
    ``heads`` give each of their stories' number of members and the order in which its first
    article was seen (any increasing number: a ``seq``); ``peers`` gives a story's other
    reports of a source (None: only the matched ones are known). The report joins its best
    match's story, except when that is a one-report story that also verifies with a member of
    an older story it matched: then it joins that older story (the best-scoring one; without
    that check a report of one meeting's second subject pulled its own story into the
    first's). Every one-report story it matched whose article was seen after the story's
    first article moves into it, except a report that names another day than a report of the
    story it knows of, and a report that is a :func:`rival` of a report of its source the
    story holds or takes in this move: one outlet's series of look-alike reports
    (routes 403, 405, 406) never gathers into one entry through a report that names no route
    (another outlet's, or the outlet's own that the story already holds), while an outlet's
    second report of the same announcement still joins. So a story's first article (its
    entry's GUID and link) never changes.
    """
    first: dict[int, Match] = {}
    for m in matches:
        first.setdefault(m.member.story_id, m)
    best = matches[0]
    story = best.member.story_id
    if sizes.get(story) == 1:
        for other, m in first.items():
            if heads[other] < heads[story] and _links(best.member, m.member, settings):
                story = other
                break
    held = [m.member for m in matches if m.member.story_id == story]
    moved: list[Match] = []
    for other, m in first.items():
        if other == story or sizes.get(other) != 1 or heads[other] <= heads[story]:
            continue
        mover = m.member
        # Every report of its source the story would hold with it, not only the one matched:
        # checked against the matched member alone, a numberless report of the series let
        # each of the others in one by one.
        known = [x for x in held if x.source == mover.source]
        if peers is not None:
            known += peers(story, mover.source, mover.published)
        known += [x.member for x in moved if x.member.source == mover.source]
        if any(rival(mover.fingerprint, x.fingerprint, settings) for x in known):
            continue
        # Nor into a story whose reports it knows of name another day, whatever their source:
        # Saturday's repeat of an accident took Thursday's report in through one naming no day.
        held_now = held + [x.member for x in moved]
        if any(compare(mover.fingerprint, x.fingerprint, settings).another_day for x in held_now):
            continue
        moved.append(m)
    return story, moved


def rival(a: Fingerprint, b: Fingerprint, settings: StorySettings) -> bool:
    """Whether two reports of one source are rival events that no story holds together: they
    disagree on a number, date, place or event (:attr:`Verdict.apart`; routes 403 and 405)."""
    return compare(a, b, settings).apart


def _links(a: Member, b: Member, settings: StorySettings) -> bool:
    return compare(a.fingerprint, b.fingerprint, settings).joined


def _keys(fingerprint: Fingerprint) -> frozenset[str]:
    """The exact keys a member is also found by: its headline numbers and route codes."""
    return fingerprint.head_numbers | fingerprint.codes


class StoryIndex:
    """Story members published within the window, searchable by MinHash LSH.

    Not thread-safe; the store holds one per process and uses it under its assignment lock.
    ``last_seq`` is the highest assignment sequence number the index has seen (see
    :mod:`crawler.storage.stories`), so it can catch up on what other processes assigned.
    """

    def __init__(self, settings: StorySettings, since: datetime | None = None) -> None:
        import numpy as np

        self.settings = settings
        self.members: dict[int, Member] = {}
        self.last_seq = 0
        #: The index holds every member published from here on (None: from the beginning);
        #: a report whose window starts earlier must be matched against the store instead.
        self.since = since
        self._bands = _mh().lsh_params(settings.lsh_threshold, settings.num_perm)
        # Each member is a row of these arrays (signature, publication time, source, article
        # id), so LSH's candidates are found, filtered and ranked by estimated similarity in a
        # few vectorized operations over the rows, with no Python work per member: a window of
        # look-alike reports offers every member as a candidate. Removed members' rows are
        # free (``_live`` False) until reused. Signatures are stored a permutation per line
        # (row ``i`` is column ``i``), so each comparison runs over contiguous memory.
        self._signatures = np.zeros((settings.num_perm, 64), dtype=np.uint32)
        self._published = np.zeros(64, dtype=np.float64)
        self._sources = np.zeros(64, dtype=np.int64)
        self._ids = np.zeros(64, dtype=np.int64)
        self._live = np.zeros(64, dtype=bool)
        self._source_ids: dict[str, int] = {}
        self._row_of: dict[int, int] = {}
        self._free: list[int] = []
        self._rows_used = 0
        self._by_age: list[tuple[datetime, int]] = []  # heap of (published, article id)
        # Members by headline number and route code: rewrites of one announcement can share
        # too few words for LSH to offer them reliably (at a 0.1 threshold it misses about one
        # pair in ten), but they share the route or the count their headlines name. (Rows, not
        # article ids: a count every report names, «миллион», holds most of the window.)
        self._by_key: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self.members)

    def _source_id(self, source: str) -> int:
        return self._source_ids.setdefault(source, len(self._source_ids) + 1)

    def add(self, member: Member) -> None:
        """Index a member (replacing an older entry of the same article)."""
        import numpy as np

        if member.article_id in self.members:
            self.remove(member.article_id)
        self.members[member.article_id] = member
        if self._free:
            row = self._free.pop()
        else:
            if self._rows_used == len(self._published):
                self._signatures = np.concatenate([self._signatures, self._signatures], axis=1)
                self._published = np.concatenate([self._published, self._published])
                self._sources = np.concatenate([self._sources, self._sources])
                self._ids = np.concatenate([self._ids, self._ids])
                self._live = np.concatenate([self._live, np.zeros_like(self._live)])
            row = self._rows_used
            self._rows_used += 1
        self._signatures[:, row] = member.signature.hashvalues
        self._published[row] = member.published.timestamp()
        self._sources[row] = self._source_id(member.source)
        self._ids[row] = member.article_id
        self._live[row] = True
        self._row_of[member.article_id] = row
        for key in _keys(member.fingerprint):
            self._by_key.setdefault(key, set()).add(row)
        heapq.heappush(self._by_age, (member.published, member.article_id))
        if len(self._by_age) > 2 * len(self.members) + 64:
            # Entries of removed or replaced members stay until evicted, and an index that is
            # never evicted by age (the store's older days: members leave with their day)
            # would keep one per member it ever held.
            self._by_age = [(m.published, m.article_id) for m in self.members.values()]
            heapq.heapify(self._by_age)

    def remove(self, article_id: int) -> None:
        """Forget an article."""
        member = self.members.pop(article_id, None)
        if member is not None:
            row = self._row_of.pop(article_id)
            self._live[row] = False
            self._free.append(row)
            for key in _keys(member.fingerprint):
                rows = self._by_key.get(key)
                if rows is not None:
                    rows.discard(row)
                    if not rows:
                        del self._by_key[key]

    def covers(self, published: datetime) -> bool:
        """Whether every member within the window of a report published then is here."""
        return self.since is None or published - self.settings.window >= self.since

    def evict(self, before: datetime) -> int:
        """Forget members published before ``before``; returns how many."""
        if self.since is None or before > self.since:
            self.since = before
        evicted = 0
        while self._by_age and self._by_age[0][0] < before:
            published, article_id = heapq.heappop(self._by_age)
            member = self.members.get(article_id)
            if member is not None and member.published == published:
                self.remove(article_id)
                evicted += 1
        return evicted

    def candidates(
        self,
        signature: Signature,
        published: datetime,
        source: str,
        fingerprint: Fingerprint | None = None,
    ) -> list[Member]:
        """Members LSH offers for ``signature`` (and those sharing a headline number or route
        code with ``fingerprint``): published within the window, by other sources, at most
        ``max_candidates`` of them, the most similar by the signatures' estimate.

        A story gathers *different* outlets' reports; a source's own follow-up or near-copy is
        its own article, as in its source feed.
        """
        import numpy as np

        used = self._rows_used
        found = self._live[:used] & _mh().band_matches(
            self._signatures[:, :used], signature, *self._bands
        )
        if fingerprint is not None:
            for key in _keys(fingerprint):
                keyed = self._by_key.get(key)
                if keyed:
                    found[np.fromiter(keyed, dtype=np.intp, count=len(keyed))] = True
        found &= np.abs(self._published[:used] - published.timestamp()) <= (
            self.settings.window_hours * 3600
        )
        found &= self._sources[:used] != self._source_ids.get(source, 0)
        rows = np.flatnonzero(found)
        cap = self.settings.max_candidates
        if len(rows) > cap:
            # The most similar by the share of equal minimums (it estimates the Jaccard
            # similarity of the lemma sets), ties to the lower article id: the ``cap`` largest
            # estimates without sorting all of a crowded window's members.
            mins = signature.hashvalues[:, None]
            if 4 * len(rows) < used:
                estimate = (self._signatures[:, rows] == mins).sum(axis=0, dtype=np.int32)
            else:
                equal = self._signatures[:, :used] == mins
                estimate = equal.sum(axis=0, dtype=np.int32)[rows]
            cut = np.partition(estimate, len(rows) - cap)[len(rows) - cap]
            tied = rows[estimate == cut]
            tied = tied[np.argsort(self._ids[tied], kind="stable")]
            above = estimate > cut
            rows = np.concatenate([rows[above], tied[: cap - int(above.sum())]])
            estimate = np.concatenate([estimate[above], np.full(cap - int(above.sum()), cut)])
            rows = rows[np.lexsort((self._ids[rows], -estimate))]
        else:
            # In article id order, as LSH's sorted keys were.
            rows = rows[np.argsort(self._ids[rows], kind="stable")]
        return [self.members[int(k)] for k in self._ids[rows]]

    def best_match(
        self, fingerprint: Fingerprint, signature: Signature, published: datetime, source: str
    ) -> Match | None:
        """The best-scoring verified member for a new report, or None (a new story)."""
        matches = self.verified(fingerprint, signature, published, source)
        return matches[0] if matches else None

    def verified(
        self, fingerprint: Fingerprint, signature: Signature, published: datetime, source: str
    ) -> list[Match]:
        """Every candidate member that verifies as the same event as a new report, best first
        (highest score, then the oldest article)."""
        matches = []
        rivals = set()  # stories holding a report of the same kind of event on another day
        for member in self.candidates(signature, published, source, fingerprint):
            verdict = compare(fingerprint, member.fingerprint, self.settings)
            if verdict.joined:
                matches.append(Match(member, verdict))
            elif verdict.another_day:
                rivals.add(member.story_id)
        if rivals:
            # One report it matches is not enough when another of the story says it is
            # another event: «трамвай снова сошёл с рельсов в пятницу» matched Thursday's
            # report without a weekday, while the story's «в среду» report was its rival.
            matches = [m for m in matches if m.member.story_id not in rivals]
        if matches:
            matches = self._agreeing_with_own_source(fingerprint, published, source, matches)
        matches.sort(key=lambda m: (-m.verdict.score, m.member.article_id))
        return matches

    def _agreeing_with_own_source(
        self, fingerprint: Fingerprint, published: datetime, source: str, matches: list[Match]
    ) -> list[Match]:
        """``matches`` less those in a story that holds a report of ``source`` (within the
        window) which the new report does not verify with, or is a :func:`rival` of.

        An outlet rarely reports one event twice within hours; its second report of one event
        (an update, a rewrite) verifies with its first. Without this check one outlet's
        reports of different events each matched another outlet's report, and gathered under
        it as one story, through what each shared with that report alone. Every report of
        the source counts, not one that agrees: a numberless report of an outlet's series
        (a timetable) verifies with each of its route reports, and let them all in.
        """
        own = self._reports_of(source, published, {m.member.story_id for m in matches})
        refused = set()
        for story, members in own.items():
            verdicts = [compare(fingerprint, m.fingerprint, self.settings) for m in members]
            if not any(v.joined for v in verdicts) or any(v.apart for v in verdicts):
                refused.add(story)
        return [m for m in matches if m.member.story_id not in refused]

    def peers(self, story_id: int, source: str, published: datetime) -> list[Member]:
        """The members of story ``story_id`` of ``source`` published within the window of
        ``published`` (a :data:`Peers` for :func:`gather`)."""
        return self._reports_of(source, published, {story_id}).get(story_id, [])

    def _reports_of(
        self, source: str, published: datetime, stories: Collection[int]
    ) -> dict[int, list[Member]]:
        """The members of ``source`` published within the window of ``published``, of those
        of ``stories`` that hold any, by story."""
        import numpy as np

        mine = self._source_ids.get(source)
        if mine is None:
            return {}
        used = self._rows_used
        rows = np.flatnonzero(
            self._live[:used]
            & (self._sources[:used] == mine)
            & (
                np.abs(self._published[:used] - published.timestamp())
                <= self.settings.window_hours * 3600
            )
        )
        own: dict[int, list[Member]] = {}
        members = self.members
        # Read from the members, not kept in an array: a move (the store's ``_absorb``)
        # changes a member's story in place. A plain list of ids walks ~10x faster than numpy's.
        for article_id in self._ids[rows].tolist():
            member = members[article_id]
            if member.story_id in stories:
                own.setdefault(member.story_id, []).append(member)
        return own
