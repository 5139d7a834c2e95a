"""Fault catalogue H1–H7 (configuration): every bad entry fails at load, naming the offender.

tests/test_config.py holds the full table; these are the catalogue's own inputs through the real
loader (``parse_config``), plus what the crawl does with the accepted values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cityfeeds.status.health import MIN_HEALTH_SECONDS, SourceInputs, compute_status
from crawler.config import (
    ENV_MIN_INTERVAL,
    ENV_PARENT_CONFIG,
    MIN_INTERVAL_SECONDS,
    ConfigError,
    load_config,
    load_parents_config,
    parse_config,
)
from crawler.discovery.listing import listing_links
from crawler.lifecycle import CONFIG_EXIT
from crawler.normalize.url_patterns import compile_url_pattern
from crawler.supervisor import crawl_subprocess
from crawler.topics.engine import TopicEngine
from tests.conftest import write_site_config

pytestmark = [pytest.mark.fault]

SOURCE = '[[sources]]\nname = "mos_news"\ntitle = "M"\nurl = "https://www.mos.ru/"\n'


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("61 * * * *", "61"),
        ("0 0 * *", "5 cron fields"),
        ("0 0 * * 0", "weekday names"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_h1_bad_cron(schedule: str, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"mos_news.*{message}|{message}.*") as info:
        parse_config(SOURCE + f'schedule = "{schedule}"\n')
    assert "mos_news" in str(info.value)  # names the source


def test_h1_weekday_names_accepted() -> None:
    assert (
        parse_config(SOURCE + 'schedule = "0 9 * * mon-fri"\n').sources[0].schedule
        == "0 9 * * mon-fri"
    )


def test_h2_unknown_source_in_topic() -> None:
    text = (
        SOURCE
        + '[[topics]]\nid = "metro"\ntitle = "Метро"\nsources = ["mos_news_x"]\n'
        + '[topics.include]\n"метро" = 2.0\n'
    )
    with pytest.raises(ConfigError, match=r"unknown source.*'mos_news_x'.*known: mos_news"):
        parse_config(text)


def test_h3_invalid_topic_regex() -> None:
    text = SOURCE + '[[topics]]\nid = "metro"\ntitle = "Метро"\n[topics.regexes]\n"([" = 2.0\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    # One line: the topic, the pattern and RE2's reason.
    assert str(info.value) == (
        "topics[0] ('metro'): topic 'metro': invalid regex '([': missing ]: [ "
        "(RE2 syntax: no backreferences or lookaround)"
    )


def test_h3_evil_topic_regex_is_accepted_and_matches_in_linear_time() -> None:
    """``(a+)+$`` is safe under RE2 (one pass over the text), so it loads and works.

    Python's ``re`` would try 2^40 ways to split the run of «a» before the «!»: with a
    backtracking engine the first ``classify`` below would not return, so no clock is needed.
    """
    text = SOURCE + '[[topics]]\nid = "metro"\ntitle = "Метро"\n[topics.regexes]\n"(a+)+$" = 2.0\n'
    engine = TopicEngine(parse_config(text).topics)
    assert engine.classify(title="a" * 40 + "!", source="mos_news") == []
    assert [m.id for m in engine.classify(title="a" * 40, source="mos_news")] == ["metro"]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://ftp.mos.ru/",
        "http://127.0.0.1:8080/admin",
        "http://[::1]/",
        "https://user:secret@www.mos.ru/",
    ],
)
def test_h4_bad_source_url_rejected(url: str) -> None:
    with pytest.raises(ConfigError, match="mos_news"):
        parse_config(f'[[sources]]\nname = "mos_news"\ntitle = "M"\nurl = "{url}"\n')


def test_h4_idn_normalised_to_punycode() -> None:
    config = parse_config(
        '[[sources]]\nname = "rf"\ntitle = "РФ"\nurl = "http://новости.рф/"\n'
        'allowed_domains = ["новости.рф"]\n'
    )
    assert config.sources[0].allowed_domains == ["новости.рф".encode("idna").decode()]
    assert config.sources[0].allowed_domains[0].startswith("xn--")
    from crawler.normalize.urls import host_of, registered_domain_matches

    assert registered_domain_matches(
        host_of("http://новости.рф/news/1"), config.sources[0].allowed_domains
    )


@pytest.mark.parametrize("schedule", ["every 0s", "every 30s", "every 59s"])
def test_h5_schedule_below_the_minimum_refused_in_one_line(
    schedule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_MIN_INTERVAL, raising=False)
    with pytest.raises(ConfigError) as info:
        parse_config(SOURCE + f'schedule = "{schedule}"\n')
    message = str(info.value)
    assert "\n" not in message and "mos_news" in message
    assert f"{schedule!r}" in message and "minimum interval of 60 s (every 1m)" in message
    with pytest.raises(ConfigError, match=r"\[schedule\].*minimum interval"):
        parse_config(f'[schedule]\ndefault = "{schedule}"\n')


def test_h5_the_minimum_itself_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_MIN_INTERVAL, raising=False)
    for schedule in ("every 1m", "every 60s", "* * * * *"):
        assert parse_config(SOURCE + f'schedule = "{schedule}"\n').sources[0].schedule == schedule
    assert MIN_INTERVAL_SECONDS == 60


@pytest.mark.parametrize("schedule", ["every 367d", "every 99999999999d"])
def test_h5_schedule_above_the_maximum_refused_in_one_line(schedule: str) -> None:
    # An interval of millions of days once passed and crashed `status` and `run` (overflow).
    with pytest.raises(ConfigError) as info:
        parse_config(SOURCE + f'schedule = "{schedule}"\n')
    message = str(info.value)
    assert "\n" not in message and "mos_news" in message and "maximum interval" in message
    assert parse_config(SOURCE + 'schedule = "every 366d"\n')


@pytest.mark.parametrize("period", [0.0, 1.0, 60.0, 300.0])
def test_h5_health_threshold_is_sane_for_any_interval(period: float) -> None:
    """A crawl that succeeded two minutes ago is healthy whatever the interval (``every 0s``
    once made the threshold 0: 503 ``stale`` while every crawl succeeded)."""
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    ran = now - timedelta(minutes=2)
    runs = [{"status": "ok", "started_at": ran, "finished_at": ran, "stats": {}}]
    inputs = [SourceInputs("a", True, period, runs, {"last_success": ran})]
    builds = [{"path": "all", "ok": True, "built_at": ran}]
    health = compute_status(inputs, builds, now).health
    assert health.threshold_seconds == max(3 * period, MIN_HEALTH_SECONDS) >= 900
    assert health.status == "ok" and health.healthy


def test_h6_url_pattern_that_would_backtrack_runs_in_linear_time() -> None:
    """A source's URL regexes get URLs from the sites: RE2 runs them, as topic regexes.

    With ``re``, this pattern takes seconds on a 24-character slug and doubles per character:
    the spider's match below would not return, so no clock is needed.
    """
    evil = r"/news/([\w-]+-?)+/\d+$"
    config = parse_config(SOURCE + f"article_pattern = '{evil}'\n")
    links = listing_links(
        f'<a href="/news/{"a" * 3000}!">x</a><a href="/news/tram-2/15">y</a>',
        "https://www.mos.ru/",
        pattern=compile_url_pattern(config.sources[0].article_pattern),
    )
    assert links == ["https://www.mos.ru/news/tram-2/15"]


def test_h6_url_pattern_re2_cannot_run_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(SOURCE + "article_pattern = '/news/(?!tags)\\d+'\n")
    message = str(info.value)
    assert "\n" not in message and "article_pattern" in message and "lookaround" in message


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "mysql://u@h/db", "data/cityfeeds.db"])
def test_h7_a_database_url_that_is_no_store_is_refused_at_load(url: str) -> None:
    with pytest.raises(ConfigError, match="not a SQLite or PostgreSQL URL"):
        parse_config(f'[cityfeeds]\ndatabase_url = "{url}"\n' + SOURCE)


def test_h8_config_edited_into_an_invalid_one_reaches_no_crawl_before_a_restart(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The service crawls with the config it started with, its crawl children too (they get
    its text): an edit that broke the file fails no run; the service says the file changed."""
    path = write_site_config(tmp_path, "http://127.0.0.1:9/")
    config = load_config(path)
    path.write_text(
        path.read_text(encoding="utf-8").replace("[crawl]", "[crawl]\nretry_tims = 3", 1),
        encoding="utf-8",
    )
    outcome = crawl_subprocess(config, ["demo"], timeout=120)
    assert outcome.returncode != CONFIG_EXIT
    run = outcome.runs["demo"]
    assert "configuration" not in (run["message"] or "")  # the site's refusal, not the edit
    assert "retry_tims" not in capfd.readouterr().err


