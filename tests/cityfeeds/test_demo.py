"""``cityfeeds demo``: the sample site and its feeds served together, subscribable in a reader.

``cityfeeds demo --serve`` runs in a child process from an empty folder (no ./cityfeeds.toml, so
the packaged default configuration supplies the topics); the tests read the URLs it prints and
follow every link of every feed. A real feed reader, newsboat, imports the OPML: the test skips
without it unless ``CITYFEEDS_REQUIRE_NEWSBOAT=1`` (set by .ci/run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import lxml.html
import pytest
from lxml import etree

from cityfeeds.cli import main
from cityfeeds.devtools.demo_site import article_path
from cityfeeds.devtools.demo_stories import (
    PARTNER_PREFIX,
    PARTNER_REWRITES,
    PARTNER_STORIES,
    STORIES,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@dataclass
class ServedDemo:
    """A running ``cityfeeds demo --serve`` and what it printed."""

    proc: subprocess.Popen[str]
    lines: list[str]
    index: str
    opml: str
    feed: str
    output: Path


def _printed(lines: list[str], label: str) -> str:
    return next(line.split(None, 1)[1] for line in lines if line.startswith(label))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDemo]:
    """The demo served on a free loopback port until the module's tests are done."""
    cwd = tmp_path_factory.mktemp("elsewhere")  # no cityfeeds.toml here
    env = {k: v for k, v in os.environ.items() if k != "CITYFEEDS_CONFIG"}
    cmd = [sys.executable, "-m", "cityfeeds.cli", "demo", "--serve", "--port", "0"]
    cmd += ["--output", str(cwd / "out")]
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
        # A test run started in the background inherits an ignored SIGINT: Ctrl-C must work.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    # The demo prints this line once the feeds are built and served; it exits on failure.
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Serving the sample site"):
            break
    else:
        pytest.fail("demo --serve stopped before serving:\n" + "\n".join(lines))
    demo = ServedDemo(
        proc,
        lines,
        _printed(lines, "Index:"),
        _printed(lines, "OPML:"),
        _printed(lines, "Feed:"),
        cwd / "out",
    )
    try:
        yield demo
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        demo.lines += rest.splitlines()
    assert proc.returncode == 0, "\n".join(demo.lines)
    assert "Stopped." in demo.lines
    assert not (demo.output / ".demo.lock").exists()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def _feed_links(url: str, body: bytes) -> set[str]:
    """Every URL a feed points at: self and alternate links, entry links and ids."""
    if url.endswith(".json"):
        data = json.loads(body)
        links = {data["feed_url"], data["home_page_url"]}
        for item in data["items"]:
            links |= {item["url"], item["id"]}
        return links
    parsed = feedparser.parse(body)
    assert not parsed.bozo, (url, parsed.get("bozo_exception"))
    links = {link.href for link in parsed.feed.get("links", [])}
    for entry in parsed.entries:
        links |= {link.href for link in entry.get("links", [])}
        links.add(entry.id)
    return links


def test_demo_serve_prints_the_index_opml_and_a_feed(served: ServedDemo) -> None:
    assert served.index.endswith("/feeds/")
    assert served.opml == served.index + "feeds.opml"
    assert served.feed == served.index + "all.rss"
    assert any("built-in default configuration" in line for line in served.lines)
    assert any(line.startswith(f"Feeds written to {served.output}") for line in served.lines)
    for url in (served.index, served.opml, served.feed):
        assert _get(url)[0] == 200, url


def test_the_feeds_folder_without_its_slash_redirects_to_the_index(served: ServedDemo) -> None:
    with urllib.request.urlopen(served.index.removesuffix("/"), timeout=30) as response:
        assert (response.status, response.url) == (200, served.index)


def test_every_link_of_the_served_demo_resolves(served: ServedDemo) -> None:
    origin = served.index.removesuffix("feeds/")
    status, opml = _get(served.opml)
    assert status == 200
    feeds = set(etree.fromstring(opml).xpath("//outline/@xmlUrl"))
    html_urls = set(etree.fromstring(opml).xpath("//outline/@htmlUrl"))
    # The index page's feed URL boxes and links: every address of this server on it.
    status, index = _get(served.index)
    assert status == 200
    page = lxml.html.fromstring(index)
    on_index = {
        urljoin(served.index, value)
        for value in page.xpath("//@href | //@src | //input/@value")
        if not value.startswith("data:")
    }
    on_index |= set(re.findall(re.escape(origin) + r"[^\s\"'<>]*", index.decode()))
    feeds |= {u for u in on_index if re.search(r"\.(rss|atom|json)$", u)}
    assert len(feeds) >= 15, feeds  # five feeds in three formats
    links = html_urls | on_index
    for feed in sorted(feeds):
        status, body = _get(feed)
        assert status == 200, feed
        links |= _feed_links(feed, body)
    for story in STORIES:
        assert origin.rstrip("/") + article_path(story) in links
    outside = {u for u in links if not u.startswith(origin)}
    assert not outside, outside
    broken = {u: s for u in sorted(links) if (s := _get(u)[0]) != 200}
    assert not broken, broken


