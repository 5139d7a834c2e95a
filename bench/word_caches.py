"""Benchmark: the memory an extraction worker's word caches reach on a vocabulary that never ends.

    python bench/word_caches.py [--words 600000] [--cap 200000]

A worker tags each article (``TopicEngine``), computes its story fingerprint
(``Fingerprinter``) and its content hash, as ``crawler.workpool`` does. Both remember what
they learnt of each word form (pymorphy3's readings, lemmas, the term words a word matches,
the fingerprint's piece tables), each cache bounded by ``cache_size`` (200,000 word forms) or
``FACTS_CAP``. The bench site's ~100 words never fill them; real news, in a large crawl, may.
This script feeds one process articles of 300 distinct made-up Cyrillic words each (random
letters and Russian endings, one in ten capitalised), so every cache fills as fast as it can,
and prints the process's RSS growth every 30,000 words: it levels off once every cache is
full, at the most a worker can hold. ``--cap`` sets the caches' bound for the run (the engine's
``cache_size``, the fingerprinter's lemma cache and ``FACTS_CAP``; the module-level caches keep
their own bounds). Made-up words are a worst case: real text repeats its words, and pymorphy3
reads them differently (known words are looked up, unknown ones guessed).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import crawler.stories.features as features
from crawler.config import load_config
from crawler.models import Article
from crawler.storage.articles import content_hash_ahead
from crawler.stories.features import Fingerprinter
from crawler.topics.engine import TopicEngine

LETTERS = "абвгдежзиклмнопрстуфхцчшщыэюя"
ENDINGS = ("", "а", "ы", "ов", "ами", "ой", "ого", "ему", "ая", "ую", "ий", "ые", "ах")
PER_ARTICLE = 300
PUBLISHED = datetime(2026, 12, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def made_up_article(rng: random.Random, n: int) -> Article:
    words = [
        "".join(rng.choice(LETTERS) for _ in range(rng.randint(4, 9))) + rng.choice(ENDINGS)
        for _ in range(PER_ARTICLE)
    ]
    words = [w.capitalize() if rng.random() < 0.1 else w for w in words]
    text = ". ".join(" ".join(words[k : k + 12]) for k in range(0, PER_ARTICLE, 12)) + "."
    return Article(
        url=f"https://example.ru/news/{n}",
        source="example",
        title=" ".join(words[:8]),
        published=PUBLISHED,
        summary=" ".join(words[8:30]),
        text=text,
        html=f"<p>{text}</p>",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--words", type=int, default=600_000)
    parser.add_argument("--cap", type=int, default=200_000, help="the caches' bound")
    args = parser.parse_args(argv)
    specs = tuple(load_config(ROOT / "cityfeeds.toml").topics)
    # The fingerprint's piece tables take their bound from the module when first used.
    features.FACTS_CAP = args.cap
    engine = TopicEngine(specs, cache_size=args.cap)
    fingerprinter = Fingerprinter(cache_size=args.cap)
    rng = random.Random(1)
    gc.collect()
    base, start = rss_mib(), time.process_time()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; cap {args.cap:,}")
    print(f"RSS before: {base:.0f} MiB (the dictionaries, topics and code loaded)")
    words = 0
    while words < args.words:
        article = made_up_article(rng, words // PER_ARTICLE)
        engine.tag(article, city="Москва")
        article.fingerprint = fingerprinter.ahead(article.title, article.summary, article.text)
        article.content_digest = content_hash_ahead(article)
        words += PER_ARTICLE
        if words % 30_000 == 0:
            print(
                f"{words:9,d} words: RSS +{rss_mib() - base:6.1f} MiB,"
                f" {1000 * (time.process_time() - start) / words * PER_ARTICLE:5.1f} ms CPU"
                " per article so far"
            )
    gc.collect()
    print(f"after {words:,} words: RSS +{rss_mib() - base:.1f} MiB over {base:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
