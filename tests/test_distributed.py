"""Distributed crawling on the real Redis: shared queue, shared duplicate filter, two workers."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import scrapy

from crawler.cli import main
from crawler.config import load_config
from crawler.demo_site import STORIES, Story, serve_site
from crawler.discovery import Link
from crawler.distributed import (
    SOURCE_META,
    DistributedNewsSpider,
    SourceDupeFilter,
    dumps,
    enqueue_sources,
    loads,
    queue_length,
)
from crawler.store import Store
from tests.conftest import ROOT, write_site_config

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
    from datetime import UTC, datetime

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


def test_enqueue_command_queues_each_source_discovery(redis_url: str, tmp_path: Path) -> None:
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    assert main(["--config", str(cfg), "enqueue", "--redis-url", redis_url, "--prefix", "t"]) == 0
    assert queue_length(redis_url, "t") == 3  # feed, sitemap, listing
    counts = enqueue_sources(load_config(cfg).sources, redis_url=redis_url, prefix="t")
    assert counts == {"demo": 3}


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
        cmd = [sys.executable, "-m", "crawler.cli", "--config", str(dist), "worker"]
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
    finally:
        store.close()

    from crawler.commands.feeds import rebuild_feeds

    assert rebuild_feeds(config).ok
    assert _files(config.output_dir) == _files(load_config(single).output_dir)


@pytest.mark.slow
def test_service_in_distributed_mode_queues_for_workers_and_rebuilds(
    redis_url: str, tmp_path: Path
) -> None:
    from crawler.distributed import enqueue_crawl
    from crawler.service import Service, ServiceOptions

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
            cmd = [sys.executable, "-m", "crawler.cli", "--config", str(cfg), "worker"]
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
    from crawler.distributed import enqueue_crawl

    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    config = load_config(cfg)
    outcome = enqueue_crawl("redis://127.0.0.1:1/0")(config, ["demo"])
    assert outcome.failed_sources() == ["demo"]
    assert "cannot queue" in outcome.runs["demo"]["message"]
