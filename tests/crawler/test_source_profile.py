"""SourceProfile: a source's page-processing settings, taken once from the validated config."""

from __future__ import annotations

import pickle
from pathlib import Path

from crawler.config import Config, load_config, parse_config
from crawler.profile import MAX_TEXT_CHARS, SourceProfile, profiles_of

ROOT = Path(__file__).resolve().parents[2]

TOML = """
[cityfeeds]
timezone = "Asia/Yekaterinburg"

[[sources]]
name = "ekb"
title = "Екатеринбург онлайн"
url = "https://www.ekb.example/"
city = "Yekaterinburg"
language = "ru"
site_names = ["Е1", "Екатеринбург онлайн"]
[sources.selectors]
title = "css:h1.headline"

[[sources]]
name = "spb"
title = "Петербург"
url = "https://spb.example/"
timezone = "Europe/Moscow"
allowed_domains = ["spb.example", "cdn.spb.example"]
language = "en"
"""


def _config() -> Config:
    return parse_config(TOML)


def test_profile_takes_every_page_setting_from_the_validated_source() -> None:
    config = _config()
    profile = SourceProfile.from_config(config, config.source("ekb"), max_text=1000)
    assert profile == SourceProfile(
        name="ekb",
        timezone="Asia/Yekaterinburg",  # the [cityfeeds] zone, as the source names none
        selectors={"title": "css:h1.headline"},
        site_names=("Екатеринбург онлайн", "Е1"),  # title first, each name once
        allowed_domains=("ekb.example",),  # derived from the URL by validation
        language="ru",
        city="Yekaterinburg",
        max_text=1000,
    )
    spb = SourceProfile.from_config(config, config.source("spb"))
    assert (spb.timezone, spb.allowed_domains) == (
        "Europe/Moscow",
        ("spb.example", "cdn.spb.example"),
    )
    assert (spb.city, spb.language, spb.max_text) == (None, "en", MAX_TEXT_CHARS)


def test_a_page_of_no_source_gets_its_own_host_and_the_config_zone() -> None:
    profile = SourceProfile.for_url(_config(), "https://news.other.example/a/1")
    assert profile.allowed_domains == ("news.other.example",)
    assert (profile.name, profile.timezone, profile.selectors) == ("", "Asia/Yekaterinburg", {})


def test_profiles_of_builds_one_per_configured_source_and_they_travel_to_workers() -> None:
    profiles = profiles_of(load_config(ROOT / "cityfeeds.toml"))
    assert set(profiles) == {s.name for s in load_config(ROOT / "cityfeeds.toml").sources}
    m24 = profiles["m24"]
    assert pickle.loads(pickle.dumps(m24)) == m24  # what the extraction pool sends per page
