"""Fixed articles, a fake store and a config namespace shared by the feed and server tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import uvicorn

from crawler.models import Article, FeedBuild, TopicMatch
from feeds.server import create_app

MSK = timezone(timedelta(hours=3))
BASE_URL = "https://feeds.example.org/"


def dt(day: int, hour: int, minute: int = 0) -> datetime:
    """A Moscow time in March 2024 (tz-aware, as the store returns them)."""
    return datetime(2024, 3, day, hour, minute, tzinfo=MSK)


def sample_articles() -> list[Article]:
    """A small fixed store with the awkward cases of the reliability catalogue."""
    return [
        Article(
            url="https://www.m24.ru/news/transport/12032024/1",
            source="m24",
            title="Tom &amp;amp; Jerry: новый электробус 🚌 вышел на маршрут",
            published=dt(12, 14),
            updated=dt(12, 16, 30),
            summary="Электробусы на маршруте <b>м1</b>.",
            html=(
                '<p>Первый абзац с <a href="/news/other">ссылкой</a>.</p>'
                '<figure><img src="//cdn.m24.ru/img/bus.jpg" alt="Электробус"></figure>'
                "<p>Код ]]&gt; внутри и конец.</p>"
            ),
            authors=["Иван Петров", "Мария Сидорова"],
            section="Транспорт",
            image="/img/bus-main.jpg",
            language="ru",
            topics=[TopicMatch("electric-transport", 2.5, ["электробус"])],
        ),
        Article(
            url="https://vm.ru/news/1000-tramvaj",
            source="vm",
            title="Трамвай\x00 «Витязь-М»\x1b на\x0c Шаболовке\ud800",
            published=dt(12, 11),
            summary="",
            text="Новый трамвай «Витязь-М» начал ходить по Шаболовке.",
            html="<p>Новый трамвай «Витязь-М» начал ходить по Шаболовке.</p>",
            authors=[],
            section=None,
            image="https://vm.ru/images/tram.webp",
            topics=[TopicMatch("electric-transport", 1.5), TopicMatch("city", 1.0)],
        ),
        Article(
            url="https://www.m24.ru/news/city/11032024/2",
            source="m24",
            title="Парк Горького открыл сезон",
            published=dt(11, 9, 15),
            summary="Сезон открыт.",
            html="",
            section="Город",
            topics=[TopicMatch("city", 1.0)],
        ),
    ]


def edited(article: Article, *, hours: int = 2) -> Article:
    """``article`` as re-crawled after an edit: same URL and publication date, new text."""
    return replace(
        article,
        title=article.title + " (обновлено)",
        html=article.html + "<p>Дополнение редакции.</p>",
        updated=(article.updated or article.published) + timedelta(hours=hours),
    )


class FakeStore:
    """In-memory stand-in for ``crawler.storage.Store`` with the two methods the builder uses.

    A read fails when it includes a topic or source in ``failing``; ``reads`` counts the
    ``feed_articles`` calls. Build signatures are kept as the real store keeps them: a new store
    (the default in most tests) has none, so every feed renders.
    """

    def __init__(self, articles: list[Article], *, failing: set[str] | None = None) -> None:
        self.articles = list(articles)
        self.failing = failing or set()
        self.records: list[tuple[str, bool, str | None, int]] = []
        self.signatures: dict[str, tuple[str, str]] = {}
        self.reads = 0

    def newest_articles(
        self, *, topic: str | None = None, source: str | None = None, limit: int = 50
    ) -> list[Article]:
        if topic in self.failing or source in self.failing:
            raise RuntimeError(f"store exploded for {topic or source}")
        found = [
            a
            for a in self.articles
            if (topic is None or any(t.id == topic for t in a.topics))
            and (source is None or a.source == source)
        ]
        found.sort(key=lambda a: a.url)
        found.sort(key=lambda a: a.published, reverse=True)
        return found[:limit]

    def feed_articles(
        self,
        selections: Sequence[tuple[str | None, str | None]],
        *,
        limit: int = 50,
        stories: Sequence[bool] | None = None,  # no stories here: every article is its own
        sources: Collection[str] | None = None,
    ) -> list[list[Article]]:
        self.reads += 1
        return [
            [
                a
                for a in self.newest_articles(topic=t, source=s)
                if sources is None or a.source in sources
            ][:limit]
            for t, s in selections
        ]

    def record_feed_builds(self, outcomes: Sequence[FeedBuild]) -> None:
        for outcome in outcomes:
            self.records.append(tuple(outcome[:4]))  # type: ignore[arg-type]
            if outcome.ok and outcome.signature and outcome.stamp:
                self.signatures[outcome.path] = (outcome.signature, outcome.stamp)
            else:
                self.signatures.pop(outcome.path, None)

    def feed_signatures(self) -> dict[str, tuple[str, str]]:
        return dict(self.signatures)

    def feed_build_paths(self) -> set[str]:
        return {record[0] for record in self.records}

    def forget_feed_builds(self, paths: Collection[str]) -> None:
        self.records = [r for r in self.records if r[0] not in paths]
        for path in paths:
            self.signatures.pop(path, None)


def sample_config(output_dir: Path, **overrides: Any) -> SimpleNamespace:
    """The attributes of ``crawler.config.Config`` that the feed builder reads."""
    values: dict[str, Any] = dict(
        output_dir=output_dir,
        base_url=BASE_URL,
        feed_size=50,
        feed_max_html_chars=6000,
        timezone="Europe/Moscow",
        topics=[
            SimpleNamespace(
                id="electric-transport",
                title="Электротранспорт",
                description="Электробусы, трамваи, МЦД и зарядные станции",
                languages=["ru"],
                stories=True,
            ),
            SimpleNamespace(
                id="city",
                title="Городская среда",
                description="Парки и улицы",
                languages=[],
                stories=True,
            ),
        ],
        stories=SimpleNamespace(enabled=True, all_feed=True),
        sources=[
            SimpleNamespace(
                name="m24",
                title="Москва 24",
                url="https://www.m24.ru/",
                language="ru",
                city="Moscow",
            ),
            SimpleNamespace(
                name="vm",
                title="Вечерняя Москва",
                url="https://vm.ru/",
                language="ru",
                city="Moscow",
            ),
        ],
    )
    values.update(overrides)
    return SimpleNamespace(**values)


class ThreadedServer:
    """A uvicorn server running in a thread on an OS-chosen port."""

    def __init__(self, root: Path) -> None:
        config = uvicorn.Config(create_app(root), host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def raw_request(base: str, target: str, method: str = "GET") -> bytes:
    """Send ``target`` exactly as written (like ``curl --path-as-is``); the raw response."""
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
