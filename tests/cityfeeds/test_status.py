"""Status: degraded vs failing rules, health, the CLI table and JSON, /healthz and /status."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from cityfeeds.cli import main
from cityfeeds.devtools.demo_site import demo_source
from cityfeeds.service.lock import lock_path
from cityfeeds.service.web import status_routes
from cityfeeds.status.health import (
    SourceInputs,
    compute_status,
    degraded_reasons,
    links_found,
    service_health,
    source_status,
)
from cityfeeds.status.views import format_age, health_json, render_html, table_rows
from crawler.config import load_config
from crawler.storage import RunStats, Store
from feeds.server import create_app
from tests.conftest import write_site_config

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def run(
    status: str = "ok",
    *,
    hours_ago: float = 1,
    links: int = 30,
    new: int = 10,
    updated: int = 0,
    pages: int = 10,
    date_fallback: int = 0,
    dropped: dict[str, int] | None = None,
    message: str | None = None,
    not_modified: int = 0,
) -> dict[str, Any]:
    started = NOW - timedelta(hours=hours_ago)
    return {
        "status": status,
        "started_at": started,
        "finished_at": None if status == "running" else started + timedelta(seconds=30),
        "pages": pages,
        "new": new,
        "updated": updated,
        "dropped": dropped or {},
        "errors": 0,
        "message": message,
        "stats": {
            "discovered/feed": links // 2,
            "discovered/sitemap": links - links // 2,
            "date_fallback": date_fallback,
            "not_modified": not_modified,
            "finish_reason": "finished",
        },
    }


def _queued() -> dict[str, Any]:
    """A run queued for distributed workers: its workers' runs count the links it found."""
    queued = run(links=0, new=0, pages=0)
    queued["stats"] = {"queued": 2, "mode": "distributed"}
    return queued


def history(n: int = 5, **kwargs: Any) -> list[dict[str, Any]]:
    return [run(hours_ago=2 + i, **kwargs) for i in range(n)]


# -- degraded, distinct from failing ---------------------------------------------------------


def test_zero_links_after_many_is_degraded() -> None:
    runs = [run(links=0, new=0, pages=0), *history()]
    reasons = degraded_reasons(runs)
    assert reasons == ["found 0 article links (usually 30)"]
    status = source_status(SourceInputs("a", True, 1800, runs, {}), NOW)
    assert status.state == "degraded" and status.result == "ok"


@pytest.mark.parametrize(
    ("stats", "reasons"),
    [
        # Read, and no article link came of it: degraded from the first run, no history needed.
        ({"article_links": 0}, ["found no article link"]),
        ({"article_links": 3}, []),
        # Every document unchanged (304): no link is no news.
        ({"article_links": 0, "not_modified": 2}, []),
        ({"article_links": 0, "mode": "distributed"}, []),
        ({}, []),  # a run recorded before the figure existed
    ],
)
def test_a_run_that_found_no_article_link_is_degraded(
    stats: dict[str, Any], reasons: list[str]
) -> None:
    latest = run(links=0, new=0, pages=0, message="found no article link; listing read: …")
    latest["stats"].update(stats)
    assert degraded_reasons([latest]) == reasons
    status = source_status(SourceInputs("s", True, 3600, [latest], {}), NOW)
    assert status.state == ("degraded" if reasons else "ok")
    assert status.message == latest["message"]


@pytest.mark.parametrize(
    ("hours_ago", "taken", "degraded"),
    [
        (1, {}, True),
        (1, {"discovery_ok": 1}, False),
        (1, {"discovery_failed": 2}, False),
        (0.1, {}, False),
    ],
)
def test_a_queued_run_no_worker_took_is_degraded(
    hours_ago: float, taken: dict[str, int], degraded: bool
) -> None:
    # No worker running: every source was "ok" and `status --check` passed while the queue grew.
    queued = run(hours_ago=hours_ago, links=0, new=0, pages=0)
    queued["stats"] = {"queued": 3, "mode": "distributed", **taken}
    status = source_status(SourceInputs("s", True, 1800, [queued], {}), NOW)
    if degraded:
        assert status.state == "degraded"
        assert status.reasons == [
            "no worker has taken its 3 queued request(s) in 60 min (is a `cityfeeds worker` "
            "running on this Redis and prefix?)"
        ]
    else:
        assert status.state == "ok" and status.reasons == []


