"""Helpers shared by the rendering tests: one topic feed of the sample articles, validators."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import lxml.html
from feeds_samples import BASE_URL, sample_articles
from lxml import etree

from crawler.models import Article
from feeds.model import FeedSpec
from feeds.render import render

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "jsonfeed-1.1.schema.json").read_text("utf-8")
)
SPEC = FeedSpec(
    kind="topic",
    key="electric-transport",
    title="Электротранспорт",
    description="Электробусы & трамваи",
    language="ru",
    path="topics/electric-transport",
)
FORMAT_NAMES = ("rss", "atom", "json")


def render_sample(fmt: str, articles: list[Article] | None = None, **kwargs: Any) -> bytes:
    """``articles`` (the samples by default) as the topic feed ``SPEC`` in ``fmt``."""
    articles = sample_articles() if articles is None else articles
    return render(fmt, SPEC, articles, base_url=BASE_URL, **kwargs)


def xml(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(data, parser)


def content_urls(fragment: str) -> list[str]:
    if not fragment.strip():
        return []
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return [link for _, _, link, _ in root.iterlinks()]


def assert_valid(fmt: str, data: bytes) -> int:
    """Validate ``data`` (feedparser for XML, the JSON Schema for JSON Feed); return item count.

    feedparser 6.0 does not read JSON Feed, hence the schema.
    """
    if fmt == "json":
        doc = json.loads(data)
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)
        return len(doc["items"])
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return len(parsed.entries)


def huge_article(n: int, size: int = 20) -> Article:
    paragraph = "<p>" + "Московский электробус едет по Садовому кольцу. " * 40 + "</p>"
    return Article(
        url=f"https://www.m24.ru/news/big/{n}",
        source="m24",
        title=f"Огромная статья {n}",
        published=datetime(2024, 3, 1, tzinfo=UTC).replace(minute=n % 60),
        html=paragraph * size,
    )
