"""``cityfeeds prune`` and the service's daily prune job ([retention])."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Lock

import feedparser
import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent

from cityfeeds.cli import main
from cityfeeds.publishing import rebuild_feeds
from cityfeeds.retention import prune
from cityfeeds.service import Service
from cityfeeds.service.jobs import PRUNE_DELAY, PRUNE_EVERY, PRUNE_JOB, note_job_event
from crawler.clock import utcnow
from crawler.config import Config, load_config
from crawler.models import Article
from crawler.storage import RunStats, Store
from tests.cityfeeds.service_fakes import Clock, FakeCrawl, source
from tests.conftest import write_site_config


def _config(tmp_path: Path, **retention: int) -> Config:
    extra = {
        "schedule": {"jitter": 0, "serve": False, "spread": False},
        "retention": retention,
    }
    path = write_site_config(
        tmp_path, "http://127.0.0.1:9/", sources=[source("alpha")], extra=extra
    )
    return load_config(path)


def _fill(config: Config, now: datetime) -> None:
    """Three runs of alpha (two of them a year old) and one article of 400 days ago."""
    store = Store.open(config.database_url)
    try:
        for days in (400, 390, 1):
            run_id = store.start_run("alpha", now=now - timedelta(days=days))
            store.finish_run(run_id, status="ok", stats=RunStats(), now=now - timedelta(days=days))
        published = now - timedelta(days=400)
        store.upsert_article(
            Article(
                url="http://127.0.0.1:9/news/1",
                source="alpha",
                title="Старая новость",
                summary="Кратко о старом.",
                text="Полный текст. " * 50,
                html="<p>Полный текст.</p>",
                published=published,
            ),
            now=published,
        )
    finally:
        store.close()


def test_prune_dry_run_then_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, runs_days=180, text_days=30)
    _fill(config, utcnow())
    args = ["--config", str(config.path), "prune"]

    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete 2 run record(s) finished over 180 day(s) ago" in out
    assert "would drop the text and HTML of 1 article(s)" in out
    store = Store.open(config.database_url)
    assert len(store.recent_runs("alpha")) == 3  # nothing changed

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Runs: deleted 2 run record(s)" in out
    assert "Articles: dropped the text and HTML of 1 article(s)" in out
    assert len(store.recent_runs("alpha")) == 1
    article = store.get_article("http://127.0.0.1:9/news/1")
    assert article is not None and article.text == "" and article.title == "Старая новость"

    assert main(args) == 0  # again: nothing left to do
    assert "deleted 0 run record(s)" in capsys.readouterr().out
    store.close()


def test_prune_with_retention_off_keeps_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, runs_days=0, text_days=0)
    _fill(config, utcnow())
    assert main(["--config", str(config.path), "prune"]) == 0
    out = capsys.readouterr().out
    assert "kept forever ([retention] runs_days = 0)" in out
    assert "texts kept forever ([retention] text_days = 0)" in out
    store = Store.open(config.database_url)
    assert len(store.recent_runs("alpha")) == 3
    store.close()


def test_prune_of_a_missing_database_creates_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert main(["--config", str(config.path), "prune"]) == 0
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "db.sqlite").exists()


def test_prune_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["prune", "--help"])
    out = capsys.readouterr().out
    assert "--dry-run" in out and "runs_days" in out and "text_days" in out


def test_a_compacted_article_feeds_its_summary(tmp_path: Path) -> None:
    """A feed entry of an article whose text and HTML are gone: the summary, no content."""
    config = _config(tmp_path, text_days=30)
    now = utcnow()
    _fill(config, now)
    store = Store.open(config.database_url)
    prune(config, store, now)
    article = store.get_article("http://127.0.0.1:9/news/1")
    store.close()
    assert article is not None and article.html == ""
    assert rebuild_feeds(config).ok
    for name in ("all.rss", "all.atom"):
        [entry] = feedparser.parse((config.output_dir / name).read_bytes()).entries
        assert entry.title == "Старая новость" and entry.summary == "Кратко о старом."
        assert "Полный текст" not in str(entry)


def test_the_service_prunes_daily_starting_an_hour_after_start(tmp_path: Path) -> None:
    config = _config(tmp_path, runs_days=180)
    svc = Service(config, crawl=FakeCrawl())
    before = datetime.now(UTC)
    scheduler = svc._build_scheduler()
    job = scheduler.get_job(PRUNE_JOB)
    assert job is not None and job.executor == "maintenance"  # never a crawl's thread
    assert job.trigger.interval == PRUNE_EVERY
    # Not at start-up, where it would compete with the first crawls for the write lock.
    assert job.trigger.start_date >= before + PRUNE_DELAY
    svc.store.close()


def test_no_prune_job_when_retention_is_off(tmp_path: Path) -> None:
    svc = Service(_config(tmp_path, runs_days=0, text_days=0), crawl=FakeCrawl())
    assert svc._build_scheduler().get_job(PRUNE_JOB) is None
    svc.store.close()


def test_the_service_prune_job_uses_its_clock(tmp_path: Path) -> None:
    config = _config(tmp_path, runs_days=180)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    _fill(config, now)
    svc = Service(config, clock=Clock(now), crawl=FakeCrawl())
    report = svc.prune()
    assert report is not None and report.runs == 2
    assert len(svc.store.recent_runs("alpha")) == 1
    svc.store.close()


def test_a_skipped_prune_is_no_sources_overlap(tmp_path: Path) -> None:
    """Only a crawl job's skipped tick counts against its source ("prune" is no source)."""
    svc = Service(_config(tmp_path), crawl=FakeCrawl())
    note_job_event(
        svc.store, JobEvent(EVENT_JOB_MAX_INSTANCES, PRUNE_JOB, "default"), state_lock=Lock()
    )
    assert svc.store.get_source_state(PRUNE_JOB).get("skipped_overlaps") in (None, 0)
    svc.store.close()