def test_no_article_link_after_many_says_the_usual_figure_once() -> None:
    latest = run(links=0)
    latest["stats"]["article_links"] = 0
    assert degraded_reasons([latest, *history(links=40)]) == ["found 0 article links (usually 40)"]


def test_article_pages_that_answer_errors_are_degraded_at_once() -> None:
    # The feed reads, every article page answers 500: "partial" runs that store nothing.
    lost = run(status="partial", new=0, pages=0, dropped={"fetch_error": 23})
    assert degraded_reasons([lost]) == ["23 of 23 article pages could not be fetched"]
    status = source_status(SourceInputs("a", True, 1800, [lost, *history()], {}), NOW)
    assert status.state == "degraded"
    # A page or two lost among many is the run's "partial", not a broken source.
    assert degraded_reasons([run(status="partial", pages=20, dropped={"fetch_error": 2})]) == []


def test_dates_suddenly_missing_is_degraded() -> None:
    runs = [run(new=8, date_fallback=7), *history()]
    assert degraded_reasons(runs) == ["88% articles without a date (usually 0%)"]


def test_titles_suddenly_missing_is_degraded() -> None:
    runs = [run(new=1, pages=10, dropped={"missing_title": 9}), *history()]
    assert degraded_reasons(runs) == ["90% pages dropped for a missing field (usually 0%)"]


@pytest.mark.parametrize(
    "runs",
    [
        pytest.param([run(links=0), *history(2)], id="too little history"),
        pytest.param([run(links=0, not_modified=3), *history()], id="unchanged feeds (304)"),
        pytest.param([_queued(), *history()], id="queued for workers after local crawls"),
        pytest.param([run(links=0), *history(links=2)], id="never had many"),
        pytest.param(
            [run(new=8, date_fallback=7), *history(date_fallback=8)], id="never had dates"
        ),
        pytest.param([run(new=0, links=25), *history()], id="nothing new is normal"),
        pytest.param([run(new=2, date_fallback=2), *history()], id="too few articles to judge"),
    ],
)
def test_not_degraded(runs: list[dict[str, Any]]) -> None:
    assert degraded_reasons(runs) == []


def test_failing_is_not_degraded() -> None:
    runs = [run("failed", links=0, message="no feed could be read (HTTP 503)"), *history()]
    state = {
        "consecutive_failures": 3,
        "backoff_until": NOW + timedelta(minutes=20),
        "last_status": "failed",
    }
    status = source_status(SourceInputs("a", True, 1800, runs, state), NOW)
    assert status.state == "failing" and status.reasons == []
    assert status.consecutive_failures == 3
    assert status.message is not None
    assert status.message.startswith("backing off until 2026-03-04 12:20:00 +0000")
    assert "HTTP 503" in status.message
    assert status.last_success == history()[0]["finished_at"]
    # In the zone the status table shows its times in (once UTC beside Moscow times).
    moscow = source_status(SourceInputs("a", True, 1800, runs, state), NOW, "Europe/Moscow")
    assert moscow.message is not None
    assert moscow.message.startswith("backing off until 2026-03-04 15:20:00 +0300")


