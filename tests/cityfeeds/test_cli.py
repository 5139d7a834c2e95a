"""The command line: help, sources, extract, feeds --retag, and clear errors."""

from __future__ import annotations

import gzip
import importlib.metadata
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomli_w

from cityfeeds.cli import main
from cityfeeds.commands.extract import guess_source
from cityfeeds.devtools.demo_site import STORIES, article_path, build_site
from crawler.config import load_config, parse_config
from crawler.models import Article, TopicMatch
from crawler.storage import Store
from tests.conftest import ROOT, python_module_with_ctrl_c


def _shipped_config(tmp_path: Path, out: Path, db: str = "db") -> Path:
    """The shipped config with its feeds in ``out`` and its database in ``tmp_path``."""
    raw = tomllib.loads((ROOT / "cityfeeds.toml").read_text(encoding="utf-8"))
    raw["cityfeeds"] = {"output_dir": str(out), "database_url": f"sqlite:///{tmp_path / db}"}
    cfg = tmp_path / "c.toml"
    cfg.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return cfg


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("crawl", "feeds", "sources", "extract", "demo", "serve", "classify", "topics"):
        assert name in out


def test_version_is_the_installed_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"cityfeeds {importlib.metadata.version('cityfeeds')}\n"


def test_a_worker_exits_when_idle_only_after_a_positive_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["worker", "--exit-when-idle", "-1"])
    assert exc.value.code == 2
    assert "--exit-when-idle: must be a number above 0, not -1" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_sources_lists_the_shipped_sites(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ROOT / "cityfeeds.toml"), "sources"]) == 0
    out = capsys.readouterr().out
    for name in ("mymsk", "m24", "vm", "mosru", "mskagency", "mosregtoday"):
        assert name in out
    assert main(["--config", str(ROOT / "cityfeeds.toml"), "sources", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["name"] for d in data} >= {"m24", "vm"}
    assert next(d for d in data if d["name"] == "m24")["discovery"] == ["feeds(1)"]


def test_config_error_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[sources]]\nname = "x"\ntitle = "X"\nurl = "https://a.ru/"\nbogus = 1\n', encoding="utf-8"
    )
    assert main(["--config", str(bad), "sources"]) == 2
    err = capsys.readouterr().err
    assert f"configuration error: {bad}: sources[0] ('x'): bogus: unknown key" in err


def test_a_value_of_the_wrong_type_stops_the_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[cityfeeds]\nfeed_size = true\n[[sources]]\nname = "x"\ntitle = "X"\n'
        'url = "https://a.ru/"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(bad), "sources"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"cityfeeds: configuration error: {bad}: [cityfeeds]: feed_size: expected a whole "
        "number, got true\n"
    )


def test_unknown_source_on_crawl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ROOT / "cityfeeds.toml"), "crawl", "nope"]) == 2
    assert "unknown source 'nope' (known: mymsk, m24" in capsys.readouterr().err


def test_extract_a_saved_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    story = STORIES[0]
    base = "https://news.example/"
    page = tmp_path / "page.html"
    page.write_bytes(build_site(base)[article_path(story)][0])
    url = base.rstrip("/") + article_path(story)
    code = main(
        [
            "--config",
            str(ROOT / "cityfeeds.toml"),
            "extract",
            str(page),
            "--url",
            url,
            "--now",
            "2026-11-26T12:00:00+00:00",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    for key in (
        "url",
        "title",
        "summary",
        "text",
        "published",
        "updated",
        "authors",
        "section",
        "tags",
        "image",
        "language",
        "source",
        "topics",
        "provenance",
    ):
        assert key in data, key
    assert data["url"] == url
    assert data["title"] == story.title
    assert data["published"] == story.published.isoformat()
    assert data["authors"] == [story.author]
    assert "electric-transport" in {t["id"] for t in data["topics"]}
    assert set(data["provenance"]) >= {"title", "published"}


def test_extract_guesses_the_most_specific_source_of_a_url() -> None:
    config = parse_config(
        '[[sources]]\nname = "mosru"\ntitle = "A"\nurl = "https://www.mos.ru/"\n'
        '[[sources]]\nname = "transport"\ntitle = "B"\nurl = "https://transport.mos.ru/"\n'
        '[[sources]]\nname = "local1"\ntitle = "C"\nurl = "http://127.0.0.1:19301/"\n'
        "allow_private = true\n"
        '[[sources]]\nname = "local2"\ntitle = "D"\nurl = "http://127.0.0.1:19302/"\n'
        "allow_private = true\n"
    )

    def guess(url: str) -> str | None:
        source = guess_source(config, url)
        return source.name if source else None

    assert guess("https://transport.mos.ru/news/1") == "transport"
    assert guess("https://www.mos.ru/news/1") == "mosru"
    assert guess("https://sport.mos.ru/news/1") == "mosru"
    assert guess("http://127.0.0.1:19302/a/1") == "local2"
    assert guess("http://127.0.0.1:19301/a/1") == "local1"
    assert guess("https://vm.ru/news/1") is None


def test_extract_file_needs_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html></html>", encoding="utf-8")
    assert main(["--config", str(ROOT / "cityfeeds.toml"), "extract", str(page)]) == 2
    assert "--url is required" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "said"), [("gone.html", "no such file"), ("", "a folder")])
