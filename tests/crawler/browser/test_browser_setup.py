"""Choosing the browser: settings only for rendered sources, one clear line when it is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from js_site import js_source

from crawler.browser import BrowserUnavailable, browser_settings, check_browser, rendered_sources
from crawler.config import ConfigError, load_config
from crawler.runner.child import main as runner_main
from tests.conftest import write_site_config

BASE = "http://127.0.0.1:9/"


def _config(tmp_path: Path, *, render: bool) -> Path:
    return write_site_config(tmp_path, BASE, sources=[js_source(BASE, render=render)])


def test_missing_chromium_stops_the_crawl_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITYFEEDS_CHROMIUM", str(tmp_path / "no-such-chromium"))
    cfg = _config(tmp_path, render=True)
    assert runner_main(["--config", str(cfg), "jsnews"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert 'cityfeeds: source jsnews sets render = "browser" but no Chromium was found' in err


def test_missing_extra_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "scrapy_playwright" else real(name, *a),
    )
    config = load_config(_config(tmp_path, render=True))
    with pytest.raises(
        BrowserUnavailable, match=r"install the browser extra \(pip install -e '\.\[browser\]'"
    ):
        check_browser(config.sources)


def test_only_rendered_sources_get_the_browser(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, render=False))
    assert rendered_sources(config, ["jsnews"]) == []


def test_browser_settings_connect_every_crawler_to_the_process_browser(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, render=True))
    cdp = "ws://127.0.0.1:9222/devtools/browser/x"
    settings = browser_settings(config, cdp)
    assert settings["PLAYWRIGHT_CDP_URL"] == cdp
    assert "PLAYWRIGHT_LAUNCH_OPTIONS" not in settings  # scrapy-playwright launches nothing
    handlers = settings["DOWNLOAD_HANDLERS"]
    assert handlers["https"].startswith("scrapy_playwright") and handlers["file"] is None
    assert "crawler.middlewares.safety.SafetyMiddleware" in settings["DOWNLOADER_MIDDLEWARES"]


def test_a_chromium_that_does_not_start_stops_the_crawl_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if importlib.util.find_spec("scrapy_playwright") is None:
        pytest.skip("the browser extra is not installed")
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\necho 'Missing X server or $DISPLAY' >&2\nexit 1\n")
    chromium.chmod(0o755)
    monkeypatch.setenv("CITYFEEDS_CHROMIUM", str(chromium))
    cfg = _config(tmp_path, render=True)
    # What a crawl killed before closing its browser left in the data folder.
    left = tmp_path / "browser" / "chromium-999999999" / "profile"
    left.mkdir(parents=True)
    assert runner_main(["--config", str(cfg), "jsnews"]) == 2
    err = capsys.readouterr().err
    assert err == "cityfeeds: Chromium exited with 1 at start: Missing X server or $DISPLAY\n"
    assert list((tmp_path / "browser").iterdir()) == []  # its folder is removed, and the old one


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"render": "chrome"}, "render: Input should be '' or 'browser'"),
        ({"render_articles": True}, 'render_articles and render_wait need render = "browser"'),
        ({"render": "browser", "render_wait": "ul >> li"}, "invalid css selector"),
    ],
)
def test_render_settings_are_validated(tmp_path: Path, extra: dict, message: str) -> None:
    source = {**js_source(BASE, render=False), **extra}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(write_site_config(tmp_path, BASE, sources=[source]))


def test_workers_are_not_given_rendered_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cityfeeds.cli import main

    cfg = _config(tmp_path, render=True)
    assert main(["--config", str(cfg), "enqueue", "jsnews"]) == 1
    err = capsys.readouterr().err
    assert 'not queued: jsnews set render = "browser"' in err
    assert "no enabled sources to queue" in err
