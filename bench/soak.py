"""Soak: many crawl+rebuild cycles of the service loop against the loopback site; RSS per cycle.

    python bench/soak.py [--cycles 60] [--articles 200] [--new-per-cycle 3]

The service (crawler/service.py) is not in the tree yet, so this soaks the loop it runs: one
``crawl_subprocess`` (a fresh crawl child) then ``rebuild_feeds`` in this long-lived process,
once per cycle, with a few new articles published on the site each cycle. Prints this
process's RSS after every cycle (should stay flat) and the crawl children's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crawl import load_bench_site, write_config  # noqa: E402

from crawler.commands.feeds import rebuild_feeds  # noqa: E402
from crawler.config import load_config  # noqa: E402
from crawler.runner import crawl_subprocess  # noqa: E402


def rss_mib(pid: int | None = None) -> float:
    """Resident set size of a process (default: this one) in MiB, from /proc."""
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument(
        "--articles", type=int, default=200, help="articles on the site at the start"
    )
    parser.add_argument("--new-per-cycle", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/cityfeeds-bench-soak"))
    args = parser.parse_args(argv)
    bench_site = load_bench_site()
    work = args.work
    for stale in ("bench.db", "bench.db-wal", "bench.db-shm"):
        (work / stale).unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    total = args.articles + args.cycles * args.new_per_cycle
    # The site holds every article from the start; each cycle reveals a few more in the
    # RSS/sitemap/listings (older ones are "known" and never re-fetched).
    with bench_site.SiteProcess(work / "site", total) as site:
        config = load_config(write_config(work, site.base_url, 8))
        pages = bench_site.make_pages(total)
        series = []
        t_start = time.monotonic()
        for cycle in range(1, args.cycles + 1):
            visible = pages[total - args.articles - cycle * args.new_per_cycle :]
            root = work / "site"
            (root / "rss.xml").write_text(
                bench_site.render_rss(visible, site.base_url), encoding="utf-8"
            )
            (root / "sitemap.xml").write_text(
                bench_site.render_sitemap(visible, site.base_url), encoding="utf-8"
            )
            t0 = time.monotonic()
            outcome = crawl_subprocess(config, ["bench"], timeout=600)
            report = rebuild_feeds(config)
            run = outcome.runs.get("bench", {})
            rss = rss_mib()
            series.append(rss)
            child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(
                f"cycle {cycle:3d}: {time.monotonic() - t0:5.1f}s  run {run.get('status')} new"
                f" {run.get('new', 0):4d}"
                f"  feeds ok={getattr(report, 'ok', '?')}  service RSS {rss:6.1f} MiB "
                f" crawl-child peak {child:5.0f} MiB",
                flush=True,
            )
        first, last = series[0], series[-1]
        tail = series[len(series) // 2 :]
        print(
            f"service RSS: first {first:.1f} MiB, last {last:.1f} MiB, max {max(series):.1f} MiB,"
            f" growth over the second half {tail[-1] - tail[0]:+.1f} MiB;"
            f" {time.monotonic() - t_start:.0f}s total"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
