"""Distributed crawling on the real Redis: shared queue, shared duplicate filter, two workers."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import scrapy
from scrapy.utils.test import get_crawler

import cityfeeds.distributed
from cityfeeds.cli import main
from cityfeeds.devtools.demo_server import serve_site
from cityfeeds.devtools.demo_site import STORIES, Story, demo_source
from cityfeeds.distributed import enqueue_crawl, enqueue_sources, queue_length
from cityfeeds.publishing import rebuild_feeds
from cityfeeds.service import Service, ServiceOptions
from crawler.config import load_config, sqlite_file
from crawler.context import count_drop
from crawler.discovery import Link
from crawler.distributed.dupefilter import SourceDupeFilter
from crawler.distributed.run_counts import RunCounts
from crawler.distributed.serialize import dumps, loads
from crawler.distributed.settings import RUN_META, SOURCE_META
from crawler.distributed.spider import DistributedNewsSpider
from crawler.storage import Store
from crawler.supervisor import CrawlOutcome
from tests.conftest import ROOT, write_site_config
from tests.faults.support import Site, article_html, html_route, refused_port, rss

pytestmark = pytest.mark.redis


def _stories(copies: int) -> tuple[Story, ...]:
    """The demo stories ``copies`` times over, each copy a distinct article."""
    return tuple(
        replace(
            s,
            id=s.id + 100 * k,
            slug=f"{s.slug}-{k}",
            title=f"{s.title} (выпуск {k + 1})",
            published=s.published + timedelta(minutes=k),
        )
        for k in range(copies)
        for s in STORIES
    )


def _files(output: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()
    }


# -- units ---------------------------------------------------------------------------------


def test_dupefilter_is_shared_per_source_and_expires(redis_url: str) -> None:
    server = redis.Redis.from_url(redis_url)
    a = SourceDupeFilter(server, "t:seen", ttl=600)
    b = SourceDupeFilter(server, "t:seen", ttl=600)  # another worker
    request = scrapy.Request("https://vm.ru/news/1-slug", meta={SOURCE_META: "vm"})
    assert not a.request_seen(request)
    assert b.request_seen(request)
    assert b.request_seen(scrapy.Request("http://www.vm.ru/news/1-slug", meta={SOURCE_META: "vm"}))
    assert 0 < server.ttl(a.key(request)) <= 600  # bounded: each entry expires
    server.delete(a.key(request))  # what expiry does after the TTL
    assert not b.request_seen(request)  # so the page can be fetched again next cycle
    assert not a.request_seen(
        scrapy.Request("https://vm.ru/news/1-slug", meta={SOURCE_META: "m24"})
    )
    a.clear()
    assert server.keys("t:seen:*") == []


def test_queue_serializer_round_trips_requests_and_refuses_code() -> None:
    spider = DistributedNewsSpider()
    link = Link(url="https://vm.ru/news/1", title="Т", published=datetime(2026, 1, 1, tzinfo=UTC))
    request = scrapy.Request(
        link.url,
        callback=spider.parse_article,
        errback=spider.article_error,
        meta={"cityfeeds_link": link},
    )
    data = loads(dumps(request.to_dict(spider=spider)))
    assert data["callback"] == "parse_article" and data["meta"]["cityfeeds_link"] == link

    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, ("true",))

    with pytest.raises(pickle.UnpicklingError):
        loads(pickle.dumps({"meta": Evil()}))


def test_queue_serializer_loads_links_pickled_under_their_old_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Requests queued before crawler.discovery became a package name "crawler.discovery.Link".
    link = Link(url="https://vm.ru/news/1", title="Т")
    new = dumps({"link": link})
    monkeypatch.setattr(Link, "__module__", "crawler.discovery")
    old = dumps({"link": link})
    monkeypatch.undo()
    assert b"crawler.discovery.links" in new and b"crawler.discovery.links" not in old
    assert loads(old)["link"] == link
    assert loads(new)["link"] == link


def test_enqueue_command_queues_each_source_discovery_as_a_recorded_run(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    assert main(["--config", str(cfg), "enqueue", "--redis-url", redis_url, "--prefix", "t"]) == 0
    assert "demo: queued 3 discovery request(s) for workers" in capsys.readouterr().out
    assert queue_length(redis_url, "t") == 3  # feed, sitemap, listing
    store = Store.open(load_config(cfg).database_url)
    try:
        [run] = store.recent_runs("demo")
        assert run["status"] == "ok" and run["stats"]["queued"] == 3
    finally:
        store.close()
    # Every queued request names its run, so the workers can add their figures to it.
    server = redis.Redis.from_url(redis_url)
    queued = [loads(raw) for raw in server.zrange("t:requests", 0, -1)]
    assert {(r["meta"][SOURCE_META], r["meta"][RUN_META]) for r in queued} == {("demo", run["id"])}
    # Fetched in full, never a 304: a validator saved by one worker would hide the links a
    # worker killed with kill -9 had taken, until the feed changed.
    assert {r["meta"]["cityfeeds_conditional"] for r in queued} == {False}
    server.delete("t:requests")
    counts = enqueue_sources(load_config(cfg).sources, redis_url=redis_url, prefix="t")
    assert counts == {"demo": 3}


def test_a_source_whose_queued_requests_no_worker_took_is_not_queued_again(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Enqueued every cycle with no worker running, each copy of each discovery request was
    fetched when workers came back: a burst on the site, and the pages credited to one run."""
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    enqueue = ["--config", str(cfg), "enqueue", "--redis-url", redis_url, "--prefix", "t"]
    assert main(enqueue) == 0
    assert queue_length(redis_url, "t") == 3
    capsys.readouterr()
    assert main(enqueue) == 0
    assert "demo: not queued again: its 3 request(s) queued before are not taken" in (
        capsys.readouterr().out
    )
    assert queue_length(redis_url, "t") == 3
    store = Store.open(load_config(cfg).database_url)
    try:
        assert len(store.recent_runs("demo")) == 1
    finally:
        store.close()
    # The queue lost (a Redis without its data): queued again.
    redis.Redis.from_url(redis_url).delete("t:requests")
    assert main(enqueue) == 0
    assert queue_length(redis_url, "t") == 3


