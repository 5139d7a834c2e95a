"""``cityfeeds crawl``'s summary: a dated header, the cause of each failed source, and a hint
towards the offline demo when no public site could be reached at all (DNS, refused)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cityfeeds.cli import main
from cityfeeds.devtools.demo_server import SiteServer
from tests.conftest import write_site_config

pytestmark = pytest.mark.slow


def _refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _source(name: str, url: str) -> dict[str, object]:
    return {
        "name": name,
        "title": name.upper(),
        "url": url,
        "feeds": [url + "rss.xml"],
        "allow_private": True,
    }


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import cityfeeds.commands.crawl

    monkeypatch.setattr(
        cityfeeds.commands.crawl, "clock", lambda: datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC)
    )


def test_all_sources_refused_names_the_cause_and_no_offline_hint_for_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixed_clock: None
) -> None:
    # A loopback server that refuses is a local server that is down, not a missing network.
    sources = [_source("one", _refused_url()), _source("two", _refused_url())]
    cfg = write_site_config(tmp_path, "http://127.0.0.1/", sources=sources)
    assert main(["--config", str(cfg), "crawl", "--quiet", "--no-feeds"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # Dated in the configuration's time zone (Europe/Moscow).
    assert lines[0] == "Crawl finished 2026-12-05 04:02:03 +0300: 2 source(s)"
    rows = {line.split()[0]: line for line in lines[3:5]}
    assert set(rows) == {"one", "two"}
    for row in rows.values():
        # The cause, then the URL that met it.
        assert " failed " in row and "connection refused: http://127.0.0.1:" in row
        assert row.rstrip().endswith("/robots.txt")  # robots.txt is asked for first
    assert "no feed, sitemap or listing" not in out
    assert "2 source(s) failed" in err and "cityfeeds demo" not in err
    assert "no site could be reached" not in err


def test_a_site_that_never_answers_says_so_and_gives_no_offline_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixed_clock: None
) -> None:
    # A socket that listens but never accepts: the kernel completes the handshake, the request
    # is sent, and no answer ever comes (a timeout, not a missing network).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        cfg = write_site_config(
            tmp_path, url, sources=[_source("slow", url)], extra={"crawl": {"timeout": 1}}
        )
        assert main(["--config", str(cfg), "crawl", "--quiet", "--no-feeds"]) == 1
    out, err = capsys.readouterr()
    row = next(line.rstrip() for line in out.splitlines() if line.startswith("slow "))
    assert row.endswith(f"did not answer in 1 s: {url}robots.txt")
    assert "1 source(s) failed: slow" in err
    assert "no site could be reached" not in err and "cityfeeds demo" not in err


@pytest.mark.parametrize(
    ("url", "network_error", "offline"),
    [
        ("https://news.example/rss.xml", "dns", True),
        ("https://news.example/rss.xml", "refused", True),
        ("https://news.example/rss.xml", "unreachable", True),
        ("https://news.example/rss.xml", "timeout", False),
        ("https://news.example/rss.xml", None, False),
        ("http://127.0.0.1:9/rss.xml", "refused", False),
        ("http://localhost:9/rss.xml", "dns", False),
        ("http://10.1.2.3/rss.xml", "unreachable", False),
    ],
)
def test_the_offline_hint_needs_a_public_host_without_dns_or_connection(
    url: str, network_error: str | None, offline: bool
) -> None:
    from cityfeeds.commands.crawl import looks_offline
    from crawler.config import parse_config

    config = parse_config('[[sources]]\nname = "x"\ntitle = "X"\nurl = "https://news.example/"\n')
    stats = {"network_error": network_error, "cause": {"url": url, "error": "E"}}
    assert looks_offline(config, "x", {"status": "failed", "stats": stats}) is offline


def test_http_failure_is_named_and_no_demo_hint_when_a_site_answered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixed_clock: None
) -> None:
    site = SiteServer({"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain")}).start()
    try:
        sources = [_source("gone", site.base_url), _source("down", _refused_url())]
        cfg = write_site_config(tmp_path, site.base_url, sources=sources)
        assert main(["--config", str(cfg), "crawl", "--quiet", "--no-feeds"]) == 1
    finally:
        site.stop()
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line.rstrip() for line in out.splitlines()[3:5]}
    assert rows["gone"].endswith(f"HTTP 404: {site.base_url}rss.xml")
    assert "connection refused: http://127.0.0.1:" in rows["down"]
    assert "2 source(s) failed" in err and "cityfeeds demo" not in err


def test_progress_says_once_what_a_silent_host_is_waited_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from types import SimpleNamespace

    from scrapy.settings import Settings
    from scrapy.statscollectors import StatsCollector

    from crawler.extensions.progress import Progress

    crawler = SimpleNamespace(settings=Settings({"DOWNLOAD_TIMEOUT": 30}), stats=None)
    crawler.stats = StatsCollector(crawler)  # type: ignore[arg-type]
    spider = SimpleNamespace(
        source_name="silent", spec=SimpleNamespace(url="http://silent.example/news/")
    )
    progress = Progress(crawler, 5.0)  # type: ignore[arg-type]
    for _ in range(18):  # 90 s of 5 s ticks with nothing received
        progress.report(spider)
    crawler.stats.set_value("downloader/response_count", 1)
    progress.report(spider)
    progress.report(spider)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "  [silent] waiting for silent.example to answer (gives up 30 s after each request)",
        "  [silent] 1 responses, 0 articles fetched, 0 new, 0 updated",
    ]


def test_a_crawl_whose_feeds_cannot_be_published_exits_1_and_says_so_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The crawl itself is fine (an empty feed); the output folder is a file.
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    site = SiteServer({"/rss.xml": (rss, "application/rss+xml")}).start()
    try:
        blocked = tmp_path / "blocked"
        blocked.write_bytes(b"not a folder")
        cfg = write_site_config(
            tmp_path,
            site.base_url,
            sources=[_source("empty", site.base_url)],
            extra={"cityfeeds": {"output_dir": str(blocked)}},
        )
        assert main(["--config", str(cfg), "crawl", "--quiet"]) == 1
    finally:
        site.stop()
    out, err = capsys.readouterr()
    summary = [line for line in out.splitlines() if line.startswith("Feeds:")]
    assert summary and summary[0].startswith("Feeds: 0 built")
    assert out.count("cannot create the output folder") == 1
    assert "some feeds could not be published" in err and "Traceback" not in out + err


def test_the_build_summary_says_one_shared_cause_once_and_for_which_feeds() -> None:
    from cityfeeds.publishing import build_summary
    from feeds.build import BuildReport, FeedResult

    full = "OSError: [Errno 28] No space left on device"
    report = BuildReport()
    for path in ("all", "topics/a", "sources/b"):
        report.results[path] = FeedResult(path, error=full)
    assert "\n  all of them: OSError" in build_summary(report)
    report.results["sources/c"] = FeedResult("sources/c", items=3, changed=True)
    summary = build_summary(report)
    # Once it said "all of them" when one feed was published.
    assert "1 built" in summary and "3 failed" in summary
    assert "\n  each failed one: OSError" in summary and "all of them" not in summary


def test_the_services_rebuild_line_counts_feeds_apart_from_the_index_page() -> None:
    """A tester's find: «5 changed, 4 kept without rendering» with 8 feeds: the index page
    was counted as a changed feed."""
    from cityfeeds.publishing import rebuild_line
    from feeds.build import INDEX_PATH, OPML_PATH, BuildReport, FeedResult

    report = BuildReport()
    for n in range(8):
        report.results[f"f{n}"] = FeedResult(f"f{n}", changed=n < 4, reused=n >= 4)
    report.results[INDEX_PATH] = FeedResult(INDEX_PATH, changed=True)
    report.results[OPML_PATH] = FeedResult(OPML_PATH)
    assert rebuild_line(report) == (
        "4 of 8 feeds changed, 4 kept without rendering; index page rewritten"
    )
    report.results[INDEX_PATH] = FeedResult(INDEX_PATH)
    assert rebuild_line(report).endswith("4 kept without rendering")


def test_crawl_says_when_a_running_service_reads_an_older_configuration(tmp_path: Path) -> None:
    """A tester's find: a source added to the config while the service ran was crawled and
    published by `cityfeeds crawl`, and its feeds vanished at the service's next rebuild."""
    import os
    from datetime import UTC, datetime, timedelta

    from cityfeeds.commands.crawl import stale_service_note
    from cityfeeds.service.lock import ServiceLock
    from crawler.config import load_config

    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/")
    config = load_config(cfg)
    assert stale_service_note(config) is None  # no service
    lock = ServiceLock.for_config(config)
    started = datetime.now(UTC) - timedelta(hours=1)
    lock.acquire(started_at=started)  # this process plays the service, started an hour ago
    try:
        edited = started.timestamp() - 60
        os.utime(cfg, (edited, edited))
        assert stale_service_note(config) is None  # the file it read
        os.utime(cfg, None)  # edited now
        note = stale_service_note(config) or ""
        assert f"a service (pid {os.getpid()})" in note and "restart it with this one" in note
        assert str(cfg) in note
    finally:
        lock.release()
