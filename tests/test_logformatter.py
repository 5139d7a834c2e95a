"""Dropped-item log lines stay short: reason, URL and title, never the whole article."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from scrapy.exceptions import DropItem
from scrapy.settings import Settings
from scrapy.utils.misc import load_object

from crawler.models import ArticleData, ArticleItem


def _huge_item() -> ArticleItem:
    text = "Электробусы вышли на новые маршруты. " * 400  # ~15 KB of article text
    url = "https://www.m24.ru/news/transport/04022026/812345"
    data = ArticleData(url=url, title="Электробусы " * 20, text=text, html=f"<p>{text}</p>")
    return ArticleItem(
        source="m24",
        data=data,
        fetched_at=datetime(2026, 2, 4, tzinfo=UTC),
        response_url=url,
    )


def test_dropped_item_line_is_short_and_names_url_reason_and_title() -> None:
    settings = Settings()
    settings.setmodule("crawler.settings")
    formatter = load_object(settings["LOG_FORMATTER"])()
    spider: Any = SimpleNamespace(crawler=SimpleNamespace(settings=settings))
    item = _huge_item()
    exc = DropItem(f"duplicate: {item.response_url}")
    result = formatter.dropped(item, exc, None, spider)
    line = result["msg"] % result["args"]
    assert len(line) < 300, line
    assert line.startswith("Dropped: duplicate: https://www.m24.ru/news/transport/04022026/812345")
    assert "[m24]" in line and "«Электробусы Электробусы" in line and "…»" in line
    assert "вышли на новые маршруты" not in line  # no article text
    # The pipeline that dropped it logged the one warning (count_drop); Scrapy's line is DEBUG.
    assert result["level"] == logging.DEBUG
    error = formatter.item_error(item, ValueError("x"), None, spider)
    assert len(error["msg"] % error["args"]) < 300
