"""Storing articles: idempotent upserts (one or a batch) and re-tagging, with their row values."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from crawler.canonical import PageMarks, claimant, disown_canonical, same_page
from crawler.models import CANONICAL_IGNORED_FLAG, Article, ContentDigest, TopicMatch
from crawler.normalize.text import dedup_key, is_cut_teaser
from crawler.normalize.urls import slash_added, url_identity
from crawler.storage.article_queries import ArticleQueries
from crawler.storage.engine import in_chunks, insert_ids, json_encoder, retry_locked
from crawler.storage.retention import TEXT_PRUNED_FLAG
from crawler.storage.schema import article_topics, articles

logger = logging.getLogger(__name__)


@dataclass
class UpsertResult:
    """Outcome of storing one article: ``new``, ``updated``, ``unchanged``, ``refused`` (an
    update that would throw most of the stored text away: see :func:`shrinks`) or
    ``duplicate`` (a copy, under a new URL, of an article its source stored before: see
    :func:`stored_copies`; nothing is written, ``article_id`` and ``same_as`` are the stored
    article's)."""

    status: str
    article_id: int
    same_as: str | None = None


#: A stored text at least this long is kept against an update to less than half of it.
SHRINK_FLOOR = 200


def shrinks(stored_chars: int | None, article: Article) -> bool:
    """Whether an update would replace a real stored text with much less of one.

    A site answering an error or maintenance page under an article's URL ("Service
    temporarily unavailable"), or a half-rendered page, must not overwrite the article.
    """
    stored = stored_chars or 0
    return stored >= SHRINK_FLOOR and len(article.text or "") * 2 < stored


def settle_claims(conn: Connection, batch: Sequence[Article]) -> None:
    """Let each claim of the batch (``Article.fetched_url``) stand, or not (crawler.canonical).

    A claim stands where nothing is stored under the URL yet, where only another page's claim
    is, or where what is there is the same page; against a different article, stored or in
    this batch under its own URL, the claiming page keeps its own URL. Articles are changed in
    place: the caller's items then name the URL they are stored under.
    """
    claims = [a for a in batch if a.fetched_url]
    if not claims:
        return
    own = {url_identity(a.url): a for a in batch if not a.fetched_url}
    for article in claims:
        key = url_identity(article.url)
        rival = own.get(key)
        if rival is not None:
            text = rival.text
        else:
            row = conn.execute(
                select(articles.c.text, articles.c.flags).where(articles.c.url_key == key)
            ).first()
            if row is None or claimant(row.flags) is not None:
                continue  # nothing stored there yet, or only another page's claim
            text = row.text
        if not same_page(PageMarks.of(text or ""), article):
            disown_canonical(article)


def over_claim(conn: Connection, row: Any, article: Article, keys: set[str]) -> str | None:
    """What ``article``, its URL's own page, does to ``row``, stored under that URL by another
    page's claim: None when ``row`` is no such claim (or the same page: an ordinary update).

    ``"moved"``: the claim is a different article; its row goes back to its page's URL (keeping
    its id, topics and story) and ``article`` is new. ``"replace"``: the claim's page already
    has a row of its own (or is in this batch, ``keys``): ``article`` replaces the claim, past
    the shrink guard, which is for versions of one page.
    """
    own_url = None if article.fetched_url else claimant(row.flags)
    if own_url is None:
        return None
    stored = conn.execute(select(articles.c.text).where(articles.c.id == row.id)).one()
    if same_page(PageMarks.of(stored.text or ""), article):
        return None
    own_key = url_identity(own_url)
    taken = conn.execute(select(articles.c.id).where(articles.c.url_key == own_key)).first()
    if taken is not None or own_key in keys:
        return "replace"
    logger.info("%s: its own page moves another page's claim back to %s", article.url, own_url)
    flags = [f for f in row.flags if claimant([f]) is None] + [CANONICAL_IGNORED_FLAG]
    conn.execute(
        update(articles)
        .where(articles.c.id == row.id)
        .values(url=own_url, url_key=own_key, flags=flags)
    )
    return "moved"


def stored_copies(conn: Connection, batch: Sequence[Article]) -> list[Any | None]:
    """For each article, the stored article of its source that it copies, if any (its row's
    ``id`` and ``url``).

    A copy has the same headline (``dedup_key``, as DedupePipeline tells a run's copies) and
    publication time, and the same text at both ends (:func:`~crawler.canonical.same_page`),
    since two days' weather reports may share a headline and a time. Without this check, a
    site linking an article stored in an earlier run under a new URL got it stored twice. The
    stored one was then dropped as the copy in every later run that re-checked both. One
    indexed query per source of the batch; texts are read only for the rows whose headline
    and time match.
    """
    times: dict[str, set[datetime]] = {}
    for article in batch:
        times.setdefault(article.source, set()).add(article.published)
    found: dict[tuple[str, str, datetime], list[Any]] = {}
    for source, published in times.items():
        params = {"source": source, "published": sorted(published)}
        for row in conn.execute(_SAME_TIMES, params):
            same = (row.source, dedup_key(row.title), row.published)
            found.setdefault(same, []).append(row)
    candidates: list[list[Any]] = []
    for article in batch:
        rows = found.get((article.source, dedup_key(article.title), article.published))
        # Its own URL's row is no copy (stored meanwhile by another process, on PostgreSQL).
        key = url_identity(article.url)
        candidates.append([r for r in rows or () if r.url_key != key])
    ids = sorted({r.id for rows in candidates for r in rows})
    texts: dict[int, str] = {}
    for chunk in in_chunks(ids):
        query = select(articles.c.id, articles.c.text).where(articles.c.id.in_(chunk))
        texts.update((row.id, row.text or "") for row in conn.execute(query))
    copies: list[Any | None] = []
    for article, rows in zip(batch, candidates, strict=True):
        marks = PageMarks.of(article.text) if rows else None
        copies.append(next((r for r in rows if PageMarks.of(texts[r.id]) == marks), None))
    return copies


#: A source's stored articles published at any of the given times (``ix_articles_source_
#: published``); one statement, cached by SQLAlchemy whatever the number of times.
_SAME_TIMES = (
    select(
        articles.c.id,
        articles.c.url,
        articles.c.url_key,
        articles.c.source,
        articles.c.title,
        articles.c.published,
    )
    .where(
        articles.c.source == bindparam("source"),
        articles.c.published.in_(bindparam("published", expanding=True)),
    )
    .order_by(articles.c.id)
)


def keep_site_slash(conn: Connection, row: Any, article: Article) -> None:
    """Give ``row`` the trailing slash of ``article.url`` when only that slash tells them apart.

    A stored article keeps its URL, its feeds' GUID, on every update: a site linking both
    ``/news/1`` and ``/news/1/`` must not make the GUID alternate between runs. The exception
    is one-way (:func:`~crawler.normalize.urls.slash_added`): a row stored without the slash,
    as older versions stored every URL, takes it when its page is read under it, since many
    CMSes answer 404 for the slashless form. Whatever the content does (unchanged, refused).
    """
    if not slash_added(row.url, article.url):
        return
    logger.info("%s: stored without its trailing slash, now under %s", row.url, article.url)
    conn.execute(update(articles).where(articles.c.id == row.id).values(url=article.url))


def keep_feed_summary(conn: Connection, row: Any, article: Article, digest: str) -> str:
    """The content hash of ``article`` once it keeps the stored summary its feed gave, if any.

    A page without a summary of its own gets its feed's description when the crawl reached it
    through the feed, and its first sentences when through a sitemap or listing: which one
    comes first changes from run to run, and each change read as an edit (entries "updated"
    with nothing edited, found by a tester). The text's first sentences never replace a feed's
    description; the page's own summary, or a feed's new description, still does.
    """
    if article.provenance.get("summary") != "text":
        return digest
    stored = conn.execute(
        select(articles.c.summary, articles.c.provenance).where(articles.c.id == row.id)
    ).one()
    if (stored.provenance or {}).get("summary") != "feed" or not stored.summary:
        return digest
    if is_cut_teaser(stored.summary, article.text):  # stored by a version that kept such cuts
        return digest
    article.summary = stored.summary
    article.provenance["summary"] = "feed"
    return content_hash(article)


def content_hash(article: Article) -> str:
    """Hash of what a reader sees; an edit of any of these fields is an update."""
    return _hash_of(_content_fields(article))


def content_hash_ahead(article: Article) -> ContentDigest:
    """:func:`content_hash`, computed ahead (by an extraction worker, off the crawl process),
    with a copy of the fields it hashed: :func:`stored_hash` takes it while they are equal."""
    title, summary, text, html, authors, section, tags, image = _content_fields(article)
    # Copies of the lists: a pipeline that edits them in place makes them unequal.
    fields = (title, summary, text, html, list(authors), section, list(tags), image)
    return ContentDigest(fields, _hash_of(fields))


def stored_hash(article: Article) -> str:
    """:func:`content_hash` of ``article``: the one computed ahead when it hashed these same
    fields (comparing them costs a fraction of hashing them: the strings are the very objects
    it hashed, unpickled together), else computed now."""
    fields = _content_fields(article)
    ahead = article.content_digest
    if ahead is not None and ahead.fields == fields:
        return ahead.digest
    return _hash_of(fields)


def _content_fields(article: Article) -> tuple[Any, ...]:
    return (
        article.title,
        article.summary,
        article.text,
        article.html,
        article.authors,
        article.section,
        article.tags,
        article.image,
    )


def _hash_of(fields: tuple[Any, ...]) -> str:
    # JSON writes a tuple as the list it hashed before tuples were used here.
    return hashlib.sha256(_HASH_JSON(fields).encode("utf-8")).hexdigest()


#: ``json.dumps(..., ensure_ascii=False, sort_keys=True)``'s text (for every article stored).
_HASH_JSON = json_encoder(ensure_ascii=False, sort_keys=True)


def article_values(article: Article, digest: str, key: str) -> dict[str, Any]:
    """The ``articles`` row of ``article`` with its content hash and URL identity (``key``),
    less the times the store sets (``first_seen``, ``fetched_at``)."""
    return {
        "url": article.url,
        "url_key": key,
        "source": article.source,
        "title": article.title,
        "summary": article.summary,
        "text": article.text,
        "html": article.html,
        "published": article.published,
        "updated": article.updated,
        "authors": list(article.authors),
        "section": article.section,
        "tags": list(article.tags),
        "image": article.image,
        "language": article.language,
        "provenance": dict(article.provenance),
        "flags": list(article.flags),
        "content_hash": digest,
        "html_policy": article.html_policy,
    }


def topic_rows(
    article_id: int, topics: Sequence[TopicMatch], published: datetime
) -> list[dict[str, Any]]:
    """The ``article_topics`` rows of an article (``published`` is denormalized onto each)."""
    return [
        {
            "article_id": article_id,
            "topic": t.id,
            "score": t.score,
            "evidence": list(t.evidence),
            "published": published,
        }
        for t in topics
    ]


class ArticleStore(ArticleQueries):
    """Articles: the reads of :class:`ArticleQueries` and the writes that keep them idempotent."""

    def upsert_article(self, article: Article, *, now: datetime) -> UpsertResult:
        """Insert a new article or update an edited one in place (identity and first-seen kept).

        An unchanged re-crawl writes nothing. The publication date never changes once stored.
        Safe when several processes store the same URL at once (distributed workers).
        """
        return self.upsert_articles([article], now=now)[0]

    def upsert_articles(self, batch: Sequence[Article], *, now: datetime) -> list[UpsertResult]:
        """``upsert_article`` for many articles in one write transaction; results in order.

        All or nothing: a failure rolls the whole batch back, so a crash mid-batch leaves none
        of it stored (and its URLs unknown, so the next run fetches them again).
        """
        if not batch:
            return []
        attempts = 5
        for attempt in range(attempts):
            try:
                return retry_locked(lambda: self._upsert_batch(batch, now))
            except IntegrityError:
                # Another process inserted one of these URLs between our read and our insert
                # (PostgreSQL lets both read "absent"; SQLite's BEGIN IMMEDIATE cannot race).
                # The batch was rolled back; its rows are committed now, so the next attempt
                # sees them and stores those articles as unchanged/updated.
                if attempt == attempts - 1:
                    raise
                logger.debug("concurrent insert in a batch of %d, re-reading", len(batch))
        raise AssertionError("unreachable")

    def _upsert_batch(self, batch: Sequence[Article], now: datetime) -> list[UpsertResult]:
        digests = [stored_hash(a) for a in batch]
        with self._write() as conn:
            settle_claims(conn, batch)
            keys = [url_identity(a.url) for a in batch]
            if len(set(keys)) != len(keys):
                # The same article twice in one batch: the second must see the first's row,
                # so store them one by one (still in this one transaction).
                return [
                    self._upsert_one(conn, a, d, k, now, set(keys))
                    for a, d, k in zip(batch, digests, keys, strict=True)
                ]
            stored: dict[str, Any] = {}
            for chunk in in_chunks(keys):
                for row in conn.execute(
                    select(
                        articles.c.id,
                        articles.c.url,
                        articles.c.url_key,
                        articles.c.content_hash,
                        articles.c.published,
                        articles.c.flags,
                        func.length(articles.c.text).label("text_chars"),
                    ).where(articles.c.url_key.in_(chunk))
                ):
                    stored[row.url_key] = row
            results: list[UpsertResult | None] = [None] * len(batch)
            key_set = set(keys)
            fresh: list[int] = []
            for i, (article, digest, key) in enumerate(zip(batch, digests, keys, strict=True)):
                found = stored.get(key)
                over = None
                if found is not None and found.content_hash != digest:
                    over = over_claim(conn, found, article, key_set)
                    if over is None:  # the same article: its feed's summary stays
                        digest = digests[i] = keep_feed_summary(conn, found, article, digest)
                if found is None or over == "moved":
                    fresh.append(i)
                    continue
                keep_site_slash(conn, found, article)
                if found.content_hash == digest:
                    results[i] = UpsertResult("unchanged", found.id)
                elif over is None and shrinks(found.text_chars, article):
                    results[i] = UpsertResult("refused", found.id)
                else:
                    self._update(conn, found, article, digest, key, now)
                    results[i] = UpsertResult("updated", found.id)
            # A new URL may be a copy of an article stored before (under its own URL).
            new_urls = [i for i in fresh if keys[i] not in stored]
            copies = stored_copies(conn, [batch[i] for i in new_urls]) if new_urls else []
            for i, copy in zip(new_urls, copies, strict=True):
                if copy is not None:
                    results[i] = UpsertResult("duplicate", copy.id, copy.url)
            fresh = [i for i in fresh if results[i] is None]
            if fresh:
                rows = []
                for i in fresh:
                    values = article_values(batch[i], digests[i], keys[i])
                    values.update(first_seen=now, fetched_at=batch[i].fetched_at or now)
                    rows.append(values)
                ids = insert_ids(conn, articles, rows, "url_key")
                new_topics = []
                for i, article_id in zip(fresh, ids, strict=True):
                    results[i] = UpsertResult("new", article_id)
                    new_topics += topic_rows(article_id, batch[i].topics, batch[i].published)
                if new_topics:
                    conn.execute(insert(article_topics), new_topics)
            return [r for r in results if r is not None]

    def _upsert_one(
        self,
        conn: Connection,
        article: Article,
        digest: str,
        key: str,
        now: datetime,
        keys: set[str],
    ) -> UpsertResult:
        row = conn.execute(
            select(
                articles.c.id,
                articles.c.url,
                articles.c.content_hash,
                articles.c.published,
                articles.c.flags,
                func.length(articles.c.text).label("text_chars"),
            ).where(articles.c.url_key == key)
        ).first()
        over = None
        if row is not None and row.content_hash != digest:
            over = over_claim(conn, row, article, keys)
            if over == "moved":
                row = None
            elif over is None:  # the same article: its feed's summary stays
                digest = keep_feed_summary(conn, row, article, digest)
        if row is None and over is None:
            copy = stored_copies(conn, [article])[0]
            if copy is not None:
                return UpsertResult("duplicate", copy.id, copy.url)
        if row is None:
            values = article_values(article, digest, key)
            values.update(first_seen=now, fetched_at=article.fetched_at or now)
            inserted = conn.execute(insert(articles).values(**values)).inserted_primary_key
            assert inserted is not None
            self._write_topics(conn, inserted[0], article.topics, article.published)
            return UpsertResult("new", inserted[0])
        keep_site_slash(conn, row, article)
        if row.content_hash == digest:
            return UpsertResult("unchanged", row.id)
        if over is None and shrinks(row.text_chars, article):
            return UpsertResult("refused", row.id)
        self._update(conn, row, article, digest, key, now)
        return UpsertResult("updated", row.id)

    def _update(
        self, conn: Connection, row: Any, article: Article, digest: str, key: str, now: datetime
    ) -> None:
        values = article_values(article, digest, key)
        del values["published"], values["url"]  # identity and publication date are fixed
        values["updated"] = article.updated or article.fetched_at or now
        values["fetched_at"] = article.fetched_at or now
        conn.execute(update(articles).where(articles.c.id == row.id).values(**values))
        self._write_topics(conn, row.id, article.topics, row.published)

    def _write_topics(
        self, conn: Connection, article_id: int, topics: Sequence[TopicMatch], published: datetime
    ) -> None:
        conn.execute(delete(article_topics).where(article_topics.c.article_id == article_id))
        if topics:
            conn.execute(insert(article_topics), topic_rows(article_id, topics, published))

    def set_topics(self, url: str, topics: Sequence[TopicMatch]) -> bool:
        """Replace an article's topics (re-tagging); True if they changed."""

        def run() -> bool:
            with self._write() as conn:
                row = conn.execute(
                    select(articles.c.id, articles.c.published).where(
                        articles.c.url_key == url_identity(url)
                    )
                ).first()
                if row is None:
                    return False
                old = conn.execute(
                    select(
                        article_topics.c.topic, article_topics.c.score, article_topics.c.evidence
                    )
                    .where(article_topics.c.article_id == row.id)
                    .order_by(article_topics.c.topic)
                ).all()
                new = sorted((t.id, t.score, list(t.evidence)) for t in topics)
                if [(o.topic, o.score, list(o.evidence)) for o in old] == new:
                    return False
                self._write_topics(conn, row.id, topics, row.published)
                return True

        return retry_locked(run)


def retag_all(
    store: ArticleStore, classify: Callable[[Article], Iterable[TopicMatch]]
) -> tuple[int, int]:
    """Re-score every stored article with ``classify``; returns (articles seen, changed).

    Articles whose text retention dropped (:data:`TEXT_PRUNED_FLAG`) keep their topics: scored
    on their title and summary alone, most would lose topics their body had earned.
    """
    seen = changed = 0
    for article in store.iter_articles():
        if TEXT_PRUNED_FLAG in article.flags:
            continue
        seen += 1
        if store.set_topics(article.url, list(classify(article))):
            changed += 1
    return seen, changed
