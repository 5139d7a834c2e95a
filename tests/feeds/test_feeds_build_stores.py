"""Feeds built from a real Store: valid on SQLite and PostgreSQL, byte-identical across the two."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from feeds_samples import dt, edited, sample_articles, sample_config

from crawler.models import Article, TopicMatch
from crawler.normalize.text import clean_text
from crawler.storage import Store
from feeds.build import build_feeds

NOW = datetime(2024, 3, 13, 12, 0, tzinfo=UTC)
FEEDS = ["all", "topics/electric-transport", "topics/city", "sources/m24", "sources/vm"]


def _articles() -> list[Article]:
    """The shared samples plus ties on the publication time (order must not depend on the DB)."""
    extra = [
        Article(
            url=f"https://vm.ru/news/{2000 + i}-elektrobus",
            source="vm",
            title=f"Электробус №{i} вышел на маршрут",
            published=dt(12, 10),  # same instant for all: the URL breaks the tie
            summary="Электробусы",
            html=f"<p>Электробус {i}.</p>",
            topics=[TopicMatch("electric-transport", 2.0, ["электробус"])],
        )
        for i in range(5)
    ]
    # The store holds normalized articles (NormalizePipeline strips NUL and lone surrogates,
    # which neither UTF-8 nor PostgreSQL text can hold); the feed layer's own hardening
    # against them is tested with the fake store in test_feeds_build.
    return [
        replace(a, title=clean_text(a.title), fetched_at=NOW) for a in [*sample_articles(), *extra]
    ]


def _fill(url: str) -> Store:
    store = Store.open(url)
    for article in _articles():
        store.upsert_article(article, now=NOW)
    return store


def _build(store: Store, output: Path) -> dict[str, bytes]:
    with store.snapshot():
        report = build_feeds(sample_config(output), store)
    assert report.ok, report.failures
    return {
        str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()
    }


def test_feeds_from_the_store_parse_cleanly(db_url: str, tmp_path: Path) -> None:
    store = _fill(db_url)
    try:
        files = _build(store, tmp_path / "out")
        for path in FEEDS:
            for ext in ("rss", "atom"):
                parsed = feedparser.parse(files[f"{path}.{ext}"])
                assert not parsed.bozo, (path, ext, parsed.get("bozo_exception"))
        all_rss = feedparser.parse(files["all.rss"])
        assert len(all_rss.entries) == len(_articles())
        ties = [e.link for e in all_rss.entries if "elektrobus" in e.link]
        assert ties == sorted(ties)  # equal publication times: ordered by URL

        # Nothing new: every feed is kept as written, without rendering.
        with store.snapshot():
            report = build_feeds(sample_config(tmp_path / "out"), store)
        assert report.reused == FEEDS and report.changed == []
        assert set(store.feed_signatures()) == set(FEEDS)

        # An edit is published in place; the store's feed reflects it.
        store.upsert_article(
            replace(edited(_articles()[0]), fetched_at=NOW), now=NOW + timedelta(hours=2)
        )
        with store.snapshot():
            report = build_feeds(sample_config(tmp_path / "out"), store)
        assert sorted(report.reused) == ["sources/vm", "topics/city"]
        again = {k: (tmp_path / "out" / k).read_bytes() for k in files}
        assert again["all.rss"] != files["all.rss"]
        assert "(обновлено)" in again["sources/m24.atom"].decode()
    finally:
        store.close()


def test_sqlite_and_postgres_publish_identical_bytes(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    built = {}
    for name, url in (("sqlite", sqlite_url), ("postgres", postgres_url)):
        store = _fill(url)
        try:
            built[name] = _build(store, tmp_path / name)
        finally:
            store.close()
    assert set(built["sqlite"]) == set(built["postgres"])
    for path, data in built["sqlite"].items():
        assert built["postgres"][path] == data, path


@pytest.mark.slow
def test_end_to_end_crawl_into_postgres_matches_sqlite(postgres_url: str, tmp_path: Path) -> None:
    from cityfeeds.cli import main
    from cityfeeds.devtools.demo_server import serve_site
    from cityfeeds.devtools.demo_site import STORIES
    from crawler.config import load_config
    from tests.conftest import write_site_config

    outputs = {}
    with serve_site() as site:
        for name, extra in (
            ("sqlite", None),
            ("postgres", {"cityfeeds": {"database_url": postgres_url}}),
        ):
            (tmp_path / name).mkdir()
            cfg = write_site_config(tmp_path / name, site.base_url, extra=extra)
            assert main(["--config", str(cfg), "crawl", "--quiet"]) == 0
            config = load_config(cfg)
            store = Store.open(config.database_url)
            try:
                assert store.count_articles() == len(STORIES)
                assert store.recent_runs("demo")[0]["status"] == "ok"
            finally:
                store.close()
            out = config.output_dir
            outputs[name] = {
                str(p.relative_to(out)): p.read_bytes()
                for p in sorted(out.rglob("*"))
                if p.is_file()
            }
    assert outputs["postgres"] == outputs["sqlite"]


def test_a_source_removed_from_the_config_leaves_every_feed(db_url: str, tmp_path: Path) -> None:
    store = _fill(db_url)
    try:
        files = _build(store, tmp_path / "out")
        assert "vm.ru" in files["all.rss"].decode()
        config = sample_config(tmp_path / "out")
        config.sources = [s for s in config.sources if s.name != "vm"]
        with store.snapshot():
            report = build_feeds(config, store)
        assert report.ok, report.failures
        out = tmp_path / "out"
        assert not list(out.glob("sources/vm.*"))
        for name in ("all", "topics/electric-transport", "topics/city"):
            for ext in ("rss", "atom", "json"):
                assert "vm.ru" not in (out / f"{name}.{ext}").read_text(encoding="utf-8")
        assert feedparser.parse((out / "all.rss").read_bytes()).entries  # m24's remain
        # Its build records are forgotten: the status shows no feed of a removed source.
        assert not any(b["path"] == "sources/vm" for b in store.feed_build_status())
    finally:
        store.close()
