"""Benchmark: instructions of a full feed build with and without stories, counted by callgrind.

    python bench/feeds_callgrind.py [--articles 100000] [--db FILE] [--builds 15] [--keep DIR]

The store is ``bench/feeds.py``'s (filled and grouped into stories of three the same way, kept
between runs). This script runs itself under ``valgrind --tool=callgrind
--dump-before=getppid``: after one warm-up build of each kind, it builds ``--builds`` pairs,
one entry per article then one entry per story (every topic and ``all`` entry a story: the
worst case), alternately, each build between ``os.getppid()`` markers, so each build is one
callgrind dump. Prints the instructions per build of each kind, as the mean (the sum of the
kind's builds over their number) and the median, and their ratios (issue 17's goal: <= 1.10).

A full collection of Python's garbage collector costs tens of millions of instructions and
comes every several builds, in whichever build is running then: the builds alternate so both
kinds meet collections as their own allocations bring them on, and the mean counts them (the
story build allocates more, so it brings them on sooner); the median is a build without one.
Instructions count user space of every thread, not the kernel's work (fsync, writes), and do
not depend on the machine's load. ``--keep DIR`` keeps the dumps for ``callgrind_annotate``
(``callgrind.out.N``: 2, 4, ... plain builds, 3, 5, ... story builds).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callgrind import run_dumps

from crawler.storage import Store
from feeds.build import build_feeds

# bench/feeds.py by its path: its module name is the package ``feeds``'s.
_spec = importlib.util.spec_from_file_location("bench_feeds", Path(__file__).with_name("feeds.py"))
assert _spec is not None and _spec.loader is not None
bench_feeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_feeds)


def _builds(store: Store, pairs: int, *, collect: bool) -> None:
    """Warm up, then ``pairs`` plain and story builds alternately, each after an
    ``os.getppid()`` marker (a dump of its own)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for with_stories in (False, True):
            with store.snapshot():
                build_feeds(
                    bench_feeds.bench_config(root / f"warm-{with_stories}", stories=with_stories),
                    store,
                )
        for n in range(pairs):
            for with_stories in (False, True):
                # Each build makes its own empty folder, as a first build does.
                output = root / f"{with_stories}-{n}"
                if collect:
                    # Collected here, a full collection falls in no build (but the memory it
                    # freed is then allocated anew).
                    gc.collect()
                os.getppid()  # callgrind dumps here (--dump-before=getppid)
                with store.snapshot():
                    report = build_feeds(
                        bench_feeds.bench_config(output, stories=with_stories), store
                    )
                assert report.ok, report.failures
        os.getppid()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="SQLite file (default: bench/feeds.py's)")
    parser.add_argument("--builds", type=int, default=15, help="pairs of builds (default 15)")
    parser.add_argument("--keep", type=Path, help="keep callgrind's dumps in this folder")
    parser.add_argument(
        "--collect",
        action="store_true",
        help="gc.collect() before each build (no build then meets a full collection)",
    )
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    db = args.db or Path(tempfile.gettempdir()) / f"cityfeeds-bench-feeds-{args.articles}.db"
    store = Store.open(f"sqlite:///{db}")
    try:
        if args.inner:
            _builds(store, args.builds, collect=args.collect)
            return 0
        have = store.count_articles()
        if have != args.articles:
            if have:
                raise SystemExit(f"{db} holds {have} articles, not {args.articles}: delete it")
            bench_feeds.fill(store, args.articles)
        bench_feeds.fill_stories(store)
    finally:
        store.close()
    inner = [f"--db={db}", f"--builds={args.builds}", *(["--collect"] if args.collect else [])]
    dumps = run_dumps(__file__, inner, keep=args.keep)
    # Dump 1 is start-up and warm-up, then plain and story builds alternately, then the rest.
    counts = dumps[1 : 1 + 2 * args.builds]
    plain, story = counts[0::2], counts[1::2]
    print(f"store: {db} ({args.articles} articles, stories of 3)")
    collected = "gc.collect() before each build" if args.collect else "no gc.collect()"
    print(
        f"instructions per build (callgrind, {args.builds} builds of each kind alternated, "
        f"{collected}):"
    )
    print(f"{'':24}{'mean':>9}{'median':>9}{'min':>9}{'max':>9}")
    for label, kind in (("one entry per article", plain), ("one entry per story", story)):
        figures = (sum(kind) / len(kind), median(kind), min(kind), max(kind))
        print(f"  {label:22}" + "".join(f"{f / 1e6:8.1f}M" for f in figures))
    print(
        f"  ratio of the means {sum(story) / sum(plain):.3f}, "
        f"of the medians {median(story) / median(plain):.3f} (goal <= 1.10)"
    )
    if args.keep:
        print(f"dumps kept in {args.keep} (.2, .4, ... plain; .3, .5, ... stories)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
