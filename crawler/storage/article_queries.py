"""Reading articles: the newest of a feed, lookups by URL, counts, and rows back to ``Article``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, and_, bindparam, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from crawler.models import Article, RelatedReport, TopicMatch
from crawler.normalize.urls import url_identity
from crawler.storage.engine import Database, in_chunks
from crawler.storage.schema import UTCDateTime, article_topics, articles, stories, story_members

#: How much of an article's text :meth:`ArticleQueries.feed_articles` loads (feeds show at most a
#: 600-character excerpt of it, and only for articles without a summary).
FEED_TEXT_CHARS = 2400
_FEED_COLUMNS = (
    articles.c.id,
    articles.c.url,
    articles.c.source,
    articles.c.title,
    articles.c.summary,
    func.substr(articles.c.text, 1, FEED_TEXT_CHARS).label("text"),
    articles.c.html,
    articles.c.html_policy,
    articles.c.published,
    articles.c.updated,
    articles.c.authors,
    articles.c.section,
    articles.c.image,
    articles.c.language,
)


#: The sources whose articles a feed read may show (an expanding parameter: one statement for
#: any list of sources).
_SOURCES: BindParameter[list[str]] = bindparam("feed_sources", expanding=True)
#: An article's source as a filter no index can serve (``source || ''``): on the bare column,
#: SQLite and PostgreSQL seek ``ix_articles_source_published`` for each source and sort every
#: row they find, where the feed's own index, walked newest first, stops after ``limit`` rows.
_SOURCE_FILTERED = articles.c.source.concat(literal_column("''"))


def _newest_query(
    columns: Sequence[Any],
    topic: str | None,
    source: str | None,
    limit: int,
    *,
    of_sources: bool = False,
) -> Select[Any]:
    """``columns`` of the newest ``limit`` articles (published desc, then url) of a topic/source.

    Ordered as the indexes are (``article_topics.published`` for a topic), so the database
    walks an index and stops after ``limit`` rows, whatever the store size. ``of_sources``:
    only articles of the sources in the ``feed_sources`` parameter (:data:`_SOURCES`).
    """
    query = select(*columns)
    if topic is not None:
        query = query.join(article_topics, article_topics.c.article_id == articles.c.id).where(
            article_topics.c.topic == topic
        )
        query = query.order_by(article_topics.c.published.desc(), articles.c.url)
    else:
        query = query.order_by(articles.c.published.desc(), articles.c.url)
    if source is not None:
        query = query.where(articles.c.source == source)
    if of_sources:
        query = query.where(_SOURCE_FILTERED.in_(_SOURCES))
    return query.limit(limit)


def _row_to_article(row: Any, topics: list[TopicMatch]) -> Article:
    """An ``Article`` from a row of ``articles``, whole or of :data:`_FEED_COLUMNS` (the columns
    left out there stay empty)."""
    return Article(
        url=row["url"],
        source=row["source"],
        title=row["title"],
        published=row["published"],
        summary=row["summary"],
        text=row["text"],
        html=row["html"],
        updated=row["updated"],
        authors=list(row["authors"] or []),
        section=row["section"],
        tags=list(row.get("tags") or []),
        image=row["image"],
        language=row["language"],
        provenance=dict(row.get("provenance") or {}),
        flags=list(row.get("flags") or []),
        html_policy=row["html_policy"],
        topics=topics,
        first_seen=row.get("first_seen"),
        fetched_at=row.get("fetched_at"),
    )


class _StoryRow(NamedTuple):
    """A story as a feed shows it: when it last gained a report, and its other reports (their
    article ids in the order they joined, then the reports themselves)."""

    updated: datetime
    member_ids: list[int]
    others: list[RelatedReport]


#: Sort keys of a feed's story entries (C code, where a lambda runs Python per entry).
_BY_URL, _BY_PUBLISHED = attrgetter("url"), attrgetter("published")
#: Rows walked per query when looking for a feed's newest stories, per story wanted: a story
#: seldom has more reports than this within one feed, so one query nearly always finds them all.
_ROWS_PER_STORY = 4
#: A feed entry's story, or ``-id`` of an article without one (an entry of its own).
_STORY_KEY = func.coalesce(articles.c.story_id, -articles.c.id)


@lru_cache(maxsize=256)
def _story_walk(topic: str | None, source: str | None, chunk: int, of_sources: bool) -> Select[Any]:
    """The query of :func:`_story_keys`, made once per selection: building a statement costs
    SQLAlchemy about as much as SQLite takes to run it (statements are immutable, so sharing
    them is safe)."""
    return _newest_query([_STORY_KEY], topic, source, chunk, of_sources=of_sources)


def _story_keys(
    conn: Connection,
    topic: str | None,
    source: str | None,
    limit: int,
    params: dict[str, Any],
) -> list[int]:
    """Keys (:data:`_STORY_KEY`) of the newest ``limit`` stories of a selection, newest first.

    Walks the selection newest first (the same index range scan as a plain feed) until
    ``limit`` distinct stories are seen; an article without a story counts as its own. Rows
    are taken no more at a time than stories are still wanted, so the walk stops at the last
    one: SQLite reads no row past it (a topic feed's 50 stories are about 70 rows, not the
    chunk of 200). ``params`` holds ``feed_sources`` when only those sources' articles count.
    """
    keys: dict[int, None] = {}  # in order of recency; keys met again keep their place
    if limit <= 0:
        return []
    chunk, offset = max(_ROWS_PER_STORY * limit, 20), 0
    while True:
        query = _story_walk(topic, source, chunk, bool(params))
        walked = 0
        with conn.execute(query.offset(offset) if offset else query, params) as result:
            rows = result.scalars()
            while len(keys) < limit:
                # A row adds one story at most: fetching no more rows than stories still
                # wanted never reads past the last one, in a few calls instead of one a row.
                found = rows.fetchmany(limit - len(keys))
                if not found:
                    break
                walked += len(found)
                keys.update(dict.fromkeys(found))
        if len(keys) >= limit or walked < chunk:
            return list(keys)
        offset += chunk


# Built once (an expanding parameter takes the ids): building a statement costs SQLAlchemy
# about as much as SQLite takes to run it. One query for a story's row and its other
# members' ids (a second query cost a build about 2 M instructions): a story without other
# members gives one row with no member; the members' ids only, as the story index covers
# them, and most members are articles the same read loads anyway (other feeds show them);
# the rest are read by _MEMBER_LINKS_QUERY.
_STORIES_QUERY = (
    select(stories.c.id, stories.c.article_id, stories.c.updated, story_members.c.article_id)
    .select_from(
        stories.outerjoin(
            articles,
            and_(
                articles.c.story_id == stories.c.id,
                stories.c.size > 1,
                articles.c.id != stories.c.article_id,
            ),
        ).outerjoin(story_members, story_members.c.article_id == articles.c.id)
    )
    .where(stories.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(story_members.c.seq)
)
_MEMBER_LINKS_QUERY = select(
    articles.c.id, articles.c.url, articles.c.source, articles.c.title
).where(articles.c.id.in_(bindparam("ids", expanding=True)))


def _read_stories(
    conn: Connection, story_ids: Sequence[int]
) -> tuple[dict[int, int], dict[int, _StoryRow]]:
    """Each story's first-seen article, and for stories with other reports, by first-seen
    article id, those reports' article ids in the order they joined (:func:`_name_members`
    then names them).

    One query for every story of every feed of a read.
    """
    first: dict[int, int] = {}
    story_of: dict[int, _StoryRow] = {}
    ids = sorted(story_ids)
    for chunk in in_chunks(ids):
        # Rows fetched at once (``all``): iterating a result fetches them one call at a time.
        for story_id, article_id, updated, member_id in conn.execute(
            _STORIES_QUERY, {"ids": chunk}
        ).all():
            first[story_id] = article_id
            if member_id is not None:
                story = story_of.get(article_id)
                if story is None:
                    story = story_of[article_id] = _StoryRow(updated, [], [])
                story.member_ids.append(member_id)
    return first, story_of


def _member_links(
    conn: Connection, member_ids: Iterable[int], found: dict[int, Article]
) -> dict[int, RelatedReport]:
    """Link, source and title of the members not among the articles of the read."""
    missing = sorted({i for i in member_ids if i not in found})
    links = {}
    for ids in in_chunks(missing):
        for member_id, url, source, title in conn.execute(_MEMBER_LINKS_QUERY, {"ids": ids}):
            links[member_id] = RelatedReport(url, source, title)
    return links


def _name_members(
    conn: Connection,
    story_of: dict[int, _StoryRow],
    found: dict[int, Article],
    allowed: frozenset[str] | None,
) -> None:
    """Fill each story's ``others`` (link, source, title) from the articles of the read, and
    the few not among them from the store; a member gone meanwhile, or of a source not in
    ``allowed`` (when given), is left out."""
    links = _member_links(conn, (i for s in story_of.values() for i in s.member_ids), found)
    for story in story_of.values():
        for i in story.member_ids:
            article = found.get(i)
            if article is not None:
                report = RelatedReport(article.url, article.source, article.title)
            elif i in links:
                report = links[i]
            else:
                continue
            if allowed is None or report.source in allowed:
                story.others.append(report)


def _replace_entries_of_other_sources(
    conn: Connection,
    entry_ids: Iterable[int],
    story_of: dict[int, _StoryRow],
    found: dict[int, Article],
    allowed: frozenset[str],
) -> dict[int, int]:
    """Story entries whose article is of a source not in ``allowed`` (one removed from the
    config), each shown as the story's earliest-joined report of an allowed source instead.

    Returns old entry id -> new one (0 when the story has no such report left), and loads the
    new entries into ``found`` and moves their stories in ``story_of``. Costs nothing while
    every entry's source is allowed.
    """
    gone = sorted({i for i in entry_ids if i in found and found[i].source not in allowed})
    if not gone:
        return {}
    links = _member_links(
        conn, (m for i in gone if i in story_of for m in story_of[i].member_ids), found
    )
    moved: dict[int, int] = {}
    for i in gone:
        del found[i]
        story = story_of.pop(i, None)
        members = story.member_ids if story is not None else []
        source_of = {m: found[m].source for m in members if m in found}
        source_of.update((m, links[m].source) for m in members if m in links)
        kept = [m for m in members if source_of.get(m) in allowed]
        moved[i] = kept[0] if kept else 0
        if story is not None and len(kept) > 1:
            story_of[kept[0]] = _StoryRow(story.updated, kept[1:], [])
    _load_feed_articles(conn, [i for i in moved.values() if i and i not in found], found)
    return moved


def _load_feed_articles(conn: Connection, ids: Sequence[int], found: dict[int, Article]) -> None:
    """Load the articles ``ids`` (:data:`_FEED_COLUMNS` and their topics) into ``found``."""
    wanted = sorted(ids)
    topics: dict[int, list[TopicMatch]] = {i: [] for i in wanted}
    for chunk in in_chunks(wanted):
        for t in conn.execute(
            select(article_topics.c.article_id, article_topics.c.topic, article_topics.c.score)
            .where(article_topics.c.article_id.in_(chunk))
            .order_by(
                article_topics.c.article_id,
                article_topics.c.score.desc(),
                article_topics.c.topic,
            )
        ):
            topics[t.article_id].append(TopicMatch(t.topic, t.score))
        for row in conn.execute(select(*_FEED_COLUMNS).where(articles.c.id.in_(chunk))).mappings():
            found[row["id"]] = _row_to_article(row, topics[row["id"]])


def _any_member(conn: Connection, story_id: int, params: dict[str, Any]) -> int:
    query = select(func.min(articles.c.id)).where(articles.c.story_id == story_id)
    if params:
        query = query.where(_SOURCE_FILTERED.in_(_SOURCES))
    return int(conn.execute(query, params).scalar() or 0)


def _with_story(article: Article, story: _StoryRow | None) -> Article:
    """``article`` as a story's entry: a copy listing the other reports and when the last came."""
    if story is None or not story.others:
        return article
    # A shallow copy: the article object is shared by every feed holding it as itself, the
    # copy by those showing its story. Made by ``__init__`` from the article's attributes,
    # read in C by one attrgetter: a copy of its ``__dict__`` costs less to make, but every
    # attribute read of such an object then costs more (its dict is no longer laid out like
    # its class's other instances), and so does every read of the article itself once
    # ``vars()`` has made its dict; the feed builder reads each several times per feed.
    # (mypy cannot count the getter's values: it would have them fill the last two too.)
    return Article(*_COPIED_FIELDS(article), story.others, story.updated)  # type: ignore[call-arg]


