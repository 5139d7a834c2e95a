"""Fault catalogue C1–C9 (duplicates and identity): one story, many URLs, stable feeds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.support import CrawlResult, Lab, article_html, dropped, html_route, rss

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def _page(title: str, canonical: str | None = None, body: list[str] | None = None) -> bytes:
    head = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return article_html(title, body, head=head).encode()


class Dup:
    def __init__(
        self, lab: Lab, sites: dict[str, Any], first: CrawlResult, second: CrawlResult
    ) -> None:
        self.lab, self.sites, self.first, self.second = lab, sites, first, second


@pytest.fixture(scope="module")
def dup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dup]:
    lab = Lab(tmp_path_factory.mktemp("c_duplicates"))
    sites: dict[str, Any] = {}
    try:
        # C1: one story under a trailing slash, an upper-case host and an https canonical.
        s = sites["c1"] = lab.site()
        port = s.httpd.server_address[1]
        root = f"http://c1.test:{port}"
        lab.fake_dns["c1.test"] = "127.0.0.1"
        s.routes["/news/1"] = html_route(
            _page("Одна новость под разными адресами", f"{root}/news/1")
        )
        s.routes["/news/1/"] = html_route(
            _page("Одна новость под разными адресами", f"https://C1.test:{port}/news/1/")
        )
        s.routes["/rss.xml"] = html_route(
            rss(root + "/", ["/news/1", "/news/1/", f"http://C1.TEST:{port}/news/1/"]),
            "application/rss+xml",
        )
        lab.source("c1", root + "/", allowed_domains=["c1.test"])

        # C2: tracking parameters.
        s = sites["c2"] = lab.site()
        paths = [
            "/news/2?utm_source=tg&utm_medium=x",
            "/news/2?fbclid=IwAR0abc",
            "/news/2?yclid=123456",
        ]
        for p in paths:
            s.routes[p] = html_route(_page("Новость с метками рекламных кампаний"))
        s.routes["/rss.xml"] = html_route(rss(s.base, paths), "application/rss+xml")
        lab.source("c2", s.base)

        # C3: an AMP copy pointing at its canonical page.
        s = sites["c3"] = lab.site()
        s.routes["/amp/3"] = html_route(_page("Новость с AMP-версией страницы", s.base + "news/3"))
        s.routes["/news/3"] = html_route(_page("Новость с AMP-версией страницы", s.base + "news/3"))
        s.routes["/rss.xml"] = html_route(rss(s.base, ["/amp/3"]), "application/rss+xml")
        lab.source("c3", s.base)

        # C4: an article edited between the two crawls.
        s = sites["c4"] = lab.site()
        s.routes["/news/4"] = html_route(_page("Первая версия заголовка новости"))
        s.routes["/rss.xml"] = html_route(rss(s.base, ["/news/4"]), "application/rss+xml")
        lab.source("c4", s.base)

        # C6: an article whose URL answers an error page by the second crawl.
        c6 = sites["c6"] = lab.site()
        long_body = [
            "Трамвайную линию на Сущёвском Валу закроют на ремонт до конца месяца.",
            "Пассажиров перевезут электробусы компенсационного маршрута КТм.",
            "Рабочие заменят рельсы, шпалы и контактную сеть на участке в два километра.",
            "Движение трамваев по Новослободской улице восстановят к первому декабря.",
        ]
        c6.routes["/news/6"] = html_route(_page("Ремонт трамвайных путей", body=long_body))
        c6.routes["/rss.xml"] = html_route(rss(c6.base, ["/news/6"]), "application/rss+xml")
        lab.source("c6", c6.base)

        # C7: pages naming a different article's URL as their canonical (a hostile page, a CMS
        # bug): after the article, and before it in one run.
        c7 = sites["c7"] = lab.site()
        real_body = ["Первые электробусы вышли на маршрут 904 в Новой Москве."]
        fake_body = ["Маршрут электробусов отменили навсегда, сообщил неизвестный источник."] * 8
        c7.routes["/news/57"] = html_route(
            _page("Электробусы вышли на маршрут 904", body=real_body)
        )
        c7.routes["/news/88"] = html_route(
            _page("Трамваи отменили навсегда", c7.base + "news/87", body=fake_body)
        )
        c7.routes["/news/87"] = html_route(_page("Трамваи вернулись на Сущёвский Вал"))
        # Two days' weather under one headline, the first naming the second; a tag page as
        # canonical; two pages naming each other.
        weather = "Погода в Новосибирске на выходные"
        c7.routes["/news/61"] = html_route(
            _page(weather, c7.base + "news/62", body=["Мороз до минус тридцати градусов."] * 4)
        )
        c7.routes["/news/62"] = html_route(_page(weather, body=["Оттепель и мокрый снег."] * 4))
        c7.routes["/news/63"] = html_route(_page("Снегопад в городе", c7.base + "tag/snow"))
        c7.routes["/news/64"] = html_route(_page("Мост откроют в мае", c7.base + "news/65"))
        c7.routes["/news/65"] = html_route(_page("Фестиваль света", c7.base + "news/64"))
        c7.routes["/rss.xml"] = html_route(
            rss(
                c7.base,
                ["/news/57", "/news/88", "/news/87", *(f"/news/{n}" for n in range(61, 66))],
            ),
            "application/rss+xml",
        )
        lab.source("c7", c7.base)

        # C8: a site whose article URLs end in "/" (Bitrix, WordPress): the slashless form
        # answers 404; an AMP copy whose canonical ends in "/"; a row an older version stored
        # slashless; in the second run the site links the slashless form of a page too.
        c8 = sites["c8"] = lab.site()
        c8.routes["/news/detail/12345/"] = html_route(
            _page("Бульвар на Лесной улице откроют в мае", c8.base + "news/detail/12345/")
        )
        c8.routes["/2026/12/06/tramvai-lesnaya/"] = html_route(
            _page("Трамвай вернётся на Лесную улицу")
        )
        c8.routes["/amp/news/8/"] = html_route(
            _page("Новость с AMP-версией и слешем", c8.base + "news/8/")
        )
        c8.routes["/news/9/"] = html_route(_page("Сохранённая без слеша новость"))
        c8_links = ["/news/detail/12345/", "/2026/12/06/tramvai-lesnaya/", "/amp/news/8/"]
        c8.routes["/rss.xml"] = html_route(
            rss(c8.base, [*c8_links, "/news/9/"]), "application/rss+xml"
        )
        lab.source("c8", c8.base)
        _store_as_older_versions_did(lab, "c8", c8.base + "news/9", "Сохранённая без слеша новость")

        # C9: an article stored in the first run, copied under a new URL by the second.
        c9 = sites["c9"] = lab.site()
        c9.routes["/news/1"] = html_route(_page("Новый трамвай вышел на линию"))
        c9.routes["/rss.xml"] = html_route(rss(c9.base, ["/news/1"]), "application/rss+xml")
        lab.source("c9", c9.base)

        first = lab.run()
        c9.routes["/news/101"] = c9.routes["/news/1"]
        c9.routes["/rss.xml"] = html_route(
            rss(c9.base, ["/news/101", "/news/1"]), "application/rss+xml"
        )
        c8.routes["/2026/12/06/tramvai-lesnaya"] = c8.routes["/2026/12/06/tramvai-lesnaya/"]
        c8.routes["/rss.xml"] = html_route(
            rss(c8.base, ["/2026/12/06/tramvai-lesnaya", "/news/9"]), "application/rss+xml"
        )
        for n, title in ((78, "Электробусы отменены навсегда"), (79, "Ещё одна новость")):
            c7.routes[f"/news/{n}"] = html_route(_page(title, c7.base + "news/57", body=fake_body))
        c7.routes["/rss.xml"] = html_route(
            rss(
                c7.base,
                ["/news/57", "/news/78", "/news/79", *(f"/news/{n}" for n in range(61, 66))],
            ),
            "application/rss+xml",
        )
        c6.routes["/news/6"] = html_route(
            "<html><head><title>Ошибка</title></head>"
            "<body><h1>Ошибка</h1><p>Service temporarily unavailable, please try later</p>"
            "</body></html>"
        )
        s.routes["/news/4"] = html_route(
            _page(
                "Исправленная версия заголовка новости",
                body=["Текст дополнен новыми подробностями о событии."],
            )
        )
        second = lab.run()
        yield Dup(lab, sites, first, second)
    finally:
        lab.close()


def _store_as_older_versions_did(lab: Lab, source: str, url: str, title: str) -> None:
    """Store ``url``'s article as a version before the slash was kept stored it (no slash)."""
    from datetime import UTC, datetime

    from crawler.config import load_config
    from crawler.models import Article
    from crawler.storage import Store

    store = Store.open(load_config(lab.config_path()).database_url)
    try:
        now = datetime.now(UTC)
        article = Article(url=url, source=source, title=title, published=now, text=title)
        store.upsert_article(article, now=now)
    finally:
        store.close()


