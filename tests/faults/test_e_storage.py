"""Fault catalogue E1–E6 (storage): locks, a full disk, kills mid-write, concurrent build, forks."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.models import Article
from crawler.storage import Store
from tests.faults.support import (
    Lab,
    article_html,
    check_feeds_valid,
    extensions_with,
    html_route,
    rss,
)

pytestmark = [pytest.mark.fault]

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _article(i: int, source: str = "s", size: int = 200) -> Article:
    return Article(
        url=f"https://news.example/{source}/{i}",
        source=source,
        title=f"Новость номер {i} о городе",
        published=T0 + timedelta(minutes=i),
        text="Текст новости. " * (size // 15),
    )


def _hold_lock(path: Path, seconds: float, started: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_e1_locked_database_waits_and_keeps_items(tmp_path: Path) -> None:
    db = tmp_path / "e1.sqlite"
    store = Store.open(f"sqlite:///{db}")
    try:
        store.upsert_article(_article(0), now=T0)
        # What the store avoids: a deferred transaction that reads, then writes, fails at once
        # with "database is locked" even with a busy timeout, while another writer holds the lock.
        started = threading.Event()
        holder = threading.Thread(target=_hold_lock, args=(db, 1.0, started))
        holder.start()
        started.wait(5)
        naive = sqlite3.connect(db, timeout=5, isolation_level=None)
        naive.execute("BEGIN")
        naive.execute("SELECT count(*) FROM articles").fetchone()
        t0 = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            naive.execute("UPDATE articles SET title = title")
        assert time.monotonic() - t0 < 0.5  # instant BUSY: the busy timeout was not honoured
        naive.execute("ROLLBACK")
        naive.close()
        holder.join()

        # The store's writes BEGIN IMMEDIATE, wait for the lock and retry: nothing is dropped.
        started.clear()
        holder = threading.Thread(target=_hold_lock, args=(db, 1.5, started))
        holder.start()
        started.wait(5)
        t0 = time.monotonic()
        results = [store.upsert_article(_article(i), now=T0).status for i in range(1, 4)]
        waited = time.monotonic() - t0
        holder.join()
        assert results == ["new", "new", "new"] and waited >= 1.2
        assert store.count_articles() == 4
    finally:
        store.close()


@pytest.mark.slow
def test_e1_locked_database_during_a_crawl(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        site = lab.site()
        paths = [f"/news/{i}" for i in range(3)]
        for i, p in enumerate(paths):
            site.routes[p] = html_route(article_html(f"Новость {i} о работе метро в выходные"))
        site.routes["/rss.xml"] = html_route(rss(site.base, paths), "application/rss+xml")
        lab.source("e1", site.base)
        from crawler.config import load_config

        db = Path(load_config(lab.config_path()).database_url.removeprefix("sqlite:///"))
        Store.open(f"sqlite:///{db}").close()
        started = threading.Event()
        holder = threading.Thread(target=_hold_lock, args=(db, 2.5, started))
        holder.start()
        started.wait(5)
        result = lab.run(feeds=False)
        holder.join()
        run = result.runs["e1"]
        assert run["status"] == "ok" and run["new"] == 3 and not run["dropped"]
    finally:
        lab.close()


@pytest.mark.slow
def test_e2_disk_full_fails_loudly_without_corruption(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        site = lab.site()
        site.routes["/news/1"] = html_route(
            article_html("Первая новость сохранена до заполнения диска")
        )
        site.routes["/rss.xml"] = html_route(rss(site.base, ["/news/1"]), "application/rss+xml")
        lab.source("e2", site.base)
        first = lab.run()
        assert first.runs["e2"]["status"] == "ok"
        good = (first.config.output_dir / "sources/e2.rss").read_bytes()

        big = [f"Очень подробный абзац о событиях в городе номер {i}. " * 40 for i in range(30)]
        site.routes["/news/2"] = html_route(
            article_html("Вторая новость не помещается на диск", big)
        )
        site.routes["/rss.xml"] = html_route(
            rss(site.base, ["/news/1", "/news/2"]), "application/rss+xml"
        )
        lab.settings = {"EXTENSIONS": extensions_with("tests.faults.support.DiskFull")}
        second = lab.run()
        run = second.runs["e2"]
        assert run["status"] == "failed"
        assert "full" in (run["message"] or "") + str(run["stats"].get("store_error", ""))
        assert "disk is full" in lab.log_text()  # loud
        store = second.store()
        try:
            assert store.integrity_check() == "ok"
            assert [a.title for a in store.newest_articles(source="e2")] == [
                "Первая новость сохранена до заполнения диска"
            ]  # the failed transaction was rolled back
        finally:
            store.close()
        assert (second.config.output_dir / "sources/e2.rss").read_bytes() == good  # last good feed
    finally:
        lab.close()


_BATCH_CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from sqlalchemy import insert
    from crawler.storage import Store
    from crawler.storage.articles import article_values, content_hash
    from crawler.storage.schema import articles
    from crawler.models import Article
    from crawler.normalize.urls import url_identity
    store = Store.open(sys.argv[1])
    now = datetime.now(UTC)
    with store._write() as conn:
        for i in range(400):
            a = Article(
                url=f"https://news.example/batch/{i}", source="batch", title=f"t{i}", published=now
            )
            values = article_values(a, content_hash(a), url_identity(a.url))
            values.update(first_seen=now, fetched_at=now)
            conn.execute(insert(articles).values(**values))
            if i == 200:
                print("inside", flush=True)
                time.sleep(60)
    """
)