def test_h8_a_crawl_child_run_by_hand_reads_the_file(tmp_path: Path) -> None:
    """Without its parent's configuration (run by hand), a crawl child reads the file."""
    path = write_site_config(tmp_path, "http://127.0.0.1:9/")
    path.write_text(path.read_text(encoding="utf-8") + "\n[bogus]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bogus"):
        load_parents_config(path)


def test_h8_a_crawl_child_reads_its_parents_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_site_config(tmp_path, "http://127.0.0.1:9/")
    parents = tmp_path / "scratch-parent-config.toml"
    parents.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    path.write_text("[bogus]\n", encoding="utf-8")  # edited since the parent read it
    monkeypatch.setenv(ENV_PARENT_CONFIG, str(parents))
    config = load_parents_config(path)
    assert [s.name for s in config.sources] == ["demo"] and config.path == path.resolve()
    assert config.output_dir == (tmp_path / "output").resolve()


def test_h12_a_config_that_never_ends_is_refused_not_read_whole(tmp_path: Path) -> None:
    # «--config /dev/zero» filled the memory; a file over the cap is no config either.
    with pytest.raises(ConfigError, match=r"/dev/zero is larger than 4 MiB: not a config"):
        load_config("/dev/zero")
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (4 * 2**20 + 1))
    with pytest.raises(ConfigError, match="larger than 4 MiB"):
        load_config(big)
