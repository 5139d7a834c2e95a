"""Stories: assigning each stored article to a story, rebuilding the window's index, listing.

Assignment is serialized across processes (PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE
already is), and every assignment gets the next ``story_members.seq``: a process's in-memory
:class:`crawler.stories.StoryIndex` catches up on what other workers assigned by reading the
rows above the last ``seq`` it saw, so distributed workers join the same stories a single
process would. On open, the index is rebuilt from the stored fingerprints of the articles
published within twice the window before now (no text is read again); a report published
earlier than that (a recrawled or backfilled old article, a first crawl of a site's archive,
the demo's fixed dates) is matched against the stored members of its own window, read from the
store per UTC day and kept for the next reports (:class:`_OlderDays`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from crawler.models import Article
from crawler.storage.engine import Database, insert_ids, retry_locked
from crawler.storage.retention import TEXT_PRUNED_FLAG
from crawler.storage.schema import article_topics, articles, stories, story_members
from crawler.stories.features import TEXT_CHARS, Fingerprint, Fingerprinter
from crawler.stories.index import (
    Match,
    Member,
    StoryIndex,
    gather,
    minhash,
    signature_bytes,
    signature_from_bytes,
)
from crawler.stories.settings import StorySettings

logger = logging.getLogger(__name__)

#: Bytes a stored signature takes per permutation (:func:`signature_bytes`: one uint32 each).
_SIGNATURE_BYTES = 4
_ASSIGN_LOCK = 0x73746F72  # PostgreSQL advisory lock key held while assigning ("stor")


@dataclass(frozen=True)
class StoryAssignment:
    """Where one article went: its story, whether it started it, and the evidence.

    ``absorbed``: articles that were stories of their own and joined this story with it (see
    :meth:`StoryStore._absorb`).
    """

    article_id: int
    story_id: int
    new_story: bool
    matched_id: int | None
    evidence: tuple[str, ...]
    absorbed: tuple[int, ...] = ()


@dataclass
class StoryMemberView:
    """One member of a listed story."""

    article_id: int
    url: str
    source: str
    title: str
    published: datetime
    joined_at: datetime
    matched_id: int | None
    evidence: list[str]


@dataclass
class StoryView:
    """A story as ``cityfeeds stories`` lists it: the first-seen member first."""

    id: int
    article_id: int
    created: datetime
    updated: datetime
    members: list[StoryMemberView] = field(default_factory=list)


@dataclass
class _Prepared:
    article_id: int
    source: str
    published: datetime
    fingerprint: Fingerprint
    signature: Any
    #: ``fingerprint.to_json()``, when already made (None: made when stored).
    stored: dict[str, list[str]] | None = None


class StoryStore(Database):
    """Story assignment and reads. Keeps one index of the window per process (lazily built)."""

    _story_index: StoryIndex | None = None
    _older_days: _OlderDays | None = None
    _fingerprinter: Fingerprinter | None = None

    def _prepare(self, article_id: int, article: Article, settings: StorySettings) -> _Prepared:
        if self._fingerprinter is None:
            self._fingerprinter = Fingerprinter()
        # A fingerprint computed ahead keeps its JSON form for the member's row: made once.
        fp, stored = self._fingerprinter.read(
            article.title, article.summary, article.text, article.fingerprint
        )
        published = article.published
        if published.tzinfo is not None:
            # The same instant in UTC, as the store reads every member back: two aware
            # datetimes of different zones (a site's +03:00, the store's UTC) compare through
            # their offsets, ~10x slower than two of one zone, and the index and the kept old
            # days compare a report's time with their members' and days' many times.
            published = published.astimezone(UTC)
        signature = minhash(fp, settings.num_perm)
        return _Prepared(article_id, article.source, published, fp, signature, stored)

    def assign_stories(
        self,
        batch: Sequence[tuple[int, Article]],
        *,
        settings: StorySettings,
        now: datetime,
    ) -> list[StoryAssignment]:
        """Put each new (``article_id``, article) into the best matching story or a new one.

        Fingerprints are computed before the lock is taken; the matching and the writes happen
        in one write transaction. Articles already assigned are skipped. A failure rolls the
        batch back and drops the in-memory index (rebuilt on the next call).
        """
        if not batch:
            return []
        prepared = [self._prepare(article_id, a, settings) for article_id, a in batch]

        def run() -> list[StoryAssignment]:
            with self._write() as conn:
                self._lock_assignments(conn)
                index = self._caught_up_index(conn, settings, now)
                outside = self._older_days
                assert outside is not None  # set by _caught_up_index
                writes = _Writes(self._assigned(conn, [p.article_id for p in prepared]))
                done = [self._assign_one(conn, index, p, now, outside, writes) for p in prepared]
                writes.flush(conn, now)
                return [replace(a, story_id=writes.story(a.story_id)) for a in done]

        try:
            return retry_locked(run)
        except Exception:
            # Both may hold members of the rolled-back batch.
            self._story_index = None
            self._older_days = None
            raise

    def _lock_assignments(self, conn: Connection) -> None:
        if not self.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ASSIGN_LOCK})

    def _caught_up_index(
        self, conn: Connection, settings: StorySettings, now: datetime
    ) -> StoryIndex:
        """The process's index, built or brought up to date with other processes' assignments."""
        index = self._story_index
        horizon = now - 2 * settings.window
        if index is None or index.settings != settings or self._older_days is None:
            self._older_days = _OlderDays(settings)
            index = StoryIndex(settings, since=horizon)
            query = (
                select(*_MEMBER_COLUMNS)
                .join(articles, articles.c.id == story_members.c.article_id)
                .where(story_members.c.published >= horizon)
            )
            last = conn.execute(select(func.max(story_members.c.seq))).scalar()
            index.last_seq = int(last or 0)
        else:
            index.evict(horizon)
            query = (
                select(*_MEMBER_COLUMNS)
                .join(articles, articles.c.id == story_members.c.article_id)
                .where(story_members.c.seq > index.last_seq)
            )
        older = self._older_days
        assert older is not None
        for row in conn.execute(query.order_by(story_members.c.seq)):
            index.last_seq = max(index.last_seq, row.seq)
            if row.story_id is None:
                continue
            member = _member(row)
            if row.published >= horizon:
                index.add(member)
            # Other processes' assignments reach the kept old days too.
            older.add(member)
        self._story_index = index
        return index

    @staticmethod
    def _assigned(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
        """Story ids of those of ``ids`` that already belong to one (one read for a batch)."""
        rows = conn.execute(
            select(story_members.c.article_id, articles.c.story_id)
            .join(articles, articles.c.id == story_members.c.article_id)
            .where(story_members.c.article_id.in_(ids))
        )
        return {int(row.article_id): int(row.story_id or 0) for row in rows}

    def _assign_one(
        self,
        conn: Connection,
        index: StoryIndex,
        p: _Prepared,
        now: datetime,
        outside: _OlderDays | None = None,
        writes: _Writes | None = None,
    ) -> StoryAssignment:
        """Assign one report; ``outside`` holds the stored members around the reports
        published before the live index's window (a first crawl reads old articles from
        sitemaps: one store read per UTC day, not per report or per batch). The process keeps
        it between batches; the catch-up read of :meth:`_caught_up_index` adds other
        processes' assignments to it (without it, one is made if the report needs it)."""
        pending = _Writes(self._assigned(conn, [p.article_id])) if writes is None else writes
        if p.article_id in pending.assigned or p.article_id in index.members:
            story = pending.assigned.get(p.article_id)
            if story is None:  # in the index: assigned by this process, not stored before
                story = index.members[p.article_id].story_id
            return StoryAssignment(p.article_id, story, False, None, ("already assigned",))
        held = index  # the index that matched the report, and knows its stories' other members
        if index.covers(p.published):
            matches = index.verified(p.fingerprint, p.signature, p.published, p.source)
        else:
            day = _utc_day(p.published)
            outside = _OlderDays(index.settings) if outside is None else outside
            if day not in outside.days:
                pending.flush(conn, now)  # the store read must see the batch's own reports
            held = older = outside.around(conn, day)
            matches = older.verified(p.fingerprint, p.signature, p.published, p.source)
        match = matches[0] if matches else None
        absorbed: tuple[int, ...] = ()
        evidence: tuple[str, ...]
        moving: list[Match] = []
        if match is not None and any(m.member.story_id != match.member.story_id for m in matches):
            # The story sizes and member rows read here must include the batch's writes.
            pending.flush(conn, now)
            match, moving = self._gather(conn, matches, held, p.source)
        if match is None:
            story_id = pending.new_story(p.article_id, now)  # its id once the batch is sent
            matched_id, evidence = None, ()
        else:
            story_id = match.member.story_id
            pending.grown[story_id] = pending.grown.get(story_id, 0) + 1
            matched_id, evidence = match.member.article_id, match.verdict.evidence
            if moving:
                absorbed = self._absorb(conn, index, outside, story_id, p.article_id, moving, now)
        index.last_seq += 1
        pending.members.append(
            {
                "article_id": p.article_id,
                "seq": index.last_seq,
                "published": p.published,
                "joined_at": now,
                "signature": signature_bytes(p.signature),
                "fingerprint": p.fingerprint.to_json() if p.stored is None else p.stored,
                "matched_id": matched_id,
                "evidence": list(evidence),
            }
        )
        pending.assigned[p.article_id] = story_id
        member = Member(p.article_id, story_id, p.source, p.published, p.fingerprint, p.signature)
        if story_id < 0:
            pending.waiting.append(member)
        if writes is None:
            pending.flush(conn, now)
            story_id = member.story_id
        if index.since is None or p.published >= index.since:
            index.add(member)
        # What this call assigned is matched by the reports after it, as it is in ``index``.
        if outside is not None:
            outside.add(member)
        return StoryAssignment(
            p.article_id, story_id, match is None, matched_id, evidence, absorbed
        )

    def _gather(
        self, conn: Connection, matches: Sequence[Match], index: StoryIndex, source: str
    ) -> tuple[Match, list[Match]]:
        """The match whose story a new report joins, and the one-report stories it also
        verified with that move into that story (:func:`crawler.stories.index.gather`, with
        the stories' sizes and their first articles' ``seq`` read from the store, and their
        other members from ``index``, which found ``matches``)."""
        ids = {m.member.story_id for m in matches}
        heads = {
            row.id: (row.article_id, row.size)
            for row in conn.execute(
                select(stories.c.id, stories.c.article_id, stories.c.size).where(
                    stories.c.id.in_(ids)
                )
            ).all()
        }
        seqs = dict(
            conn.execute(
                select(story_members.c.article_id, story_members.c.seq).where(
                    story_members.c.article_id.in_([a for a, _ in heads.values()])
                )
            ).all()
        )
        known = [m for m in matches if heads.get(m.member.story_id, (0, 0))[0] in seqs]
        if not known:
            return matches[0], []
        story, moving = gather(
            known,
            {k: size for k, (_, size) in heads.items()},
            {k: seqs[a] for k, (a, _) in heads.items() if a in seqs},
            index.settings,
            source,
            index.peers,
        )
        return next(m for m in known if m.member.story_id == story), moving

    def _absorb(
        self,
        conn: Connection,
        index: StoryIndex,
        outside: _OlderDays | None,
        story_id: int,
        article_id: int,
        matches: Sequence[Match],
        now: datetime,
    ) -> tuple[int, ...]:
        """Move into ``story_id`` the one-report stories :meth:`_gather` chose (it read their
        sizes and ``seq`` in this transaction), given as the new report's matches in them.

        Reports arrive in any order: when the report linking two of them comes last, the
        earlier one has already started a story of its own, and a report joins one story only.
        Such a one-report story joins the new report's story, but only when its article was
        first seen after the story's first article, so the story's entry (its first-seen
        article, GUID and link) never changes; the moved article's own topic entry gives way
        to the story's. Its member row gets the next ``seq``, so other processes' indexes
        catch up on the move as on any assignment.
        """
        if not matches:
            return ()
        for m in matches:
            index.last_seq += 1
            conn.execute(
                update(story_members)
                .where(story_members.c.article_id == m.member.article_id)
                .values(
                    seq=index.last_seq,
                    joined_at=now,
                    matched_id=article_id,
                    evidence=[f"moved from story {m.member.story_id}", *m.verdict.evidence],
                )
            )
        moved = tuple(m.member.article_id for m in matches)
        conn.execute(update(articles).where(articles.c.id.in_(moved)).values(story_id=story_id))
        conn.execute(delete(stories).where(stories.c.id.in_([m.member.story_id for m in matches])))
        conn.execute(
            update(stories)
            .where(stories.c.id == story_id)
            .values(size=stories.c.size + len(moved), updated=now)
        )
        holding = [index] if outside is None else [index, outside.index]
        for m in matches:
            m.member.story_id = story_id  # the same object in every index holding it
            for held in holding:
                if held.members.get(m.member.article_id) is not None:
                    held.members[m.member.article_id].story_id = story_id
        return moved

    def recluster_stories(
        self, *, settings: StorySettings, batch: int = 500, now: datetime | None = None
    ) -> tuple[int, int]:
        """Forget every story and assign all stored articles again, in first-seen order.

        Each article joins as it would have when first seen (``joined_at`` and a story's
        ``updated`` are first-seen times). Returns (articles, stories). Other running
        processes keep their old index until restarted.

        An article whose text retention dropped (:data:`TEXT_PRUNED_FLAG`) keeps the
        fingerprint stored with its membership: made again from its title and summary alone,
        it might no longer match its story's other reports and would show as an entry of its
        own. One without a stored membership is fingerprinted from what is left.
        """
        kept = self._pruned_fingerprints(settings)

        def clear() -> None:
            with self._write() as conn:
                self._lock_assignments(conn)
                conn.execute(update(articles).values(story_id=None))
                conn.execute(delete(story_members))
                conn.execute(delete(stories))

        retry_locked(clear)
        self._story_index = None
        index = StoryIndex(settings)
        self._story_index = index
        after: tuple[datetime, int] | None = None
        seen = 0
        newest: datetime | None = None
        while True:
            with self._read() as conn:
                query = select(
                    articles.c.id,
                    articles.c.source,
                    articles.c.title,
                    articles.c.summary,
                    func.substr(articles.c.text, 1, TEXT_CHARS).label("text"),
                    articles.c.published,
                    articles.c.first_seen,
                ).order_by(articles.c.first_seen, articles.c.id)
                if after is not None:
                    query = query.where(
                        (articles.c.first_seen > after[0])
                        | and_(articles.c.first_seen == after[0], articles.c.id > after[1])
                    )
                rows = conn.execute(query.limit(batch)).all()
            if not rows:
                break
            after = (rows[-1].first_seen, rows[-1].id)
            for row in rows:
                article = Article(
                    url="",
                    source=row.source,
                    title=row.title,
                    published=row.published,
                    summary=row.summary,
                    text=row.text or "",
                )
                known = kept.pop(row.id, None)
                if known is None:
                    p = self._prepare(row.id, article, settings)
                else:
                    p = _Prepared(row.id, row.source, row.published, *known)
                newest = max(newest or row.published, row.published)
                # First-seen order is not publication order: keep a wider margin than live.
                index.evict(newest - 3 * settings.window)

                def run(p: _Prepared = p, when: datetime = row.first_seen) -> None:
                    with self._write() as conn:
                        self._lock_assignments(conn)
                        self._assign_one(conn, index, p, when)

                retry_locked(run)
                seen += 1
        self._story_index = None  # rebuilt around "now" on the next live assignment
        with self._read() as conn:
            count = int(conn.execute(select(func.count()).select_from(stories)).scalar() or 0)
        return seen, count

    def _pruned_fingerprints(self, settings: StorySettings) -> dict[int, tuple[Fingerprint, Any]]:
        """The stored fingerprints and signatures of the pruned articles' memberships, by
        article id, read before a recluster forgets them. A signature of another
        ``num_perm`` is made again from the fingerprint (the fingerprint is the evidence)."""
        found: dict[int, tuple[Fingerprint, Any]] = {}
        query = (
            select(
                story_members.c.article_id,
                story_members.c.fingerprint,
                story_members.c.signature,
                articles.c.flags,
            )
            .join(articles, articles.c.id == story_members.c.article_id)
            # Pruning empties both; the flag (JSON, read alike on both backends) decides.
            .where(articles.c.text == "", articles.c.html == "")
        )
        with self._read() as conn:
            for row in conn.execute(query):
                if TEXT_PRUNED_FLAG not in (row.flags or ()):
                    continue
                fp = Fingerprint.from_json(row.fingerprint)
                signature = signature_from_bytes(row.signature)
                if len(row.signature) != _SIGNATURE_BYTES * settings.num_perm:
                    signature = minhash(fp, settings.num_perm)
                found[int(row.article_id)] = (fp, signature)
        return found

    def recent_stories(
        self,
        *,
        since: datetime,
        topic: str | None = None,
        min_size: int = 1,
        limit: int = 100,
        sources: Collection[str] | None = None,
    ) -> list[StoryView]:
        """Stories updated since ``since`` (newest first), with their members and evidence.

        ``sources`` (the configured ones), when given, keeps only those sources' reports, as
        the feeds do (:meth:`feed_articles`): ``min_size`` and ``topic`` count only them, and
        a story whose first report is of another source starts at its next report (listed
        as first, without the evidence that joined it to the hidden one).
        """
        allowed = None if sources is None else sorted(sources)
        query = select(stories).where(stories.c.updated >= since, stories.c.size >= min_size)
        if allowed is not None:
            # The size counts every report; only the allowed ones decide.
            kept = (
                select(func.count())
                .select_from(articles)
                .where(articles.c.story_id == stories.c.id, articles.c.source.in_(allowed))
                .scalar_subquery()
            )
            query = query.where(kept >= min_size)
        if topic is not None:
            in_topic = (
                select(articles.c.story_id)
                .join(article_topics, article_topics.c.article_id == articles.c.id)
                .where(article_topics.c.topic == topic, articles.c.story_id.is_not(None))
            )
            if allowed is not None:
                in_topic = in_topic.where(articles.c.source.in_(allowed))
            query = query.where(stories.c.id.in_(in_topic))
        query = query.order_by(stories.c.updated.desc(), stories.c.id.desc()).limit(limit)
        with self._read() as conn:
            found = [
                StoryView(r.id, r.article_id, r.created, r.updated) for r in conn.execute(query)
            ]
            by_id = {s.id: s for s in found}
            if by_id:
                member_query = (
                    select(
                        articles.c.id,
                        articles.c.url,
                        articles.c.source,
                        articles.c.title,
                        articles.c.published,
                        articles.c.story_id,
                        story_members.c.joined_at,
                        story_members.c.matched_id,
                        story_members.c.evidence,
                    )
                    .join(story_members, story_members.c.article_id == articles.c.id)
                    .where(articles.c.story_id.in_(list(by_id)))
                    .order_by(story_members.c.seq)
                )
                if allowed is not None:
                    member_query = member_query.where(articles.c.source.in_(allowed))
                for r in conn.execute(member_query):
                    by_id[r.story_id].members.append(
                        StoryMemberView(
                            r.id,
                            r.url,
                            r.source,
                            r.title,
                            r.published,
                            r.joined_at,
                            r.matched_id,
                            list(r.evidence or []),
                        )
                    )
        for story in found if allowed is not None else ():
            head = story.members[0] if story.members else None
            if head is not None and head.article_id != story.article_id:
                # Its first report is hidden: the next one is the story's entry in the feeds.
                story.article_id = head.article_id
                head.matched_id, head.evidence = None, []
        return found


