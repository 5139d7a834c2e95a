"""Crawl settings come from the config loaded once: the spider and context reuse it."""

from __future__ import annotations

from pathlib import Path

from fresh_interpreter import modules_loaded
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from crawler.config import load_config
from crawler.context import get_context
from crawler.crawl_settings import (
    POLITENESS_KEYS,
    crawl_settings,
    drop_disabled_components,
    politeness_settings,
)
from crawler.spiders.news import NewsSpider

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "cityfeeds.toml"


def test_politeness_keys_name_every_derived_setting() -> None:
    assert set(POLITENESS_KEYS) == set(politeness_settings(load_config(CONFIG)))


def test_spider_does_not_read_the_config_again_when_the_runner_set_it(tmp_path: Path) -> None:
    config = load_config(CONFIG)
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    # The file is gone: reading it again would raise ConfigError.
    settings.update(crawl_settings(config, config_path=tmp_path / "gone.toml"), priority="cmdline")
    NewsSpider.update_settings(settings)
    assert settings["USER_AGENT"] == config.crawl.user_agent


def test_spider_fills_in_politeness_from_the_config_for_scrapy_crawl() -> None:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    settings.set("CITYFEEDS_CONFIG", str(CONFIG), priority="cmdline")
    settings.set("DOWNLOAD_DELAY", 7.5, priority="cmdline")
    NewsSpider.update_settings(settings)
    config = load_config(CONFIG)
    assert settings["USER_AGENT"] == config.crawl.user_agent
    assert settings.getfloat("DOWNLOAD_DELAY") == 7.5  # a command line wins


def test_the_context_uses_the_config_the_spider_was_given() -> None:
    config = load_config(CONFIG)
    crawler = get_crawler(NewsSpider, {"CITYFEEDS_CONFIG": str(CONFIG)})
    spider = NewsSpider.from_crawler(crawler, source="m24", config=config)
    assert get_context(crawler).config is config  # not a second copy read from the file
    assert spider.profile().name == "m24" and spider.profile() is spider.profile()


def test_components_that_are_off_are_not_even_imported() -> None:
    # Scrapy imports every listed component's module before asking it whether it is enabled,
    # and (get_component_priority_dict_with_base) every module a priority dictionary names,
    # set to None or not: RemoteControl's imports aiohttp's web server (~70 ms, ~10 MiB), the
    # cookies middleware's imports tldextract, requests and urllib3 (~3 MiB). Every crawl
    # process carried them for nothing (the spider now drops them from the settings).
    code = (
        "import crawler.settings as project\n"
        "from scrapy.settings import Settings\n"
        "from scrapy.utils.conf import build_component_list\n"
        "from scrapy.utils.misc import load_object\n"
        "from crawler.spiders.news import NewsSpider\n"
        "settings = Settings()\n"
        "settings.setmodule(project, priority='project')\n"
        "settings.set('CITYFEEDS_CONFIG', 'cityfeeds.toml', priority='cmdline')\n"
        "NewsSpider.update_settings(settings)\n"
        "for name in ('EXTENSIONS', 'DOWNLOADER_MIDDLEWARES', 'SPIDER_MIDDLEWARES',\n"
        "             'ITEM_PIPELINES'):\n"
        "    for path in build_component_list(\n"
        "        settings.get_component_priority_dict_with_base(name)\n"
        "    ):\n"
        "        load_object(path)\n"
    )
    assert modules_loaded(code, ("aiohttp", "tldextract", "requests", "urllib3")) == []


def test_dropping_the_disabled_components_keeps_the_enabled_ones() -> None:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    before = {
        name: build_component_list(settings.getwithbase(name))
        for name in ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES")
    }
    assert "scrapy.extensions.remote_control.RemoteControl" in settings.getdict("EXTENSIONS_BASE")
    drop_disabled_components(settings)
    for name, components in before.items():
        assert build_component_list(settings.getwithbase(name)) == components
        assert None not in settings.getdict(name).values()
    assert "scrapy.extensions.remote_control.RemoteControl" not in settings.getdict(
        "EXTENSIONS_BASE"
    )
