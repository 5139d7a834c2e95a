"""Benchmark: `cityfeeds crawl` (full pipeline) vs a plain Scrapy spider on the same site.

    python bench/crawl.py [--articles 2000|10000|50000] [--server nginx|aiohttp] [--skip-raw]

bench/site.py renders a synthetic Russian city-news site (60-120 KB article pages, mostly
boilerplate; JSON-LD, OpenGraph or plain HTML) and serves it from its own nginx on a loopback
port. In the same run, at the same concurrency (16 requests, 8 per host, no delays, robots.txt
obeyed), it crawls the site:

1. **raw Scrapy**: a ``SitemapSpider`` that reads the sitemap index, fetches every article and
   yields url + title: the way cityfeeds reaches the articles, with nothing else;
2. **cityfeeds crawl** of a source with the same sitemap (extraction in the pool workers,
   normalization, topics, SQLite storage, stories), feeds not built;
3. the same cityfeeds crawl again on the unchanged site (conditional GETs, known URLs).

``--floor`` adds, after the raw crawl, **Scrapy + extraction**: the raw spider, whose callback
runs cityfeeds' page processing (``crawler.pages.process_page``: decode, parse, extract,
sanitize, normalize) on each page in its own process and yields url + title of the article,
with no pool, topics, store or stories. Its CPU per page is the least any design that keeps
this extraction can spend, whatever it moves between processes: the floor for the CPU goal.

For each: pages/s over the crawl, CPU seconds of the whole process tree (extraction workers
included), ms of CPU per page, peak RSS of the tree; for cityfeeds, the run's own per-stage CPU
split (``timing/*`` stats); the server's CPU. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import scrapy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def load_bench_site() -> Any:
    """bench/site.py (imported by path: ``site`` is also a standard-library module)."""
    spec = importlib.util.spec_from_file_location("bench_site", Path(__file__).with_name("site.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_site"] = module
    spec.loader.exec_module(module)
    return module


# -- measuring a process tree ------------------------------------------------------------------


def _role(cmdline: str) -> str:
    if "crawler.runner" in cmdline:
        return "crawl child"
    if "cityfeeds.cli" in cmdline:
        return "cli"
    if "forkserver" in cmdline or "multiprocessing" in cmdline:
        return "extraction pool"
    return "main"


class TreeSampler:
    """Samples a process tree from /proc every 0.1 s: CPU per process (last seen), peak RSS.

    A process's CPU counter only grows, so its last sample is at most 0.1 s of CPU short; the
    figure is checked against ``wait4``'s rusage, which covers every process its parent reaped.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.cpu: dict[int, float] = {}
        self.roles: dict[int, str] = {}
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_pss_roles: dict[str, int] = {}
        self._samples = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._done.wait(0.1):
                return

    def sample(self) -> None:
        parents: dict[int, int] = {}
        stats: dict[int, list[str]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            stats[int(entry.name)] = fields
        tree, frontier = {self.root}, [self.root]
        while frontier:
            pid = frontier.pop()
            for child, parent in parents.items():
                if parent == pid and child not in tree:
                    tree.add(child)
                    frontier.append(child)
        rss = 0
        for pid in tree & stats.keys():
            fields = stats[pid]
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
            rss += int(fields[21]) * PAGE
            if pid not in self.roles:
                try:
                    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    raw = b""
                self.roles[pid] = _role(raw.replace(b"\0", b" ").decode(errors="replace"))
        self.peak_rss = max(self.peak_rss, rss)
        self._samples += 1
        if self._samples % 10 == 1:
            # PSS splits pages shared by the forkserver and its workers among them: the memory
            # the tree really holds. Read once a second (smaps_rollup walks the page tables).
            by_role: dict[str, int] = {}
            for pid in tree & stats.keys():
                role = self.roles.get(pid, "main")
                by_role[role] = by_role.get(role, 0) + _pss(pid)
            self.peak_pss = max(self.peak_pss, sum(by_role.values()))
            for role, pss in by_role.items():
                self.peak_pss_roles[role] = max(self.peak_pss_roles.get(role, 0), pss)

    def by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, cpu in self.cpu.items():
            out[self.roles.get(pid, "main")] = out.get(self.roles.get(pid, "main"), 0.0) + cpu
        return out


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall time, CPU of its process tree (sampled and by wait4), peak tree RSS."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with TreeSampler(proc.pid) as sampler:
        out, err = proc.communicate()
        # communicate() reaped it already; the rusage of its children is the whole tree's.
    wall = time.monotonic() - t0
    if proc.returncode:
        sys.stderr.write(err.decode(errors="replace")[-3000:])
        raise SystemExit(f"{cmd[:4]} failed with exit code {proc.returncode}")
    return {
        "wall": wall,
        "cpu_sampled": sum(sampler.cpu.values()),
        "cpu_roles": sampler.by_role(),
        "peak_tree_rss_mib": sampler.peak_rss / 2**20,
        "peak_tree_pss_mib": sampler.peak_pss / 2**20,
        "peak_pss_roles_mib": {k: v / 2**20 for k, v in sampler.peak_pss_roles.items()},
        "stdout": out.decode(errors="replace"),
    }


class ChildrenCPU:
    """CPU of reaped children (RUSAGE_CHILDREN) across a block: exact for a reaped tree."""

    def __enter__(self) -> ChildrenCPU:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._start = usage.ru_utime + usage.ru_stime
        return self

    def __exit__(self, *exc: object) -> None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.seconds = usage.ru_utime + usage.ru_stime - self._start


# -- raw Scrapy ----------------------------------------------------------------------------


def raw_scrapy(url: str, concurrency: int, per_host: int, extract: bool = False) -> None:
    """The baseline: sitemap index -> sitemaps -> articles, yield url+title; stats as JSON.

    ``extract``: the floor crawl (``--floor``): each page goes through cityfeeds'
    ``process_page`` in this process, and the article's url + title are yielded instead.
    """
    from scrapy.crawler import CrawlerProcess
    from scrapy.spiders import SitemapSpider

    class ArticlesFromSitemap(SitemapSpider):
        name = "raw"
        sitemap_urls = (url + "sitemap.xml",)

        def parse(self, response: Any) -> Any:
            yield {"url": response.url, "title": response.css("title::text").get()}

    class ExtractingFromSitemap(SitemapSpider):
        name = "floor"
        sitemap_urls = (url + "sitemap.xml",)
        profile: Any = None

        def parse(self, response: Any) -> Any:
            from datetime import UTC, datetime

            from crawler.models import Article, PageFacts
            from crawler.pages import process_page

            if self.profile is None:
                self.profile = floor_profile(url)
            page = PageFacts(response.url, datetime.now(UTC), response.encoding)
            result = process_page(self.profile, response.body, page, None)
            if isinstance(result, Article):
                yield {"url": result.url, "title": result.title}

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
    process.crawl(ExtractingFromSitemap if extract else ArticlesFromSitemap)
    process.start()
    print(json.dumps({k: v for k, v in stats.items() if isinstance(v, (int, float))}))


def floor_profile(base_url: str) -> Any:
    """The page-processing profile of the bench source, as the cityfeeds crawl builds it."""
    import tomli_w

    from crawler.config import parse_config
    from crawler.profile import SourceProfile

    entry = load_bench_site().source_entry(base_url)
    entry.pop("feeds", None)
    entry.pop("listings", None)
    config = parse_config(tomli_w.dumps({"sources": [entry]}))
    return SourceProfile.from_config(config, config.sources[0])


def scrapy_crawl(mode: str, label: str, site: Any, concurrency: int) -> tuple[dict[str, Any], int]:
    """One plain Scrapy crawl of the site (``mode``: raw or floor), measured and reported."""
    served, server_cpu = site.count, site.cpu_seconds
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with ChildrenCPU() as reaped:
        result = run_measured([PYTHON, __file__, mode, site.base_url, str(concurrency), "8"], env)
    result["cpu_reaped"] = reaped.seconds
    stats = json.loads(result["stdout"].strip().splitlines()[-1])
    result["crawl_seconds"] = stats.get("elapsed_time_seconds", result["wall"])
    pages = int(stats.get("item_scraped_count", 0))
    result["pps"] = pages / result["crawl_seconds"]
    report(label, result, pages)
    print(
        f"{'':16s} server: {site.count - served} requests,"
        f" {site.cpu_seconds - server_cpu:.1f} CPU-s"
    )
    return result, pages


# -- cityfeeds -----------------------------------------------------------------------------


def write_config(work: Path, base_url: str, per_host: int) -> Path:
    """A cityfeeds.toml for the benchmark site: shipped topics, SQLite in ``work``, no delays.

    The source is discovered from the sitemap index only, as the raw spider does.
    """
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
        "run_timeout": 7200,
        "max_pages_per_run": 100000,
        # Re-crawl: every stored article counts as known (no re-check of recent edits).
        "refresh_hours": 0,
    }
    entry = load_bench_site().source_entry(base_url)
    entry.pop("feeds", None)
    entry.pop("listings", None)
    raw["sources"] = [entry]
    for topic in raw.get("topics", []):
        topic.pop("sources", None)
    path = work / "cityfeeds.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


