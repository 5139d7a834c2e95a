"""Benchmark: `cityfeeds crawl` (full pipeline) vs a raw Scrapy link-follower on the same site.

    python bench/crawl.py [--articles 1000] [--concurrency 16] [--per-host 8]

Serves bench/site.py's synthetic site on loopback, then in the same run: (1) a minimal Scrapy
spider that follows every link and yields url+title, (2) `cityfeeds crawl` with extraction,
normalization, topic tagging and storage (SQLite), (3) the same crawl again on the unchanged
site (incremental: conditional GETs and known URLs). Same concurrency, politeness delays off.
Prints pages/s, their ratio, peak RSS and the re-crawl savings. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_bench_site() -> Any:
    """bench/site.py (imported by path: ``site`` is also a standard-library module)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_site", Path(__file__).with_name("site.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_site"] = module
    spec.loader.exec_module(module)
    return module


PYTHON = sys.executable


def _tree_rss_kib(root: int) -> int:
    """Summed RSS of ``root`` and all its descendants (Linux /proc; 0 elsewhere)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip())
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree)


def run_with_rusage(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` and wait with wait4, so the peak RSS of it (and its crawl child) is known.

    wait4 sees only processes that their parents reap: the extraction workers (children of a
    forkserver nobody waits for) are missed, so the summed RSS of the whole process tree is
    also sampled every 0.25 s (``peak_tree_rss_mib``).
    """
    import threading

    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "status": proc.returncode,
        "wall": time.monotonic() - t0,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "peak_tree_rss_mib": peak[0] / 1024,
        "stdout": out.decode(errors="replace"),
    }


# -- raw Scrapy ----------------------------------------------------------------------------