def test_enqueue_records_its_runs_in_the_database_the_workers_are_given(
    redis_url: str, tmp_path: Path
) -> None:
    # `worker` took --database-url and `enqueue` did not: the runs went to another store.
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    other = f"sqlite:///{tmp_path / 'workers.db'}"
    args = ["--config", str(cfg), "enqueue", "--redis-url", redis_url, "--prefix", "t"]
    assert main([*args, "--database-url", other]) == 0
    store = Store.open(other)
    try:
        assert [r["stats"]["queued"] for r in store.recent_runs("demo")] == [3]
    finally:
        store.close()
    assert main([*args, "--database-url", "http://nope/"]) == 2


def test_enqueue_command_fails_and_records_it_when_redis_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    assert main(["--config", str(cfg), "enqueue", "--redis-url", "redis://127.0.0.1:1/0"]) == 1
    assert "could not queue demo" in capsys.readouterr().err
    store = Store.open(load_config(cfg).database_url)
    try:
        [run] = store.recent_runs("demo")
        assert run["status"] == "failed" and "cannot queue" in run["message"]
    finally:
        store.close()


@pytest.mark.parametrize("command", [["enqueue"], ["worker"], ["run", "--distributed"]])
def test_a_redis_url_that_is_no_url_is_a_configuration_error_and_records_no_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # «--redis-url foo» recorded a failed run for every source, and the service backed them off.
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    assert main(["--config", str(cfg), *command, "--redis-url", "foo"]) == 2
    err = capsys.readouterr().err
    assert "configuration error: Redis URL 'foo': Redis URL must specify one of" in err
    store = Store.open(load_config(cfg).database_url)
    try:
        assert store.recent_runs("demo") == []
    finally:
        store.close()


