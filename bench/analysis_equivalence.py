"""Check: every article's topics and story fingerprint, as JSON lines, to diff two trees.

    PYTHONPATH=TREE python bench/analysis_equivalence.py OUT.jsonl [--site 300] [--random 3000]

Writes, for each input article, what ``TopicEngine.tag`` (the shipped config's topics, once with
the bench source's city and once without) and ``Fingerprinter.ahead`` make of it: every
``TopicMatch`` (id, score, evidence in order) and every field of the fingerprint with its inputs
digest. The inputs: the bench site's articles as ``process_page`` makes them, the labelled
topic and story sets, the independent set, the fundus corpus's bodies, the demo site's stories
and random texts drawn from all their words, marks, quotes, dashes, breaks and odd spellings
(seeded). Run it on two trees and ``cmp`` the files: a speed change must leave them equal.
One engine and one fingerprinter read all the articles in order, as a worker does, so the
word caches fill and overflow as they would.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cityfeeds.devtools.demo_site import STORIES
from crawler.models import Article
from crawler.stories.features import Fingerprinter
from crawler.topics.engine import TopicEngine
from crawler.topics.spec import load_topic_specs

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "cityfeeds.toml"
_PUBLISHED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
FIXTURES = ROOT / "tests" / "fixtures"

#: Pieces the random texts mix in besides words: breaks, marks, quotes, dashes, hyphens.
_ODD = [
    ".",
    ". ",
    "!",
    "?",
    "…",
    ";",
    ":",
    "\n",
    "\n\n",
    ",",
    ", «",
    "«",
    "»",
    '"',
    "„",
    "“",
    "”",
    " — ",
    " – ",
    " - ",
    "-",
    "‐",
    "‑",
    "э-",
    "е-",
    "e-",
    "электро-",
    "МЦД-",
    "СИМ-",
    "№ ",
    "2 000",
    "1966 году",
    "21 февраля",
    "т25",
    "в среду",
    "23:00",
    "2,5 тыс.",
    "ё",
    "Ё",
    "_",
    "  ",
    "\t",
]


def _article(**fields: object) -> Article:
    """An article of these fields, published at a fixed time (the engines do not read it)."""
    return Article(published=_PUBLISHED, **fields)  # type: ignore[arg-type]


def _read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _articles(site: int, randoms: int, seed: int) -> Iterator[tuple[str, Article]]:
    if site:
        from analysis_callgrind import bench_articles

        for n, article in enumerate(bench_articles(site)[0]):
            yield f"site-{n}", article
    for name in ("labelled", "independent"):
        for n, case in enumerate(_read_jsonl(FIXTURES / "topics" / f"{name}.jsonl")):
            title, summary = str(case.get("title", "")), str(case.get("summary", ""))
            text = str(case.get("text", ""))
            yield (
                f"{name}-{n}",
                _article(url="", source="t", title=title, summary=summary, text=text),
            )
            # As a crawl stores it: the lead is also the text's first paragraph.
            lead = summary or text
            yield (
                f"{name}-{n}-crawled",
                _article(url="", source="t", title=title, summary=lead, text=f"{lead}\n\n{text}"),
            )
    for n, case in enumerate(_read_jsonl(FIXTURES / "stories" / "labelled.jsonl")):
        yield (
            f"stories-{n}",
            _article(
                url=str(case.get("url", "")),
                source=str(case.get("outlet", "")),
                title=str(case.get("title", "")),
                summary=str(case.get("lead", "")),
                text=str(case.get("text", case.get("lead", ""))),
            ),
        )
    for n, case in enumerate(_read_jsonl(ROOT / "tests" / "corpus" / "fundus" / "cases.jsonl")):
        expected = case.get("expected")
        if not isinstance(expected, dict):
            continue
        body = expected.get("body_text") or ""
        yield (
            f"fundus-{n}",
            _article(
                url=str(case.get("url", "")),
                source="fundus",
                title=str(expected.get("title") or ""),
                summary=str(expected.get("summary") or ""),
                text=str(body),
            ),
        )
    for n, story in enumerate(STORIES):
        yield (
            f"demo-{n}",
            _article(
                url=f"https://example.ru/news/{n}",
                source="demo",
                title=story.title,
                summary=story.lead,
                text="\n\n".join(story.paragraphs),
                section=story.section,
            ),
        )
    yield from _random_articles(randoms, seed)


def _random_articles(count: int, seed: int) -> Iterator[tuple[str, Article]]:
    rng = random.Random(seed)
    words: list[str] = []
    for path in (
        FIXTURES / "topics" / "labelled.jsonl",
        FIXTURES / "topics" / "independent.jsonl",
        FIXTURES / "stories" / "labelled.jsonl",
    ):
        for case in _read_jsonl(path):
            for key in ("title", "summary", "lead", "text"):
                words.extend(re.findall(r"\S+", str(case.get(key, ""))))
    words.extend(w for s in STORIES for p in s.paragraphs for w in p.split())

    def text(length: int) -> str:
        out = []
        for _ in range(length):
            roll = rng.random()
            if roll < 0.2:
                out.append(rng.choice(_ODD))
            else:
                word = rng.choice(words)
                if roll < 0.25:
                    word = word.capitalize()
                elif roll < 0.28:
                    word = word.upper()
                out.append(word)
            out.append(rng.choice(("", " ", " ", " ", " ")))
        return "".join(out)

    for n in range(count):
        title = text(rng.randrange(0, 14))
        lead = text(rng.randrange(0, 40))
        body = text(rng.choice((0, 30, 200, 900)))
        yield (
            f"random-{n}",
            _article(
                url=f"https://example.ru/{rng.choice(('news', 'transport', 'x'))}/{n}-{text(3)}",
                source="random",
                title=title,
                summary=lead,
                text=body,
                section=rng.choice((None, "Транспорт", "Город")),
                tags=[text(2) for _ in range(rng.randrange(0, 3))],
            ),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--site", type=int, default=300, help="bench-site articles")
    parser.add_argument("--random", type=int, default=3000, help="random articles")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    engine = TopicEngine(load_topic_specs(CONFIG))
    fingerprinter = Fingerprinter()
    count = 0
    with args.out.open("w", encoding="utf-8") as out:
        for name, article in _articles(args.site, args.random, args.seed):
            tagged = []
            for city in ("Moscow", None):
                engine.tag(article, city=city)
                tagged.append([[m.id, m.score, m.evidence] for m in article.topics])
            ahead = fingerprinter.ahead(article.title, article.summary, article.text)
            fingerprint = ahead.fingerprint
            row = {
                "name": name,
                "topics": tagged,
                "inputs": ahead.inputs.hex(),
                "fingerprint": fingerprint.to_json(),
                "head_lemmas": list(fingerprint.head_lemmas),
            }
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    print(f"{count} articles written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
