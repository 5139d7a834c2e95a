"""Benchmark: story clustering on labelled real reports, and its cost at 100k stored articles.

    python bench/stories.py                 # quality on the labelled set + cost at 100k
    python bench/stories.py --quality-only  # the labelled set only
    python bench/stories.py --articles 20000 --db FILE
    python bench/stories.py --site 50000    # assignment over the crawl benchmark's articles
    python bench/stories.py --site 2000 --trace  # and the older days' index's memory
    python bench/stories.py --window 2000 10000 50000  # one window of that many look-alikes

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

``--site N``: the articles of ``bench/site.py`` (the crawl benchmark's, one every 20 minutes,
one source) stored and assigned in batches of 50 in the order a crawl of its sitemap index
reaches them (newest first in each 10,000-URL sitemap, the sitemaps interleaved), with the
clock's own "now" as a crawl has it; the CPU per article (store, fingerprint, assignment) is
printed for each tenth of the run, with the index sizes and the process's RSS: what grows with
the run (``--trace``: and the older days' index's memory at the end, by tracemalloc, which
slows the run). ``--window N...``: the worst case of issue 15, one window holding N of those
look-alike articles (all in the index, every one an LSH candidate of every other); the CPU of
one report's candidates and verification, and the index's memory per member.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from crawler.models import Article
from crawler.normalize.urls import url_identity
from crawler.storage import Store
from crawler.storage.schema import articles, stories, story_members
from crawler.stories.features import TEXT_CHARS, Fingerprint, Fingerprinter, fingerprint
from crawler.stories.index import Match, Member, StoryIndex, gather, minhash, signature_bytes
from crawler.stories.settings import StorySettings
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
    records: Sequence[dict[str, object]],
    settings: StorySettings,
    *,
    window: bool = False,
    closing: str = "",
) -> list[int]:
    """A story number per record, assigned in order the way the store does.

    Without ``window`` every report may join every other. With it, a report is placed at noon
    of its date and the window applies (undated ones all at one far-away time). With
    ``closing``, every report with a lead has a body text: its lead, then that paragraph.
    """
    lemmatizer = Lemmatizer()
    if not window:
        settings = StorySettings(**{**settings.__dict__, "window_hours": 1e6})
    index = StoryIndex(settings)
    labels: list[int] = []
    size: dict[int, int] = {}  # story -> members; a story's number is its first record's
    for i, record in enumerate(records):
        when = (
            datetime.fromisoformat(f"{record['published']}T12:00:00+00:00")
            if record["published"]
            else datetime(2000, 1, 1, tzinfo=UTC)
        )
        lead = str(record["lead"])
        text = f"{lead}\n\n{closing}" if closing and lead else ""
        fp = fingerprint(str(record["title"]), lead, text, lemmatizer)
        sig = minhash(fp, settings.num_perm)
        matches = index.verified(fp, sig, when, str(record["outlet"]))
        story = i
        # As StoryStore (crawler.stories.index.gather): the report joins its best match's
        # story, or an older story it matched that a one-report best match verifies with; the
        # later one-report stories it verified with move into that story. A story's number is
        # its first record's, so numbers order stories as first seen.
        heads = {m.member.story_id: m.member.story_id for m in matches}
        moved: list[Match] = []
        if matches:
            story, moved = gather(
                matches,
                {k: size[k] for k in heads},
                heads,
                settings,
                str(record["outlet"]),
                index.peers,
            )
        for m in moved:
            old = m.member.story_id
            m.member.story_id = labels[m.member.article_id] = story
            size[story] += 1
            del size[old]
        size[story] = size.get(story, 0) + 1
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


#: Closing lines of the kind a site puts under every brief, or outlets copy from one press
#: office (written for the benchmark): ``--closing`` appends each to every report's lead.
CLOSINGS = (
    "Работы ведутся по плану и будут завершены в срок, сообщили в мэрии.",
    "Подписывайтесь на наш канал в Telegram, чтобы первыми узнавать главные новости города.",
    "Ранее сообщалось, что власти продолжают обновлять городскую инфраструктуру.",
    "Все изменения согласованы с профильными ведомствами и будут реализованы до конца года.",
    "Жители района смогут оценить изменения уже в ближайшие дни, отметили в управе.",
    "Фото и видео предоставлены пресс-службой комплекса городского хозяйства.",
    "Напомним, ранее в городе стартовала программа обновления общественных пространств.",
    "Проект реализуется в рамках национальной программы, уточнили в оперативном штабе.",
)


def closing_quality(settings: StorySettings) -> None:
    """Print the 72-hour-window scores when every report ends with the same closing line, one
    line at a time: a shared line must not join reports of different events (the first five
    lines were looked at while choosing ``body_weight`` and ``head_support``, on dev only)."""
    records = [r for r in ordered(load()) if r["published"]]
    for name, subset in (
        ("held-out", [r for r in records if r["heldout"]]),
        ("tuning", [r for r in records if not r["heldout"]]),
    ):
        for i, line in enumerate(CLOSINGS):
            s = score(subset, cluster(subset, settings, window=True, closing=line))
            print(
                f"{name:9} closing {i} reports {s.records:4}  P {s.precision:.3f} "
                f"R {s.recall:.3f}  B-cubed F1 {s.bcubed_f1:.3f}  near misses joined "
                f"{s.near_misses_joined}/{s.near_misses}  «{line[:40]}…»"
            )


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


SOURCES = ("mos", "m24", "vm", "mskagency", "mymsk", "moslenta", "mosregtoday")
DAYS = 100  # the synthetic store spans this many days: a 72-hour window holds ~3 % of it


def fill(store: Store, count: int, settings: StorySettings, *, batch: int = 5000) -> float:
    """Insert ``count`` synthetic reports with their stories and story members (bulk inserts).

    Each is a labelled report's fingerprint with a third of its lemmas swapped for others of
    the set's vocabulary and its own route number, so the window holds thousands of
    same-topic look-alikes; its signature is computed as the store would. Returns seconds.
    """
    rng = random.Random(7)
    lemmatizer = Lemmatizer()
    bases = [fingerprint(str(r["title"]), str(r["lead"]), "", lemmatizer) for r in load()]
    vocabulary = sorted({lemma for fp in bases for lemma in fp.lemmas})
    end = datetime(2026, 3, 1, tzinfo=UTC)
    t0 = time.monotonic()
    with store.engine.begin() as conn:
        for first in range(0, count, batch):
            rows, story_rows, members = [], [], []
            for i in range(first, min(first + batch, count)):
                base = rng.choice(bases)
                kept = [w for w in base.lemmas if rng.random() > 0.33]
                lemmas = frozenset(kept + rng.sample(vocabulary, len(base.lemmas) - len(kept)))
                fp = replace(
                    base,
                    lemmas=lemmas,
                    numbers=frozenset({str(100 + i % 900)}),
                    head_numbers=frozenset({str(100 + i % 900)}),
                )
                published = end - timedelta(seconds=DAYS * 86400 * (count - i) / count)
                url = f"https://{SOURCES[i % len(SOURCES)]}.example.ru/news/{i}"
                rows.append(
                    {
                        "id": i + 1,
                        "url": url,
                        "url_key": url_identity(url),
                        "source": SOURCES[i % len(SOURCES)],
                        "title": f"Синтетическая новость {i}",
                        "summary": "",
                        "text": "",
                        "html": "",
                        "published": published,
                        "first_seen": published,
                        "fetched_at": published,
                        "authors": [],
                        "tags": [],
                        "provenance": {},
                        "flags": [],
                        "content_hash": "0" * 64,
                        "story_id": i + 1,
                    }
                )
                story_rows.append(
                    {"id": i + 1, "article_id": i + 1, "created": published, "updated": published}
                )
                members.append(
                    {
                        "article_id": i + 1,
                        "seq": i + 1,
                        "published": published,
                        "joined_at": published,
                        "signature": signature_bytes(minhash(fp, settings.num_perm)),
                        "fingerprint": fp.to_json(),
                        "evidence": [],
                    }
                )
            conn.execute(insert(articles), rows)
            conn.execute(insert(stories), story_rows)
            conn.execute(insert(story_members), members)
            print(f"\r  inserted {min(first + batch, count)}/{count}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return time.monotonic() - t0


def cost(count: int, db: str | None, settings: StorySettings) -> None:
    """Print the time to rebuild the window's index and to assign one new article."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(db) if db else Path(tmp) / "stories.db"
        url = f"sqlite:///{path}"
        store = Store.open(url)
        if store.count_articles() < count:  # earlier runs add their 200 new articles
            store.close()
            path.unlink(missing_ok=True)
            store = Store.open(url)
            print(f"filling {count} articles: {fill(store, count, settings):.1f} s")
        store.close()
        records = [r for r in load() if r["published"]]
        now = datetime(2026, 3, 1, tzinfo=UTC)
        store = Store.open(url)
        try:
            first = _new_article(0, records[0], now)
            [stored] = store.upsert_articles([first], now=now)
            t0 = time.perf_counter()
            store.assign_stories([(stored.article_id, first)], settings=settings, now=now)
            rebuild = time.perf_counter() - t0
            window = len(store._story_index or ())
            times, cold = [], []
            for n, record in enumerate(records[1:201], start=1):
                article = _new_article(n, record, now)
                [stored] = store.upsert_articles([article], now=now)
                # A word's first lemmatization costs ~0.3 ms; a running crawler has seen most
                # words of a news stream before. Time the first sight apart, then the
                # assignment with the article's words known.
                fingerprinter = Fingerprinter()  # an empty word cache
                t0 = time.perf_counter()
                fingerprinter(article.title, article.summary, article.text)
                cold.append(time.perf_counter() - t0)
                store._prepare(stored.article_id, article, settings)
                t0 = time.perf_counter()
                store.assign_stories([(stored.article_id, article)], settings=settings, now=now)
                times.append(time.perf_counter() - t0)
        finally:
            store.close()
    times.sort()
    print(
        f"fingerprinting a new article whose words are all new to the process: median "
        f"{statistics.median(cold) * 1000:.2f} ms"
    )
    print(
        f"store {count} articles, index holds {window} (published within 2 x window): "
        f"rebuilt on open in {rebuild * 1000:.0f} ms (first assignment included)"
    )
    print(
        f"assigning one new article (fingerprint with known words + LSH + verification + its "
        f"own write transaction), {len(times)} articles: median "
        f"{statistics.median(times) * 1000:.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms (goal <= 5 ms)"
    )