#: At most this many stored members are read for the window of one old day (of the reports
#: published before the in-memory index's window: a recrawled or backfilled old article), the
#: newest: a huge archive cannot fill the process's memory.
_OUTSIDE_LIMIT = 20_000
#: Old days whose stored window is kept between batches (a first crawl walks back in time).
_OUTSIDE_DAYS = 8


_DAY = timedelta(days=1)


def _utc_day(value: datetime) -> datetime:
    """Midnight UTC of ``value``'s UTC day."""
    return value.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class _Writes:
    """A batch's story writes, sent together at its end (executemany) instead of four
    statements per report; ``assigned`` also answers "already assigned?" for the batch.

    A new story is inserted with the others at the flush, so until then it has a provisional
    id (negative, unique in the batch) wherever this batch's reports hold it: in ``assigned``,
    ``grown``, and the index members in ``waiting``, which the flush gives the real id. (A
    read of stories or members from the store flushes first, as it must see the batch's own
    reports.) :meth:`story` gives the real id of a provisional one after the flush.
    """

    assigned: dict[int, int]
    members: list[dict[str, Any]] = field(default_factory=list)
    grown: dict[int, int] = field(default_factory=dict)  # story id -> members joined
    stories: list[dict[str, Any]] = field(default_factory=list)  # new stories' rows
    waiting: list[Member] = field(default_factory=list)  # members of a provisional story
    real: dict[int, int] = field(default_factory=dict)  # provisional id -> stored id

    def new_story(self, article_id: int, now: datetime) -> int:
        """A new one-report story of ``article_id``, inserted at the flush: its provisional id."""
        self.stories.append({"article_id": article_id, "created": now, "updated": now, "size": 1})
        return -(len(self.real) + len(self.stories))

    def story(self, story_id: int) -> int:
        """The stored id of a story (of a provisional id, once flushed)."""
        return self.real.get(story_id, story_id) if story_id < 0 else story_id

    def flush(self, conn: Connection, now: datetime) -> None:
        if self.stories:
            first = len(self.real) + 1
            ids = insert_ids(conn, stories, self.stories, "article_id")
            for n, stored in enumerate(ids):
                self.real[-(first + n)] = int(stored)
            self.stories = []
            story = self.story
            for member in self.waiting:
                member.story_id = story(member.story_id)
            self.waiting = []
            self.assigned = {k: story(v) for k, v in self.assigned.items()}
            self.grown = {story(k): v for k, v in self.grown.items()}
        if self.members:
            conn.execute(insert(story_members), self.members)
            conn.execute(
                update(articles)
                .where(articles.c.id == bindparam("member_id"))
                .values(story_id=bindparam("member_story")),
                [
                    {"member_id": m["article_id"], "member_story": self.assigned[m["article_id"]]}
                    for m in self.members
                ],
            )
        if self.grown:
            conn.execute(
                _GROW_STORY,
                [
                    {"grown_id": story_id, "joined": joined, "grown_at": now}
                    for story_id, joined in self.grown.items()
                ],
            )
        self.members, self.grown = [], {}