def test_failures_count_matches_failing_without_a_service_state() -> None:
    """`cityfeeds crawl` records runs but no service state: "failing" must not show 0."""
    runs = [run("failed", message="connection refused"), run("failed", hours_ago=2), *history()]
    status = source_status(SourceInputs("a", True, 1800, runs, {}), NOW)
    assert status.state == "failing" and status.consecutive_failures == 2
    # A stale count from the service, after a successful crawl from the command line.
    status = source_status(
        SourceInputs("a", True, 1800, history(), {"consecutive_failures": 3}), NOW
    )
    assert status.state == "ok" and status.consecutive_failures == 0
    # Every run at hand failed: the service's longer count stands.
    failed = [run("failed", hours_ago=h) for h in (1, 2)]
    status = source_status(SourceInputs("a", True, 1800, failed, {"consecutive_failures": 7}), NOW)
    assert status.consecutive_failures == 7


@pytest.mark.parametrize("stopped", ["interrupted", "deferred"])
def test_an_interrupted_run_does_not_reset_the_failure_count(stopped: str) -> None:
    # A kill -9 of a one-off crawl of a failing source once showed "failures 0".
    failed = [run(stopped, hours_ago=0.5)] + [run("failed", hours_ago=h) for h in (1, 2, 3)]
    status = source_status(SourceInputs("a", True, 1800, failed, {}), NOW)
    assert status.consecutive_failures == 3
    recovered = [run(stopped, hours_ago=0.5), *history()]
    assert (
        source_status(SourceInputs("a", True, 1800, recovered, {}), NOW).consecutive_failures == 0
    )
    only = [run(stopped, hours_ago=0.5)]
    state = {"consecutive_failures": 4}
    assert source_status(SourceInputs("a", True, 1800, only, state), NOW).consecutive_failures == 4


def test_killed_result_and_running_flag() -> None:
    runs = [
        run("running", hours_ago=0.1),
        run("failed", message="crawl ended: shutdown"),
        *history(),
    ]
    status = source_status(SourceInputs("a", True, 1800, runs, {"last_status": "killed"}), NOW)
    assert status.running and status.state == "failing" and status.result == "killed"


def test_a_running_crawl_is_told_apart_from_the_last_runs_note() -> None:
    """The row's figures and note are the last finished run's; the running one is named so."""
    runs = [
        run("running", hours_ago=0.1),  # started 11:54 UTC
        run("failed", hours_ago=1, message="HTTP 500: https://a.test/rss.xml"),
        *history(),
    ]
    report = compute_status([SourceInputs("a", True, 1800, runs, {})], [], NOW, timezone="UTC")
    assert report.sources[0].running_since == NOW - timedelta(hours=0.1)
    headers, rows = table_rows(report)
    row = dict(zip(headers, rows[0], strict=True))
    assert row["last run"] == "2026-03-04 11:00"  # the finished run, without "(running)"
    assert row["note"] == "crawling now (since 11:54); last run: HTTP 500: https://a.test/rss.xml"
    # Not running: the note is the last run's alone.
    idle = compute_status([SourceInputs("a", True, 1800, runs[1:], {})], [], NOW, timezone="UTC")
    assert table_rows(idle)[1][0][-1] == "HTTP 500: https://a.test/rss.xml"


def test_never_run_and_disabled() -> None:
    assert source_status(SourceInputs("a", True, 1800, [], {}), NOW).state == "never run"
    assert source_status(SourceInputs("a", False, 1800, history(), {}), NOW).state == "disabled"


def test_links_found_sums_every_discovery_method() -> None:
    assert links_found(run(links=7, not_modified=2)) == 7


# -- health ----------------------------------------------------------------------------------


def _sources(last_ok_hours_ago: float) -> list[Any]:
    return [
        source_status(SourceInputs("a", True, 1800, [run(hours_ago=last_ok_hours_ago)], {}), NOW)
    ]


