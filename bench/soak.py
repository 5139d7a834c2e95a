"""Soak: the real service (`cityfeeds run`) against a changing loopback site, for hours.

    python bench/soak.py --hours 6 [--sources 3] [--publish-every 60] [--edit-every 300]

Starts ``scheduler.py`` (the service, as systemd would) in a child process with three sources
``every 1m`` (the minimum), each a loopback host of its own (127.0.0.1, .2, .3) serving an RSS
feed of its newest 30 articles. Each source publishes a new article every ``--publish-every``
seconds and edits a recent one every ``--edit-every`` seconds; with the default 24 h
``refresh_hours``, the backlog of recent articles to re-check grows all the time, so the re-check
budget (``[crawl] recheck_per_run``, ``recheck_seconds``) is always at work.

While it runs, this process notes when each feed is read (by the site), polls the topic feed
every second for new entries, and samples the service's RSS, open fds, threads and zombie
children every 15 s. At the end (SIGTERM: the exit status is printed) it prints:

* freshness per new article: publication -> stored, feed read -> stored, stored -> in the
  topic feed and publication -> in the topic feed (median and max);
* the re-check budget at work: re-checks per run, those left for later runs, run times;
* the gaps between a source's runs (the spread keeps each source's period);
* memory: RSS at the end of the warm-up (the first 10 minutes, or a third of a shorter run),
  at each hour (each 10 minutes for a run under 2 h), the growth per hour after the warm-up
  (least squares), and fds, threads and zombies (first, last, max after the warm-up).

Figures, not assertions. Needs Linux (/proc).
"""

from __future__ import annotations

import argparse
import email.utils
import html
import itertools
import json
import os
import platform
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import tomli_w

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "soak"
FEED_ITEMS = 30
SAMPLE_EVERY = 15.0
SCRAPE_EVERY = 60.0
#: Articles each source has before the service starts: its first run's backlog, fetched one
#: per download delay (so the last waits seconds), reported apart from the steady state.
PRESTART = 5
WORDS = (
    "метро станция платформа вестибюль эскалатор переход пассажиры маршрут линия депо "
    "поезд вагон интервал расписание пересадка турникет кольцевая радиальная тоннель ремонт "
    "открытие закрытие выход вход касса билет тариф капремонт подрядчик проект"
).split()


@dataclass
class Article:
    """One article of a soak source."""

    n: int
    title: str
    paragraphs: list[str]
    published: datetime  # to the second, as the page says
    published_at: datetime  # the exact moment it entered the feed
    edits: int = 0


@dataclass
class SoakSource:
    """A source's loopback site: its articles (newest last) and when its feed was read."""

    name: str
    host: str
    rng: random.Random
    articles: list[Article] = field(default_factory=list)
    feed_reads: list[datetime] = field(default_factory=list)
    page_reads: dict[int, datetime] = field(default_factory=dict)  # article n -> first request
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://{self.host}:{self.server.server_address[1]}/"

    def publish(self, now: datetime) -> None:
        """A new article, published now (to the second, as pages say)."""
        with self.lock:
            n = len(self.articles) + 1
            words = self.rng.sample(WORDS, 6)
            title = f"{self.name}: {' '.join(words[:3]).capitalize()} — новость {n}"
            paragraphs = [
                f"Новость {n} источника {self.name}: {' '.join(self.rng.sample(WORDS, 12))}."
                for _ in range(4)
            ]
            self.articles.append(Article(n, title, paragraphs, now.replace(microsecond=0), now))

    def edit(self) -> None:
        """Edit one of the last 20 articles (title and a paragraph), as newsrooms do."""
        with self.lock:
            if not self.articles:
                return
            art = self.rng.choice(self.articles[-20:])
            art.edits += 1
            art.title = art.title.split(" (обновлено")[0] + f" (обновлено {art.edits})"
            art.paragraphs.append(f"Обновление {art.edits}: {' '.join(self.rng.sample(WORDS, 8))}.")

    def url(self, art: Article) -> str:
        return f"{self.base}news/{art.n}"

    def rss(self) -> bytes:
        with self.lock:
            newest = list(reversed(self.articles[-FEED_ITEMS:]))
            items = "".join(
                f"<item><title>{html.escape(a.title)}</title><link>{self.url(a)}</link>"
                f"<guid>{self.url(a)}</guid>"
                f"<pubDate>{email.utils.format_datetime(a.published)}</pubDate>"
                f"<description>{html.escape(a.paragraphs[0])}</description></item>"
                for a in newest
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{self.name}</title><link>{self.base}</link><description>soak</description>"
            f"{items}</channel></rss>"
        ).encode()

    def page(self, n: int) -> bytes | None:
        with self.lock:
            if not 1 <= n <= len(self.articles):
                return None
            a = self.articles[n - 1]
            body = "".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)
            return (
                "<!DOCTYPE html><html lang='ru'><head><meta charset='utf-8'>"
                f"<title>{html.escape(a.title)}</title></head><body><main><article>"
                f"<h1>{html.escape(a.title)}</h1>"
                f"<time datetime='{a.published.isoformat()}'>{a.published.isoformat()}</time>"
                f"<div class='article-body'>{body}</div></article></main></body></html>"
            ).encode()