def test_extract_names_a_missing_file_and_a_folder_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, said: str
) -> None:
    target = str(tmp_path / name) if name else str(tmp_path)
    config = str(ROOT / "cityfeeds.toml")
    assert main(["--config", config, "extract", target, "--url", "https://x.ru/n/1"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and said in err and target in err


def test_extract_fixture_takes_url_and_time_from_its_meta_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = ROOT / "tests" / "fixtures" / "sites" / "m24" / "812345.html"
    meta = json.loads(page.with_name("812345.meta.json").read_text(encoding="utf-8"))
    expected = json.loads(page.with_name("812345.expected.json").read_text(encoding="utf-8"))
    assert main(["--config", str(ROOT / "cityfeeds.toml"), "extract", str(page)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["url"] == meta["url"] and data["source"] == "m24"
    assert (data["title"], data["published"]) == (expected["title"], expected["published"])


def test_feeds_retag_rescores_without_recrawl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _shipped_config(tmp_path, tmp_path / "out", "db.sqlite")
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.upsert_article(
        Article(
            url="https://vm.ru/news/1-x",
            source="vm",
            title="Новые электробусы вышли на маршруты",
            published=datetime(2026, 11, 1, tzinfo=UTC),
            topics=[TopicMatch("road-works", 9.0, ["stale"])],
        ),
        now=datetime(2026, 11, 1, tzinfo=UTC),
    )
    store.close()
    assert main(["--config", str(cfg), "feeds", "--retag"]) == 0
    assert "Re-tagged 1 article(s): topics changed on 1" in capsys.readouterr().out
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert set(store.topic_counts()) == {"electric-transport", "public-transport"}
    finally:
        store.close()
    assert (tmp_path / "out" / "topics" / "electric-transport.rss").is_file()
    assert main(["--config", str(cfg), "topics"]) == 0
    assert "electric-transport" in capsys.readouterr().out
    # Built again by another process with nothing new: every feed kept without rendering.
    raw = tomllib.loads(cfg.read_text(encoding="utf-8"))
    feeds = 1 + len(raw["topics"]) + len(raw["sources"])
    assert main(["--config", str(cfg), "feeds"]) == 0
    assert (
        f"Feeds: {feeds + 2} built (feeds, index page, OPML), 0 changed, {feeds + 2} unchanged "
        f"({feeds} kept without rendering: same inputs), 0 failed"
    ) in capsys.readouterr().out


def test_extract_and_record_a_url_from_a_loopback_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cityfeeds.devtools.demo_server import serve_site
    from tests.conftest import write_site_config

    with serve_site() as site:
        cfg = write_site_config(tmp_path, site.base_url)
        url = site.base_url.rstrip("/") + article_path(STORIES[3])
        assert main(["--config", str(cfg), "extract", url]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["title"] == STORIES[3].title and data["source"] == "demo"

        root = tmp_path / "sites"
        args = ["--config", str(cfg), "record", url, "--source", "demo", "--root", str(root)]
        assert main(args) == 0
        saved = sorted(p.name for p in (root / "demo").iterdir())
        assert any(n.endswith(".html") or n.endswith(".html.gz") for n in saved)
        expected = next((root / "demo").glob("*.expected.json"))
        assert json.loads(expected.read_text(encoding="utf-8"))["title"] == STORIES[3].title

        expected.write_text("{}", encoding="utf-8")  # a stale expectation ...
        assert (
            main(["--config", str(cfg), "fixtures", "--source", "demo", "--root", str(root)]) == 0
        )
        assert json.loads(expected.read_text(encoding="utf-8"))["title"] == STORIES[3].title

        missing = site.base_url + "nope"
        assert main(["--config", str(cfg), "record", missing, "--source", "demo"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("cityfeeds: ") and "HTTP 404" in err

        # A page that is no article is saved (the fixture records the drop), with a warning.
        assert main([*args[:3], site.base_url + "robots.txt", *args[4:]]) == 0
        assert "the crawl would drop this page" in capsys.readouterr().err

        # A page of another site is no fixture of this source.
        other = "http://localhost:1/news/1"
        assert main([*args[:3], other, *args[4:]]) == 2
        assert f"cityfeeds: {other} is not on demo's sites" in capsys.readouterr().err


def test_run_on_a_busy_port_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # The service binds its port itself: no uvicorn ERROR line before its own message.
    import socket

    from tests.conftest import write_site_config

    cfg = write_site_config(tmp_path, "http://127.0.0.1:1/")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert main(["--config", str(cfg), "run", "--port", port]) == 1
    err = capsys.readouterr().err
    assert f"could not serve on 127.0.0.1:{port} (Address already in use)" in err
    assert "uvicorn" not in err + caplog.text


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--prefix", "x"], "cityfeeds: --prefix: only with --distributed"),
        (
            ["--redis-url", "redis://h/0", "--rebuild-every", "60"],
            "cityfeeds: --redis-url, --rebuild-every: only with --distributed",
        ),
        (
            ["--distributed", "--rebuild-every", "0"],
            "cityfeeds: --rebuild-every 0: at least 10 seconds",
        ),
        (
            ["--distributed", "--rebuild-every", "nan"],
            "cityfeeds: --rebuild-every nan: at least 10 seconds",
        ),
    ],
)
def test_run_refuses_distributed_options_it_would_ignore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    from tests.conftest import write_site_config

    cfg = write_site_config(tmp_path, "http://127.0.0.1:1/")
    assert main(["--config", str(cfg), "run", "--no-serve", *argv]) == 2
    assert capsys.readouterr().err.strip() == says


@pytest.mark.parametrize("command", ["serve", "run", "demo"])
def test_port_out_of_range_is_one_line_and_exit_2(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import write_site_config

    cfg = write_site_config(tmp_path, "http://127.0.0.1:1/")
    (tmp_path / "output").mkdir()
    assert main(["--config", str(cfg), command, "--port", "99999"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "cityfeeds: --port 99999 is not a TCP port (0-65535)"


def test_serve_on_a_busy_port_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from tests.conftest import write_site_config

    cfg = write_site_config(tmp_path, "http://127.0.0.1:1/")
    (tmp_path / "output").mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert main(["--config", str(cfg), "serve", "--port", port]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith(f"cityfeeds: cannot serve on 127.0.0.1:{port}: ")
    assert "--port" in err


@pytest.mark.parametrize(
    ("host", "hint"),
    [
        # TEST-NET-1 (RFC 5737): never an address of this machine.
        ("192.0.2.1", "(not an address of this machine: use --host 127.0.0.1, or 0.0.0.0 for all)"),
        (
            "nosuchhost.invalid",
            "(no such host: use --host 127.0.0.1, or 0.0.0.0 for all addresses)",
        ),
    ],
)
def test_serve_on_a_host_it_cannot_listen_on_says_so_not_busy_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str, hint: str
) -> None:
    from tests.conftest import write_site_config

    cfg = write_site_config(tmp_path, "http://127.0.0.1:1/")
    (tmp_path / "output").mkdir()
    assert main(["--config", str(cfg), "serve", "--host", host, "--port", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith(f"cityfeeds: cannot serve on {host}:0: ")
    assert err.endswith(hint)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+psycopg://postgres:secret@127.0.0.1:1/x", "postgres:***@127.0.0.1:1/x"),
        ("sqlite:////proc/cityfeeds-nope/x.db", "No such file or directory"),
        ("sqlite:///{tmp}/not-a-database.db", "file is not a database"),
        ("sqlite:///{tmp}", "is a folder, not a database file"),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line_and_exit_1(
    url: str,
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    (tmp_path / "not-a-database.db").write_bytes(b"these bytes are no SQLite file at all")
    monkeypatch.setenv("CITYFEEDS_DATABASE_URL", url.format(tmp=tmp_path))
    assert main(["--config", str(ROOT / "cityfeeds.toml"), "feeds"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cityfeeds: cannot open the database ") and says in err
    assert "\n" not in err and "Traceback" not in err and "secret" not in err


def test_a_database_of_a_newer_version_is_exit_2_so_no_supervisor_restarts_over_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/newer.db"
    Store.open(url).close()
    with sqlite3.connect(tmp_path / "newer.db") as conn:
        conn.execute("INSERT INTO schema_version VALUES (99)")
    monkeypatch.setenv("CITYFEEDS_DATABASE_URL", url)
    for command in (["status"], ["crawl", "vm"], ["run", "--no-serve"]):
        assert main(["--config", str(ROOT / "cityfeeds.toml"), *command]) == 2, command
        err = capsys.readouterr().err
        assert "newer cityfeeds (schema version 99" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("url", "module", "hint"),
    [
        ("postgresql+psycopg://u@127.0.0.1:1/x", "psycopg", "pip install -e '.[postgres]'"),
        ("postgresql+psycopg2://u@127.0.0.1:1/x", "psycopg2", "postgresql+psycopg://"),
    ],
)
def test_a_missing_database_driver_says_how_to_install_it(
    url: str,
    module: str,
    hint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # As without the postgres extra: importing the driver fails ("No module named 'psycopg'").
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setenv("CITYFEEDS_DATABASE_URL", url)
    assert main(["--config", str(ROOT / "cityfeeds.toml"), "topics"]) == 1
    err = capsys.readouterr().err.strip()
    assert f"its driver (Python module '{module}') is not installed: " in err and hint in err
    assert "\n" not in err


def test_a_closed_pipe_ends_quietly() -> None:
    """`cityfeeds sources | head -1`: the reader leaves early; no traceback, exit 0."""
    cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(ROOT / "cityfeeds.toml")]
    proc = subprocess.Popen(
        [*cmd, "sources", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # long before the interpreter has started and printed anything
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0 and "Traceback" not in err, err


def test_global_options_also_work_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # README: "All commands take --config FILE and -v" — before or after the command name.
    cfg = str(ROOT / "cityfeeds.toml")
    assert main(["topics", "--config", cfg]) == 0
    after = capsys.readouterr().out
    assert main(["--config", cfg, "topics"]) == 0
    assert capsys.readouterr().out == after
    assert main(["--config", str(tmp_path / "missing.toml"), "topics", "--config", cfg]) == 0


def test_numbers_that_must_be_positive_are_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = str(ROOT / "cityfeeds.toml")
    for argv in (
        ["crawl", "--timeout", "-5"],
        ["stories", "--limit", "0"],
        ["run", "--workers", "0"],
        ["run", "--grace", "-1"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(["--config", cfg, *argv])
        assert exit_info.value.code == 2
        assert "must be" in capsys.readouterr().err
    assert main(["--config", cfg, "stories", "--topic", "nope"]) == 2
    assert "unknown topic 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["garbage", "mysql://x/y", "http://127.0.0.1/"])
def test_a_database_url_that_is_no_store_is_a_config_error(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused at load (exit 2), before any command starts work it could not record.
    monkeypatch.setenv("CITYFEEDS_DATABASE_URL", url)
    assert main(["--config", str(ROOT / "cityfeeds.toml"), "topics"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a SQLite or PostgreSQL URL" in err and "\n" not in err


def test_a_path_that_cannot_be_made_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_bytes(b"not a folder")
    argv = ["--config", str(ROOT / "cityfeeds.toml"), "demo", "--port", "0"]
    assert main([*argv, "--output", str(blocked / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cityfeeds") and "\n" not in err and "Traceback" not in err


def test_serve_says_where_it_listens_even_on_port_0(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<html>feeds</html>", encoding="utf-8")
    cfg = _shipped_config(tmp_path, out)
    cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "serve", "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith(f"Serving {out} on http://127.0.0.1:") and line.endswith(
            "(Ctrl-C stops)"
        )
        url = line.split(" on ", 1)[1].split()[0]
        with urllib.request.urlopen(url + "index.html", timeout=10) as response:
            assert response.read() == b"<html>feeds</html>"
    finally:
        proc.terminate()
        proc.wait(30)


def test_extract_takes_pages_up_to_the_crawls_size_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cityfeeds.devtools.demo_server import SiteServer
    from tests.conftest import write_site_config

    page = b"<html><body><h1>Big</h1><p>" + b"x" * 3000 + b"</p></body></html>"
    site = SiteServer({"/big": (page, "text/html; charset=utf-8")}).start()
    try:
        cfg = write_site_config(
            tmp_path, site.base_url, extra={"crawl": {"max_response_bytes": 2048}}
        )
        assert main(["--config", str(cfg), "extract", site.base_url + "big"]) == 1
    finally:
        site.stop()
    err = capsys.readouterr().err.strip()
    assert "page larger than 2048 bytes ([crawl] max_response_bytes)" in err


@pytest.mark.parametrize("packed", [False, True])
def test_extract_holds_a_saved_page_to_the_crawls_size_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], packed: bool
) -> None:
    """A file, or a small .gz that unpacks past the limit, is refused in one line without
    being read whole."""
    from tests.conftest import write_site_config

    cfg = write_site_config(
        tmp_path, "http://127.0.0.1:9/", extra={"crawl": {"max_response_bytes": 4096}}
    )
    page = b"<html><body><h1>Big</h1><p>" + b"x" * 100_000 + b"</p></body></html>"
    path = tmp_path / ("big.html.gz" if packed else "big.html")
    path.write_bytes(gzip.compress(page) if packed else page)
    if packed:
        assert len(path.read_bytes()) < 4096  # small on disk, past the limit unpacked
    args = ["--config", str(cfg), "extract", str(path), "--url", "https://x.ru/n/1"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "page larger than 4096 bytes ([crawl] max_response_bytes)" in err


def test_extract_refuses_a_bad_now_and_a_broken_gzip_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html></html>", encoding="utf-8")
    config = ["--config", str(ROOT / "cityfeeds.toml")]
    with pytest.raises(SystemExit) as info:
        main([*config, "extract", str(page), "--url", "https://vm.ru/news/1", "--now", "yesterday"])
    assert info.value.code == 2
    assert "expected an ISO 8601 date-time" in capsys.readouterr().err
    broken = tmp_path / "page.html.gz"
    broken.write_bytes(gzip.compress(bytes(range(256)) * 40)[:100])  # cut short
    assert main([*config, "extract", str(broken), "--url", "https://vm.ru/news/1"]) == 2
    err = capsys.readouterr().err
    assert "is not a readable gzip file" in err and "Traceback" not in err


def test_extract_of_a_redirect_loop_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Loop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Loop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/loop"
        assert main(["extract", url]) == 1
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "redirect loop (HTTP 302)" in err


def test_unknown_source_on_classify(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(ROOT / "cityfeeds.toml"), "classify", "--title", "Электробус"]
    assert main([*args, "--source", "nope"]) == 2
    assert "unknown source 'nope' (known: mymsk, m24" in capsys.readouterr().err


def test_a_source_named_twice_is_crawled_once() -> None:
    config = load_config(ROOT / "cityfeeds.toml")
    assert [s.name for s in config.select_sources(["m24", "vm", "m24"])] == ["m24", "vm"]


def test_worker_concurrency_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(ROOT / "cityfeeds.toml"), "worker", "--concurrency", "0"])
    assert exit_.value.code == 2
    assert "must be above 0, not 0" in capsys.readouterr().err


@pytest.mark.parametrize("child", [False, True], ids=["cli", "crawl-child"])
@pytest.mark.parametrize("cpu", [0.15, 0.4])
def test_ctrl_c_while_starting_is_one_line_not_a_traceback(
    tmp_path: Path, child: bool, cpu: float
) -> None:
    """Ctrl-C while a command (or the crawl child its parent stops with SIGINT) still imports.

    Both commands run until stopped (a server; a crawl of a site that never answers), so a
    signal that lands after the imports meets their own handling, which exits 130 too. The
    signal is sent after ``cpu`` seconds of the process's CPU time, not of wall time: past
    Python's own start-up and this module's imports (~0.07 s, before `main` can guard), however
    loaded the machine.
    """
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    base = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    cfg = tmp_path / "cityfeeds.toml"
    (tmp_path / "output").mkdir()  # what `serve` serves
    source = {"name": "hang", "title": "Hang", "url": base, "feeds": [base + "rss"]}
    source["allow_private"] = True
    cfg.write_text(
        tomli_w.dumps(
            {"cityfeeds": {"database_url": f"sqlite:///{tmp_path}/db.sqlite"}, "sources": [source]}
        ),
        encoding="utf-8",
    )
    module = ["crawler.runner", "--config", str(cfg), "hang"] if child else ["cityfeeds.cli"]
    if not child:
        module += ["--config", str(cfg), "serve", "--port", "0"]
    proc = subprocess.Popen(
        [*python_module_with_ctrl_c(module[0]), *module[1:]],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until_cpu(proc.pid, cpu)  # within the imports, which take about a second
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        silent.close()
        if proc.poll() is None:
            proc.kill()
    # 130, or ended by the SIGINT itself, which a shell shows as 130 too: CPython 3.11 can
    # flag an interrupt that lands in the middle of some imports as unhandled even though
    # `main` handled it (it printed its line), and then ends the process by SIGINT after a
    # clean exit (seen only on a loaded machine; the same with the code before this test).
    assert proc.returncode in (130, -signal.SIGINT), (out, err)
    assert "Traceback" not in err and "Unhandled error" not in err, err


def _until_cpu(pid: int, seconds: float, timeout: float = 60.0) -> None:
    """Wait until process ``pid`` has used ``seconds`` of CPU time (or has exited)."""
    tick = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return
        if stat[0] == "Z" or (int(stat[11]) + int(stat[12])) / tick >= seconds:
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} did not use {seconds} s of CPU in {timeout} s")


def test_log_lines_say_their_utc_offset(tmp_path: Path) -> None:
    """A log read months later, across a DST change or on another machine, still says when."""
    cfg = _shipped_config(tmp_path, tmp_path / "out")
    env = {**os.environ, "TZ": "Asia/Vladivostok"}  # +10:00 all year
    proc = subprocess.run(
        [sys.executable, "-m", "cityfeeds.cli", "-v", "--config", str(cfg), "feeds"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if " INFO " in line]
    assert lines, proc.stderr
    for line in lines:
        stamp = line.split(" INFO ", 1)[0]
        assert datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z").utcoffset() == timedelta(hours=10)
    # A crawl's own lines are Scrapy's, formatted from the project's settings: dated the same way.
    from scrapy.settings import Settings

    from crawler import settings as project_settings

    scrapy_settings = Settings()
    scrapy_settings.setmodule(project_settings, priority="project")
    formatter = logging.Formatter(scrapy_settings["LOG_FORMAT"], scrapy_settings["LOG_DATEFORMAT"])
    record = logging.LogRecord("scrapy.core.engine", logging.INFO, "", 0, "Spider opened", (), None)
    stamp = formatter.format(record).split(" [", 1)[0]
    assert datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z").utcoffset() is not None


def test_serve_on_a_folder_without_feeds_says_how_to_build_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    cfg = _shipped_config(tmp_path, out)
    cmd = [sys.executable, "-m", "cityfeeds.cli", "--config", str(cfg), "serve", "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    hint = f"no feeds in {out} yet: run `cityfeeds crawl` or `cityfeeds feeds`"
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ", 1)[1].split()[0]
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(url, timeout=10)
        assert raised.value.code == 404
        page = raised.value.read().decode()
        assert "run `cityfeeds crawl` or `cityfeeds feeds`" in page
        assert str(tmp_path) not in page  # a public page names no folder of the machine
    finally:
        proc.terminate()
        # read(), not communicate(): readline() above may hold the next lines in its buffer.
        rest = proc.stdout.read() if proc.stdout is not None else ""
        proc.wait(30)
    assert hint in rest.splitlines()


_SWALLOWED_CTRL_C = """
import os, signal, sys, time
from cityfeeds import cli

def command_named(argv):
    # A library's import-time bare ``except:`` swallows the KeyboardInterrupt a Ctrl-C raised.
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except:  # noqa: E722
        pass
    return ""

cli.command_named = command_named
sys.exit(cli.main([]))
"""


def test_ctrl_c_while_starting_cannot_be_swallowed_by_an_import() -> None:
    # Python's handler raised KeyboardInterrupt where the imports were; one swallowed there was
    # lost and the command ran on (a test saw `serve` never stop). Until the command runs,
    # Ctrl-C ends the process at once.
    proc = subprocess.run(
        [sys.executable, "-c", _SWALLOWED_CTRL_C],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 130
    assert proc.stderr.strip() == "cityfeeds: interrupted"


def test_a_command_runs_with_python_s_own_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    monkeypatch.setattr(
        "cityfeeds.commands.topics.run", lambda *_: seen.append(signal.getsignal(signal.SIGINT))
    )
    before = signal.getsignal(signal.SIGINT)
    main(["--config", str(ROOT / "cityfeeds.toml"), "topics"])
    assert seen == [before] and signal.getsignal(signal.SIGINT) == before
