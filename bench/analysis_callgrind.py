"""Benchmark: instructions a crawl's worker spends per bench-site article tagging its topics and
computing its story fingerprint, counted by callgrind.

    python bench/analysis_callgrind.py [--pages 50] [--warm 10] [--keep DIR] [--profile]

What ``crawler.workpool._Worker.finish`` runs on each article after ``process_page``:
``TopicEngine.tag`` with the shipped config's topics and ``Fingerprinter.ahead``. This script
renders ``--warm`` + ``--pages`` articles of ``bench/site.py``'s site (as
``bench/worker_callgrind.py`` does) and runs them through ``process_page`` (outside valgrind),
then runs itself on those articles under ``valgrind --tool=callgrind --dump-before=getppid``:
the first ``--warm`` articles are tagged and fingerprinted to warm imports and caches, then the
others run between ``os.getppid()`` markers, tagging and fingerprinting in dumps of their own.
Prints instructions per article for each and both together. ``--keep DIR`` keeps the dumps
(``.2`` tagging, ``.3`` the fingerprint) for ``callgrind_annotate --inclusive=yes``.
``--profile`` runs cProfile over the same work instead (no valgrind).
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from callgrind import add_page_options, run_dumps
from worker_callgrind import bench_pages, bench_profile

from crawler.models import Article
from crawler.pages import process_page
from crawler.stories.features import Fingerprinter
from crawler.topics.engine import TopicEngine
from crawler.topics.spec import load_topic_specs

CONFIG = Path(__file__).resolve().parents[1] / "cityfeeds.toml"
#: Callgrind's dumps, in order.
_PARTS = ("start-up", "tag", "fingerprint", "rest")


def bench_articles(count: int) -> tuple[list[Article], str | None]:
    """The first ``count`` bench-site articles as ``process_page`` makes them, and the city."""
    profile = bench_profile()
    articles = []
    for body, page, hints in bench_pages(count):
        article = process_page(profile, body, page, hints)
        assert isinstance(article, Article), article
        articles.append(article)
    return articles, profile.city


def _inner(warm: int, count: int, saved: Path) -> None:
    articles, city = pickle.loads(saved.read_bytes())
    assert len(articles) == warm + count
    engine = TopicEngine(load_topic_specs(CONFIG))
    fingerprinter = Fingerprinter()
    for article in articles[:warm]:
        engine.tag(article, city=city)
        fingerprinter.ahead(article.title, article.summary, article.text)
    measured = articles[warm:]
    gc.collect()
    os.getppid()  # callgrind dumps here (--dump-before=getppid)
    for article in measured:
        engine.tag(article, city=city)
    os.getppid()
    for article in measured:
        fingerprinter.ahead(article.title, article.summary, article.text)
    os.getppid()


def _profile(warm: int, count: int, top: int) -> None:
    import cProfile
    import pstats

    articles, city = bench_articles(warm + count)
    engine = TopicEngine(load_topic_specs(CONFIG))
    fingerprinter = Fingerprinter()
    for article in articles[:warm]:
        engine.tag(article, city=city)
        fingerprinter.ahead(article.title, article.summary, article.text)
    prof = cProfile.Profile()
    prof.enable()
    for article in articles[warm:]:
        engine.tag(article, city=city)
        fingerprinter.ahead(article.title, article.summary, article.text)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_page_options(parser, "articles")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--saved", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        _inner(args.warm, args.pages, args.saved)
        return 0
    if args.profile:
        _profile(args.warm, args.pages, args.top)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        # The articles are made here, outside valgrind, and handed to the counted run.
        saved = Path(tmp) / "articles.pickle"
        saved.write_bytes(pickle.dumps(bench_articles(args.warm + args.pages)))
        inner = [f"--warm={args.warm}", f"--pages={args.pages}", f"--saved={saved}"]
        dumps = run_dumps(__file__, inner, keep=args.keep, env={"PYTHONHASHSEED": "0"})
    counts = dict(zip(_PARTS, dumps, strict=False))
    first, last = args.warm + 1, args.warm + args.pages
    print(f"instructions per article (callgrind, articles {first}-{last} of the bench site):")
    for label, value in (
        ("TopicEngine.tag", counts["tag"]),
        ("Fingerprinter.ahead", counts["fingerprint"]),
        ("both", counts["tag"] + counts["fingerprint"]),
    ):
        print(f"  {label:20s} {value / args.pages / 1e6:8.3f} M")
    if args.keep:
        print(f"dumps kept in {args.keep} (.2 tagging, .3 the fingerprint)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
