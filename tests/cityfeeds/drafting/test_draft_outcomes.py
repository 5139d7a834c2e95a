"""`sources draft` names each bad outcome clearly: unreachable, robots, no pattern, JavaScript."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from drafting_sites import HTML, feed_only_site, page_html

from cityfeeds.cli import main
from cityfeeds.devtools.demo_server import SiteServer
from tests.conftest import write_site_config


@pytest.fixture
def server() -> Iterator[SiteServer]:
    site = SiteServer().start()
    try:
        yield site
    finally:
        site.stop()


def _draft(tmp_path: Path, url: str, *extra: str) -> list[str]:
    cfg = write_site_config(tmp_path, url, sources=[])
    return ["--config", str(cfg), "sources", "draft", url, *extra]


def test_unreachable_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    assert main(_draft(tmp_path, f"http://127.0.0.1:{port}/", "--allow-private")) == 1
    assert "cityfeeds: unreachable: " in capsys.readouterr().err


def test_robots_txt_forbids(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files, _ = feed_only_site(server.base_url)
    server.files["/robots.txt"] = (b"User-agent: *\nDisallow: /\n", "text/plain")
    assert main(_draft(tmp_path, server.base_url, "--allow-private")) == 1
    assert "cityfeeds: robots: robots.txt of 127.0.0.1 forbids" in capsys.readouterr().err
    assert server.requests == ["/robots.txt"]  # the home page itself was never fetched


def test_private_address_needs_allow_private(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files, _ = feed_only_site(server.base_url)
    assert main(_draft(tmp_path, server.base_url)) == 1
    assert "cityfeeds: blocked: " in capsys.readouterr().err
    assert server.requests == []


def test_no_article_pattern_says_what_was_tried(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = ["/info/kak-nas-nayti-na-karte/", "/info/chasto-zadavaemye-voprosy/"]
    server.files = {p: (page_html("Справка", [("/", "Главная")]), HTML) for p in pages}
    server.files["/"] = (page_html("Сайт", [(p, "справка") for p in pages]), HTML)
    assert main(_draft(tmp_path, server.base_url, "--allow-private")) == 1
    err = capsys.readouterr().err
    assert "cityfeeds: no_pattern: no article pattern found among 2 links" in err
    assert "/info/{slug} (2 links): 0/2 pages are articles (missing body, published)" in err


def test_page_built_by_javascript(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = (
        b'<!DOCTYPE html><html><head><script src="/app.js"></script></head>'
        b'<body><div id="app"></div></body></html>'
    )
    server.files = {"/": (home, HTML), "/app.js": (b"fetch('/api/news')", "text/javascript")}
    assert main(_draft(tmp_path, server.base_url, "--allow-private")) == 1
    err = capsys.readouterr().err
    assert "cityfeeds: needs_javascript: " in err and 'render = "browser"' in err


def test_write_refuses_a_taken_name_before_fetching(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files, _ = feed_only_site(server.base_url)
    cfg = write_site_config(tmp_path, server.base_url)  # has a source called "demo"
    before = cfg.read_text(encoding="utf-8")
    argv = ["--config", str(cfg), "sources", "draft", server.base_url, "--allow-private"]
    argv += ["--name", "demo", "--write", "--fixtures", str(tmp_path / "fixtures")]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    # Said before the site is fetched and a draft printed: the name is taken.
    assert f"a source named 'demo' is already in {cfg}" in err and out == ""
    assert cfg.read_text(encoding="utf-8") == before
    assert not (tmp_path / "fixtures").exists()


@pytest.mark.parametrize("write", [[], ["--write"]], ids=["print", "write"])
def test_an_invalid_name_is_refused_before_fetching(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], write: list[str]
) -> None:
    """Printed or written, the draft's name follows the config loader's one rule."""
    server.files, _ = feed_only_site(server.base_url)
    argv = _draft(tmp_path, server.base_url, "--allow-private", "--name", "My Site", *write)
    before = Path(argv[1]).read_text(encoding="utf-8")
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("cityfeeds: --name: source name 'My Site': use 1-64 lowercase letters")
    assert Path(argv[1]).read_text(encoding="utf-8") == before


def test_write_with_a_fixtures_folder_that_cannot_be_made_leaves_the_config_alone(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files, _ = feed_only_site(server.base_url)
    cfg = write_site_config(tmp_path, server.base_url)
    before = cfg.read_text(encoding="utf-8")
    blocked = tmp_path / "blocked"
    blocked.write_bytes(b"a file where the fixtures folder should be")
    argv = ["--config", str(cfg), "sources", "draft", server.base_url, "--allow-private"]
    argv += ["--name", "fresh", "--write", "--fixtures", str(blocked)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("cityfeeds: cannot save the sample fixture in ")
    assert "Traceback" not in err
    assert cfg.read_text(encoding="utf-8") == before  # no source without its fixture


def test_cyrillic_urls_are_sent_percent_encoded(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # urllib refuses a raw Cyrillic path ("'ascii' codec can't encode"): draft, extract and
    # record crashed with a traceback on a site whose links are written that way.
    from urllib.parse import quote

    from drafting_sites import _date, article_html

    paths = [f"/новости/{i}-казань" for i in range(1, 7)]
    server.files = {
        quote(p): (
            article_html(
                f"Новость {i} о казанском трамвае",
                _date(i),
                url=server.base_url.rstrip("/") + quote(p),
                markup="jsonld",
                site="Казань",
            ),
            HTML,
        )
        for i, p in enumerate(paths, 1)
    }
    server.files["/"] = (page_html("Казань", [(p, f"новость {p}") for p in paths]), HTML)
    assert main(_draft(tmp_path, server.base_url, "--allow-private")) == 0
    out = capsys.readouterr().out
    assert "article_pattern" in out
    assert quote("/новости/1-казань") in server.requests
    cfg = write_site_config(tmp_path, server.base_url)
    url = server.base_url.rstrip("/") + paths[0]  # typed as the browser shows it
    assert main(["--config", str(cfg), "extract", url]) == 0
    assert '"title": "Новость 1 о казанском трамвае"' in capsys.readouterr().out
