"""HeadMetaRefreshMiddleware: Scrapy's meta-refresh redirects, pages without one left undecoded."""

from __future__ import annotations

from pathlib import Path

import pytest
from mw_samples import make_crawler
from scrapy.http import HtmlResponse, Request

from crawler.middlewares.meta_refresh import HeadMetaRefreshMiddleware

FILLER = "<p>" + "Текст статьи о новом электробусе. " * 3000 + "</p>"


def page(head: str, encoding: str = "utf-8") -> tuple[Request, HtmlResponse]:
    request = Request("https://vm.ru/news/1")
    html = f"<html><head>{head}</head><body>{FILLER}</body></html>"
    body = html.encode(encoding)
    headers = {"Content-Type": f"text/html; charset={encoding}"}
    return request, HtmlResponse(request.url, body=body, headers=headers)


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        ('<meta http-equiv="refresh" content="0; url=/news/2">', "utf-8"),
        ('<META HTTP-EQUIV="Refresh" CONTENT="0;URL=/news/2">', "utf-8"),
        ('<meta http-equiv="refresh" content="0; url=/news/2">', "cp1251"),
        ('<meta http-equiv="refresh" content="0; url=/news/2">', "utf-16"),
    ],
)
def test_a_meta_refresh_redirects_as_with_scrapy(tmp_path: Path, head: str, encoding: str) -> None:
    mw = HeadMetaRefreshMiddleware.from_crawler(make_crawler(tmp_path))
    redirected = mw.process_response(*page(head, encoding))
    assert isinstance(redirected, Request)
    assert redirected.url == "https://vm.ru/news/2"


def test_a_page_without_one_is_passed_on_without_decoding_it(tmp_path: Path) -> None:
    mw = HeadMetaRefreshMiddleware.from_crawler(make_crawler(tmp_path))
    request, response = page('<meta name="description" content="Новости">')
    assert mw.process_response(request, response) is response
    # Scrapy's own check caches the decoded text on the response; this one never asked for it.
    assert getattr(response, "_cached_ubody", None) is None


def test_a_refresh_beyond_scrapys_4096_characters_is_ignored_by_both(tmp_path: Path) -> None:
    mw = HeadMetaRefreshMiddleware.from_crawler(make_crawler(tmp_path))
    late = "<script>" + "x" * 5000 + '</script><meta http-equiv="refresh" content="0; url=/n/2">'
    request, response = page(late)
    assert mw.process_response(request, response) is response