@pytest.mark.parametrize(
    ("run_ago", "build_ago", "started_ago", "expected"),
    [
        (0.5, 0.4, None, "ok"),
        (2.0, 0.1, None, "stale"),  # builds work, crawls don't
        (0.2, 3.0, None, "stale"),  # crawls work, builds don't
        (5.0, 5.0, 0.1, "starting"),  # just restarted after a long downtime
        (5.0, 5.0, 2.0, "stale"),
    ],
)
def test_health_needs_both_halves_of_a_cycle(
    run_ago: float, build_ago: float, started_ago: float | None, expected: str
) -> None:
    builds = [{"path": "all", "ok": True, "built_at": NOW - timedelta(hours=build_ago)}]
    started = NOW - timedelta(hours=started_ago) if started_ago is not None else None
    health = service_health(
        _sources(run_ago), builds, NOW, threshold_seconds=5400, started_at=started
    )
    assert health.status == expected
    assert health.healthy == (expected != "stale")


def test_report_json_and_threshold_from_slowest_source() -> None:
    inputs = [
        SourceInputs("a", True, 1800, history(), {}, NOW - timedelta(minutes=90)),
        SourceInputs("b", True, 3600, [], {}),
        SourceInputs("c", False, 86400, [], {}),  # disabled: does not stretch the threshold
    ]
    builds = [
        {"path": "all", "ok": True, "built_at": NOW - timedelta(minutes=30), "error": None},
        {"path": "topics/x", "ok": False, "built_at": NOW, "error": "ValueError: bad"},
    ]
    report = compute_status(inputs, builds, NOW, timezone="Europe/Moscow")
    assert report.health.threshold_seconds == 3 * 3600
    data = json.loads(json.dumps(report.to_json()))
    assert [s["state"] for s in data["sources"]] == ["ok", "never run", "disabled"]
    assert data["sources"][0]["newest_age"] == 5400
    assert data["feed_failures"] == {"topics/x": "ValueError: bad"}
    body = health_json(report, pid=42)
    assert body["healthy"] and body["sources"] == {"ok": 1, "never run": 1, "disabled": 1}
    assert "ValueError" not in json.dumps(body)  # error text stays off the health endpoint


def test_status_page_escapes_everything_and_has_no_script() -> None:
    evil = '<script>alert(1)</script>&"'
    runs = [run("failed", message=evil), *history()]
    report = compute_status([SourceInputs("a", True, 1800, runs, {})], [], NOW)
    page = render_html(report)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;" in page
    assert format_age(None) == "-" and format_age(59) == "59s" and format_age(7200) == "2h"


# -- routes ----------------------------------------------------------------------------------


def _get(app: Any, path: str) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://feeds.test") as client:
            return await client.get(path)

    return anyio.run(fetch)