def test_worker_command_says_in_one_line_that_redis_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not Scrapy's tracebacks and exit 0 (cron and systemd would see success): one line
    naming the server, without its password, and exit 1."""
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    args = ["--config", str(cfg), "worker", "--redis-url", "redis://:sekret@127.0.0.1:1/0"]
    assert main([*args, "--exit-when-idle", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cityfeeds: cannot reach Redis at redis://127.0.0.1:1/0: ")
    assert len(err.splitlines()) == 1 and "sekret" not in err and "Traceback" not in err


def test_a_worker_whose_store_cannot_be_opened_takes_nothing_from_the_queue(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It took the queue's requests, failed them all in ~260 lines of tracebacks and exited 0:
    now one line and exit 1 before it starts, the queue as it was."""
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    assert main(["--config", str(cfg), "enqueue", "--redis-url", redis_url]) == 0
    queued = queue_length(redis_url)
    assert queued > 0
    capsys.readouterr()
    args = ["--config", str(cfg), "worker", "--redis-url", redis_url, "--exit-when-idle", "1"]
    args += ["--database-url", "postgresql+psycopg://cityfeeds@127.0.0.1:1/none"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("cityfeeds: cannot open the database") and len(err.splitlines()) == 1
    assert queue_length(redis_url) == queued


@pytest.mark.parametrize(("reason", "code"), [("store_error", 1), ("shutdown", 130), (None, 0)])
def test_a_worker_the_store_failed_mid_run_exits_1(
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reason: str | None,
    code: int,
) -> None:
    """A PostgreSQL outage closed the worker's crawl (its batch dropped as ``store_error``) and
    it exited 0, so systemd's Restart=on-failure never started it again."""
    monkeypatch.setattr(cityfeeds.distributed, "run_worker", lambda *a, **k: reason)
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    assert main(["--config", str(cfg), "worker", "--redis-url", redis_url]) == code


def test_a_worker_stopped_by_sigterm_exits_130_and_its_run_says_interrupted(
    redis_url: str, tmp_path: Path
) -> None:
    """As `cityfeeds crawl`: a stop asked from outside is no failure (it was "failed: crawl
    ended: shutdown", with exit 0)."""
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    config = load_config(cfg)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "worker"]
    worker = subprocess.Popen(
        [*cmd, "--redis-url", redis_url], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # the worker's run row exists once its spider is open
            assert worker.poll() is None and time.monotonic() < deadline
            database = sqlite_file(config.database_url)
            if database is not None and database.exists():
                store = Store.open(config.database_url)
                try:
                    if store.recent_runs("worker"):
                        break
                finally:
                    store.close()
            time.sleep(0.2)
        worker.terminate()
        output = worker.communicate(timeout=60)[0].decode(errors="replace")
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 130, output
    store = Store.open(config.database_url)
    try:
        [run] = store.recent_runs("worker")
    finally:
        store.close()
    assert run["status"] == "interrupted", run


class _RecordingStore:
    def __init__(self, fail: bool = False) -> None:
        self.added: list[tuple[int, dict[str, int], dict[str, int]]] = []
        self.discovered: list[tuple[int, dict[str, int], list[dict[str, object]]]] = []
        self.skipped: list[tuple[int, dict[str, int]]] = []
        self.links: list[tuple[int, dict[str, int]]] = []
        self.fail = fail

    def add_to_run(
        self,
        run_id: int,
        counts: dict[str, int],
        dropped: dict[str, int],
        *,
        judge: bool = False,
        discovery: dict[str, int] | None = None,
        causes: Sequence[dict[str, object]] = (),
        skipped: dict[str, int] | None = None,
        links: dict[str, int] | None = None,
        limits: tuple[float, int] = (0.0, 0),
    ) -> bool:
        assert judge  # a queued run's state follows its workers' figures
        if self.fail:
            raise OSError("database unreachable")
        self.added.append((run_id, counts, dropped))
        if discovery or causes:
            self.discovered.append((run_id, dict(discovery or {}), list(causes)))
        if links:
            self.links.append((run_id, dict(links)))
        if skipped:
            self.skipped.append((run_id, dict(skipped)))
        return run_id != 404


def test_run_counts_add_only_the_growth_since_the_last_flush_and_retry_failures() -> None:
    ledger, store = RunCounts(), _RecordingStore()
    stats = {
        "cityfeeds/new": 9,  # the worker's own figures: not a run's
        "cityfeeds/run/7/pages": 3,
        "cityfeeds/run/7/new": 2,
        "cityfeeds/run/7/dropped/no_title": 1,
        "cityfeeds/run/8/unchanged": 1,
        "cityfeeds/run/404/pages": 1,  # a run the store does not know: ignored, never retried
    }
    assert ledger.flush(stats, store) == 3
    assert sorted(store.added) == [
        (7, {"pages": 3, "new": 2}, {"no_title": 1}),
        (8, {"unchanged": 1}, {}),
        (404, {"pages": 1}, {}),
    ]
    store.added.clear()
    stats["cityfeeds/run/7/new"] = 5
    failing = _RecordingStore(fail=True)
    with pytest.raises(OSError):
        ledger.flush(stats, failing)
    assert ledger.flush(stats, store) == 1  # the failed addition is retried, nothing else
    assert store.added == [(7, {"new": 3}, {})]
    assert ledger.flush(stats, store) == 0


def test_run_counts_add_each_runs_discovery_outcomes_and_new_causes_once() -> None:
    """Which queued discovery documents were read or not, and why not, reach their run."""
    ledger, store = RunCounts(), _RecordingStore()
    gone = {"url": "http://vm.example/missing-feed.xml", "status": 404}
    stats: dict[str, object] = {
        "cityfeeds/run/7/discovery_failed": 1,
        "cityfeeds/run/7/causes": [gone],
        "cityfeeds/run/8/discovery_ok": 2,
    }
    assert ledger.flush(stats, store, limits=(10.0, 0)) == 2
    assert sorted(store.discovered) == [(7, {"failed": 1}, [gone]), (8, {"ok": 2}, [])]
    store.discovered.clear()
    refused = {"url": "http://vm.example/robots.txt", "error": "refused"}
    stats["cityfeeds/run/7/causes"] = [gone, refused]
    stats["cityfeeds/run/7/discovery_failed"] = 2
    assert ledger.flush(stats, store) == 1
    assert store.discovered == [(7, {"failed": 1}, [refused])]  # only what is new
    assert ledger.flush(stats, store) == 0


def test_pages_a_worker_drops_are_counted_in_their_scheduled_runs() -> None:
    """A page refused or unreadable (too large, a redirect loop, a fetch error...) counts in
    the run it was queued for, not only in the worker's own run, which `status` never shows."""
    crawler = get_crawler(DistributedNewsSpider)
    assert crawler.stats is not None
    crawler.stats.open_spider()
    queued = scrapy.Request("https://vm.example/news/1", meta={RUN_META: 7})
    count_drop(crawler, "too_large", "https://vm.example/news/1", request=queued)
    count_drop(crawler, "fetch_error", "by hand", request=scrapy.Request("https://vm.example/2"))
    ledger, store = RunCounts(), _RecordingStore()
    assert ledger.flush(crawler.stats.get_stats(), store) == 1
    assert store.added == [(7, {}, {"too_large": 1})]
    assert crawler.stats.get_value("cityfeeds/dropped/fetch_error") == 1  # the worker's own


def test_a_worker_starting_on_a_queue_with_work_warns_of_no_deprecation(
    redis_url: str, tmp_path: Path
) -> None:
    """A tester's find: each worker logged scrapy-redis' «Spider.log() is deprecated» when it
    found requests waiting: the library's call, nothing a user can act on."""
    import warnings

    from scrapy.exceptions import ScrapyDeprecationWarning

    from crawler.distributed.scheduler import RedisScheduler
    from crawler.distributed.settings import distributed_settings, queue_key

    prefix = "cf-resume-test"
    config = load_config(write_site_config(tmp_path, "http://127.0.0.1:9/"))
    enqueue_sources(config.sources, redis_url=redis_url, prefix=prefix)
    crawler = get_crawler(DistributedNewsSpider, distributed_settings(redis_url, prefix=prefix))
    spider = DistributedNewsSpider.from_crawler(crawler)
    try:
        scheduler = RedisScheduler.from_crawler(crawler)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            scheduler.open(spider)
        assert len(scheduler.queue) > 0  # the case scrapy-redis logs with Spider.log()
        assert not [w for w in seen if issubclass(w.category, ScrapyDeprecationWarning)]
    finally:
        redis.Redis.from_url(redis_url).delete(queue_key(prefix))


# -- end to end ----------------------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_crawl_each_page_once_and_publish_like_one_process(
    redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    stories = _stories(3)
    with serve_site(stories) as site:
        # Reference: a single-process crawl of the same site into SQLite.
        (tmp_path / "single").mkdir()
        single = write_site_config(tmp_path / "single", site.base_url)
        assert main(["--config", str(single), "crawl", "--quiet"]) == 0
        site.requests.clear()

        (tmp_path / "dist").mkdir()
        # A delay keeps one worker from draining the queue before the other has started, even
        # on a loaded machine (36 pages at 0.25 s per host take ~9 s for one worker).
        dist = write_site_config(
            tmp_path / "dist",
            site.base_url,
            extra={"cityfeeds": {"database_url": postgres_url}, "crawl": {"download_delay": 0.25}},
        )
        assert main(["--config", str(dist), "enqueue", "--redis-url", redis_url]) == 0
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(dist), "worker"]
        cmd += ["--redis-url", redis_url, "--exit-when-idle", "2", "--concurrency", "4"]
        workers = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)
        ]
        try:
            outputs = [w.communicate(timeout=120)[0].decode(errors="replace") for w in workers]
        finally:
            for w in workers:
                w.kill() if w.poll() is None else None
        assert [w.returncode for w in workers] == [0, 0], outputs
        # Without -v: warnings only, each once (Scrapy's root handler beside the command's
        # printed every line twice, and let DEBUG lines with whole scraped items through).
        for output in outputs:
            lines = [line for line in output.splitlines() if line.strip()]
            assert not [line for line in lines if " DEBUG" in line or "Scraped from" in line]
            assert len(lines) == len(set(lines)), output
        requests = Counter(site.requests)

    fetched_twice = {path: n for path, n in requests.items() if n > 1 and path != "/robots.txt"}
    assert fetched_twice == {}
    assert sum(1 for path in requests if path.startswith("/news/1")) == len(stories)

    config = load_config(dist)
    store = Store.open(config.database_url)
    try:
        assert store.count_articles() == len(stories)
        assert all(
            a.updated is None for a in store.iter_articles()
        )  # each stored once, never rewritten
        runs = store.recent_runs("worker")
        assert len(runs) == 2 and all(r["status"] == "ok" for r in runs), runs
        assert all(r["pages"] > 0 for r in runs), "both workers should have taken work"
        assert sum(r["new"] for r in runs) == len(stories)
        # The source's own run, recorded when it was queued, holds what both workers did for it.
        [run] = store.recent_runs("demo")
        assert run["status"] == "ok" and "queued 3" in run["message"]
        assert (run["pages"], run["new"], run["updated"], run["unchanged"]) == (
            len(stories),
            len(stories),
            0,
            0,
        )
    finally:
        store.close()

    assert rebuild_feeds(config).ok
    assert _files(config.output_dir) == _files(load_config(single).output_dir)