def test_e3_crash_mid_batch_leaves_store_consistent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e3.sqlite'}"
    store = Store.open(url)
    store.upsert_article(_article(1, "kept"), now=T0)
    store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _BATCH_CHILD, url], stdout=subprocess.PIPE, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"inside"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    store = Store.open(url)
    try:
        assert store.integrity_check() == "ok"
        assert store.source_counts() == {"kept": 1}  # the partial batch is absent
        assert store.known_urls("batch") == set()  # so the next run fetches those pages again
        assert store.upsert_article(_article(1, "kept"), now=T0).status == "unchanged"  # idempotent
    finally:
        store.close()


_WRITE_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from feeds.publish import write_atomic
    real_fsync = os.fsync
    def slow_fsync(fd):
        print("writing", flush=True)
        time.sleep(60)
    os.fsync = slow_fsync
    write_atomic(Path(sys.argv[1]), b"<rss>new but never finished</rss>" * 1000)
    """
)


def test_e4_killed_mid_feed_write_keeps_old_file(tmp_path: Path) -> None:
    feed = tmp_path / "out" / "all.rss"
    feed.parent.mkdir()
    feed.write_bytes(b"<rss>old and good</rss>")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITE_CHILD, str(feed)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"writing"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    assert feed.read_bytes() == b"<rss>old and good</rss>"
    leftovers = [p.name for p in feed.parent.iterdir() if p.name != "all.rss"]
    assert all(name.startswith(".") for name in leftovers)  # a temp dotfile, never served


def test_e5_feed_build_reads_a_snapshot_while_a_crawl_writes(tmp_path: Path) -> None:
    from cityfeeds.publishing import rebuild_feeds
    from tests.conftest import write_site_config

    cfg_path = write_site_config(
        tmp_path,
        "http://127.0.0.1/",
        sources=[{"name": "s", "title": "S", "url": "https://news.example/", "city": "Moscow"}],
    )
    from crawler.config import load_config

    config = load_config(cfg_path)
    store = Store.open(config.database_url)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for i in range(150):
                store.upsert_article(_article(i, "s", size=2000), now=T0)
        except BaseException as exc:  # pragma: no cover - the failure is asserted below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    builds = 0
    try:
        while not done.is_set() or builds < 2:
            report = rebuild_feeds(config)
            failed = [p for p, r in report.results.items() if r.error]
            assert not failed, failed
            builds += 1
            check_feeds_valid(config.output_dir)
    finally:
        thread.join()
        store.close()
    assert not errors and builds >= 2


@pytest.mark.slow
def test_e6_child_opens_its_own_connections(tmp_path: Path) -> None:
    """Forbidden by design: a crawl child is a fresh interpreter (``python -m crawler.runner``),
    never a fork of a process holding a connection; the parent's open store keeps working."""
    lab = Lab(tmp_path)
    try:
        site = lab.site({"/news/1": html_route(article_html("Новость из дочернего процесса"))})
        site.routes["/rss.xml"] = html_route(rss(site.base, ["/news/1"]), "application/rss+xml")
        lab.source("e6", site.base)
        from crawler.config import load_config

        parent = Store.open(load_config(lab.config_path()).database_url)
        try:
            with parent.snapshot():  # an open connection and transaction in the parent
                parent.count_articles()
                import crawler.supervisor as supervisor

                spawned: list[list[str]] = []
                real = subprocess.Popen

                def spy(cmd: list[str], *a: object, **kw: object) -> subprocess.Popen[bytes]:
                    spawned.append(list(cmd))
                    return real(cmd, *a, **kw)  # type: ignore[arg-type]

                supervisor.subprocess.Popen = spy  # type: ignore[assignment]
                try:
                    result = lab.run(feeds=False)
                finally:
                    supervisor.subprocess.Popen = real  # type: ignore[assignment]
            assert spawned and spawned[0][:3] == [sys.executable, "-m", "crawler.runner"]
            assert result.runs["e6"]["status"] == "ok"
            assert parent.count_articles() == 1 and parent.integrity_check() == "ok"
        finally:
            parent.close()
    finally:
        lab.close()