def test_healthz_and_status_routes(tmp_path: Path) -> None:
    ok_builds = [{"path": "all", "ok": True, "built_at": NOW}]
    recent = [run(hours_ago=0.5)]
    reports = {
        "healthy": compute_status([SourceInputs("a", True, 1800, recent, {})], ok_builds, NOW),
        "stale": compute_status([SourceInputs("a", True, 1800, recent, {})], [], NOW),
    }
    current = ["healthy"]
    (tmp_path / "all.rss").write_text("<rss/>")
    app = create_app(tmp_path, extra_routes=status_routes(lambda: reports[current[0]]))
    response = _get(app, "/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.headers["cache-control"] == "no-store"
    current[0] = "stale"
    assert _get(app, "/healthz").status_code == 503
    page = _get(app, "/status")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<table>" in page.text
    assert _get(app, "/all.rss").status_code == 200  # the feed files are still served

    def broken() -> Any:
        raise RuntimeError("database is down")

    response = _get(create_app(tmp_path, extra_routes=status_routes(broken)), "/healthz")
    assert response.status_code == 503 and response.json()["alive"] is True
    assert "database is down" not in response.text


# -- the CLI ---------------------------------------------------------------------------------


def _populated(tmp_path: Path) -> Path:
    sources = [
        {**demo_source("http://127.0.0.1:9/", "good"), "schedule": "every 30m"},
        {**demo_source("http://127.0.0.1:9/", "broken"), "schedule": "0 6 * * mon-fri"},
    ]
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/", sources=sources)
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = datetime.now(UTC)
    run_id = store.start_run("good", now=now - timedelta(minutes=5))
    store.finish_run(
        run_id,
        status="ok",
        stats=RunStats(pages=4, new=3, updated=1, dropped={"duplicate": 2}),
        now=now,
    )
    run_id = store.start_run("broken", now=now - timedelta(minutes=3))
    store.finish_run(run_id, status="failed", stats=RunStats(), now=now, message="HTTP 503")
    store.set_source_state("broken", consecutive_failures=2, backoff_until=now + timedelta(hours=1))
    store.record_feed_build("all", True, None, 3)
    store.close()
    return cfg


def test_status_command_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _populated(tmp_path)
    assert main(["--config", str(cfg), "status"]) == 0
    out = capsys.readouterr().out
    header, _rule, *rows = out.splitlines()
    for column in (
        "source",
        "state",
        "last run",
        "result",
        "new",
        "updated",
        "dropped",
        "failures",
    ):
        assert column in header
    assert "next run" in header and "newest article" in header
    good = next(r for r in rows if r.startswith("good"))
    assert " ok " in good and "duplicate=2" in good
    broken = next(r for r in rows if r.startswith("broken"))
    assert "failing" in broken and "backing off" in broken and "HTTP 503" in broken
    assert "scheduler: not running; health: stopped;" in out
    assert main(["--config", str(cfg), "status", "--check"]) == 1  # a failing source


def test_status_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _populated(tmp_path)
    assert main(["--config", str(cfg), "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {s["name"]: s for s in data["sources"]}
    assert rows["good"]["state"] == "ok" and rows["good"]["new"] == 3
    assert rows["broken"]["state"] == "failing" and rows["broken"]["consecutive_failures"] == 2
    assert rows["good"]["next_run"] is None  # no scheduler running: nothing is due
    # As the text says: no service runs; the last cycle is recent all the same (--check).
    assert data["health"]["status"] == "stopped" and data["health"]["healthy"] is True
    assert data["scheduler"] == "not running"


def test_status_shows_no_removed_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Retention keeps a removed source's last run record; status lists configured sources
    only, so it is not shown (README "Removing a source")."""
    cfg = _populated(tmp_path)
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    now = datetime.now(UTC)
    run_id = store.start_run("gone", now=now - timedelta(minutes=1))
    store.finish_run(run_id, status="failed", stats=RunStats(), now=now, message="HTTP 410")
    store.close()
    assert main(["--config", str(cfg), "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in data["sources"]] == ["good", "broken"]
    assert main(["--config", str(cfg), "status"]) == 0
    assert "gone" not in capsys.readouterr().out


def test_status_tells_a_suspended_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A service stopped by SIGSTOP still holds its lock and its pid is alive: "running" would
    # be a lie, and --check must fail, as nothing is crawled or served until SIGCONT.
    cfg = _populated(tmp_path)
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lock = lock_path(load_config(cfg))
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(f"{holder.pid} {datetime.now(UTC).isoformat()}\n")
        assert main(["--config", str(cfg), "status", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["scheduler"] == f"running (pid {holder.pid})"
        holder.send_signal(signal.SIGSTOP)
        assert main(["--config", str(cfg), "status", "--check"]) == 1
        out = capsys.readouterr().out
        assert f"scheduler: suspended (pid {holder.pid}" in out and "health: suspended" in out
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("command", [["status"], ["stories"], ["topics"]])
def test_reading_commands_never_create_a_mistyped_sqlite_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    """A mistyped database URL: said on stderr, shown as an empty store, and no file (nor
    folder) made where the URL points."""
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    missing = tmp_path / "no" / "such" / "x.db"
    monkeypatch.setenv("CITYFEEDS_DATABASE_URL", f"sqlite:///{missing}")
    assert main(["--config", str(cfg), *command]) == 0
    captured = capsys.readouterr()
    assert f"no database at {missing} yet" in captured.err
    assert not (tmp_path / "no").exists()
    if command == ["status"]:
        assert "never run" in captured.out
