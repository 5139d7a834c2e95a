"""Benchmark: instructions an extraction worker spends per bench-site page, counted by callgrind.

    python bench/worker_callgrind.py [--pages 50] [--warm 10] [--keep DIR] [--profile]

What a pool worker runs per page is ``crawler.workpool.timed_process_page`` on the page bytes
the crawl process sent it; around it, the worker unpickles the call and pickles the result
back (``concurrent.futures``' call and result items, ``ForkingPickler``). In a crawl's workers
it also tags topics and computes the story fingerprint (``ArticleWork``); this script runs it
outside a pool, so without them, the page processing alone (bench/topics.py and
bench/stories_callgrind.py measure those two). This script renders
``--warm`` + ``--pages`` articles of ``bench/site.py``'s site (2,000 articles, as
``bench/crawl.py --articles 2000`` builds it; articles 1-60 by default) and runs itself under
``valgrind --tool=callgrind --dump-before=getppid``: the first ``--warm`` pages warm up imports
and caches, then the other pages run between ``os.getppid()`` markers, twice: first
``timed_process_page`` alone, then the worker's whole share (unpickle the call, process,
pickle the result). Each set is one callgrind dump, so start-up and warm-up cancel out as in
a 60-page run less a 10-page run. Prints instructions per page for both, and the bytes
pickled each way. Instructions count user space only and do not depend on the machine's load.
``--keep DIR`` keeps the dumps for ``callgrind_annotate --inclusive=yes DIR/callgrind.out.2``
(``.4``: the worker's share).
``--profile`` runs cProfile over ``process_page`` on the same pages instead (no valgrind).
``--compare`` prints CPU ms per page of ``process_page`` and, on the same pages, of
trafilatura (``extract`` with metadata, the reference library, and ``bare_extraction`` of the
body alone in its fast mode) instead.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import sys
from datetime import UTC, datetime
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callgrind import add_page_options, run_dumps

from crawler.config import parse_config
from crawler.models import Hints, PageFacts
from crawler.pages import process_page
from crawler.profile import SourceProfile
from crawler.workpool import timed_process_page

_spec = importlib.util.spec_from_file_location("bench_site", Path(__file__).with_name("site.py"))
assert _spec is not None and _spec.loader is not None
bench_site = importlib.util.module_from_spec(_spec)
sys.modules["bench_site"] = bench_site  # its dataclasses look their module up
_spec.loader.exec_module(bench_site)

BASE_URL = "http://127.0.0.1:8765/"
SITE_ARTICLES = 2000
FETCHED_AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
#: Callgrind's dumps, in order.
_PARTS = ("start-up", "process", "collection", "worker", "rest")


def bench_profile() -> SourceProfile:
    """The bench source's profile, as ``bench/crawl.py``'s config makes it."""
    import tomli_w

    entry = bench_site.source_entry(BASE_URL)
    entry.pop("feeds", None)
    entry.pop("listings", None)
    config = parse_config(tomli_w.dumps({"sources": [entry]}))
    return SourceProfile.from_config(config, config.sources[0])


def bench_pages(count: int) -> list[tuple[bytes, PageFacts, Hints]]:
    """The first ``count`` articles of the 2,000-article bench site: bytes, facts, hints."""
    pages = bench_site.make_pages(SITE_ARTICLES)
    listing_pages = -(-len(pages) // bench_site.PER_PAGE)
    out = []
    for i, page in enumerate(pages[:count]):
        related = [pages[(i + k) % len(pages)] for k in range(1, 31)]
        body = bench_site.render_article(page, BASE_URL, related, listing_pages).encode()
        url = BASE_URL.rstrip("/") + bench_site.article_path(page)
        # The sitemap's <lastmod> is the link's published hint, as discovery passes it.
        out.append((body, PageFacts(url, FETCHED_AT, "utf-8"), Hints(published=page.published)))
    return out


def _worker_share(profile: SourceProfile, call: bytes, work_id: int) -> bytes:
    """What a pool worker does for one page: unpickle the call, run it, pickle the result."""
    # The pool pickles a call item (id, function, arguments) and a result item (id, result):
    # tuples of the same content stand in for its private classes.
    _, fn, fn_args, _ = ForkingPickler.loads(call)
    result = fn(*fn_args)
    return bytes(ForkingPickler.dumps((work_id, None, result, None)))


def _inner(warm: int, count: int) -> None:
    profile = bench_profile()
    pages = bench_pages(warm + count)
    calls = [
        bytes(ForkingPickler.dumps((n, timed_process_page, (profile, *p), {})))
        for n, p in enumerate(pages)
    ]
    for body, page, hints in pages[:warm]:
        timed_process_page(profile, body, page, hints)
    # Each set starts after a full collection, which is a dump of its own: the collections
    # the pages' allocations trigger fall in their set, as they would in a worker.
    gc.collect()
    os.getppid()  # callgrind dumps here (--dump-before=getppid)
    for body, page, hints in pages[warm:]:
        timed_process_page(profile, body, page, hints)
    os.getppid()
    gc.collect()
    os.getppid()
    sent = back = 0
    for n in range(warm, warm + count):
        result = _worker_share(profile, calls[n], n)
        sent, back = sent + len(calls[n]), back + len(result)
    os.getppid()
    sent_kb, back_kb = sent / count / 1024, back / count / 1024
    print(f"pickled per page: the call {sent_kb:.1f} KB, the result {back_kb:.1f} KB")


def _profile(warm: int, count: int, top: int) -> None:
    import cProfile
    import pstats

    # process_page without the stage timings: under cProfile, the time of whatever a stage
    # encloses showed up in its time.thread_time() calls.
    profile = bench_profile()
    pages = bench_pages(warm + count)
    for body, page, hints in pages[:warm]:
        process_page(profile, body, page, hints)
    prof = cProfile.Profile()
    prof.enable()
    for body, page, hints in pages[warm:]:
        process_page(profile, body, page, hints)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def _compare(warm: int, count: int) -> None:
    import time

    import trafilatura

    profile = bench_profile()
    pages = bench_pages(warm + count)
    runs = {
        "cityfeeds process_page": lambda b, p, h: process_page(profile, b, p, h),
        "trafilatura extract, with metadata": lambda b, p, h: trafilatura.extract(
            b, url=p.url, with_metadata=True
        ),
        "trafilatura bare_extraction, body only, fast": lambda b, p, h: trafilatura.bare_extraction(
            b, url=p.url, with_metadata=False, fast=True
        ),
    }
    print(f"CPU ms per page, bench-site articles {warm + 1}-{warm + count} (after {warm} warm):")
    for label, run in runs.items():
        for body, page, hints in pages[:warm]:
            run(body, page, hints)
        start = time.process_time()
        for body, page, hints in pages[warm:]:
            run(body, page, hints)
        print(f"  {label:46s} {1000 * (time.process_time() - start) / count:6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_page_options(parser, "pages")
    parser.add_argument(
        "--compare", action="store_true", help="CPU ms per page against trafilatura instead"
    )
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        _inner(args.warm, args.pages)
        return 0
    if args.profile:
        _profile(args.warm, args.pages, args.top)
        return 0
    if args.compare:
        _compare(args.warm, args.pages)
        return 0
    inner = [f"--warm={args.warm}", f"--pages={args.pages}"]
    dumps = run_dumps(__file__, inner, keep=args.keep, env={"PYTHONHASHSEED": "0"})
    counts = dict(zip(_PARTS, dumps, strict=False))
    first, last = args.warm + 1, args.warm + args.pages
    print(f"instructions per page (callgrind, articles {first}-{last} of the bench site):")
    for part, label in (("process", "timed_process_page"), ("worker", "the worker's share")):
        print(f"  {label:20s} {counts[part] / args.pages / 1e6:8.2f} M")
    print("  (the worker's share: unpickle the call, timed_process_page, pickle the result)")
    if args.keep:
        print(f"dumps kept in {args.keep} (.2 timed_process_page, .4 the worker's share)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
