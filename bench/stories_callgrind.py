"""Benchmark: instructions the crawl process spends per article storing it and assigning its
story, on the bench site's articles, counted by callgrind.

    python bench/stories_callgrind.py [--articles 1000] [--warm 600] [--keep DIR]

The run of ``bench/stories.py --site`` (the site's articles stored and assigned in batches of
50 in a crawl's order, with the real clock: every one takes the older-days path of
``crawler/storage/stories.py``) under ``valgrind --tool=callgrind --dump-before=getppid``:
the first ``--warm`` articles fill the kept old days (eight days of the site are 576
articles), then the next ``--articles`` run between ``os.getppid()`` markers, one callgrind
dump per batch, so start-up and warm-up cancel out; before each batch, in a dump of its own,
the batch's URL keys (``url_identity``) as ``DedupePipeline`` computes them in a crawl before
the store (which then finds them in its cache). Prints instructions per article (store and
assignment): each article's story fingerprint is computed ahead, before the measured stretch,
as a crawl's extraction workers do (``Article.fingerprint``); ``--in-process`` leaves it to the
store, as before the workers computed it (the figure then includes the fingerprint).
Instructions count user space only and do not depend on the machine's load. ``--keep DIR``
keeps the dumps for ``callgrind_annotate --inclusive=yes DIR/callgrind.out.3`` (the first
measured batch's store and assignment).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from callgrind import run_dumps
from stories import _site_articles

from crawler.models import Article
from crawler.normalize.urls import url_identity
from crawler.storage import Store
from crawler.stories.features import Fingerprinter
from crawler.stories.settings import StorySettings


def _assign(
    store: Store, todo: Sequence[Article], settings: StorySettings, *, marked: bool = False
) -> None:
    for first in range(0, len(todo), 50):
        batch = list(todo[first : first + 50])
        if marked:
            os.getppid()  # a dump of DedupePipeline's keys, which the store's then reuse
        for article in batch:
            url_identity(article.url)
        if marked:
            os.getppid()  # a dump of the batch's store and assignment
        now = datetime.now(UTC)
        stored = store.upsert_articles(batch, now=now)
        pairs = [(r.article_id, a) for r, a in zip(stored, batch, strict=True)]
        store.assign_stories(pairs, settings=settings, now=now)


def inner(articles: int, warm: int, *, in_process: bool = False) -> None:
    todo = _site_articles(warm + articles)
    if not in_process:
        ahead = Fingerprinter()
        for article in todo:  # as the extraction workers do, off the crawl process
            article.fingerprint = ahead.ahead(article.title, article.summary, article.text)
    settings = StorySettings()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/site.db")
        try:
            _assign(store, todo[:warm], settings)
            _assign(store, todo[warm:], settings, marked=True)
            os.getppid()  # the last dump: the rest (closing)
        finally:
            store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=600)
    parser.add_argument("--keep", type=Path, help="keep the callgrind dumps in this folder")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="compute the fingerprints in the measured stretch (the figure before the workers did)",
    )
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warm % 50 or args.articles % 50:
        parser.error("--warm and --articles are whole batches of 50")
    if args.inner:
        inner(args.articles, args.warm, in_process=args.in_process)
        return 0
    flags = ["--in-process"] if args.in_process else []
    dumps = run_dumps(
        __file__,
        ["--articles", str(args.articles), "--warm", str(args.warm), *flags],
        keep=args.keep,
    )
    what = "with fingerprints" if args.in_process else "fingerprints computed ahead"
    batches = args.articles // 50
    stored = sum(dumps[2 : 2 * batches + 1 : 2])
    keyed = sum(dumps[1 : 2 * batches : 2])
    print(
        f"{args.articles} articles after {args.warm} ({what}):"
        f" {stored / args.articles / 1e6:.2f} M instructions per article stored and assigned"
        f" (DedupePipeline's URL keys before each batch: {keyed / args.articles / 1e6:.2f} M)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
