"""Topics and the story fingerprint of an article, computed where the article is made.

A crawl's extraction workers (:mod:`crawler.workpool`) run this right after
:func:`crawler.pages.process_page`, so the crawl process, which also runs Scrapy and the store
and is the single-core bottleneck of a crawl (bench/README.md, issue 15), only stores the
article and matches its story. An item that arrives without an analysis (a page processed in
the crawl process, ``cityfeeds extract``, the distributed worker) is tagged and fingerprinted by
the pipelines as before: both paths run the same code on the same fields, so they agree.

The spec travels to the workers as bytes pickled once per crawl (:meth:`AnalysisSpec.packed`);
each worker builds its :class:`Analyser` (the topic engine, the lemmatizer and their word
caches) once per distinct spec and keeps it.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass

from crawler.models import Article, TopicMatch, content_hash
from crawler.stories.features import Fingerprint, Fingerprinter
from crawler.stories.index import minhash, signature_bytes
from crawler.topics.engine import TopicEngine
from crawler.topics.morph import Lemmatizer
from crawler.topics.spec import TopicSpec


@dataclass(frozen=True)
class AnalysisSpec:
    """What an article is analysed for: the config's topics, and the MinHash size of its
    stories (``None``: story clustering is off, no fingerprint is made)."""

    topics: tuple[TopicSpec, ...]
    num_perm: int | None

    @classmethod
    def of(cls, topics: Sequence[TopicSpec], num_perm: int | None) -> AnalysisSpec:
        return cls(tuple(topics), num_perm)

    def packed(self) -> bytes:
        """The spec as sent to the workers (bytes: pickling them again per page is a copy)."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(frozen=True, slots=True)
class StorySketch:
    """An article's story fingerprint and its MinHash signature (stored bytes) of
    ``num_perm`` permutations, as :meth:`crawler.storage.StoryStore.assign_stories` takes them."""

    fingerprint: Fingerprint
    signature: bytes
    num_perm: int


@dataclass(frozen=True, slots=True)
class Analysis:
    """The topics an article matched, its story sketch (``None`` when stories are off) and
    its :func:`~crawler.models.content_hash` (``None``: the store computes it). The pipelines
    that run before the store never edit the fields the hash covers."""

    topics: list[TopicMatch]
    sketch: StorySketch | None
    digest: str | None = None


class Analyser:
    """Analyses articles for one spec; keeps its topic engine and word caches between calls."""

    def __init__(self, spec: AnalysisSpec) -> None:
        self.spec = spec
        self.engine = TopicEngine(spec.topics)
        self.fingerprinter = Fingerprinter() if spec.num_perm else None

    def __call__(self, article: Article, city: str | None) -> Analysis:
        topics = self.engine.classify_article(article, city=city)
        sketch = None
        if self.fingerprinter is not None and self.spec.num_perm:
            fp = self.fingerprinter(article.title, article.summary, article.text)
            signature = signature_bytes(minhash(fp, self.spec.num_perm))
            sketch = StorySketch(fp, signature, self.spec.num_perm)
        return Analysis(topics, sketch, content_hash(article))


#: A worker's analysers by packed spec. A crawl has one spec; the bound only keeps a long-lived
#: process that sees several configs (the tests, a service reloading its config) from growing.
_ANALYSERS: dict[bytes, Analyser] = {}
_MAX_ANALYSERS = 2


def analyse(packed: bytes, article: Article, city: str | None) -> Analysis:
    """Analyse ``article`` for the spec :meth:`AnalysisSpec.packed` made ``packed``."""
    analyser = _ANALYSERS.get(packed)
    if analyser is None:
        while len(_ANALYSERS) >= _MAX_ANALYSERS:
            del _ANALYSERS[next(iter(_ANALYSERS))]
        analyser = _ANALYSERS[packed] = Analyser(pickle.loads(packed))
    return analyser(article, city)


def preload() -> None:
    """Load the Russian dictionaries now (the pool's server, before it forks the workers, so
    they share one copy instead of each loading their own)."""
    Lemmatizer().lemma("город")