def cityfeeds_crawl(config: Path, extract_workers: int | None = None) -> dict[str, Any]:
    """`cityfeeds crawl bench --no-feeds`, measured; the run's own figures from the store."""
    from crawler.config import load_config
    from crawler.storage import Store

    cmd = [PYTHON, "-m", "cityfeeds.cli", "--config", str(config), "crawl", "--quiet"]
    cmd += ["--no-feeds", "bench"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if extract_workers is not None:
        env["CITYFEEDS_EXTRACT_WORKERS"] = str(extract_workers)
    with ChildrenCPU() as reaped:
        result = run_measured(cmd, env)
    result["cpu_reaped"] = reaped.seconds
    store = Store.open(load_config(config).database_url)
    try:
        run = store.recent_runs("bench", limit=1)[0]
    finally:
        store.close()
    result["run"] = run
    result["crawl_seconds"] = (run["finished_at"] - run["started_at"]).total_seconds()
    result["responses"] = run["stats"].get("responses", 0)
    result["pages"] = run["pages"]
    return result


def report(label: str, result: dict[str, Any], pages: int) -> None:
    cpu = max(result["cpu_sampled"], result.get("cpu_reaped", 0.0))
    result["cpu"] = cpu
    print(
        f"{label:16s} {pages:6d} pages in {result['crawl_seconds']:7.2f} s"
        f" = {result['pps']:6.1f} pages/s | process {result['wall']:6.2f} s |"
        f" CPU {cpu:6.1f} s = {1000 * cpu / max(pages, 1):5.2f} ms/page |"
        f" peak RSS (tree) {result['peak_tree_rss_mib']:5.0f} MiB,"
        f" PSS {result['peak_tree_pss_mib']:5.0f} MiB"
    )
    roles = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(result["cpu_roles"].items()))
    print(f"{'':16s} CPU by process: {roles}")
    peaks = ", ".join(f"{k} {v:.0f}" for k, v in sorted(result["peak_pss_roles_mib"].items()))
    print(f"{'':16s} peak PSS by process (MiB, each its own peak): {peaks}")


