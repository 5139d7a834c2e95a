"""Atomic, keep-last-good writes; the index page and the OPML file list every feed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import lxml.html
import pytest
from feeds_samples import BASE_URL, FakeStore, sample_articles, sample_config
from lxml import etree

import feeds.publish
from feeds.build import build_feeds
from feeds.publish import write_atomic
from feeds.specs import feed_specs


def test_write_atomic_creates_replaces_and_skips_identical_bytes(tmp_path: Path) -> None:
    target = tmp_path / "topics" / "x.rss"
    assert write_atomic(target, b"one") is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # readable by a separate web server
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    assert write_atomic(target, b"one") is False
    assert target.stat().st_mtime_ns == 1_000_000_000
    assert write_atomic(target, b"two") is True
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["x.rss"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_write_killed_midway_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "all.rss"
    write_atomic(target, b"last good")

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(feeds.publish.os, failing, crash)
    with pytest.raises(OSError):
        write_atomic(target, b"new but never finished")
    monkeypatch.undo()
    assert target.read_bytes() == b"last good"  # E4
    assert os.listdir(tmp_path) == ["all.rss"]  # no temp file left behind


@pytest.fixture
def built(tmp_path: Path) -> Path:
    report = build_feeds(sample_config(tmp_path), FakeStore(sample_articles()))
    assert report.ok
    return tmp_path


def test_index_lists_every_feed_with_links_counts_and_autodiscovery(built: Path) -> None:
    page = lxml.html.fromstring((built / "index.html").read_bytes())
    specs = [spec for spec, _ in feed_specs(sample_config(built))]
    alternates = page.xpath("//head/link[@rel='alternate']")
    assert {(a.get("type"), a.get("href")) for a in alternates} >= {
        (t, s.filename(ext))
        for s in specs
        for ext, t in (
            ("rss", "application/rss+xml"),
            ("atom", "application/atom+xml"),
            ("json", "application/feed+json"),
        )
    }
    cards = page.xpath("//article[@class='feed']")
    assert [c.get("data-feed") for c in cards] == [s.path for s in specs]
    electric = page.xpath("//article[@data-feed='topics/electric-transport']")[0]
    assert electric.xpath("string(.//h3)") == "Электротранспорт"
    assert electric.xpath("string(.//*[@class='count'])") == "2"
    assert electric.xpath(".//a[@class='fmt']/@href") == [
        "topics/electric-transport.rss",
        "topics/electric-transport.atom",
        "topics/electric-transport.json",
    ]
    assert electric.xpath(".//input/@value") == [BASE_URL + "topics/electric-transport.rss"]
    assert electric.xpath(".//ol[@class='latest']/li/a/@href") == [
        a.url for a in sample_articles()[:2]
    ]
    assert electric.xpath("string(.//time)") == "12.03.2024 16:30"  # Moscow time
    # Works without JavaScript and loads nothing from elsewhere.
    assert not page.xpath("//script | //img | //iframe | //link[@rel='stylesheet']")
    assert page.xpath("//meta[@name='viewport']")


def test_opml_has_every_feed_with_absolute_urls(built: Path) -> None:
    opml = etree.parse(str(built / "feeds.opml")).getroot()
    assert opml.get("version") == "2.0" and opml.findtext("head/title")
    outlines = opml.findall("body/outline/outline")
    specs = [spec for spec, _ in feed_specs(sample_config(built))]
    assert [o.get("xmlUrl") for o in outlines] == [BASE_URL + s.filename("rss") for s in specs]
    assert all(o.get("type") == "rss" and o.get("text") for o in outlines)
    assert all(o.get("htmlUrl", "").startswith("https://") for o in outlines)


def test_a_control_character_in_a_title_never_stops_the_index_or_the_opml(
    tmp_path: Path,
) -> None:
    # The config refuses one now; a title that has one anyway (a config loaded by an older
    # version, a caller of its own) failed the OPML on every build with "All strings must be
    # XML compatible", while the index page linked to it.
    config = sample_config(tmp_path)
    config.sources[0].title = "Москва 24 \x01 <b>"
    report = build_feeds(config, FakeStore(sample_articles()))
    assert report.ok, report.failures
    opml = etree.parse(str(tmp_path / "feeds.opml")).getroot()
    assert "Москва 24  <b>" in [o.get("title") for o in opml.iter("outline")]
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "\x01" not in index and "Москва 24  &lt;b&gt;" in index


def test_temporary_files_of_an_interrupted_write_are_removed_once_old(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    old = tmp_path / "topics" / ".metro.rss.k2j3h4.tmp"
    fresh = tmp_path / ".all.rss.a8s7d6.tmp"  # a write in progress (another build)
    other = tmp_path / "topics" / ".keep-me"
    for path in (old, fresh, other):
        path.write_bytes(b"partial")
    os.utime(old, (1, 1))
    os.utime(other, (1, 1))
    report = build_feeds(sample_config(tmp_path), FakeStore(sample_articles()))
    assert report.ok
    assert not old.exists()
    assert fresh.exists() and other.exists()
