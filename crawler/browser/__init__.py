"""``render = "browser"``: a source's listing pages through scrapy-playwright and system Chromium.

Only requests of sources that ask for it go through the browser (``meta["playwright"]``); every
other request stays plain HTTP. Playwright is an optional extra and never downloads a browser: a
crawl process starts one system ``chromium`` (``$CITYFEEDS_CHROMIUM`` overrides where it is
found; :mod:`crawler.browser.chromium`) and every crawler in it drives that one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import Any

import crawler.settings as project
from crawler.config import Config, SourceSpec

ENV_CHROMIUM = "CITYFEEDS_CHROMIUM"
INSTALL_HINT = "pip install -e '.[browser]' and Debian's chromium"
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
#: The longest a rendered page waits for its network to go quiet (or its selector) before the
#: page is used as it is: some pages keep a request open for ever.
SETTLE_CAP_SECONDS = 10.0


class BrowserUnavailable(RuntimeError):
    """A source asks for ``render = "browser"`` but the extra or Chromium is missing."""


def chromium_executable() -> str | None:
    """The Chromium binary: ``$CITYFEEDS_CHROMIUM``, else ``chromium`` on the PATH."""
    return (
        os.environ.get(ENV_CHROMIUM) or shutil.which("chromium") or shutil.which("chromium-browser")
    )


def check_browser(sources: list[SourceSpec]) -> str:
    """The Chromium path; BrowserUnavailable (one line: what to install) when it cannot run."""
    names = ", ".join(s.name for s in sources)
    if importlib.util.find_spec("scrapy_playwright") is None:
        raise BrowserUnavailable(
            f'source {names} sets render = "browser": install the browser extra ({INSTALL_HINT})'
        )
    path = chromium_executable()
    if not path or not os.access(path, os.X_OK):
        raise BrowserUnavailable(
            f'source {names} sets render = "browser" but no Chromium was found '
            f"(apt-get install chromium, or set ${ENV_CHROMIUM})"
        )
    return path


def rendered_sources(config: Config, names: list[str]) -> list[SourceSpec]:
    """The named sources that ask for a browser."""
    return [s for s in config.select_sources(names) if s.render]


def browser_settings(config: Config, cdp_url: str) -> dict[str, Any]:
    """Scrapy settings that send ``meta["playwright"]`` requests to the Chromium at ``cdp_url``.

    The crawl process starts that one browser itself (:class:`crawler.browser.chromium.
    SharedChromium`) and every crawler connects to it: scrapy-playwright would otherwise launch
    one per crawler. Contexts are made per request's meta, never at start-up.
    """
    return {
        "DOWNLOAD_HANDLERS": {**project.DOWNLOAD_HANDLERS, "http": HANDLER, "https": HANDLER},
        "DOWNLOADER_MIDDLEWARES": {
            **project.DOWNLOADER_MIDDLEWARES,
            "crawler.browser.middleware.BrowserGuardMiddleware": 45,
        },
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_CDP_URL": cdp_url,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": config.crawl.timeout * 1000,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": config.crawl.concurrency_per_host,
        "PLAYWRIGHT_ABORT_REQUEST": "crawler.browser.page.unwanted_request",
    }