def _new_article(n: int, record: dict[str, object], now: datetime) -> Article:
    return Article(
        url=f"https://new{n}.example.ru/news/{n}",
        source=str(record["outlet"]),
        title=str(record["title"]),
        summary=str(record["lead"]),
        text=str(record["lead"]),
        published=now - timedelta(minutes=n),
    )


def _site_articles(count: int) -> list[Article]:
    """The crawl benchmark's articles, in the order its crawl reaches them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from crawl import load_bench_site

    pages = load_bench_site().make_pages(count)
    per_sitemap = 10_000
    sitemaps = [pages[i : i + per_sitemap] for i in range(0, len(pages), per_sitemap)]
    ordered = [m[rank] for rank in range(per_sitemap) for m in sitemaps if rank < len(m)]
    return [
        Article(
            url=f"https://bench.example.ru/news/{p.id}",
            source="bench",
            title=p.title,
            summary=p.lead,
            text="\n\n".join(p.paragraphs)[:TEXT_CHARS],
            published=p.published,
        )
        for p in ordered
    ]


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _held(store: Store) -> str:
    """The sizes of the store's story indexes, and the process's RSS."""
    older = store._older_days
    return (
        f"live index {len(store._story_index or ())}, older days {len(older.days) if older else 0}"
        f" holding {len(older.index) if older else 0} members; RSS {_rss_mib():.0f} MiB"
    )


def site_cost(count: int, settings: StorySettings, *, trace: bool = False) -> None:
    """Print the CPU per stored and assigned article for each tenth of a crawl-like run.

    ``trace``: also the memory the older days' index holds at the end (tracemalloc, running
    the whole time: the CPU figures are then not comparable).
    """
    todo = _site_articles(count)
    step = max(50, count // 10 // 50 * 50)
    if trace:
        tracemalloc.start()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/site.db")
        try:
            t0 = time.process_time()
            for first in range(0, count, 50):
                batch = todo[first : first + 50]
                now = datetime.now(UTC)
                stored = store.upsert_articles(batch, now=now)
                pairs = [(r.article_id, a) for r, a in zip(stored, batch, strict=True)]
                store.assign_stories(pairs, settings=settings, now=now)
                done = first + len(batch)
                if done % step == 0 or done == count:
                    spent, t0 = time.process_time() - t0, time.process_time()
                    print(
                        f"{done:6d} articles: {spent * 1000 / step:5.2f} ms/article; {_held(store)}"
                    )
            if trace:
                gc.collect()
                held = tracemalloc.get_traced_memory()[0]
                store._older_days = None
                gc.collect()
                freed = held - tracemalloc.get_traced_memory()[0]
                print(f"older days' index: {freed / 2**20:.1f} MiB (tracemalloc)")
        finally:
            store.close()


def window_cost(sizes: Sequence[int], settings: StorySettings) -> None:
    """Print one report's candidates and verification against a window of N look-alikes."""
    import tracemalloc

    articles = _site_articles(min(max(sizes), 10_000))
    f = Fingerprinter()
    # Stored and read back, as a rebuilt or an older day's index holds them.
    stored = [json.dumps(f(a.title, a.summary, a.text).to_json()) for a in articles]
    fps = [Fingerprint.from_json(json.loads(s)) for s in stored]
    sigs = [minhash(fp, settings.num_perm) for fp in fps]
    now = datetime(2026, 11, 26, tzinfo=UTC)
    for size in sizes:
        tracemalloc.start()
        index = StoryIndex(settings)
        for i in range(size):
            k = i % len(fps)
            fp = Fingerprint.from_json(json.loads(stored[k]))
            index.add(
                Member(i + 1, i + 1, "bench", now - timedelta(hours=48 * i / size), fp, sigs[k])
            )
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        t0 = time.process_time()
        for j in range(200):
            k = j * 37 % len(fps)
            index.verified(fps[k], sigs[k], now - timedelta(hours=24), "other")
        spent = (time.process_time() - t0) / 200
        print(
            f"window of {size:6d}: {spent * 1000:6.3f} ms per report (candidates and"
            f" verification), {held / size / 1024:.1f} KB per member"
        )
        del index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list wrongly joined/missed pairs")
    parser.add_argument(
        "--closing", action="store_true", help="also score with one closing line under every report"
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", help="SQLite file for the cost run (default: a temporary one)")
    parser.add_argument("--site", type=int, help="assign N crawl-benchmark articles (only)")
    parser.add_argument("--window", type=int, nargs="+", help="windows of N look-alikes (only)")
    parser.add_argument("--trace", action="store_true", help="--site: the older days' memory")
    args = parser.parse_args(argv)
    settings = StorySettings()
    if args.site or args.window:
        if args.site:
            site_cost(args.site, settings, trace=args.trace)
        if args.window:
            window_cost(args.window, settings)
        return 0
    quality(settings, show_errors=args.errors)
    if args.closing:
        closing_quality(settings)
    if not args.quality_only:
        cost(args.articles, args.db, settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