def stage_split(result: dict[str, Any]) -> None:
    """The run's ``timing/*`` stats next to the tree's CPU: where each page's CPU went.

    ``extract`` is recorded including decode, parse and sanitize (crawler/timing.py): here it
    is shown without them. What the workers spent beyond their stages is the price of moving
    pages to them and articles back (unpickling, pickling, pipe I/O, the pool's bookkeeping).
    """
    timing = {k: float(v) for k, v in (result["run"]["stats"].get("timing") or {}).items()}
    pages = max(result["pages"], 1)
    roles = result["cpu_roles"]
    inner = sum(timing.get(k, 0.0) for k in ("decode", "parse", "sanitize"))
    rows = [(name, timing.get(name, 0.0)) for name in ("decode", "parse")]
    rows.append(("extract (fields)", max(timing.get("extract", 0.0) - inner, 0.0)))
    rows += [(name, timing.get(name, 0.0)) for name in ("sanitize", "normalize")]
    # Topics are tagged and story fingerprints and content hashes computed in the workers
    # (``*_in_workers``) when there are workers, else in the crawl process (``topics``, within
    # ``stories`` and ``store``).
    ahead = (
        ("topics_in_workers", "topics (in the workers)"),
        ("fingerprint_in_workers", "story fingerprint (in the workers)"),
        ("content_hash_in_workers", "content hash (in the workers)"),
    )
    worker_stages = timing.get("extract", 0.0) + timing.get("normalize", 0.0)
    for name, label in ahead:
        worker_stages += timing.get(name, 0.0)
        rows.append((label, timing.get(name, 0.0)))
    rows += [(name, timing.get(name, 0.0)) for name in ("topics", "store", "stories")]
    in_child = sum(timing.get(k, 0.0) for k in ("topics", "store", "stories"))
    pool = roles.get("extraction pool", 0.0)
    child = roles.get("crawl child", 0.0)
    if pool:
        rows.append(("transfer (workers: unpickle, pickle, IPC)", max(pool - worker_stages, 0.0)))
        rows.append(("download and Scrapy (+ transfer, parent side)", max(child - in_child, 0.0)))
    else:
        rows.append(("download and Scrapy", max(child - in_child - worker_stages, 0.0)))
    rows.append(("start-up and CLI (parent process)", roles.get("cli", 0.0)))
    total = sum(v for _, v in rows) or 1.0
    print(f"{'':16s} per-stage CPU, ms/page (the run's timing/* stats and the tree's CPU):")
    for label, seconds in rows:
        print(
            f"{'':18s}{label:48s} {1000 * seconds / pages:6.2f}  ({100 * seconds / total:4.1f} %)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=2000, help="2000, 10000 or 50000")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--per-host", type=int, default=8, help="per-host concurrency (cityfeeds allows at most 8)"
    )
    parser.add_argument("--server", choices=("nginx", "aiohttp"), default="nginx")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "cityfeeds-bench-crawl"
    )
    parser.add_argument("--skip-raw", action="store_true", help="skip the raw Scrapy crawl")
    parser.add_argument("--skip-recrawl", action="store_true", help="skip the re-crawl")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also crawl with Scrapy + cityfeeds' page processing in one process (the CPU floor)",
    )
    parser.add_argument(
        "--extract-workers",
        type=int,
        default=None,
        help="CITYFEEDS_EXTRACT_WORKERS for the cityfeeds crawl (default: the setting's, by cores)",
    )
    parser.add_argument("raw", nargs="*", help=argparse.SUPPRESS)  # internal: `raw URL C P`
    args = parser.parse_args(argv)
    if args.raw and args.raw[0] in ("raw", "floor"):
        raw_scrapy(args.raw[1], int(args.raw[2]), int(args.raw[3]), args.raw[0] == "floor")
        return 0
    if args.concurrency != 16:
        raise SystemExit("cityfeeds uses CONCURRENT_REQUESTS=16 (crawler/settings.py)")

    work = args.work
    for stale in ("bench.db", "bench.db-wal", "bench.db-shm", "output"):
        p = work / stale
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    from crawler.workpool import default_workers

    workers = args.extract_workers if args.extract_workers is not None else default_workers()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, Scrapy {scrapy.__version__}; load average"
        f" {os.getloadavg()[0]:.1f}; extraction workers: {workers}"
    )
    bench_site = load_bench_site()
    server = bench_site.NginxSite if args.server == "nginx" else bench_site.SiteProcess
    with server(work / f"site-{args.articles}", args.articles) as site:
        s = site.summary
        print(
            f"site ({args.server}): {s['articles']} articles, {s['article_kb_min']:.0f}-"
            f"{s['article_kb_max']:.0f} KB (median {s['article_kb_median']:.0f} KB),"
            f" sitemap index"
        )
        raw: dict[str, Any] = {}
        pages = 0
        if not args.skip_raw:
            raw, pages = scrapy_crawl("raw", "raw Scrapy", site, args.concurrency)
        if args.floor:
            floor, floor_pages = scrapy_crawl("floor", "Scrapy+extract", site, args.concurrency)
            print(
                f"{'':16s} the floor: Scrapy and cityfeeds' page processing, nothing else,"
                f" {1000 * floor['cpu'] / max(floor_pages, 1):.2f} ms of CPU per page"
                f" ({floor_pages} articles)"
            )

        config = write_config(work, site.base_url, args.per_host)
        served, server_cpu = site.count, site.cpu_seconds
        first = cityfeeds_crawl(config, args.extract_workers)
        first["served"] = site.count - served
        first["pps"] = first["pages"] / first["crawl_seconds"]
        run = first["run"]
        report("cityfeeds crawl", first, first["pages"])
        print(
            f"{'':16s} server: {first['served']} requests,"
            f" {site.cpu_seconds - server_cpu:.1f} CPU-s; stored {run['new']} new,"
            f" status {run['status']}, dropped {run['dropped'] or 'none'}"
        )
        stage_split(first)
        if raw:
            print(
                f"ratio cityfeeds/raw: {first['pps'] / raw['pps']:.2f}x pages/s (goal >= 0.8x);"
                f" CPU per page {first['cpu'] / max(first['pages'], 1) * 1000:.2f} ms"
                f" vs {raw['cpu'] / max(pages, 1) * 1000:.2f} ms (goal <= 5 ms)"
            )
        print(f"load average after the crawls: {os.getloadavg()[0]:.1f}")

        if not args.skip_recrawl:
            served = site.count
            again = cityfeeds_crawl(config, args.extract_workers)
            requests = site.count - served
            print(
                f"re-crawl (unchanged site): {requests} requests"
                f" ({again['run']['stats'].get('not_modified', 0)} x 304),"
                f" crawl {again['crawl_seconds']:.2f} s, process {again['wall']:.2f} s,"
                f" CPU {max(again['cpu_sampled'], again['cpu_reaped']):.1f} s"
            )
            print(
                f"re-crawl savings: {first['served'] / max(requests, 1):.0f}x fewer requests,"
                f" {first['wall'] / again['wall']:.1f}x less process wall time (goal >= 20x),"
                f" {first['cpu'] / max(again['cpu_sampled'], again['cpu_reaped']):.1f}x less CPU"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