def test_c1_same_article_two_urls(dup: Dup) -> None:
    [article] = dup.second.articles("c1")
    assert article.url.endswith("/news/1") and "c1.test" in article.url
    assert dup.first.runs["c1"]["new"] == 1
    # The feed's three links are one URL identity: the page is fetched once, not three times.
    assert dup.sites["c1"].hits("/news/1/") == 0 and not dropped(dup.first.runs["c1"])


def test_c2_tracking_params_stripped(dup: Dup) -> None:
    [article] = dup.second.articles("c2")
    assert article.url == dup.sites["c2"].base + "news/2"
    feed = dup.second.feed("sources/c2.rss")
    assert [e.id for e in feed.entries] == [article.url]  # GUID without utm_/fbclid/yclid


def test_c3_amp_deduplicated_to_canonical(dup: Dup) -> None:
    [article] = dup.second.articles("c3")
    assert article.url == dup.sites["c3"].base + "news/3"
    for ext in ("rss", "atom", "json"):
        text = (dup.second.config.output_dir / f"sources/c3.{ext}").read_text(encoding="utf-8")
        assert "/amp/" not in text


def test_c4_updated_article_in_place(dup: Dup) -> None:
    [article] = dup.second.articles("c4")
    assert article.title == "Исправленная версия заголовка новости"
    assert dup.second.runs["c4"]["updated"] == 1 and dup.second.runs["c4"]["new"] == 0
    assert article.updated is not None and article.published < article.updated
    feed = dup.second.feed("sources/c4.atom")
    assert len(feed.entries) == 1  # no new feed item
    assert feed.entries[0].id == article.url  # GUID unchanged
    assert feed.entries[0].title == article.title