def _crawl_locally_and_distributed(
    tmp_path: Path, redis_url: str, source: dict[str, object], database_url: str | None = None
) -> dict[str, dict[str, object]]:
    """The run of ``source`` crawled by ``cityfeeds crawl`` and by a worker (into
    ``database_url``, SQLite by default), by mode."""
    runs = {}
    name = str(source["name"])
    for mode in ("local", "dist"):
        (tmp_path / mode).mkdir()
        extra = (
            {"cityfeeds": {"database_url": database_url}}
            if mode == "dist" and database_url
            else None
        )
        cfg = write_site_config(tmp_path / mode, str(source["url"]), sources=[source], extra=extra)
        if mode == "local":
            main(["--config", str(cfg), "crawl", "--quiet"])
        else:
            args = ["--config", str(cfg), "enqueue", "--redis-url", redis_url]
            assert main([*args, "--prefix", name]) == 0
            cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "worker"]
            cmd += ["--redis-url", redis_url, "--prefix", name, "--exit-when-idle", "2"]
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            worker = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
            assert worker.returncode == 0, worker.stdout + worker.stderr
        store = Store.open(load_config(cfg).database_url)
        try:
            [runs[mode]] = store.recent_runs(name)
        finally:
            store.close()
    return runs


@pytest.mark.slow
def test_a_distributed_run_losing_pages_is_partial_like_a_local_crawl(
    redis_url: str, tmp_path: Path
) -> None:
    """Workers that could not fetch article pages (5xx after the retries) left the queued run
    ``ok`` while a local crawl of the same site was ``partial``: both now decide alike."""
    site = Site()
    try:
        pages = ["/news/1", "/news/2", "/news/3"]
        site.routes["/rss.xml"] = html_route(rss(site.base, pages), "application/rss+xml")
        site.routes["/news/1"] = html_route(article_html("Новость о новых электробусах Москвы"))
        for path in pages[1:]:
            site.routes[path] = (500, {"Content-Type": "text/plain"}, b"oops")
        source = {
            "name": "lossy",
            "title": "Lossy",
            "url": site.base,
            "city": "Moscow",
            "allow_private": True,
            "feeds": [site.base + "rss.xml"],
        }
        runs = _crawl_locally_and_distributed(tmp_path, redis_url, source)
    finally:
        site.close()
    local, dist = runs["local"], runs["dist"]
    assert local["status"] == dist["status"] == "partial", (local, dist)
    assert local["dropped"] == dist["dropped"] == {"fetch_error": 2}
    assert (local["new"], dist["new"]) == (1, 1)
    assert local["message"] == "2 article page(s) could not be fetched"
    assert dist["message"] == (
        "2 article page(s) could not be fetched; queued 1 discovery request(s) for workers"
    )