#: The stories a batch's reports joined, grown in one executemany (one statement each before).
_GROW_STORY = (
    update(stories)
    .where(stories.c.id == bindparam("grown_id"))
    .values(size=stories.c.size + bindparam("joined"), updated=bindparam("grown_at"))
)


class _OlderDays:
    """The stored members around the reports published before the live index's window, in
    one index: the windows (the day ± the story window) of the UTC days such reports were
    published on, each member held once.

    A first crawl reads a site's archive from its sitemaps, so its reports walk back through
    old days, and a day's window overlaps its neighbours' (with a 72-hour window, each member
    is in seven days' windows). The first report of a day reads from the store the part of
    the day's window that no kept day's window holds yet (at most :data:`_OUTSIDE_LIMIT`
    rows, the newest); :meth:`StoryIndex.candidates` keeps, for each report, only the members
    within its own window, which its day's window contains. At most :data:`_OUTSIDE_DAYS`
    days are kept: the least recently used goes, with the members no other kept day's window
    holds.
    """

    def __init__(self, settings: StorySettings) -> None:
        self.settings = settings
        self.index = StoryIndex(settings)
        #: The kept days (midnight UTC), the least recently used first.
        self.days: OrderedDict[datetime, None] = OrderedDict()

    def holds(self, published: datetime) -> bool:
        """Whether a member published then is within a kept day's window."""
        window = self.settings.window
        return any(day - window <= published <= day + _DAY + window for day in self.days)

    def add(self, member: Member) -> None:
        """Hold a member assigned in this process or caught up on, if a kept day needs it."""
        if self.holds(member.published):
            self.index.add(member)

    def around(self, conn: Connection, day: datetime) -> StoryIndex:
        """The index, holding every stored member within ``day``'s window (read if needed)."""
        if day in self.days:
            self.days.move_to_end(day)
            return self.index
        gap = self._gap(day)
        if gap is not None:
            for row in conn.execute(gap.where(select(*_MEMBER_COLUMNS)).limit(_OUTSIDE_LIMIT)):
                if row.story_id is not None:
                    self.index.add(_member(row))
        self.days[day] = None
        while len(self.days) > _OUTSIDE_DAYS:
            gone = next(iter(self.days))
            gap = self._gap(gone)
            del self.days[gone]
            if gap is not None:
                for member in [m for m in self.index.members.values() if gap.has(m.published)]:
                    self.index.remove(member.article_id)
        return self.index

    def _gap(self, day: datetime) -> _Span | None:
        """The part of ``day``'s window that no other kept day's window holds (None: none).

        The windows are of one length, so the kept days before ``day`` can only hold a start
        of its window and those after it an end: what is left is one span.
        """
        window = self.settings.window
        span = _Span(day - window, day + _DAY + window)
        for other in self.days:
            if other < day and other + _DAY + window >= span.start:
                span.start, span.start_open = other + _DAY + window, True
            elif other > day and other - window <= span.end:
                span.end, span.end_open = other - window, True
        empty = span.start > span.end or (
            span.start == span.end and (span.start_open or span.end_open)
        )
        return None if empty else span


@dataclass
class _Span:
    """Publication times from ``start`` to ``end``, either end included unless open."""

    start: datetime
    end: datetime
    start_open: bool = False
    end_open: bool = False

    def has(self, published: datetime) -> bool:
        after = published > self.start if self.start_open else published >= self.start
        before = published < self.end if self.end_open else published <= self.end
        return after and before

    def where(self, query: Any) -> Any:
        """``query`` of story members (joined with their articles) within the span, the
        newest first."""
        column = story_members.c.published
        return (
            query.join(articles, articles.c.id == story_members.c.article_id)
            .where(column > self.start if self.start_open else column >= self.start)
            .where(column < self.end if self.end_open else column <= self.end)
            .order_by(column.desc())
        )


_MEMBER_COLUMNS = (
    story_members.c.article_id,
    story_members.c.seq,
    story_members.c.published,
    story_members.c.signature,
    story_members.c.fingerprint,
    articles.c.story_id,
    articles.c.source,
)


def _member(row: Any) -> Member:
    return Member(
        row.article_id,
        row.story_id,
        row.source,
        row.published,
        Fingerprint.from_json(row.fingerprint),
        signature_from_bytes(row.signature),
    )
