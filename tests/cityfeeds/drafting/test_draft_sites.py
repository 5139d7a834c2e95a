"""`sources draft --write` on loopback sites of four shapes, each entry then crawled as written."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from drafting_sites import (
    HTML,
    Files,
    _date,
    article_html,
    feed_only_site,
    german_site,
    listings_site,
    page_html,
    sitemap_only_site,
)

from cityfeeds.cli import main
from cityfeeds.devtools.demo_server import SiteServer
from cityfeeds.devtools.demo_site import STORIES, article_path, build_site
from crawler.config import Config, load_config
from crawler.normalize.urls import url_identity
from crawler.storage import Store
from crawler.supervisor import crawl_subprocess
from tests.conftest import write_site_config

pytestmark = pytest.mark.slow


def _demo(base: str) -> tuple[Files, list[str]]:
    return build_site(base), [article_path(s) for s in STORIES]


SHAPES: dict[str, Callable[[str], tuple[Files, list[str]]]] = {
    "demo": _demo,  # feed + sitemap + listing pages (cityfeeds demo's site)
    "feed-only": feed_only_site,
    "sitemap-only": sitemap_only_site,
    "listings-only": listings_site,
}


def _config_without_sources(tmp_path: Path, base_url: str) -> Path:
    cfg = write_site_config(tmp_path, base_url, sources=[])
    # tomli_w writes the empty list inline, which a [[sources]] table cannot extend.
    text = cfg.read_text(encoding="utf-8").replace("sources = []\n", "")
    cfg.write_text("# a comment the draft must keep\n" + text, encoding="utf-8")
    return cfg


def _draft_argv(cfg: Path, url: str, name: str, fixtures: Path) -> list[str]:
    """``sources draft URL --write`` of the source ``name`` into ``cfg`` (loopback allowed)."""
    argv = ["--config", str(cfg), "sources", "draft", url, "--allow-private"]
    return [*argv, "--name", name, "--write", "--fixtures", str(fixtures)]


def _crawled(config: Config, name: str) -> tuple[dict[str, Any], set[str]]:
    """The drafted source crawled as written: its run (which must be ok) and what it stored."""
    outcome = crawl_subprocess(config, [name], timeout=120)
    assert outcome.runs[name]["status"] == "ok", outcome.runs
    store = Store.open(config.database_url)
    try:
        return outcome.runs[name], store.known_urls(name)
    finally:
        store.close()


@pytest.fixture
def server() -> Iterator[SiteServer]:
    site = SiteServer().start()
    try:
        yield site
    finally:
        site.stop()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_drafted_entry_crawls_the_site(
    shape: str, server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files, paths = SHAPES[shape](server.base_url)
    cfg = _config_without_sources(tmp_path, server.base_url)
    fixtures = tmp_path / "fixtures"
    argv = _draft_argv(cfg, server.base_url, "drafted", fixtures)
    assert main(argv) == 0
    block = capsys.readouterr().out
    assert "[[sources]]" in block and "article_pattern" in block
    assert "5/5 samples extracted with title, date, body" in block
    assert "timezone" not in block  # the sites state +03:00, the config's default zone's offset
    if shape == "listings-only":
        assert "#   checked /authors/{slug} (2 links): 0/2 pages are articles" in block

    config = load_config(cfg)  # the written file loads, with the drafted source in it
    assert config.source("drafted").article_pattern
    written = cfg.read_text(encoding="utf-8")
    assert written.startswith("# a comment the draft must keep\n")
    assert "# article_pattern (sure)" in written
    saved = list((fixtures / "drafted").glob("*.html"))
    assert len(saved) == 1 and (fixtures / "drafted" / f"{saved[0].stem}.expected.json").exists()

    _, stored = _crawled(config, "drafted")
    articles = {url_identity(server.base_url.rstrip("/") + p) for p in paths}
    assert stored <= articles, f"not articles: {stored - articles}"
    assert len(stored) >= 0.95 * len(articles), f"missing: {articles - stored}"


@pytest.mark.parametrize(("lang", "written"), [("en-GB", "en"), ("tlh", "ru"), ("", "ru")])
def test_a_drafted_language_is_one_the_config_accepts(
    lang: str,
    written: str,
    server: SiteServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, _ = feed_only_site(server.base_url)
    home, ctype = files["/"]
    files["/"] = (home.replace(b'<html lang="ru">', f'<html lang="{lang}">'.encode()), ctype)
    server.files = files
    cfg = _config_without_sources(tmp_path, server.base_url)
    argv = _draft_argv(cfg, server.base_url, "drafted", tmp_path / "fixtures")
    assert main(argv) == 0, capsys.readouterr().err
    assert load_config(cfg).source("drafted").language == written


def test_a_site_stating_another_offset_gets_a_timezone(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The config's default zone is Europe/Moscow; the site's feed says +0100 while its pages
    # give naive local times (a dateline, a <time> without offset): read in Moscow's zone
    # they would be two hours off.
    server.files, _ = german_site(server.base_url)
    cfg = _config_without_sources(tmp_path, server.base_url)
    fixtures = tmp_path / "fixtures"
    argv = _draft_argv(cfg, server.base_url, "stadt", fixtures)
    assert main(argv) == 0, capsys.readouterr().err
    block = capsys.readouterr().out
    assert "language = 'de'" in block
    assert "timezone = 'Europe/Berlin'" in block
    comment = next(line for line in block.splitlines() if line.startswith("# timezone:"))
    assert "inferred from UTC offsets" in comment and "+01:00" in comment
    assert "Europe/Moscow" in comment and "check it" in comment
    assert "#   also matching: Europe/Busingen, Europe/Vienna" in block

    assert load_config(cfg).source("stadt").timezone == "Europe/Berlin"
    (expected,) = (fixtures / "stadt").glob("*.expected.json")
    record = json.loads(expected.read_text(encoding="utf-8"))
    assert record["published"].endswith("+01:00"), record["published"]
    assert not record["text"].startswith(("5. Januar", "8. Januar"))


def test_a_site_that_dates_no_page_is_drafted_and_crawled_undated(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # «0/3 pages are articles (missing published)»: the crawl keeps such pages (dated at the
    # fetch), so the draft must not refuse the site.
    files, paths = listings_site(server.base_url)
    undated = re.compile(rb'<div class="meta-line">.*?</div>')
    server.files = {
        path: (undated.sub(b"", body), ctype)
        for path, (body, ctype) in files.items()
        if not path.startswith("/authors/")
    }
    cfg = _config_without_sources(tmp_path, server.base_url)
    argv = _draft_argv(cfg, server.base_url, "undated", tmp_path / "fixtures")
    assert main(argv) == 0, capsys.readouterr().err
    block = capsys.readouterr().out
    assert "samples extracted with title, body (no page is dated" in block
    config = load_config(cfg)
    run, _ = _crawled(config, "undated")
    assert run["new"] >= 0.95 * len(paths)


def test_a_draft_from_a_section_page_lists_that_section(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Drafted from /transport/, the entry listed only the other section the page linked to,
    # and the crawl stored none of the page's own articles.
    files, paths = listings_site(server.base_url)
    # The section's first page links to the other section, not to itself.
    nav = "<nav><a href='/gorod/'>Город</a></nav>".encode()
    body, ctype = files["/transport/"]
    server.files = {**files, "/transport/": (body.replace(b"<body>", b"<body>" + nav, 1), ctype)}
    cfg = _config_without_sources(tmp_path, server.base_url)
    section = server.base_url + "transport/"
    argv = _draft_argv(cfg, section, "section", tmp_path / "fixtures")
    assert main(argv) == 0, capsys.readouterr().err
    config = load_config(cfg)
    assert config.source("section").listings[0].url == section
    _, stored = _crawled(config, "section")
    own = {url_identity(server.base_url.rstrip("/") + p) for p in paths if "/transport/" in p}
    assert own and own <= stored, f"missing: {own - stored}"


def test_articles_named_by_a_query_id_are_drafted_and_crawled(
    server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /index.php?newsid=700&lang=ru: "no group of two or more links with a variable path".
    base = server.base_url
    paths = [f"/index.php?newsid={700 + i}&lang=ru" for i in range(8)]
    files: Files = {"/": (page_html("Новости", [(p, "новость") for p in paths]), HTML)}
    for i, path in enumerate(paths):
        title = f"Событие номер {i} в округе"
        files[path] = (
            article_html(title, _date(i), url=base + path[1:], markup="og", site="Х"),
            HTML,
        )
    server.files = files
    cfg = _config_without_sources(tmp_path, base)
    argv = _draft_argv(cfg, base, "query", tmp_path / "fixtures")
    assert main(argv) == 0, capsys.readouterr().err
    config = load_config(cfg)
    assert "newsid" in (config.source("query").article_pattern or "")
    run, _ = _crawled(config, "query")
    assert run["new"] == len(paths)


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_draft_in_json_gives_the_entry_and_its_block(
    where: str, server: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `sources --json draft URL` printed the TOML block: --json was the listing's alone.
    server.files, _ = SHAPES["feed-only"](server.base_url)
    cfg = _config_without_sources(tmp_path, server.base_url)
    draft = ["sources", "draft", server.base_url, "--allow-private", "--name", "drafted"]
    if where == "before":
        draft.insert(1, "--json")
    else:
        draft.append("--json")
    assert main(["--config", str(cfg), *draft]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["name"] == "drafted" and printed["toml"].lstrip().startswith("# Drafted by")
    assert printed["entry"]["name"] == "drafted" and printed["entry"]["article_pattern"]
    assert printed["entry"]["url"] == server.base_url
    assert main(["--config", str(cfg), "sources", "draft", server.base_url, "--allow-private"]) == 0
    assert capsys.readouterr().out.lstrip().startswith("# Drafted by")  # TOML without --json