@pytest.mark.slow
def test_a_distributed_run_whose_documents_give_no_link_is_degraded_like_a_local_crawl(
    redis_url: str, tmp_path: Path
) -> None:
    """A tester's find: a listing that gave the workers no link (built by JavaScript, a
    pattern matching nothing) left the queued run and the source `ok`, while a local crawl
    said "found no article link" and the source was `degraded`."""
    from cityfeeds.status.health import degraded_reasons
    from crawler.run_states import NO_ARTICLE_LINK

    site = Site({"/news/": html_route("<html><body><div id='app'></div></body></html>")})
    try:
        source = {
            "name": "nolinks",
            "title": "No links",
            "url": site.base,
            "city": "Moscow",
            "allow_private": True,
            "listings": [{"url": site.base + "news/"}],
        }
        runs = _crawl_locally_and_distributed(tmp_path, redis_url, source)
    finally:
        site.close()
    local, dist = runs["local"], runs["dist"]
    assert str(local["message"]).startswith(NO_ARTICLE_LINK), local
    assert dist["message"] == f"{NO_ARTICLE_LINK}; queued 1 discovery request(s) for workers"
    assert degraded_reasons([local]) == degraded_reasons([dist]) == [NO_ARTICLE_LINK]
    stats = dist["stats"]
    assert isinstance(stats, dict) and stats["links_counted"] == stats["discovery_ok"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["dead_feed", "refused"])
def test_a_distributed_run_reading_no_discovery_document_fails_like_a_local_crawl(
    redis_url: str, postgres_url: str, tmp_path: Path, fault: str
) -> None:
    """A source whose only feed answers 404, or whose host refuses connections, was ``ok``
    with no cause when workers crawled it, ``failed`` naming the URL when crawled locally:
    the queued run now fails alike, with the same cause, and ``status --check`` says so."""
    site = Site()
    try:
        base = site.base if fault == "dead_feed" else f"http://127.0.0.1:{refused_port()}/"
        source = {
            "name": fault.replace("_", ""),
            "title": "Down",
            "url": base,
            "city": "Moscow",
            "allow_private": True,
            "feeds": [base + "missing-feed.xml"],
        }
        runs = _crawl_locally_and_distributed(tmp_path, redis_url, source, postgres_url)
    finally:
        site.close()
    local, dist = runs["local"], runs["dist"]
    assert local["status"] == dist["status"] == "failed", (local, dist)
    url = base + ("missing-feed.xml" if fault == "dead_feed" else "robots.txt")
    words = "HTTP 404" if fault == "dead_feed" else "connection refused"
    assert local["message"] == dist["message"] == f"{words}: {url}"
    local_stats, dist_stats = local["stats"], dist["stats"]
    assert isinstance(local_stats, dict) and isinstance(dist_stats, dict)
    assert dist_stats["cause"] == local_stats["cause"]
    assert dist_stats["discovery_failed"] == 1
    cfg = tmp_path / "dist" / "cityfeeds.toml"
    assert main(["--config", str(cfg), "status", "--check"]) != 0


