"""Benchmark: instructions of a full feed build with and without stories, counted by callgrind.

    python bench/feeds_callgrind.py [--articles 100000] [--db FILE] [--builds 3] [--keep DIR]

The store is ``bench/feeds.py``'s (filled and grouped into stories of three the same way, kept
between runs). This script runs itself under ``valgrind --tool=callgrind
--dump-before=getppid``: after one warm-up build of each kind, it builds ``--builds`` times
with one entry per article, then as many times with one entry per story (every topic and
``all`` entry a story: the worst case), each set between ``os.getppid()`` markers, so each
set is one callgrind dump. Prints the instructions per build of each kind and their ratio
(issue 17's goal: <= 1.10). Instructions count user space of every thread, not the kernel's
work (fsync, writes), and do not depend on the machine's load. ``--keep DIR`` keeps the dumps
for ``callgrind_annotate --inclusive=yes DIR/callgrind.out.2`` (plain) and ``.3`` (stories).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.storage import Store
from feeds.build import build_feeds

# bench/feeds.py by its path: its module name is the package ``feeds``'s.
_spec = importlib.util.spec_from_file_location("bench_feeds", Path(__file__).with_name("feeds.py"))
assert _spec is not None and _spec.loader is not None
bench_feeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_feeds)

#: Callgrind's dumps, in order: start-up and warm-up, plain builds, story builds, the rest.
_PARTS = ("start-up", "plain", "stories", "rest")


def _builds(store: Store, builds: int, *, collect: bool) -> None:
    """Warm up, then each kind of build ``builds`` times between ``os.getppid()`` markers."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for with_stories in (False, True):
            with store.snapshot():
                build_feeds(
                    bench_feeds.bench_config(root / f"warm-{with_stories}", stories=with_stories),
                    store,
                )
        # Each build makes its own empty folder, as a first build does.
        dirs = {k: [root / f"{k}-{n}" for n in range(builds)] for k in (False, True)}
        for with_stories in (False, True):
            if collect:
                # A full collection (~35 M instructions with this process's ~75,000 objects)
                # comes every six to ten builds, whichever kind runs then: collected here, it
                # falls in neither set (but freed memory is then allocated anew).
                gc.collect()
            os.getppid()  # callgrind dumps here (--dump-before=getppid)
            for output in dirs[with_stories]:
                with store.snapshot():
                    report = build_feeds(
                        bench_feeds.bench_config(output, stories=with_stories), store
                    )
                assert report.ok, report.failures
        os.getppid()


def _instructions(dump: Path) -> int:
    text = dump.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    if found is None:
        raise SystemExit(f"no instruction total in {dump}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="SQLite file (default: bench/feeds.py's)")
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep callgrind's dumps in this folder")
    parser.add_argument(
        "--collect",
        action="store_true",
        help="gc.collect() before each set of builds (else a full collection may fall in either)",
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
    out = Path(tempfile.mkdtemp(prefix="cityfeeds-callgrind-"))
    try:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={out}/callgrind.out",
            sys.executable,
            __file__,
            "--inner",
            f"--db={db}",
            f"--builds={args.builds}",
            *(["--collect"] if args.collect else []),
        ]
        subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
        dumps = sorted(out.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        counts = dict(zip(_PARTS, (_instructions(d) for d in dumps), strict=False))
        plain, story = counts["plain"] / args.builds, counts["stories"] / args.builds
        print(f"store: {db} ({args.articles} articles, stories of 3)")
        collected = "gc.collect() before each kind" if args.collect else "no gc.collect()"
        print(
            f"instructions per build (callgrind, {args.builds} builds of each kind, {collected}):"
        )
        print(f"  one entry per article {plain / 1e6:8.1f} M")
        print(f"  one entry per story   {story / 1e6:8.1f} M")
        print(f"  ratio {story / plain:.3f} (goal <= 1.10)")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for dump in out.iterdir():
                shutil.copy2(dump, args.keep / dump.name)
            print(f"dumps kept in {args.keep} (.2 plain, .3 stories)")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
