"""TopicsPipeline: each article is tagged with the configured topics it matches."""

from __future__ import annotations

from pathlib import Path

from pipeline_samples import finish, make_crawler, make_item

from crawler.models import TopicMatch
from crawler.pipelines import NormalizePipeline, TopicsPipeline


def tagged(tmp_path: Path, **fields: str) -> list[str]:
    crawler = make_crawler(tmp_path)
    topics = TopicsPipeline.from_crawler(crawler)
    topics.open_spider()
    item = topics.process_item(
        NormalizePipeline.from_crawler(crawler).process_item(finish(crawler, make_item(**fields)))
    )
    assert item.article is not None
    return [match.id for match in item.article.topics]


def test_a_metro_closure_is_public_transport(tmp_path: Path) -> None:
    assert "public-transport" in tagged(tmp_path)


def test_an_unrelated_article_gets_no_topic(tmp_path: Path) -> None:
    assert (
        tagged(
            tmp_path,
            title="В Третьяковской галерее открылась выставка акварели",
            text="Выставка акварели XIX века откроется в галерее в пятницу.",
        )
        == []
    )


def test_an_article_tagged_in_a_worker_is_kept_unless_its_url_moved(tmp_path: Path) -> None:
    """The extraction workers tag articles (crawler.workpool); the pipeline keeps their topics,
    and scores again an article whose URL changed since (its words count)."""
    crawler = make_crawler(tmp_path)
    pipeline = TopicsPipeline.from_crawler(crawler)
    pipeline.open_spider()
    item = finish(crawler, make_item())
    assert item.article is not None
    marker = [TopicMatch(id="from-the-worker", score=9.0, evidence=["x"])]
    item.article.topics, item.article.topics_url = list(marker), item.article.url
    assert pipeline.process_item(item).article.topics == marker
    item.article.url += "-moved"
    topics = [m.id for m in pipeline.process_item(item).article.topics]
    assert "public-transport" in topics and "from-the-worker" not in topics
    assert item.article.topics_url == item.article.url
