"""Scrapy log formatter: one short line per dropped or failed item, never the whole article."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure

#: Characters of a title kept in a log line.
TITLE_CHARS = 80


def item_summary(item: Any) -> str:
    """``[source] url «title»``: enough to find the item, a few hundred bytes at most."""
    source = getattr(item, "source", None) or "?"
    url = getattr(item, "response_url", None) or getattr(item, "url", None) or "?"
    data = getattr(item, "article", None) or getattr(item, "data", None)
    title = (getattr(data, "title", None) or getattr(item, "hint_title", None) or "").strip()
    if len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS - 1] + "…"
    return f"[{source}] {url}" + (f" «{title}»" if title else "")


class CompactLogFormatter(LogFormatter):
    """Scrapy's formatter, except that dropped and failed items are summarised.

    The default appends the item's full repr (the article text and HTML, ~10 KB per duplicate)
    to every "Dropped:" line; the drop reason and URL are already in the exception message.
    """

    def dropped(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        result["msg"] = "Dropped: %(exception)s (%(item)s)"
        result["args"] = {"exception": exception, "item": item_summary(item)}
        return result

    def item_error(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        result = super().item_error(item, exception, response, spider)
        result["msg"] = "Error processing %(item)s"
        result["args"] = {"item": item_summary(item)}
        return result