def test_c5_rebuild_is_byte_identical(dup: Dup) -> None:
    from cityfeeds.publishing import rebuild_feeds

    out = dup.second.config.output_dir
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    etag = _served_etag(out, "/all.rss")
    rebuild_feeds(dup.second.config)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert _served_etag(out, "/all.rss") == etag


def _served_etag(out: Path, path: str) -> str:
    """The ETag the feed server gives ``path`` of ``out`` (in process, over ASGI)."""
    import anyio
    import httpx

    from feeds.server import create_app

    async def get() -> str:
        transport = httpx.ASGITransport(app=create_app(out))
        async with httpx.AsyncClient(transport=transport, base_url="http://feeds.test") as c:
            return (await c.get(path)).headers["etag"]

    return anyio.run(get)


def test_c6_an_error_page_under_a_stored_url_does_not_replace_the_article(dup: Dup) -> None:
    [article] = dup.second.articles("c6")
    assert article.title == "Ремонт трамвайных путей" and "Сущёвском Валу" in article.text
    run = dup.second.runs["c6"]
    assert run["updated"] == 0 and dropped(run) == {"shrunk_update": 1}
    assert [e.title for e in dup.second.feed("sources/c6.rss").entries] == [article.title]


def test_c7_a_page_naming_another_articles_url_as_canonical_keeps_its_own(dup: Dup) -> None:
    base = dup.sites["c7"].base
    stored = {a.url.removeprefix(base): a for a in dup.second.articles("c7")}
    assert sorted(stored) == [
        "news/57", "news/61", "news/62", "news/63", "news/64", "news/65",
        "news/78", "news/79", "news/87", "news/88",
    ]  # fmt: skip
    assert stored["news/57"].title == "Электробусы вышли на маршрут 904"
    assert stored["news/87"].title == "Трамваи вернулись на Сущёвский Вал"
    assert "Мороз" in stored["news/61"].text and "Оттепель" in stored["news/62"].text
    assert (stored["news/64"].title, stored["news/65"].title) == (
        "Мост откроют в мае",
        "Фестиваль света",
    )
    for claim in ("news/61", "news/63", "news/64", "news/65", "news/78", "news/79", "news/88"):
        assert "canonical_ignored" in stored[claim].flags
    assert dup.second.runs["c7"]["updated"] == 0
    entries = {e.id: e.title for e in dup.second.feed("sources/c7.rss").entries}
    assert entries[base + "news/57"] == "Электробусы вышли на маршрут 904"


def test_c8_links_keep_the_sites_trailing_slash(dup: Dup) -> None:
    base = dup.sites["c8"].base
    expected = {
        base + "news/detail/12345/",
        base + "2026/12/06/tramvai-lesnaya/",
        base + "news/8/",  # the AMP copy's canonical, as the site writes it
        base + "news/9/",  # stored slashless by an older version: repaired once
    }
    for run in (dup.first, dup.second):  # the second run links two of them without "/"
        assert {a.url for a in run.articles("c8")} == expected
    assert dup.sites["c8"].hits("/news/detail/12345") == 0
    assert dup.first.runs["c8"]["new"] == 3 and not dropped(dup.first.runs["c8"])
    assert dup.second.runs["c8"]["new"] == 0
    # Links and GUIDs in every format carry the slash.
    assert {e.id for e in dup.second.feed("sources/c8.rss").entries} == expected
    assert {e.link for e in dup.second.feed("sources/c8.atom").entries} == expected
    items = json.loads((dup.second.config.output_dir / "sources/c8.json").read_text())["items"]
    assert {i["id"] for i in items} == {i["url"] for i in items} == expected


def test_c9_a_copy_of_a_stored_article_under_a_new_url_is_dropped(dup: Dup) -> None:
    base = dup.sites["c9"].base
    assert dup.first.runs["c9"]["new"] == 1
    [article] = dup.second.articles("c9")
    assert article.url == base + "news/1"
    run = dup.second.runs["c9"]
    assert run["new"] == 0 and dropped(run) == {"duplicate": 1}
    assert [e.id for e in dup.second.feed("sources/c9.rss").entries] == [base + "news/1"]
