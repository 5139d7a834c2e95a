"""Saved-page fixtures: every configured source has one, and each still extracts as expected."""

from __future__ import annotations

import gzip
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cityfeeds.devtools.fixtures import (
    extract_fixture,
    load_fixtures,
    record_fixture,
    record_of,
    rewrite_expected,
)
from crawler.config import load_config
from crawler.profile import profiles_of

ROOT = Path(__file__).resolve().parents[1]
SITES = ROOT / "tests" / "fixtures" / "sites"
CONFIG = ROOT / "cityfeeds.toml"
FIXTURES = load_fixtures(SITES)
PROFILES = profiles_of(load_config(CONFIG))
SOURCES = [s["name"] for s in tomllib.loads(CONFIG.read_text(encoding="utf-8")).get("sources", [])]


@pytest.mark.parametrize("source", SOURCES)
def test_every_configured_source_has_a_fixture(source: str) -> None:
    fixtures = [f for f in FIXTURES if f.source == source]
    assert fixtures, f"source {source!r} has no saved page under {SITES / source}"
    assert all(f.expected is not None for f in fixtures), "run `cityfeeds fixtures` and review"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f"{f.source}/{f.name}")
def test_fixture_extracts_as_expected(fixture) -> None:
    got = record_of(extract_fixture(fixture, PROFILES.get(fixture.source)))
    for key, value in (fixture.expected or {}).items():
        assert got[key] == value, f"{fixture.source}/{fixture.name}: {key}"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f"{f.source}/{f.name}")
def test_fixture_has_the_core_fields(fixture) -> None:
    data = extract_fixture(fixture, PROFILES.get(fixture.source))
    assert data.title and data.published and data.text and data.language == "ru"
    assert data.published <= fixture.fetched_at
    if fixture.reconstruction:
        assert fixture.notes, "a reconstructed page must say what it is based on"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f"{f.source}/{f.name}")
def test_no_selector_strings_in_any_field(fixture) -> None:
    record = record_of(extract_fixture(fixture, PROFILES.get(fixture.source)))
    text = json.dumps({k: v for k, v in record.items() if k != "provenance"}, ensure_ascii=False)
    for marker in ("/html/", "@content", "meta[@", "{{", "Загрузка ..."):
        assert marker not in text


def _by_source(source: str):
    return next(f for f in FIXTURES if f.source == source)


def test_site_rules_from_sources_notes() -> None:
    vm = extract_fixture(_by_source("vm"), PROFILES.get("vm"))
    assert vm.title == "В Москве на маршруты вышли новые электробусы"  # no " // Вечерняя Москва"
    assert "Главное" not in vm.text and "Подписывайтесь" not in vm.text
    assert vm.section == "Город"
    m24 = extract_fixture(_by_source("m24"), PROFILES.get("m24"))
    assert not m24.title.startswith("Транспорт")  # rubric glued to the h1 is not the title
    assert (m24.published.hour, m24.published.minute) == (8, 57)
    assert (m24.updated.hour, m24.updated.minute) == (9, 45)
    assert "Читайте также" not in m24.text and "cookie" not in m24.text
    assert extract_fixture(_by_source("mskagency"), PROFILES.get("mskagency")).image is None
    mymsk = extract_fixture(_by_source("mymsk"), PROFILES.get("mymsk"))
    assert mymsk.provenance["title"] == "opengraph"  # og:* given with name=
    assert mymsk.summary.startswith("В 15 межотраслевых")
    mosru = extract_fixture(_by_source("mosru"), PROFILES.get("mosru"))
    assert mosru.published.day == 3 and mosru.published.hour == 14  # not the header date line
    assert mosru.tags == ["Транспорт", "Экология"]


def test_record_load_and_rewrite_round_trip(tmp_path: Path) -> None:
    body = (SITES / "m24" / "812345.html").read_bytes()
    fetched = datetime(2026, 2, 4, 7, 30, tzinfo=UTC)
    url = "https://www.m24.ru/news/transport/04022026/812345"
    path = record_fixture(body, url, "m24", fetched, root=tmp_path)
    assert path == tmp_path / "m24" / "812345.html"
    meta = json.loads((tmp_path / "m24" / "812345.meta.json").read_text(encoding="utf-8"))
    assert meta == {
        "url": url,
        "fetched_at": fetched.isoformat(),
        "reconstruction": False,
        "notes": "",
    }
    big = record_fixture(body * 30, url, "m24", fetched, root=tmp_path, name="Big Page")
    assert big.name == "big-page.html.gz" and gzip.decompress(big.read_bytes()) == body * 30
    written = rewrite_expected(tmp_path, "m24", profiles=PROFILES)
    assert sorted(p.name for p in written) == ["812345.expected.json", "big-page.expected.json"]
    (fixture,) = [f for f in load_fixtures(tmp_path) if f.name == "812345"]
    assert fixture.expected["published"] == "2026-02-04T08:57:00+03:00"
    assert fixture.fetched_at == fetched and not fixture.reconstruction
