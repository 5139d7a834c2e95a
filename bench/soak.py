"""Soak: the real ``Service`` crawling the loopback site on a short schedule; RSS per cycle.

    python bench/soak.py [--cycles 60] [--interval 5] [--articles 200] [--new-per-cycle 3]

Runs ``cityfeeds.service.Service`` (as ``cityfeeds run`` does, feeds served over HTTP) in this
process with the bench source scheduled ``every <interval>s``, against bench/site.py's site
served from a separate process. A cycle is one crawl of the source (a fresh crawl child) plus
the feed rebuild it triggers; cycles are counted by ``Service.cycles`` (the rebuild done at
start-up, before any crawl, is cycle 0, the baseline). Just before each crawl the site
publishes ``--new-per-cycle`` new stories (RSS, sitemap and listing pages), so every cycle
stores something. After each cycle this process's RSS (the service's: crawl children are
separate processes and exit) is sampled; prints a table plus first/last/max and the change
over the second half, and the crawl children's peak RSS.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crawl import load_bench_site, write_config  # noqa: E402

from cityfeeds.service import Service, ServiceOptions  # noqa: E402
from crawler.config import Config, load_config  # noqa: E402
from crawler.supervisor import CrawlOutcome, crawl_subprocess  # noqa: E402


def rss_mib(pid: int | None = None) -> float:
    """Resident set size of a process (default: this one) in MiB, from /proc."""
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RevealingSite:
    """Publishes the site's articles a few at a time: discovery documents list only those out.

    Every article page exists from the start, but the RSS, the sitemap and the listing pages
    (the spider's only ways to find articles) show just the oldest ``shown`` ones. All three
    are rewritten on each reveal: the old soak rewrote only RSS and sitemap, and the listings
    (built for the whole site, newest first) gave away 150 unpublished articles in cycle 1.
    """

    def __init__(self, bench_site: Any, root: Path, base_url: str, total: int) -> None:
        self.site = bench_site
        self.root = root
        self.base_url = base_url
        self.pages = bench_site.make_pages(total)  # newest first
        self.shown = 0

    def show(self, count: int) -> None:
        """Publish the oldest ``count`` articles (the newest of them first, as a site would)."""
        site, root = self.site, self.root
        visible = self.pages[len(self.pages) - count :]
        (root / "rss.xml").write_text(site.render_rss(visible, self.base_url), encoding="utf-8")
        (root / "sitemap.xml").write_text(
            site.render_sitemap(visible, self.base_url), encoding="utf-8"
        )
        per_page = site.PER_PAGE
        listing_pages = -(-len(visible) // per_page)
        for n in range(1, listing_pages + 1):
            body = site.render_listing(
                visible[(n - 1) * per_page : n * per_page], n, listing_pages, listing_pages
            )
            (root / "news" / f"page-{n}.html").write_text(body, encoding="utf-8")
        for stale in root.glob("news/page-*.html"):
            if int(stale.stem.removeprefix("page-")) > listing_pages:
                stale.unlink()
        (root / "index.html").write_text(
            site.render_listing(visible[:per_page], 1, 1, listing_pages), encoding="utf-8"
        )
        self.shown = count


def soak_config(work: Path, base_url: str, interval: int, port: int) -> Config:
    """bench/crawl.py's config with the bench source scheduled ``every <interval>s``."""
    import tomli_w

    path = write_config(work, base_url, 8)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    raw["sources"][0]["schedule"] = f"every {interval}s"
    raw["schedule"] = {
        **raw.get("schedule", {}),
        "jitter": 0,
        "serve": True,
        "host": "127.0.0.1",
        "port": port,
    }
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return load_config(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--interval", type=int, default=5, help="seconds between crawls")
    parser.add_argument(
        "--articles", type=int, default=200, help="articles on the site at the start"
    )
    parser.add_argument("--new-per-cycle", type=int, default=3)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "cityfeeds-bench-soak"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    bench_site = load_bench_site()
    work = args.work
    for stale in ("bench.db", "bench.db-wal", "bench.db-shm"):
        (work / stale).unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    total = args.articles + args.cycles * args.new_per_cycle
    with bench_site.SiteProcess(work / "site", total) as site:
        config = soak_config(work, site.base_url, args.interval, bench_site.free_port())
        reveal = RevealingSite(bench_site, work / "site", site.base_url, total)
        reveal.show(args.articles)
        crawls: list[dict[str, Any]] = []

        def crawl(cfg: Config, sources: list[str], **kwargs: Any) -> CrawlOutcome:
            # The site publishes a few stories just before each scheduled crawl.
            reveal.show(min(total, reveal.shown + args.new_per_cycle))
            outcome = crawl_subprocess(cfg, sources, **kwargs)
            crawls.append({"shown": reveal.shown, **outcome.runs.get("bench", {})})
            return outcome

        service = Service(
            config,
            ServiceOptions(workers=1, debounce=0.5, grace=120.0, serve=True),
            crawl=crawl,
        )
        print(
            f"service: bench every {args.interval}s, {args.articles} articles published,"
            f" +{args.new_per_cycle} before each crawl, feeds served on"
            f" {config.schedule.host}:{config.schedule.port}"
        )
        print("cycle  at(s)  crawl  new  published  RSS(MiB)")
        series: list[float] = []
        t_start = time.monotonic()
        service.start()
        try:
            seen = 0
            while len(series) < args.cycles:
                threading.Event().wait(0.1)
                cycles = service.cycles
                if cycles == seen:
                    continue
                seen = cycles
                rss = rss_mib()
                if cycles == 1:
                    print(f"    0  {time.monotonic() - t_start:5.1f}  start-up rebuild  {rss:8.1f}")
                    continue
                cycle = cycles - 1
                run = crawls[cycle - 1] if len(crawls) >= cycle else {}
                series.append(rss)
                note = "" if len(crawls) == cycle else f"  ({len(crawls)} crawls done)"
                print(
                    f"{cycle:5d}  {time.monotonic() - t_start:5.1f}  {run.get('status', '?'):5s}"
                    f"  {run.get('new', 0):3d}  {run.get('shown', 0):9d}"
                    f"  {rss:8.1f}{note}",
                    flush=True,
                )
        finally:
            service.stop(grace=120.0)
        elapsed = time.monotonic() - t_start
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        stored = sum(int(c.get("new") or 0) for c in crawls)
        first, last = series[0], series[-1]
        tail = series[len(series) // 2 :]
        print(
            f"{len(series)} cycles ({len(crawls)} crawls incl. any running at stop,"
            f" {stored} articles stored, {sum(1 for c in crawls if not c.get('new'))} crawls"
            f" storing nothing) in {elapsed:.0f}s; service.cycles {service.cycles}"
        )
        print(
            f"service RSS: first {first:.1f} MiB, last {last:.1f} MiB, max {max(series):.1f} MiB,"
            f" change over the second half {tail[-1] - tail[0]:+.1f} MiB;"
            f" crawl-child peak {child:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