@pytest.mark.slow
def test_service_in_distributed_mode_queues_for_workers_and_rebuilds(
    redis_url: str, tmp_path: Path
) -> None:
    with serve_site() as site:
        cfg = write_site_config(tmp_path, site.base_url)
        config = load_config(cfg)
        service = Service(
            config,
            ServiceOptions(serve=False, rebuild_every=1.0, debounce=0.1, max_rebuild_delay=1.0),
            crawl=enqueue_crawl(redis_url),
        )
        service.start()
        try:
            assert service.scheduler.get_job("rebuild") is not None
            # Never crawled, so the service runs the source at once: it queues, not crawls.
            start = time.monotonic()
            while queue_length(redis_url) < 3 and time.monotonic() - start < 30:
                time.sleep(0.1)
            assert queue_length(redis_url) == 3
            assert not any(path.startswith("/news/1") for path in site.requests)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "worker"]
            cmd += ["--redis-url", redis_url, "--exit-when-idle", "2"]
            worker = subprocess.run(
                cmd,
                env=env,
                capture_output=True,
                timeout=120,
            )
            assert worker.returncode == 0, worker.stderr[-2000:]
            deadline = 30.0
            start = time.monotonic()
            rss = config.output_dir / "sources" / "demo.rss"
            while time.monotonic() - start < deadline:
                if rss.is_file() and rss.read_bytes().count(b"<item>") == len(STORIES):
                    break
                time.sleep(0.2)
            assert rss.read_bytes().count(b"<item>") == len(STORIES)  # rebuilt by the timer
        finally:
            service.stop(grace=5)
        run = Store.open(config.database_url).recent_runs("demo")[0]
        assert run["status"] == "ok" and "queued 3" in run["message"]


def test_distributed_enqueue_failure_fails_the_run(tmp_path: Path) -> None:
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    config = load_config(cfg)
    outcome = enqueue_crawl("redis://127.0.0.1:1/0")(config, ["demo"])
    assert outcome.failed_sources() == ["demo"]
    assert "cannot queue" in outcome.runs["demo"]["message"]


@pytest.mark.slow
def test_run_distributed_queues_under_the_given_prefix(redis_url: str, tmp_path: Path) -> None:
    # `cityfeeds run --distributed --prefix P` and `cityfeeds worker --prefix P` must meet.
    with serve_site() as site:
        cfg = write_site_config(tmp_path, site.base_url)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "run", "--no-serve"]
        cmd += ["--distributed", "--redis-url", redis_url, "--prefix", "cf-prefix-test"]
        service = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
        try:
            start = time.monotonic()
            while queue_length(redis_url, "cf-prefix-test") < 3 and time.monotonic() - start < 60:
                assert service.poll() is None, service.stderr.read() if service.stderr else ""
                time.sleep(0.2)
            assert queue_length(redis_url, "cf-prefix-test") == 3
            assert queue_length(redis_url) == 0  # nothing under the default prefix
        finally:
            service.terminate()
            service.wait(60)


