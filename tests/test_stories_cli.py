"""`cityfeeds stories` lists joined reports with their evidence; `feeds --recluster` rebuilds."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomli_w
from stories_samples import ROUTE_776_M24, ROUTE_776_MOS, ROUTE_812, report

from cityfeeds.cli import main
from crawler.storage import Store
from crawler.stories.settings import StorySettings
from tests.conftest import ROOT


def _setup(tmp_path: Path) -> tuple[Path, str]:
    raw = tomllib.loads((ROOT / "cityfeeds.toml").read_text(encoding="utf-8"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    raw["cityfeeds"] = {"output_dir": str(tmp_path / "out"), "database_url": db}
    cfg = tmp_path / "c.toml"
    cfg.write_text(tomli_w.dumps(raw), encoding="utf-8")
    now = datetime.now(UTC).replace(microsecond=0)
    batch = [
        report(1, "mosru", ROUTE_776_MOS, published=now - timedelta(hours=3)),
        report(2, "m24", ROUTE_776_M24, published=now - timedelta(hours=2)),
        report(3, "vm", ROUTE_812, published=now - timedelta(hours=1)),
    ]
    store = Store.open(db)
    try:
        results = store.upsert_articles(batch, now=now)
        pairs = [(r.article_id, a) for r, a in zip(results, batch, strict=True)]
        store.assign_stories(pairs, settings=StorySettings(), now=now)
    finally:
        store.close()
    return cfg, db


def test_stories_lists_members_and_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, _ = _setup(tmp_path)
    assert main(["--config", str(cfg), "stories", "--json"]) == 0
    [story] = json.loads(capsys.readouterr().out)
    assert [m["url"] for m in story["members"]] == [
        "https://mosru.example.ru/news/1",
        "https://m24.example.ru/news/2",
    ]
    assert story["members"][1]["evidence"][0].startswith("similarity")
    assert "numbers 776" in story["members"][1]["evidence"]
    assert main(["--config", str(cfg), "stories", "--all", "--topic", "electric-transport"]) == 0
    text = capsys.readouterr().out
    assert text.count("story ") == 2 and "(first)" in text and "numbers 776" in text
    assert main(["--config", str(cfg), "stories", "--since", "1m", "--topic", "road-works"]) == 0
    assert "No stories" in capsys.readouterr().out


def test_a_removed_sources_reports_leave_the_stories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As in the feeds (README "Removing a source"): the story "mosru" reported first starts
    at m24's report, now its first; a story of one kept report is no longer listed."""
    cfg, _ = _setup(tmp_path)
    raw = tomllib.loads(cfg.read_text(encoding="utf-8"))
    raw["sources"] = [s for s in raw["sources"] if s["name"] != "mosru"]
    cfg.write_text(tomli_w.dumps(raw), encoding="utf-8")
    assert main(["--config", str(cfg), "stories", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--config", str(cfg), "stories", "--all", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    members = [m for s in listed for m in s["members"]]
    assert sorted(m["source"] for m in members) == ["m24", "vm"]
    [m24] = [m for m in members if m["source"] == "m24"]
    assert (m24["matched"], m24["evidence"]) == (None, [])
    assert main(["--config", str(cfg), "stories", "--all"]) == 0
    text = capsys.readouterr().out
    assert "mosru" not in text and text.count("(first)") == 2


def test_feeds_recluster_rebuilds_the_stories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, db = _setup(tmp_path)
    assert main(["--config", str(cfg), "feeds", "--recluster"]) == 0
    assert "Re-clustered 3 article(s) into 2 stories." in capsys.readouterr().out
    store = Store.open(db)
    try:
        [story] = store.recent_stories(since=datetime(2000, 1, 1, tzinfo=UTC), min_size=2)
        assert len(story.members) == 2
    finally:
        store.close()


def test_with_clustering_off_recluster_makes_no_stories_and_stories_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`[stories] enabled = false` turns clustering off everywhere: `feeds --recluster` makes
    no stories (those made before stay, unused by the feeds) and `stories` says it is off."""
    cfg, db = _setup(tmp_path)
    raw = tomllib.loads(cfg.read_text(encoding="utf-8"))
    raw["stories"] = {**raw.get("stories", {}), "enabled": False}
    cfg.write_text(tomli_w.dumps(raw), encoding="utf-8")
    assert main(["--config", str(cfg), "feeds", "--recluster"]) == 0
    out = capsys.readouterr().out
    assert "clustering is off" in out and "Re-clustered" not in out
    store = Store.open(db)
    try:  # the stories made while it was on, untouched
        [story] = store.recent_stories(since=datetime(2000, 1, 1, tzinfo=UTC), min_size=2)
        assert len(story.members) == 2
    finally:
        store.close()
    assert main(["--config", str(cfg), "stories"]) == 0
    captured = capsys.readouterr()
    assert "clustering is off" in captured.err and "\n" not in captured.err.strip()


def test_since_needs_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["stories", "--since", "yesterday"])
    assert "expected e.g. 30m, 12h or 2d" in capsys.readouterr().err


@pytest.mark.parametrize("since", ["99999999d", "9" * 400 + "d", "36501d"])
def test_since_is_bounded(since: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Once an OverflowError traceback (a date before year 1); now a usage error.
    with pytest.raises(SystemExit) as info:
        main(["stories", "--since", since])
    assert info.value.code == 2
    assert "at most 36500d" in capsys.readouterr().err