def make_handler(src: SoakSource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body: bytes | None
            ctype = "text/html; charset=utf-8"
            if self.path == "/rss.xml":
                src.feed_reads.append(datetime.now(UTC))
                body, ctype = src.rss(), "application/rss+xml"
            elif self.path.startswith("/news/") and self.path[6:].isdigit():
                src.page_reads.setdefault(int(self.path[6:]), datetime.now(UTC))
                body = src.page(int(self.path[6:]))
            else:
                body = None
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def start_site(src: SoakSource) -> None:
    server = ThreadingHTTPServer((src.host, 0), make_handler(src))
    server.daemon_threads = True
    src.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(work: Path, sources: list[SoakSource], port: int) -> Path:
    """The service's config: the soak sources every minute, one topic matching every article."""
    raw: dict[str, Any] = {
        "cityfeeds": {
            "output_dir": str(work / "output"),
            "database_url": f"sqlite:///{work / 'soak.db'}",
            "base_url": f"http://127.0.0.1:{port}/",
            "timezone": "Europe/Moscow",
        },
        "crawl": {"timeout": 10, "run_timeout": 600},
        "schedule": {"default": "every 1m", "jitter": 0, "port": port, "host": "127.0.0.1"},
        "sources": [
            {
                "name": s.name,
                "title": f"Soak {s.name}",
                "url": s.base,
                "feeds": [s.base + "rss.xml"],
                "allow_private": True,
                "city": "Moscow",
            }
            for s in sources
        ],
        "topics": [
            {
                "id": TOPIC,
                "title": "Soak: метро",
                "include": {"метро": 1.0, "новость": 1.0},
                "threshold": 1.0,
                # One entry per article, so each new article's arrival in the feed is visible.
                "stories": False,
            }
        ],
    }
    path = work / "cityfeeds.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


# -- what the service process looks like ---------------------------------------------------


def proc_sample(pid: int) -> dict[str, float]:
    """RSS (MiB), open fds, threads and zombie children of ``pid``; its feed-rebuild child's RSS.

    The service rebuilds feeds in a child process it replaces every few rebuilds
    (``cityfeeds.service.rebuild_process``): that child's memory is the service's too, so it is
    sampled beside it (0 when no child is up at that moment).
    """
    status = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    zombies = 0
    child = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) != pid:
                continue
            if fields[0] == "Z":
                zombies += 1
            elif b"spawn_main" in (entry / "cmdline").read_bytes():
                child += _rss_mib(entry / "status")
        except (OSError, ValueError):
            continue
    return {
        "rss": int(status["VmRSS"].split()[0]) / 1024,
        "fds": fds,
        "threads": int(status["Threads"].strip()),
        "zombies": zombies,
        "child": child,
    }


def _rss_mib(status: Path) -> float:
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def native_memory(port: int) -> dict[str, float]:
    """SQLite's memory and glibc's heap in use (MiB), from the service's ``/metrics``.

    Scraped every ``SCRAPE_EVERY`` seconds, as a Prometheus server would: each scrape reads the
    store too, which is part of a real deployment's load.
    """
    wanted = {
        "cityfeeds_sqlite_memory_bytes": "sqlite",
        'cityfeeds_malloc_bytes{state="in_use"}': "malloc",
    }
    found: dict[str, float] = {}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            for line in answer.read().decode().splitlines():
                name, _, number = line.rpartition(" ")
                if name in wanted:
                    found[wanted[name]] = float(number) / 2**20
    except (OSError, ValueError):
        pass
    return found


