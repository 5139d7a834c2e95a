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


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--title", "Электробусы", "--topic", "electric-transport"], "--topic goes with"),
        (["--title", "  "], "--title is required"),
    ],
)
def test_classify_refuses_what_it_would_ignore(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", CONFIG, "classify", *args]) == 2
    assert says in capsys.readouterr().err


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


def test_classify_reads_a_lead_alone_as_a_crawl_stores_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A crawl keeps the lead as the summary and as the text's first paragraph: scored once, the
    # lead's «МЦД» (0.7 x summary 2) stayed below the threshold a crawl reaches (1.4 + 0.7).
    title = "Пригородные поезда Казанского направления пойдут по новому графику"
    lead = "Изменения связаны с запуском МЦД-3."
    args = ["--config", CONFIG, "classify", "--json", "--title", title, "--summary", lead]
    assert main(args) == 0
    [topic] = [t for t in json.loads(capsys.readouterr().out)["topics"] if t["id"] == ET]
    assert topic["evidence"] == ["summary: МЦД ← «МЦД»", "body: МЦД ← «МЦД»"]


def test_classify_needs_a_title_or_a_labelled_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", CONFIG, "classify", "--summary", "Электробусы"]) == 2
    assert "--title is required" in capsys.readouterr().err


ET = "electric-transport"


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_classify_labelled_reports_figures_and_each_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = _write(
        tmp_path / "mine.jsonl",
        [
            {"id": "a", "title": "Новые электробусы вышли на маршрут", "label": True},
            {"id": "b", "title": "Тарифы на электроэнергию вырастут", "label": False},
            {"id": "c", "title": "Электрички пойдут по новому графику", "label": False},
            {"id": "d", "title": "Экологичные машины закупят", "label": True},
        ],
    )
    args = ["--config", CONFIG, "classify", "--labelled", str(labelled), "--topic", ET]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases"] == 4
    assert report["topics"] == {
        ET: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "fp": 1, "fn": 1}
    }
    assert [(e["kind"], e["id"], e["score"]) for e in report["errors"]] == [
        ("FP", "c", 2.1),
        ("FN", "d", 0.0),
    ]
    assert report["errors"][0]["evidence"][0] == "title: электричк* ← «Электрички»"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"{ET:24}  0.500  0.500  0.500    1    1    1" in out
    assert "FP electric-transport [c] 2.1: Электрички пойдут по новому графику" in out


def test_classify_labelled_with_labels_scores_every_topic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = _write(
        tmp_path / "mine.jsonl",
        [
            {"title": "Новые электробусы", "summary": "Вышли на маршрут.", "labels": [ET]},
            {"text": "Тверскую улицу перекроют для ремонта дороги.", "labels": ["road-works"]},
        ],
    )
    assert main(["--config", CONFIG, "classify", "--json", "--labelled", str(labelled)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["topics"][ET]["tp"] == 1 and report["topics"]["road-works"]["tp"] == 1
    # The first electric-transport case is also public transport (labelled only as e-buses).
    assert [(e["kind"], e["topic"]) for e in report["errors"]] == [("FP", "public-transport")]


@pytest.mark.parametrize(
    ("row", "extra", "message"),
    [
        ({"title": "x", "label": True}, [], '"label" needs --topic'),
        ({"title": "x"}, [], 'needs "labels"'),
        ({"label": True}, ["--topic", ET], "needs a title, summary or text"),
        ({"title": "x", "label": True}, ["--topic", "nope"], "no topic 'nope'"),
        # A label that names no topic would count the intended topic's matches as FPs.
        ({"title": "x", "labels": ["Electric-Transport"]}, [], "does not have: Electric-Transport"),
        ({"title": None, "text": 123, "labels": [ET]}, [], '"text" must be text'),
        ({"title": "x", "labels": [ET], "label": True}, ["--topic", ET], "give one"),
        ({"title": "x", "labels": [ET]}, ["--title", "y"], "drop --title"),
    ],
)
def test_classify_labelled_refuses_an_unusable_set(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    row: dict[str, object],
    extra: list[str],
    message: str,
) -> None:
    labelled = _write(tmp_path / "mine.jsonl", [row])
    assert main(["--config", CONFIG, "classify", "--labelled", str(labelled), *extra]) == 2
    assert message in capsys.readouterr().err


def test_classify_labelled_refuses_an_empty_set_and_reads_a_bom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    assert main(["--config", CONFIG, "classify", "--labelled", str(empty)]) == 2
    assert "holds no labelled rows" in capsys.readouterr().err
    # Saved by a Windows editor: a BOM and CRLF line ends.
    bom = tmp_path / "bom.jsonl"
    row = json.dumps({"title": "Новые электробусы вышли на маршрут", "labels": [ET]})
    bom.write_bytes(b"\xef\xbb\xbf" + row.encode() + b"\r\n")
    assert main(["--config", CONFIG, "classify", "--labelled", str(bom)]) == 0
    assert "1 labelled cases" in capsys.readouterr().out


def test_classify_source_scores_with_the_source_s_city(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A crawl scores a source's articles with its city: --source alone must too, or a city
    # topic is silently missing from `classify --source NAME` (a tester's false negative).
    import tomli_w

    config = {
        "sources": [
            {"name": "kazan", "title": "Казань", "url": "https://kazan.example/", "city": "Kazan"},
            {"name": "msk", "title": "Москва", "url": "https://msk.example/"},
        ],
        "topics": [
            {
                "id": "metro",
                "title": "Метро",
                "description": "Метро Казани",
                "cities": ["Kazan"],
                "include": {"метро": 2.0},
            }
        ],
    }
    cfg = tmp_path / "cityfeeds.toml"
    cfg.write_text(tomli_w.dumps(config), encoding="utf-8")
    title = ["--title", "Новая станция метро в Казани"]
    for extra, expected in (
        (["--source", "kazan"], ["metro"]),
        (["--source", "kazan", "--city", "Moscow"], []),
        (["--source", "msk"], []),
    ):
        assert main(["--config", str(cfg), "classify", "--json", *title, *extra]) == 0
        topics = json.loads(capsys.readouterr().out)["topics"]
        assert [t["id"] for t in topics] == expected, extra
