"""``cityfeeds classify`` and ``cityfeeds topics``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cityfeeds.cli import main
from crawler.models import Article, TopicMatch
from crawler.storage import Store

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "cityfeeds.toml")


@pytest.fixture(autouse=True)
def _database(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.setenv("CITYFEEDS_DATABASE_URL", sqlite_url)


def test_classify_json(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "--config",
            CONFIG,
            "classify",
            "--json",
            "--title",
            "Кластер электромобилестроения появился в Москве",
        ]
    )
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "topics": [
            {
                "id": "electric-transport",
                "score": 3.0,
                "evidence": ["title: электромобил* ← «электромобилестроения»"],
            }
        ]
    }


def test_classify_text_shows_score_and_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "--config",
            CONFIG,
            "classify",
            "--title",
            "Новые электробусы",
            "--summary",
            "Электробусы КАМАЗ-6282 вышли на маршрут",
        ]
    )
    out = capsys.readouterr().out
    assert "electric-transport  " in out
    assert "  title: электробус* ← «электробусы»" in out


def test_classify_false_friend_matches_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--config", CONFIG, "classify", "--json", "--title", "Тарифы на электроэнергию вырастут"])
    assert json.loads(capsys.readouterr().out) == {"topics": []}


def test_topics_lists_every_topic_with_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", CONFIG, "topics", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows][:3] == ["electric-transport", "public-transport", "road-works"]
    assert all(r["articles"] == 0 for r in rows)


def test_topics_count_only_the_configured_sources_articles(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source removed from the config leaves the feeds, so its articles leave the counts."""
    store = Store.open(sqlite_url)
    try:
        for n, source in enumerate(["m24", "m24", "gone"]):
            article = Article(
                url=f"https://{source}.example.ru/news/{n}",
                source=source,
                title=f"Электробус {n}",
                published=datetime(2026, 11, 20, 9, n, tzinfo=UTC),
                topics=[TopicMatch("electric-transport", 3.0, ["title: электробус"])],
            )
            store.upsert_article(article, now=datetime(2026, 11, 21, tzinfo=UTC))
    finally:
        store.close()
    assert main(["--config", CONFIG, "topics", "--json"]) == 0
    counts = {r["id"]: r["articles"] for r in json.loads(capsys.readouterr().out)}
    assert counts["electric-transport"] == 2
    assert main(["--config", CONFIG, "topics"]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if "electric-transport" in line]
    assert row.split()[:2] == ["electric-transport", "2"]


def test_classify_all_says_which_required_group_a_scoring_topic_lacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # road-works scores 3 (threshold 2) on works alone, but requires a road word: it was
    # shown "below threshold 2".
    title = "Капитальный ремонт и реконструкция завершатся в понедельник"
    assert main(["--config", CONFIG, "classify", "--all", "--title", title]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "road-works  3  (requires road)" in lines
    assert "electric-transport  0  (below threshold 2)" in lines