class FeedWatcher(threading.Thread):
    """Notes when each article link first appears in the topic feed (polled every second)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.first_seen: dict[str, datetime] = {}
        self.stop = threading.Event()
        self._mtime = 0.0

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                continue
            if mtime == self._mtime:
                continue
            self._mtime = mtime
            now = datetime.now(UTC)
            for entry in feedparser.parse(self.path.read_bytes()).entries:
                self.first_seen.setdefault(entry.get("link", ""), now)


# -- figures -------------------------------------------------------------------------------


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"median {statistics.median(values):.1f} s, max {max(values):.1f} s (n={len(values)})"


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return 0.0 if den == 0 else num / den * 3600


def parse_time(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_store(db: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        arts = [dict(r) for r in conn.execute("SELECT url, source, first_seen FROM articles")]
        runs = [
            dict(r)
            for r in conn.execute(
                "SELECT source, started_at, finished_at, status, stats FROM runs ORDER BY id"
            )
        ]
    finally:
        conn.close()
    return arts, runs


def report(
    sources: list[SoakSource],
    watcher: FeedWatcher,
    samples: list[tuple[float, dict[str, float]]],
    db: Path,
    duration: float,
    exit_code: int | None,
) -> None:
    arts, runs = read_store(db)
    stored = {a["url"]: parse_time(a["first_seen"]) for a in arts}
    # A rebuild follows every crawl's end (whichever source): the first end after a store.
    ends = sorted(parse_time(r["finished_at"]) for r in runs if r["finished_at"])
    pub_stored, read_stored, stored_feed, pub_feed, end_feed = [], [], [], [], []
    read_page, page_stored, backlog = [], [], []
    worst: list[tuple[float, float, str]] = []  # (read -> stored, read -> page, url)
    published = missing_store = missing_feed = 0
    for src in sources:
        reads = sorted(src.feed_reads)
        for art in src.articles:
            published += 1
            url = src.url(art)
            if url not in stored:
                missing_store += 1
                continue
            at = stored[url]
            pub_stored.append((at - art.published).total_seconds())
            read = next((r for r in reads if r >= art.published_at), None)
            if read is not None and read <= at and art.n <= PRESTART:
                backlog.append((at - read).total_seconds())
            elif read is not None and read <= at:
                read_stored.append((at - read).total_seconds())
                page = src.page_reads.get(art.n)
                if page is not None and read <= page <= at:
                    read_page.append((page - read).total_seconds())
                    page_stored.append((at - page).total_seconds())
                    worst.append(((at - read).total_seconds(), (page - read).total_seconds(), url))
            seen = watcher.first_seen.get(url)
            if seen is None:
                missing_feed += 1
                continue
            stored_feed.append((seen - at).total_seconds())
            pub_feed.append((seen - art.published).total_seconds())
            end = next((f for f in ends if f >= at), None)
            if end is not None:
                end_feed.append((seen - end).total_seconds())
    print(f"\nfreshness of {published} articles published during the soak:")
    print(f"  publication -> stored:          {summary(pub_stored)}")
    print(f"  feed read -> stored:            {summary(read_stored)}")
    print(f"    (the start-up backlog of {PRESTART} per source: {summary(backlog)})")
    print(f"    of which feed read -> page requested: {summary(read_page)}")
    print(f"         and page requested -> stored:   {summary(page_stored)}")
    for total, to_page, url in sorted(worst, reverse=True)[:3]:
        print(f"    slowest: {total:.1f} s ({to_page:.1f} s to the page request) {url}")
    print(f"  stored -> in the topic feed:    {summary(stored_feed)}")
    print(f"  next crawl end -> topic feed:   {summary(end_feed)} (1 s polling included)")
    print(f"  publication -> in topic feed:   {summary(pub_feed)}")
    print(f"  not stored at the end: {missing_store}; stored but never seen in the feed:"
          f" {missing_feed} (the last minute's are still on their way)")  # fmt: skip

    finished = [r for r in runs if r["finished_at"]]
    stats = [json.loads(r["stats"] or "{}") for r in finished]
    rechecks = [int(s.get("rechecks") or 0) for s in stats]
    deferred = [int(s.get("rechecks_deferred") or 0) for s in stats]
    times = [
        (parse_time(r["finished_at"]) - parse_time(r["started_at"])).total_seconds()
        for r in finished
    ]
    by_status: dict[str, int] = {}
    for r in finished:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    print(
        f"\nruns: {len(finished)} ({', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))})"
    )
    print(f"  run time: {summary(times)}")
    if rechecks:
        print(
            f"  re-check budget: {sum(rechecks)} re-checks in all, per run median"
            f" {statistics.median(rechecks):g}, max {max(rechecks)}; left for later runs:"
            f" median {statistics.median(deferred):g}, max {max(deferred)}"
        )
    for src in sources:
        starts = sorted(parse_time(r["started_at"]) for r in runs if r["source"] == src.name)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
        if gaps:
            print(
                f"  {src.name}: {len(starts)} runs, gap between runs median"
                f" {statistics.median(gaps):.0f} s, min {min(gaps):.0f} s, max {max(gaps):.0f} s"
            )

    if not samples:
        return
    warm = min(600.0, duration / 3)
    after = [(t, s) for t, s in samples if t >= warm]
    step = 3600.0 if duration >= 7200 else 600.0
    print(f"\nservice process (sampled every {SAMPLE_EVERY:g} s; warm-up {warm / 60:.0f} min):")
    print("   at(min)  RSS(MiB)  SQLite(MiB)  fds  threads  zombies  rebuild child RSS(MiB)")
    mark = warm
    sqlite = 0.0  # the latest scrape's figure (scrapes are rarer than samples)
    for t, s in samples:
        sqlite = s.get("sqlite", sqlite)
        if t >= mark:
            print(
                f"  {t / 60:8.0f}  {s['rss']:8.1f}  {sqlite:11.2f}  {s['fds']:3.0f}"
                f"  {s['threads']:7.0f}  {s['zombies']:7.0f}  {s.get('child', 0):10.1f}"
            )
            mark += step
    t, s = samples[-1]
    print(
        f"  {t / 60:8.0f}  {s['rss']:8.1f}  {sqlite:11.2f}  {s['fds']:3.0f}"
        f"  {s['threads']:7.0f}  {s['zombies']:7.0f}  {s.get('child', 0):10.1f}  (last)"
    )
    if after:
        rss = [s["rss"] for _, s in after]
        growth = slope_per_hour([(t, s["rss"]) for t, s in after])
        span = (after[-1][0] - after[0][0]) / 60
        late = slope_per_hour([(t, s["rss"]) for t, s in after[len(after) // 2 :]])
        print(
            f"  RSS after the warm-up: {rss[0]:.1f} -> {rss[-1]:.1f} MiB (max {max(rss):.1f});"
            f" growth {growth:+.2f} MiB/h (least squares over {span:.0f} min),"
            f" {late:+.2f} MiB/h over its second half"
        )
        native = [(t, s) for t, s in after if "sqlite" in s]
        if len(native) >= 2:
            # SQLite's page caches fill as the database grows (bounded by cache_size per
            # connection): RSS without them tells that bounded growth from the rest.
            (_, first), (_, last) = native[0], native[-1]
            rest = slope_per_hour([(t, s["rss"] - s["sqlite"]) for t, s in native])
            rest_late = slope_per_hour(
                [(t, s["rss"] - s["sqlite"]) for t, s in native[len(native) // 2 :]]
            )
            print(
                f"  SQLite's memory: {first['sqlite']:.2f} -> {last['sqlite']:.2f} MiB;"
                f" glibc heap in use {first.get('malloc', 0):.1f} ->"
                f" {last.get('malloc', 0):.1f} MiB; RSS without SQLite's memory:"
                f" {rest:+.2f} MiB/h, {rest_late:+.2f} MiB/h over its second half"
            )
        children = [s.get("child", 0.0) for _, s in after]
        up = [c for c in children if c > 0]
        if up:
            half = len(children) // 2
            print(
                f"  feed-rebuild child (replaced every few rebuilds): up in {len(up)} of"
                f" {len(children)} samples, RSS max {max(up):.1f} MiB, max over the first half"
                f" {max(children[:half] or [0]):.1f}, over the second half"
                f" {max(children[half:]):.1f}"
            )
        for key in ("fds", "threads", "zombies"):
            vals = [s[key] for _, s in after]
            print(f"  {key}: first {vals[0]:.0f}, last {vals[-1]:.0f}, max {max(vals):.0f}")
    print(f"  service exit status after SIGTERM: {exit_code}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--sources", type=int, default=3, choices=range(1, 10))
    parser.add_argument("--publish-every", type=float, default=60.0, help="seconds per source")
    parser.add_argument("--edit-every", type=float, default=300.0, help="seconds per source")
    parser.add_argument(
        "--tracemalloc",
        type=float,
        metavar="MINUTES",
        help="the service logs its memory growth by allocation site every MINUTES"
        " (CITYFEEDS_TRACEMALLOC; costs CPU and memory: not for the RSS figure)",
    )
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "cityfeeds-bench-soak"
    )
    args = parser.parse_args(argv)
    work: Path = args.work
    if work.exists():
        for stale in ("soak.db", "soak.db-wal", "soak.db-shm", "service.log"):
            (work / stale).unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    sources = [
        SoakSource(f"soak{i + 1}", f"127.0.0.{i + 1}", random.Random(i))
        for i in range(args.sources)
    ]
    now = datetime.now(UTC)
    for src in sources:
        start_site(src)
        for _ in range(PRESTART):  # a few articles before the service starts
            src.publish(now)
    port = free_port()
    config = write_config(work, sources, port)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if args.tracemalloc:
        env["CITYFEEDS_TRACEMALLOC"] = f"{args.tracemalloc:g}"
    log = (work / "service.log").open("wb")
    cmd = [sys.executable, str(ROOT / "scheduler.py"), "--config", str(config)]
    service = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    print(
        f"service pid {service.pid}: {args.sources} source(s) every 1m, a new article per source"
        f" every {args.publish_every:g} s, an edit every {args.edit_every:g} s; {args.hours:g} h;"
        f" log {work / 'service.log'}",
        flush=True,
    )
    watcher = FeedWatcher(work / "output" / "topics" / f"{TOPIC}.rss")
    watcher.start()
    t0 = time.monotonic()
    end = t0 + args.hours * 3600
    samples: list[tuple[float, dict[str, float]]] = []
    next_sample = next_scrape = t0
    phase = {s.name: random.Random(s.name).uniform(0, args.publish_every) for s in sources}
    next_pub = {s.name: t0 + phase[s.name] for s in sources}
    next_edit = {s.name: t0 + args.edit_every + phase[s.name] for s in sources}
    try:
        while time.monotonic() < end and service.poll() is None:
            tick = time.monotonic()
            for src in sources:
                if tick >= next_pub[src.name]:
                    src.publish(datetime.now(UTC))
                    next_pub[src.name] += args.publish_every
                if tick >= next_edit[src.name]:
                    src.edit()
                    next_edit[src.name] += args.edit_every
            if tick >= next_sample:
                sample = proc_sample(service.pid)
                if tick >= next_scrape:
                    sample.update(native_memory(port))
                    next_scrape += SCRAPE_EVERY
                samples.append((tick - t0, sample))
                next_sample += SAMPLE_EVERY
                if len(samples) % 40 == 1:
                    print(
                        f"  {(tick - t0) / 60:6.1f} min: RSS {sample['rss']:.1f} MiB,"
                        f" {sample['fds']:.0f} fds, {sample['threads']:.0f} threads,"
                        f" {sample['zombies']:.0f} zombies, {len(watcher.first_seen)} in feed",
                        flush=True,
                    )
            time.sleep(0.2)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
                print(f"/healthz at the end: {answer.status} {answer.read().decode()[:300]}")
        except OSError as exc:
            print(f"/healthz at the end: {exc}")
    finally:
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
        try:
            exit_code: int | None = service.wait(180)
        except subprocess.TimeoutExpired:
            service.kill()
            exit_code = None
        watcher.stop.set()
        log.close()
    report(sources, watcher, samples, work / "soak.db", time.monotonic() - t0, exit_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