def test_newsboat_imports_the_opml_and_shows_every_demo_article(
    served: ServedDemo, tmp_path: Path
) -> None:
    newsboat = shutil.which("newsboat")
    if newsboat is None:
        if os.environ.get("CITYFEEDS_REQUIRE_NEWSBOAT") == "1":
            pytest.fail("CITYFEEDS_REQUIRE_NEWSBOAT=1 but newsboat is not installed")
        pytest.skip("newsboat is not installed (apt-get install newsboat)")
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(_get(served.opml)[1])
    (tmp_path / "config").write_text("")
    (tmp_path / "urls").write_text("")
    files = ["-u", str(tmp_path / "urls"), "-c", str(tmp_path / "cache.db")]
    files += ["-C", str(tmp_path / "config")]
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    env["XDG_DATA_HOME"] = str(tmp_path)

    def newsboat_run(*args: str) -> str:
        done = subprocess.run(
            [newsboat, *files, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    newsboat_run("-i", str(opml))
    subscribed = (tmp_path / "urls").read_text()
    assert served.feed in subscribed
    out = newsboat_run("-x", "reload", "print-unread")
    # Every article of both sample outlets (the partner's are in its source feed).
    assert f"{len(STORIES) + len(PARTNER_STORIES)} unread articles" in out
    with sqlite3.connect(tmp_path / "cache.db") as db:
        titles = {t for (t,) in db.execute("SELECT title FROM rss_item")}
        urls = {u for (u,) in db.execute("SELECT url FROM rss_item")}
    assert titles == {s.title for s in (*STORIES, *PARTNER_STORIES)}
    origin = served.index.removesuffix("feeds/").rstrip("/")
    assert urls == {origin + article_path(s) for s in STORIES} | {
        origin + PARTNER_PREFIX + article_path(s) for s in PARTNER_STORIES
    }


def test_demo_port_busy_is_one_line_and_exit_1(
    served: ServedDemo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = served.index.split(":")[2].split("/")[0]
    assert main(["demo", "--port", port, "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"127.0.0.1:{port}" in err and "--port" in err


def test_a_second_demo_on_the_same_output_is_refused_and_leaves_its_feeds_alone(
    served: ServedDemo, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (served.output / "all.rss").read_bytes()
    assert main(["demo", "--port", "0", "--output", str(served.output)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "another demo" in err and "--output" in err
    assert (served.output / "all.rss").read_bytes() == before


def test_a_demo_output_that_cannot_be_written_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--port", "0", "--output", str(blocker / "demo")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot write the demo's feeds" in err and "--output" in err


def test_the_demo_refuses_a_folder_of_someone_elses_files_and_leaves_them_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing folder that holds files no demo wrote is refused: the demo's index.html and
    all.rss would replace the user's without a word (and it left its lock there)."""
    mine = tmp_path / "d"
    mine.mkdir()
    for name in ("index.html", "all.rss"):
        (mine / name).write_text("mine\n")
    assert main(["demo", "--port", "0", "--output", str(mine)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no demo wrote" in err and "all.rss, index.html" in err
    assert sorted(p.name for p in mine.iterdir()) == ["all.rss", "index.html"]
    assert {(mine / n).read_text() for n in ("index.html", "all.rss")} == {"mine\n"}


def test_a_folder_an_older_demo_left_is_the_demos(tmp_path: Path) -> None:
    """Older versions marked no folder but always left their lock file in it."""
    from cityfeeds.commands.demo import foreign_output

    (tmp_path / "index.html").write_text("feeds")
    assert foreign_output(tmp_path) is not None
    (tmp_path / ".demo.lock").touch()
    assert foreign_output(tmp_path) is None
    assert foreign_output(tmp_path / "missing") is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_guids_and_links_are_the_same_on_every_run(tmp_path: Path) -> None:
    """Each run crawls into a new database; a reader must still see the same items."""
    port = str(_free_port())
    runs = []
    out = tmp_path / "out"
    for _ in (1, 2):
        # The second run writes over the first one's feeds: the folder is marked the demo's.
        assert main(["demo", "--port", port, "--output", str(out)]) == 0
        assert sorted(p.name for p in out.glob(".*")) == [".cityfeeds-demo"]  # no lock left
        runs.append(feedparser.parse((out / "all.rss").read_bytes()).entries)
    first, second = ({(e.id, e.link) for e in run} for run in runs)
    # One entry per story: the partner's rewrites of two demo stories are listed under them.
    assert len(first) == len(STORIES) + len(PARTNER_STORIES) - len(PARTNER_REWRITES)
    assert first == second


def test_demo_packaged_configuration_is_the_repository_one() -> None:
    """Outside a checkout the demo uses the shipped copy of cityfeeds.toml: keep them equal."""
    packaged = ROOT / "crawler" / "default_config.toml"
    assert packaged.read_text() == (ROOT / "cityfeeds.toml").read_text(), (
        "cityfeeds.toml changed: copy it to crawler/default_config.toml"
    )


def test_demo_topic_feed_shows_the_partner_reports_under_their_stories(tmp_path: Path) -> None:
    """The second sample outlet's rewrites join their stories; its look-alike stays apart."""
    out = tmp_path / "out"
    assert main(["demo", "--port", str(_free_port()), "--output", str(out)]) == 0
    feed = json.loads((out / "topics/electric-transport.json").read_text(encoding="utf-8"))
    related = {
        item["id"].rsplit("/", 1)[1].split("-")[0]: [
            r["url"].rsplit("/", 1)[1].split("-")[0] for r in item["_cityfeeds"]["related"]
        ]
        for item in feed["items"]
        if "_cityfeeds" in item
    }
    assert related == {str(d): [str(p)] for p, d in PARTNER_REWRITES.items()}
    look_alike = next(s for s in PARTNER_STORIES if s.id not in PARTNER_REWRITES)
    assert any(item["title"] == look_alike.title for item in feed["items"])


def test_the_demo_never_writes_into_the_served_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cityfeeds serve` publishes output_dir: the demo's feeds (127.0.0.1 links) stay out."""
    from cityfeeds.cli import build_parser

    default = Path(build_parser("demo").parse_args(["demo"]).output)
    assert not default.resolve().is_relative_to((ROOT / "output").resolve())
    config = tmp_path / "cityfeeds.toml"
    config.write_text(
        (ROOT / "cityfeeds.toml")
        .read_text(encoding="utf-8")
        .replace('output_dir = "output"', 'output_dir = "public"'),
        encoding="utf-8",
    )
    inside = tmp_path / "public" / "demo"
    assert main(["--config", str(config), "demo", "--port", "0", "--output", str(inside)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "inside" in err and str(tmp_path / "public") in err
    assert not inside.exists()


@pytest.mark.parametrize(
    ("output", "said"),
    [(".", "configuration's own folder"), ("data", "cityfeeds.db would be served")],
)
def test_the_demo_refuses_an_output_that_would_serve_the_config_or_the_database(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    output: str,
    said: str,
) -> None:
    """`demo --serve` serves its --output as `cityfeeds serve` serves output_dir: the folders
    refused there (the configuration's, the SQLite database's) are refused here too."""
    monkeypatch.delenv("CITYFEEDS_DATABASE_URL", raising=False)
    config = tmp_path / "cityfeeds.toml"
    config.write_text((ROOT / "cityfeeds.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "data").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    target = str(tmp_path / output)
    assert main(["--config", str(config), "demo", "--port", "0", "--output", target]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and said in err and "--output" in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_demo_serve_stopped_by_sigterm_removes_its_throwaway_database(tmp_path: Path) -> None:
    """SIGTERM (a service manager, `kill`) stops the demo as Ctrl-C does: its temporary
    database and config are removed (only --keep-db keeps them)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CITYFEEDS_CONFIG"}
    cmd = [sys.executable, "-m", "cityfeeds.cli", "demo", "--serve", "--port", "0"]
    proc = subprocess.Popen(
        [*cmd, "--output", str(tmp_path / "out")],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Serving the sample site"):
            break
    else:
        pytest.fail("demo --serve stopped before serving:\n" + "".join(lines))
    assert [p.name for p in scratch.glob("cityfeeds-demo-*")]  # its database, while it runs
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(lines) + rest
    assert not list(scratch.glob("cityfeeds-demo-*"))
    assert not (tmp_path / "out" / ".demo.lock").exists()
