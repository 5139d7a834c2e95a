"""NormalizePipeline: the extraction plus the link's hints become a clean Article."""

from __future__ import annotations

from pathlib import Path

from pipeline_samples import NOW, PUBLISHED, finish, make_crawler, make_item

from crawler.pipelines import NormalizePipeline


def test_the_article_takes_the_sources_language_and_domains(tmp_path: Path) -> None:
    pl = NormalizePipeline.from_crawler(make_crawler(tmp_path))
    item = pl.process_item(
        finish(pl.crawler, make_item(canonical_url="https://evil.example/news/1"))
    )
    article = item.article
    assert article is not None
    # A canonical URL outside the source's allowed domains is not trusted.
    assert article.url == "https://vm.ru/news/1-metro"
    assert article.source == "vm" and article.language == "ru"
    assert article.published == PUBLISHED


def test_hints_fill_missing_fields_and_fallbacks_are_counted(tmp_path: Path) -> None:
    pl = NormalizePipeline.from_crawler(make_crawler(tmp_path))
    item = make_item(title=None, published=None)
    item.hint_title = "Заголовок из RSS"
    item = pl.process_item(finish(pl.crawler, item))
    assert item.article.title == "Заголовок из RSS"
    assert item.article.published <= NOW and "date_fallback" in item.article.flags
    assert pl.crawler.stats.get_value("cityfeeds/date_fallback") == 1


def test_text_is_cut_to_the_configured_size(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path, {"CITYFEEDS_MAX_TEXT_CHARS": 100})
    pl = NormalizePipeline.from_crawler(crawler)
    item = pl.process_item(finish(crawler, make_item(text="Слово. " * 100)))
    assert len(item.article.text) <= 100 and "text_truncated" in item.article.flags
    assert crawler.stats.get_value("cityfeeds/text_truncated") == 1