def test_the_service_backs_off_a_source_whose_queued_runs_the_workers_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A queued run is ``ok`` when queued, and the service counted it a success: a source its
    workers failed every cycle never backed off. The runs the workers failed now count."""
    import threading

    from cityfeeds.service.outcome import record_outcome
    from crawler.run_states import queued_note
    from crawler.storage import RunStats
    from crawler.supervisor import CrawlOutcome

    config = load_config(write_site_config(tmp_path, "http://127.0.0.1:1/"))
    name = config.sources[0].name
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    store = Store.open(config.database_url)

    def queue() -> tuple[int, str]:
        run_id = store.start_run(name, now=now)
        queued = RunStats(extra={"queued": 1, "mode": "distributed"})
        store.finish_run(run_id, status="ok", stats=queued, now=now, message=queued_note(1))
        outcome = CrawlOutcome(returncode=0, killed=False, duration=0.0)
        outcome.runs[name] = store.get_run(run_id) or {}
        status = record_outcome(
            store, config, name, outcome, None,
            now=now, period=1800, stopping=False, state_lock=threading.Lock(),
        )  # fmt: skip
        return run_id, status

    try:
        gone = {"url": "http://127.0.0.1:1/missing-feed.xml", "status": 404}
        for failed_before in range(3):
            with caplog.at_level(logging.INFO, logger="cityfeeds.service.outcome"):
                run_id, status = queue()
            assert status == "ok"  # queued: the workers decide it
            if not failed_before:
                # Queued, not crawled: one INFO line saying so (it was a WARNING "crawl ok:
                # 0 new, 0 updated, 0 pages; queued ...").
                [record] = caplog.records
                assert (record.levelno, record.getMessage()) == (
                    logging.INFO,
                    f"[{name}] {queued_note(1)}",
                )
            # The runs the workers failed count as local failed runs: the first one is free.
            state = store.get_source_state(name)
            assert state["consecutive_failures"] == failed_before
            assert (state["backoff_until"] is not None) == (failed_before > 1)
            assert store.add_to_run(run_id, {}, judge=True, discovery={"failed": 1}, causes=[gone])
            assert (store.get_run(run_id) or {})["status"] == "failed"
        run_id, _ = queue()
        assert store.get_source_state(name)["consecutive_failures"] == 3
        assert store.add_to_run(run_id, {}, judge=True, discovery={"ok": 1})
        queue()
        state = store.get_source_state(name)
        assert state["consecutive_failures"] == 0 and state["backoff_until"] is None
    finally:
        store.close()


def test_a_worker_counts_the_requests_of_a_source_it_does_not_know(
    redis_url: str, tmp_path: Path
) -> None:
    """Queued under a newer config than the worker's: the requests are dropped, counted with
    their reason in the worker's run and in the scheduled run they were queued for (they were
    only logged, so the run said nothing of its missing pages)."""
    from cityfeeds.devtools.demo_site import demo_source

    base = "http://127.0.0.1:9/"
    (tmp_path / "newer").mkdir()
    newer = write_site_config(
        tmp_path / "newer", base, sources=[{**demo_source(base), "name": "fresh"}]
    )
    args = ["--config", str(newer), "enqueue", "--redis-url", redis_url, "--prefix", "old"]
    assert main(args) == 0
    database = {"cityfeeds": {"database_url": load_config(newer).database_url}}
    older = write_site_config(tmp_path, base, extra=database)  # knows "demo" only
    cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(older), "worker"]
    cmd += ["--redis-url", redis_url, "--prefix", "old", "--exit-when-idle", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    store = Store.open(load_config(older).database_url)
    try:
        [run] = store.recent_runs("fresh")
        [own] = store.recent_runs("worker")
    finally:
        store.close()
    assert run["dropped"] == {"unknown_source": 3}, run
    # Nothing of it was read: failed, saying why (it read "ok").
    assert run["status"] == "failed", run
    assert run["message"].startswith("the workers do not know this source (3 request(s)"), run
    assert own["dropped"]["unknown_source"] == 3, own


def test_redis_outage_is_said_once_each_way_and_asked_again_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from crawler.distributed.scheduler import RETRY_FIRST, RETRY_LONGEST, RedisOutage

    now = [100.0]
    outage = RedisOutage(clock=lambda: now[0])
    refused = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1.\nmore")
    with caplog.at_level(logging.INFO, logger="crawler.distributed.scheduler"):
        outage.answered()  # up: nothing to say
        assert outage.ready()
        waits = []
        for _ in range(7):
            outage.failed(refused)
            waits.append(outage.retry_at - now[0])
            assert not outage.ready()
            now[0] = outage.retry_at
            assert outage.ready()
        outage.answered()
        outage.answered()
    assert waits == [RETRY_FIRST, 2, 4, 8, 16, RETRY_LONGEST, RETRY_LONGEST]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.ERROR,
            "shared queue: Redis is unreachable (Error 111 connecting to 127.0.0.1:1.); "
            "waiting for it, asking again up to every 30s",
        ),
        (logging.WARNING, "shared queue: Redis is back after 91s"),
    ]


@pytest.mark.slow
def test_a_worker_waits_out_a_redis_restart_in_two_lines(tmp_path: Path) -> None:
    """While Redis refused connections each worker logged a traceback per scheduler call
    (~4,000 lines per 20 s); now one line when it goes away, one when it is back, and the
    worker takes work again."""
    port = refused_port()
    redis_cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    redis_cmd += ["--dir", str(tmp_path)]

    def start_redis() -> subprocess.Popen[bytes]:
        server = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis(port=port).ping()
                return server
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.05)

    def wait_for(predicate: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60
        while not predicate():
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    redis_url = f"redis://127.0.0.1:{port}/0"
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    config = load_config(cfg)
    log = tmp_path / "worker.log"
    server = start_redis()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "worker"]
    with log.open("wb") as out:
        worker = subprocess.Popen([*cmd, "--redis-url", redis_url], env=env, stdout=out, stderr=out)
    try:

        def worker_run_recorded() -> bool:
            database = sqlite_file(config.database_url)
            if database is None or not database.exists():
                return False
            store = Store.open(config.database_url)
            try:
                return bool(store.recent_runs("worker"))
            finally:
                store.close()

        wait_for(worker_run_recorded)
        server.terminate()
        server.wait(timeout=30)
        wait_for(lambda: "Redis is unreachable" in log.read_text())
        time.sleep(3)  # several retries' worth of refused connections
        server = start_redis()
        assert main(["--config", str(cfg), "enqueue", "--redis-url", redis_url]) == 0
        wait_for(lambda: "Redis is back" in log.read_text())
        wait_for(lambda: queue_length(redis_url) == 0)  # the worker takes work again
        worker.terminate()
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
        server.terminate()
        server.wait(timeout=30)
    output = log.read_text()
    assert "Traceback" not in output, output
    assert output.count("Redis is unreachable") == 1, output
    assert output.count("Redis is back") == 1, output


@pytest.mark.slow
def test_links_fetched_this_cycle_do_not_use_up_a_sources_page_cap(
    redis_url: str, tmp_path: Path
) -> None:
    """The page cap counted the links the shared filter then dropped: with a site listing more
    than the cap, the newest links (fetched earlier in the cycle, or taken by a worker that was
    killed) used it up every cycle, the older ones were never fetched, and only the worker's own
    run said skipped/page_cap. Now only pages fetched count, and the source's run says it."""
    site = Site()
    try:
        pages = [f"/news/{n}" for n in range(1, 6)]
        dates = [f"Fri, 20 Nov 2026 0{9 - n}:00:00 +0300" for n in range(5)]  # /news/1 newest
        titles = [f"Новость номер {n} о новых электробусах Москвы" for n in range(1, 6)]
        feed = rss(site.base, pages, titles=titles, dates=dates)
        site.routes["/rss.xml"] = html_route(feed, "application/rss+xml")
        for path, title in zip(pages, titles, strict=True):
            site.routes[path] = html_route(article_html(title))
        source = {
            "name": "capped",
            "title": "Capped",
            "url": site.base,
            "city": "Moscow",
            "allow_private": True,
            "feeds": [site.base + "rss.xml"],
            "max_pages_per_run": 2,
        }
        cfg = write_site_config(tmp_path, site.base, sources=[source])
        # The two newest pages were taken this cycle already (a worker killed with them).
        seen = SourceDupeFilter(redis.Redis.from_url(redis_url), "cap:seen", ttl=600)
        for path in pages[:2]:
            assert not seen.request_seen(
                scrapy.Request(site.base + path.lstrip("/"), meta={SOURCE_META: "capped"})
            )
        assert (
            main(["--config", str(cfg), "enqueue", "--redis-url", redis_url, "--prefix", "cap"])
            == 0
        )
        cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "worker"]
        cmd += ["--redis-url", redis_url, "--prefix", "cap", "--exit-when-idle", "2"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        worker = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
        assert worker.returncode == 0, worker.stdout + worker.stderr
    finally:
        site.close()
    store = Store.open(load_config(cfg).database_url)
    try:
        [run] = store.recent_runs("capped")
        stored = store.recent_urls("capped", first_seen_since=datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    assert (run["pages"], run["new"]) == (2, 2), run  # the cap's worth
    assert sorted(stored.values()) == [site.base + "news/3", site.base + "news/4"]
    assert run["stats"]["skipped/page_cap"] == 1, run  # /news/5, left for the next cycle


def test_the_service_in_distributed_mode_crawls_a_rendered_source_itself(
    redis_url: str, tmp_path: Path
) -> None:
    """A tester's find: `run --distributed` queued a `render = "browser"` source, whose
    rendered listing then gave the workers no link, and its run still said `ok`. Workers fetch
    plain HTTP only (as `cityfeeds enqueue` says): such a source is crawled by the service, as
    without --distributed; the others are queued."""
    sources = [
        demo_source("http://127.0.0.1:9/", "plain"),
        {**demo_source("http://127.0.0.1:9/", "js"), "render": "browser"},
    ]
    config = load_config(write_site_config(tmp_path, "http://127.0.0.1:9/", sources=sources))
    here: list[list[str]] = []

    def crawl_here(config: Any, names: list[str], **kwargs: Any) -> CrawlOutcome:
        here.append(list(names))
        assert kwargs == {"timeout": 60}  # the service's arguments, passed on
        outcome = CrawlOutcome(returncode=0, killed=False, duration=0.1)
        outcome.runs.update({n: {"status": "ok", "message": None} for n in names})
        return outcome

    crawl = enqueue_crawl(redis_url, prefix="cf-render-test", crawl_here=crawl_here)
    try:
        assert crawl(config, ["js"], timeout=60).runs["js"]["status"] == "ok"
        assert here == [["js"]] and queue_length(redis_url, "cf-render-test") == 0
        both = crawl(config, ["plain", "js"], timeout=60)
        assert here == [["js"], ["js"]] and sorted(both.runs) == ["js", "plain"]
        assert "queued 3" in both.runs["plain"]["message"]
        assert queue_length(redis_url, "cf-render-test") == 3 and both.returncode == 0
    finally:
        from scrapy_redis.connection import get_redis

        get_redis(url=redis_url).delete("cf-render-test:requests")


def test_a_distributed_worker_starts_no_extraction_pool() -> None:
    # It processes pages in its own thread (parse_article_inline), yet started a forkserver,
    # an idle pool worker and a results folder for every process (the third re-check).
    spider = DistributedNewsSpider.__new__(DistributedNewsSpider)
    spider.warm_pool()
    assert spider._pool is None and not DistributedNewsSpider.extracts_in_workers
