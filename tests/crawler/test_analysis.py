"""Topics and story sketches made in the extraction workers (crawler.analysis) are what the crawl
process's pipelines would make of the same article, and the pipelines take them as they are."""

from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from stories_samples import ROUTE_776_M24, ROUTE_776_MOS, ROUTE_812, T0, report

from crawler import workpool
from crawler.analysis import Analysis, AnalysisSpec, StorySketch, analyse
from crawler.config.loader import load_config
from crawler.context import get_context
from crawler.models import Article, ArticleData, ArticleItem, PageFacts, content_hash
from crawler.pages import process_page
from crawler.pipelines import StorePipeline, TopicsPipeline
from crawler.profile import SourceProfile
from crawler.stories.features import Fingerprinter
from crawler.stories.index import minhash, signature_bytes
from crawler.stories.settings import StorySettings
from crawler.topics.engine import TopicEngine
from crawler.workpool import ExtractionPool, timed_analysed_page
from tests.conftest import write_site_config
from tests.faults.support import article_html

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
URL = "https://news.example/news/1"
PROFILE = SourceProfile(name="vestnik", allowed_domains=("news.example",), city="Москва")


def _spec(tmp_path: Path, num_perm: int | None = 64) -> AnalysisSpec:
    config = load_config(write_site_config(tmp_path, "http://127.0.0.1:9/"))
    return AnalysisSpec.of(config.topics, num_perm)


def _expected(spec: AnalysisSpec, article: Article, city: str | None) -> Analysis:
    """What TopicsPipeline and StoryStore compute for ``article`` in the crawl process."""
    topics = TopicEngine(spec.topics).classify_article(article, city=city)
    fp = Fingerprinter()(article.title, article.summary, article.text)
    assert spec.num_perm is not None
    return Analysis(
        topics,
        StorySketch(fp, signature_bytes(minhash(fp, spec.num_perm)), spec.num_perm),
        content_hash(article),
    )


def test_the_analysis_is_the_pipelines_tagging_and_the_stores_fingerprint(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path)
    for article in (report(1, "mos", ROUTE_776_MOS), report(2, "vm", ROUTE_812, hours=3)):
        found = analyse(spec.packed(), article, "Москва")
        assert found == _expected(spec, article, "Москва")
        assert found.topics and found.sketch is not None
        # Picklable both ways: it comes back from a worker.
        assert pickle.loads(pickle.dumps(found)) == found


def test_no_sketch_when_stories_are_off(tmp_path: Path) -> None:
    found = analyse(_spec(tmp_path, None).packed(), report(1, "mos", ROUTE_776_MOS), None)
    assert found.sketch is None and found.topics


def test_a_failed_analysis_leaves_the_article_to_the_pipelines() -> None:
    body = article_html("Электробусы вышли на новые маршруты").encode()
    result, found, timings = timed_analysed_page(
        PROFILE, body, PageFacts(URL, NOW), None, b"not a pickle"
    )
    assert isinstance(result, Article) and found is None
    assert result == process_page(PROFILE, body, PageFacts(URL, NOW))
    assert "analysis" in timings


def test_the_workers_analyse_what_they_extract(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    body = article_html("Электробусы вышли на новые маршруты").encode()
    page = PageFacts(URL, NOW)
    article = process_page(PROFILE, body, page)
    assert isinstance(article, Article)

    async def run() -> tuple[object, Analysis | None]:
        pool = ExtractionPool(1)
        try:
            pool.warm()
            for _ in range(2400):
                if pool.ready:
                    break
                await asyncio.sleep(0.05)
            return await pool.analyse_page(PROFILE, body, page, None, None, spec.packed())
        finally:
            pool.close(wait=True)

    result, found = asyncio.run(run())
    assert result == article
    assert found == _expected(spec, article, "Москва")


def test_pages_beyond_the_first_few_wait_for_the_workers_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first crawl's burst is not processed in the crawl process while the workers start:
    the first pages are (a scheduled run's one new article is stored at once), the rest wait
    and go to the workers."""
    monkeypatch.setattr(workpool, "INLINE_WHILE_STARTING", 2)
    body = article_html("Электробусы вышли на новые маршруты").encode()
    page = PageFacts(URL, NOW)
    expected = process_page(PROFILE, body, page)

    async def run() -> list[object]:
        pool = ExtractionPool(1)
        try:
            results = await asyncio.gather(
                *(pool.process_page(PROFILE, body, page) for _ in range(6))
            )
            assert pool.inline_pages == 2
            return list(results)
        finally:
            pool.close(wait=True)

    assert asyncio.run(run()) == [expected] * 6


def _pipelines(tmp_path: Path) -> tuple[TopicsPipeline, StorePipeline]:
    from cityfeeds.devtools.demo_site import demo_source

    sources = [
        {**demo_source("http://127.0.0.1:9/"), "name": name, "city": "Москва"}
        for name in ("mos", "m24", "vm")
    ]
    config = write_site_config(tmp_path, "http://127.0.0.1:9/", sources=sources)
    crawler = get_crawler(
        settings_dict={
            "CITYFEEDS_CONFIG": str(config),
            "CITYFEEDS_CLOCK": lambda: T0 + timedelta(hours=4),
            "CITYFEEDS_STORE_FLUSH_SECONDS": 0,
        }
    )
    return TopicsPipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)


def _stored(tmp_path: Path, analysed: bool) -> list[object]:
    """What the pipelines store of three reports (two of one story): topics, stories, evidence."""
    (tmp_path / "spec").mkdir(parents=True)
    topics, store = _pipelines(tmp_path)
    packed = _spec(tmp_path / "spec", StorySettings().num_perm).packed()
    articles = [
        report(1, "mos", ROUTE_776_MOS),
        report(2, "m24", ROUTE_776_M24, hours=2),
        report(3, "vm", ROUTE_812, hours=3),
    ]
    for article in articles:
        article.topics = []
        item = ArticleItem(
            article.source, ArticleData(url=article.url, title=article.title), T0, article.url
        )
        item.article = article
        if analysed:
            item.analysis = analyse(packed, article, "Москва")
        store.process_item(topics.process_item(item))
        if item.analysis is not None:  # what the store was given is still the article's hash
            assert item.analysis.digest == content_hash(article)
    store.flush(closing=True)
    if analysed:
        assert topics.engine is None  # this process never built a topic engine
    db = get_context(store.crawler).store
    if analysed:
        assert db._fingerprinter is None  # nor fingerprinted an article
    [story] = db.recent_stories(since=T0, min_size=2)
    stored = [db.get_article(a.url) for a in articles]
    return [
        [(m.url, m.matched_id, m.evidence) for m in story.members],
        [(a.url, [(t.id, t.score, t.evidence) for t in a.topics]) for a in stored if a],
    ]


def test_the_pipelines_take_the_workers_analysis_as_their_own(tmp_path: Path) -> None:
    stored = _stored(tmp_path / "a", analysed=True)
    assert stored == _stored(tmp_path / "b", analysed=False)
    members, articles = stored
    assert len(members) == 2 and members[1][2]  # the m24 report joined with evidence
    assert all(topics for _, topics in articles)