#: An article's fields but the two a story's copy sets (the last two, in declaration order).
_STORY_FIELDS = ("related", "story_updated")
_COPIED_FIELDS = attrgetter(*(f.name for f in fields(Article) if f.name not in _STORY_FIELDS))


class ArticleQueries(Database):
    """The reads of stored articles and their topics."""

    def known_urls(
        self,
        source: str,
        *,
        first_seen_before: datetime | None = None,
        first_seen_since: datetime | None = None,
    ) -> set[str]:
        """URL identities of a source's stored articles (optionally only older or newer ones)."""
        query = select(articles.c.url_key).where(articles.c.source == source)
        if first_seen_before is not None:
            query = query.where(articles.c.first_seen < first_seen_before)
        if first_seen_since is not None:
            query = query.where(articles.c.first_seen >= first_seen_since)
        with self._read() as conn:
            return set(conn.execute(query).scalars())

    def recent_urls(self, source: str, *, first_seen_since: datetime) -> dict[str, str]:
        """URL identity -> URL of a source's articles first seen since then (re-check list)."""
        query = select(articles.c.url_key, articles.c.url).where(
            articles.c.source == source, articles.c.first_seen >= first_seen_since
        )
        with self._read() as conn:
            return {key: url for key, url in conn.execute(query).all()}

    def newest_articles(
        self, *, topic: str | None = None, source: str | None = None, limit: int = 50
    ) -> list[Article]:
        """Newest articles (published desc, then url), optionally of one topic or source."""
        with self._read() as conn:
            rows = conn.execute(_newest_query([articles], topic, source, limit)).mappings().all()
            return self._with_topics(conn, rows)

    def feed_articles(
        self,
        selections: Sequence[tuple[str | None, str | None]],
        *,
        limit: int = 50,
        stories: Sequence[bool] | None = None,
        sources: Collection[str] | None = None,
    ) -> list[list[Article]]:
        """The newest articles of several feeds in one read, for the feed builder.

        ``selections`` are ``(topic, source)`` pairs (``None`` for any); each gets what
        :meth:`newest_articles` would return, in one snapshot. Each distinct article is loaded
        once (one object in every list holding it) and only with what feeds show: ``text``
        only its first :data:`FEED_TEXT_CHARS` characters (a fallback description), ``tags``,
        ``provenance``, ``flags`` and topic evidence empty. Never store these objects back.

        A selection whose ``stories`` flag is true gets one entry per story instead: the newest
        ``limit`` stories with a report in the selection, each as its first-seen article (a
        copy) with the story's other reports in ``related`` and the time the last one joined
        in ``story_updated`` (one copy per story, in every list showing it). Entries keep the
        newest-first order of publication of the article shown.

        ``sources`` (the configured ones), when given, limits every feed to those sources'
        articles: a source removed from the config leaves ``all`` and the topics, and its
        reports leave the stories (a story it was first to report is shown as its next
        report). Its articles stay stored, and come back when the source does.
        """
        flags = list(stories) if stories is not None else [False] * len(selections)
        allowed = None if sources is None else frozenset(sources)
        params: dict[str, Any] = {} if allowed is None else {"feed_sources": sorted(allowed)}
        with self._read() as conn:
            # Per feed: the ids of its articles, or the keys of its stories (_STORY_KEY).
            id_lists: list[list[int]] = []
            for (topic, source), collapse in zip(selections, flags, strict=True):
                if collapse:
                    id_lists.append(_story_keys(conn, topic, source, limit, params))
                else:
                    query = _newest_query(
                        [articles.c.id], topic, source, limit, of_sources=bool(params)
                    )
                    id_lists.append(list(conn.execute(query, params).scalars()))
            # Every story of every feed read at once, then each story shown as its first
            # article (one that was found if its story row vanished, re-clustered meanwhile).
            story_keys = {k for ids, c in zip(id_lists, flags, strict=True) if c for k in ids}
            first, story_of = _read_stories(conn, [k for k in story_keys if k > 0])
            for n, collapse in enumerate(flags):
                if collapse:
                    id_lists[n] = [
                        first.get(k, -k if k < 0 else 0) or _any_member(conn, k, params)
                        for k in id_lists[n]
                    ]
            found: dict[int, Article] = {}
            _load_feed_articles(conn, list({i for ids in id_lists for i in ids}), found)
            if allowed is not None:
                entry_ids = (i for ids, c in zip(id_lists, flags, strict=True) if c for i in ids)
                moved = _replace_entries_of_other_sources(conn, entry_ids, story_of, found, allowed)
                if moved:
                    for n, collapse in enumerate(flags):
                        if collapse:
                            id_lists[n] = [moved.get(i, i) for i in id_lists[n]]
            _name_members(conn, story_of, found, allowed)
        # Outside a snapshot, PostgreSQL's READ COMMITTED gives each query its own: skip a row
        # that vanished in between rather than fail the build.
        entries: dict[int, Article] = {}  # story entries, one per story shared by its feeds
        result = []
        for ids, collapse in zip(id_lists, flags, strict=True):
            if collapse:
                shown = []
                for i in ids:
                    if i in found:
                        entry = entries.get(i)
                        if entry is None:
                            entry = entries[i] = _with_story(found[i], story_of.get(i))
                        shown.append(entry)
                shown.sort(key=_BY_URL)
                shown.sort(key=_BY_PUBLISHED, reverse=True)
            else:
                shown = [found[i] for i in ids if i in found]
            result.append(shown)
        return result

    def iter_articles(self, *, batch: int = 500) -> Iterator[Article]:
        """Every stored article, in id order, in batches (for re-tagging)."""
        last = 0
        while True:
            with self._read() as conn:
                rows = (
                    conn.execute(
                        select(articles)
                        .where(articles.c.id > last)
                        .order_by(articles.c.id)
                        .limit(batch)
                    )
                    .mappings()
                    .all()
                )
                if not rows:
                    return
                found = self._with_topics(conn, rows)
            last = rows[-1]["id"]
            yield from found

    def has_article(self, url: str) -> bool:
        """Whether an article is stored under this URL (any variant with the same identity)."""
        query = select(articles.c.id).where(articles.c.url_key == url_identity(url)).limit(1)
        with self._read() as conn:
            return conn.execute(query).first() is not None

    def get_article(self, url: str) -> Article | None:
        """The stored article with this URL (any variant with the same identity)."""
        with self._read() as conn:
            rows = (
                conn.execute(select(articles).where(articles.c.url_key == url_identity(url)))
                .mappings()
                .all()
            )
            found = self._with_topics(conn, rows)
        return found[0] if found else None

    def _with_topics(self, conn: Connection, rows: Sequence[Any]) -> list[Article]:
        ids = [r["id"] for r in rows]
        topics: dict[int, list[TopicMatch]] = {i: [] for i in ids}
        if ids:
            for t in conn.execute(
                select(article_topics)
                .where(article_topics.c.article_id.in_(ids))
                .order_by(
                    article_topics.c.article_id,
                    article_topics.c.score.desc(),
                    article_topics.c.topic,
                )
            ).mappings():
                topics[t["article_id"]].append(
                    TopicMatch(t["topic"], t["score"], list(t["evidence"]))
                )
        return [_row_to_article(r, topics[r["id"]]) for r in rows]

    def topic_counts(self, *, sources: Collection[str] | None = None) -> dict[str, int]:
        """Number of stored articles per topic; with ``sources`` (the configured ones), only
        those sources' articles count, as only they are in the feeds (:meth:`feed_articles`)."""
        query = select(article_topics.c.topic, func.count()).group_by(article_topics.c.topic)
        if sources is not None:
            query = query.join(articles, articles.c.id == article_topics.c.article_id).where(
                articles.c.source.in_(sorted(sources))
            )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return {topic: n for topic, n in rows}

    def source_counts(self) -> dict[str, int]:
        """Number of stored articles per source."""
        with self._read() as conn:
            rows = conn.execute(
                select(articles.c.source, func.count()).group_by(articles.c.source)
            ).all()
        return {source: n for source, n in rows}

    def newest_published(self) -> dict[str, datetime]:
        """Publication time of each source's newest article."""
        with self._read() as conn:
            rows = conn.execute(
                select(articles.c.source, func.max(articles.c.published)).group_by(
                    articles.c.source
                )
            ).all()
        as_utc = UTCDateTime().process_result_value
        return {s: dt for s, d in rows if (dt := as_utc(d, self.engine.dialect)) is not None}

    def count_articles(self) -> int:
        """Number of stored articles."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(articles)).scalar() or 0)

    def count_first_seen(self, source: str, since: datetime) -> int:
        """Articles of ``source`` first stored at or after ``since`` (what a crawl that died
        before it recorded its figures still stored)."""
        query = (
            select(func.count())
            .select_from(articles)
            .where(articles.c.source == source, articles.c.first_seen >= since)
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar() or 0)