def raw_scrapy(url: str, concurrency: int, per_host: int) -> None:
    """The baseline: follow every same-site link, yield url+title; print stats as JSON."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class FollowSpider(scrapy.Spider):
        name = "follow"
        allowed_domains = ("127.0.0.1",)
        start_urls = (url,)

        def parse(self, response: Any) -> Any:
            yield {"url": response.url, "title": response.css("title::text").get()}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href, callback=self.parse)

    stats: dict[str, Any] = {}

    class Grab:
        """Keep the final stats (a bound-method handler: Scrapy holds signal handlers weakly)."""

        def __init__(self, crawler: Any) -> None:
            self.crawler = crawler
            crawler.signals.connect(self.closed, signal=scrapy.signals.spider_closed)

        @classmethod
        def from_crawler(cls, crawler: Any) -> Any:
            return cls(crawler)

        def closed(self, spider: Any, reason: str) -> None:
            stats.update(self.crawler.stats.get_stats())

    process = CrawlerProcess(
        {
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "ROBOTSTXT_OBEY": True,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "EXTENSIONS": {Grab: 0},
            "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        }
    )
    process.crawl(FollowSpider)
    process.start()
    print(json.dumps({k: v for k, v in stats.items() if isinstance(v, (int, float))}))


# -- cityfeeds -----------------------------------------------------------------------------


def write_config(work: Path, base_url: str, per_host: int) -> Path:
    """A cityfeeds.toml for the benchmark site: shipped topics, SQLite in ``work``, no delays."""
    import tomli_w

    raw = tomllib.loads((ROOT / "cityfeeds.toml").read_text(encoding="utf-8"))
    raw["cityfeeds"] = {
        "output_dir": str(work / "output"),
        "database_url": f"sqlite:///{work / 'bench.db'}",
        "base_url": "https://feeds.example.org/",
    }
    raw["crawl"] = {
        "download_delay": 0.0,
        "autothrottle": False,
        "concurrency_per_host": per_host,
        "timeout": 30,
        "run_timeout": 3600,
        "max_pages_per_run": 100000,
        # Re-crawl: every stored article counts as known (no re-check of recent edits).
        "refresh_hours": 0,
    }
    raw["sources"] = [load_bench_site().source_entry(base_url)]
    for topic in raw.get("topics", []):
        topic.pop("sources", None)
    path = work / "cityfeeds.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


def cityfeeds_crawl(
    config: Path, concurrency: int, extract_workers: int | None = None
) -> dict[str, Any]:
    """`cityfeeds crawl bench --no-feeds`, measured; the run's own figures from the store."""
    from crawler.config import load_config
    from crawler.storage import Store

    cmd = [
        PYTHON,
        "-m",
        "cityfeeds.cli",
        "--config",
        str(config),
        "crawl",
        "--quiet",
        "--no-feeds",
        "bench",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if extract_workers is not None:
        env["CITYFEEDS_EXTRACT_WORKERS"] = str(extract_workers)
    if concurrency != 16:
        raise SystemExit(
            "cityfeeds uses CONCURRENT_REQUESTS=16 (crawler/settings.py); keep --concurrency 16"
        )
    result = run_with_rusage(cmd, env)
    store = Store.open(load_config(config).database_url)
    try:
        run = store.recent_runs("bench", limit=1)[0]
    finally:
        store.close()
    result["run"] = run
    result["crawl_seconds"] = (run["finished_at"] - run["started_at"]).total_seconds()
    result["responses"] = run["stats"].get("responses", 0)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--per-host", type=int, default=8, help="per-host concurrency (cityfeeds allows at most 8)"
    )
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "cityfeeds-bench-crawl"
    )
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument(
        "--extract-workers",
        type=int,
        default=None,
        help="CITYFEEDS_EXTRACT_WORKERS for the cityfeeds crawl (default: the setting's, by cores)",
    )
    parser.add_argument("raw", nargs="*", help=argparse.SUPPRESS)  # internal: `raw URL C P`
    args = parser.parse_args(argv)
    if args.raw and args.raw[0] == "raw":
        raw_scrapy(args.raw[1], int(args.raw[2]), int(args.raw[3]))
        return 0

    work = args.work
    for stale in ("bench.db", "bench.db-wal", "bench.db-shm", "output"):
        p = work / stale
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    from crawler.workpool import default_workers

    workers = args.extract_workers if args.extract_workers is not None else default_workers()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, {platform.platform()};"
        f" load average {os.getloadavg()[0]:.1f}; extraction workers: {workers}"
    )
    bench_site = load_bench_site()
    with bench_site.SiteProcess(work / "site", args.articles) as site:
        s = site.summary
        print(
            f"site: {s['articles']} articles (~{s['article_kb']:.0f} KB each),"
            f" {s['listing_pages']} listing pages, RSS, sitemap"
        )
        raw: dict[str, Any] = {}
        if not args.skip_raw:
            before = site.count
            raw = run_with_rusage(
                [PYTHON, __file__, "raw", site.base_url, str(args.concurrency), str(args.per_host)]
            )
            stats = json.loads(raw["stdout"].strip().splitlines()[-1])
            raw["responses"] = stats.get("downloader/response_count", 0)
            raw["crawl_seconds"] = stats.get("elapsed_time_seconds", raw["wall"])
            raw["served"] = site.count - before
            raw["pps"] = raw["responses"] / raw["crawl_seconds"]
            print(
                f"raw Scrapy:      {raw['responses']:6d} pages in {raw['crawl_seconds']:6.2f}s"
                f" = {raw['pps']:6.1f} pages/s"
                f"  (process {raw['wall']:.2f}s, peak RSS {raw['peak_rss_mib']:.0f} MiB,"
                f" all processes {raw['peak_tree_rss_mib']:.0f} MiB)"
            )

        config = write_config(work, site.base_url, args.per_host)
        before = site.count
        first = cityfeeds_crawl(config, args.concurrency, args.extract_workers)
        first["served"] = site.count - before
        first["pps"] = first["responses"] / first["crawl_seconds"]
        run = first["run"]
        print(
            f"cityfeeds crawl: {first['responses']:6d} pages in {first['crawl_seconds']:6.2f}s"
            f" = {first['pps']:6.1f} pages/s"
            f"  (process {first['wall']:.2f}s, peak RSS {first['peak_rss_mib']:.0f} MiB,"
            f" all processes {first['peak_tree_rss_mib']:.0f} MiB;"
            f" stored {run['new']} new, status {run['status']}, dropped {run['dropped'] or 'none'})"
        )
        if raw:
            print(f"ratio cityfeeds/raw: {first['pps'] / raw['pps']:.2f}x  (goal >= 0.6x)")
        print(f"load average after the crawls: {os.getloadavg()[0]:.1f}")

        before = site.count
        again = cityfeeds_crawl(config, args.concurrency, args.extract_workers)
        served = site.count - before
        print(
            f"re-crawl (unchanged site): {served} requests served"
            f" ({again['run']['stats'].get('not_modified', 0)} x 304),"
            f" crawl {again['crawl_seconds']:.2f}s, process {again['wall']:.2f}s"
        )
        print(
            f"re-crawl savings: {first['served'] / max(served, 1):.0f}x fewer requests,"
            f" {first['crawl_seconds'] / max(again['crawl_seconds'], 1e-3):.0f}x less crawl time,"
            f" {first['wall'] / again['wall']:.1f}x less process wall time (goal >= 20x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
