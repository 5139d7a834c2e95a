"""The item that flows through the pipelines: what a page yielded, then the normalized article."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawler.models import Article, ArticleData


@dataclass
class ArticleItem:
    """One crawled article page.

    ``data`` is the raw extraction; ``hint_*`` is what the feed/sitemap/listing said about the
    link (a fallback for missing fields); ``article`` is filled by ``NormalizePipeline``.
    """

    source: str
    data: ArticleData
    fetched_at: datetime
    response_url: str
    hint_title: str | None = None
    hint_published: datetime | None = None
    hint_summary: str | None = None
    article: Article | None = None
    flags: list[str] = field(default_factory=list)
    #: The scheduled run the page was queued for (distributed workers): that run's row in the
    #: store collects what became of it (``crawler.distributed.run_counts.RunCounts``).
    run_id: int | None = None
