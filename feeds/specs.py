"""Which feeds a config asks for: ``all``, one per topic, one per source, and their home pages."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit

from crawler.config import Config
from feeds.model import FeedSpec

__all__ = ["feed_specs", "store_selection", "story_feeds"]

log = logging.getLogger(__name__)


def feed_specs(config: Config) -> list[tuple[FeedSpec, str]]:
    """Every feed the config asks for, with its home page URL: ``all``, then topics, then sources.

    A topic or source whose id cannot be a file name is logged and left out (the config loader
    should have rejected it already).
    """
    base_url = config.base_url
    sources = list(config.sources)
    languages = Counter(s.language for s in sources if s.language)
    main_language = languages.most_common(1)[0][0] if languages else "ru"
    cities = sorted({s.city for s in sources if s.city})
    specs: list[tuple[FeedSpec, str]] = [
        (
            FeedSpec(
                kind="all",
                key="all",
                title="Все новости · All news",
                description="Все статьи всех источников"
                + (f" ({', '.join(cities)})" if cities else "")
                + " · every article from every source",
                language=main_language,
                path="all",
            ),
            base_url,
        )
    ]
    for topic in config.topics:
        try:
            langs = topic.languages
            spec = FeedSpec(
                kind="topic",
                key=topic.id,
                title=topic.title,
                description=topic.description or f"Новости по теме «{topic.title}»",
                language=langs[0] if langs else main_language,
                path=f"topics/{topic.id}",
            )
        except ValueError:
            log.exception("topic %r cannot be published", topic.id)
            continue
        specs.append((spec, base_url))
    for source in sources:
        host = urlsplit(source.url).hostname or source.url
        try:
            spec = FeedSpec(
                kind="source",
                key=source.name,
                title=source.title,
                description=f"Все статьи источника «{source.title}» ({host})",
                language=source.language or main_language,
                path=f"sources/{source.name}",
            )
        except ValueError:
            log.exception("source %r cannot be published", source.name)
            continue
        specs.append((spec, source.url))
    return specs


def store_selection(spec: FeedSpec) -> tuple[str | None, str | None]:
    """The ``(topic, source)`` pair of the store query behind ``spec``."""
    return (
        spec.key if spec.kind == "topic" else None,
        spec.key if spec.kind == "source" else None,
    )


def story_feeds(config: Config, specs: Sequence[FeedSpec]) -> list[bool]:
    """Which feeds show one entry per story: ``all`` and topics, as ``[stories]`` and each
    topic's ``stories`` key say; never a source's feed (one entry per article there)."""
    stories = config.stories
    if not stories.enabled:
        return [False] * len(specs)
    per_topic = {t.id: t.stories for t in config.topics}
    return [
        stories.all_feed
        if spec.kind == "all"
        else spec.kind == "topic" and per_topic.get(spec.key, True)
        for spec in specs
    ]
