"""The builder publishes every feed, skips unchanged files, and isolates failures."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from feeds_samples import FakeStore, edited, sample_articles, sample_config
from lxml import etree

import feeds.build
import feeds.publish
import feeds.render.entries
import feeds.render.signature
from feeds.build import build_feeds
from feeds.render import FORMATS, FeedFormat, PreparedFeed

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ["all", "topics/electric-transport", "topics/city", "sources/m24", "sources/vm"]


def files(output: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()
    }


def test_build_writes_three_formats_per_feed_plus_index_and_opml(tmp_path: Path) -> None:
    store = FakeStore(sample_articles())
    report = build_feeds(sample_config(tmp_path), store)
    assert report.ok, report.failures
    expected = {f"{p}.{ext}" for p in FEEDS for ext in ("rss", "atom", "json")}
    assert set(files(tmp_path)) == expected | {"index.html", "feeds.opml"}
    assert report.items == {
        "all": 3,
        "topics/electric-transport": 2,
        "topics/city": 2,
        "sources/m24": 2,
        "sources/vm": 1,
        "index.html": 5,
        "feeds.opml": 5,
    }
    assert sorted(report.changed) == sorted([*FEEDS, "index.html", "feeds.opml"])
    assert sorted(store.records) == sorted(
        [(path, True, None, n) for path, n in report.items.items()]
    )
    for path in FEEDS:
        for ext in ("rss", "atom"):
            assert not feedparser.parse((tmp_path / f"{path}.{ext}").read_bytes()).bozo


def test_rebuild_without_new_data_changes_nothing_on_disk(tmp_path: Path) -> None:
    config, store = sample_config(tmp_path), FakeStore(sample_articles())
    build_feeds(config, store)
    before = files(tmp_path)
    old = os.stat(tmp_path / "all.rss").st_mtime_ns - 10_000_000_000
    for p in tmp_path.rglob("*.*"):
        os.utime(p, ns=(old, old))
    report = build_feeds(config, store)
    assert report.changed == [] and len(report.unchanged) == len(FEEDS) + 2
    assert files(tmp_path) == before
    assert all(p.stat().st_mtime_ns == old for p in tmp_path.rglob("*.*"))  # C5: not rewritten


def test_an_edit_changes_only_the_feeds_that_contain_the_article(tmp_path: Path) -> None:
    config, articles = sample_config(tmp_path), sample_articles()
    build_feeds(config, FakeStore(articles))
    report = build_feeds(config, FakeStore([edited(articles[0]), *articles[1:]]))
    assert sorted(report.changed) == [
        "all",
        "index.html",
        "sources/m24",
        "topics/electric-transport",
    ]


def test_a_failing_feed_keeps_its_last_good_files_and_the_rest_build(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    build_feeds(config, FakeStore(sample_articles()))
    good = (tmp_path / "sources/vm.rss").read_bytes()
    store = FakeStore([*sample_articles(), edited(sample_articles()[1])], failing={"vm"})
    report = build_feeds(config, store)
    assert list(report.failures) == ["sources/vm"]
    assert "store exploded" in report.failures["sources/vm"]
    assert (tmp_path / "sources/vm.rss").read_bytes() == good  # G6
    assert ("sources/vm", False, report.failures["sources/vm"], 0) in store.records
    assert {"all", "topics/electric-transport"} <= set(report.items)
    index = (tmp_path / "index.html").read_text("utf-8")
    assert "not refreshed in this build" in index


def test_a_rendering_error_leaves_every_format_of_that_feed_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = sample_config(tmp_path)
    build_feeds(config, FakeStore(sample_articles()))
    before = files(tmp_path)

    def broken(feed: PreparedFeed) -> bytes:
        if feed.spec.path == "topics/city":
            raise ValueError("boom")
        return real(feed)

    real = FORMATS["json"].render
    monkeypatch.setitem(FORMATS, "json", replace(FORMATS["json"], render=broken))
    articles = sample_articles()
    report = build_feeds(config, FakeStore([edited(articles[2]), *articles[:2]]))
    assert report.failures == {"topics/city": "ValueError: boom"}
    for ext in ("rss", "atom", "json"):  # rendered first, written only if all formats rendered
        assert files(tmp_path)[f"topics/city.{ext}"] == before[f"topics/city.{ext}"]
    assert files(tmp_path)["sources/m24.rss"] != before["sources/m24.rss"]


def test_only_rebuilds_the_named_feeds_but_refreshes_the_index(tmp_path: Path) -> None:
    store = FakeStore(sample_articles())
    report = build_feeds(sample_config(tmp_path), store, only={"sources/m24"})
    assert set(report.results) == {"sources/m24", "index.html", "feeds.opml"}
    assert (tmp_path / "sources/m24.atom").exists() and not (tmp_path / "all.atom").exists()
    assert [r[0] for r in store.records] == ["sources/m24", "index.html", "feeds.opml"]


def test_feed_size_bounds_every_feed(tmp_path: Path) -> None:
    build_feeds(sample_config(tmp_path, feed_size=1), FakeStore(sample_articles()))
    items = etree.parse(str(tmp_path / "all.rss")).findall("channel/item")
    assert [i.findtext("link") for i in items] == [sample_articles()[0].url]


def test_a_full_build_removes_feeds_no_longer_configured_and_nothing_else(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = sample_config(tmp_path)
    store = FakeStore(sample_articles())  # one store: it remembers what it published
    build_feeds(config, store)
    keep = {
        "topics/mine.rss": b"a feed cityfeeds never wrote",
        "sources/other.json": b"another one",
        "topics/notes.txt": b"not a feed",
        "topics/.city.rss.x.tmp": b"a temp file",
        "topics/.hidden.rss": b"a dotfile",
        "topics/old.xml": b"another extension",
        "old-topic.rss": b"outside the two folders",
        "archive/topics/old.rss": b"another folder",
    }
    for name, data in keep.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "sources/folder.rss").mkdir()
    # "city" leaves the config; "vm" too.
    config.topics = [t for t in config.topics if t.id != "city"]
    config.sources = [s for s in config.sources if s.name != "vm"]

    partial = build_feeds(config, store, only={"all"})
    assert partial.removed == [] and (tmp_path / "topics/city.rss").exists()  # full builds only

    with caplog.at_level("INFO", logger="feeds.publish"):
        report = build_feeds(config, store)
    gone = [f"{p}.{ext}" for p in ("topics/city", "sources/vm") for ext in ("atom", "json", "rss")]
    assert sorted(report.removed) == sorted(gone) and report.ok
    assert not any((tmp_path / name).exists() for name in gone)
    for name in gone:
        assert any(name in r.getMessage() for r in caplog.records), name
    assert all((tmp_path / name).read_bytes() == data for name, data in keep.items())
    assert (tmp_path / "sources/folder.rss").is_dir()
    expected = {
        f"{p}.{ext}"
        for p in ("all", "topics/electric-transport", "sources/m24")
        for ext in ("rss", "atom", "json")
    }
    assert expected <= set(files(tmp_path))
    assert "topics/city" not in (tmp_path / "index.html").read_text("utf-8")


def test_a_feed_whose_store_read_fails_keeps_its_files_on_a_full_build(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    build_feeds(config, FakeStore(sample_articles()))
    report = build_feeds(config, FakeStore(sample_articles(), failing={"vm"}))
    assert report.removed == [] and list(report.failures) == ["sources/vm"]
    assert (tmp_path / "sources/vm.rss").exists()


def test_each_article_is_prepared_once_per_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared: list[str] = []
    real = feeds.render.entries._prepare_entry

    def counting(article, language, max_html_chars):  # type: ignore[no-untyped-def]
        prepared.append(article.url)
        return real(article, language, max_html_chars)

    monkeypatch.setattr(feeds.render.entries, "_prepare_entry", counting)
    # Fresh objects per query, as the real store returns them: the cache must not need identity.
    store = FakeStore(sample_articles())
    store_newest = store.newest_articles
    monkeypatch.setattr(
        store, "newest_articles", lambda **kw: [replace(a) for a in store_newest(**kw)]
    )
    report = build_feeds(sample_config(tmp_path), store)
    assert store.reads == 1  # every feed from one joint read
    assert sum(report.items[p] for p in FEEDS) == 10  # 10 entries in 5 feeds...
    assert sorted(prepared) == sorted(a.url for a in sample_articles())  # ...prepared 3 times


def test_one_directory_fsync_per_directory_and_one_per_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = os.fsync

    def counting(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(feeds.publish.os, "fsync", counting)
    build_feeds(sample_config(tmp_path), FakeStore(sample_articles()))
    directories = sorted(p for p in synced if Path(p).is_dir())
    assert directories == sorted(str(tmp_path / d) for d in ("", "sources", "topics"))
    assert len(synced) - len(directories) == len(FEEDS) * 3 + 2
    synced.clear()
    build_feeds(sample_config(tmp_path), FakeStore(sample_articles()))
    assert synced == []  # nothing changed, nothing written


@pytest.mark.parametrize("step", ["stage_file", "commit_file"])
def test_a_failed_write_fails_only_its_feed_and_keeps_its_last_good_files(
    step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Staging (writing the bytes) runs in the builder, committing (fsync, rename) in the writer
    # thread: a full disk at either step fails that feed alone.
    config = sample_config(tmp_path)
    build_feeds(config, FakeStore(sample_articles()))
    before = files(tmp_path)
    real = getattr(feeds.build, step)

    def disk_full_for_vm_atom(target: object, *args: object, **kwargs: object) -> object:
        path = target if isinstance(target, Path) else target.path  # type: ignore[attr-defined]
        if path.parent.name == "sources" and path.name == "vm.atom":
            if step == "commit_file":
                feeds.publish.discard_file(target)  # type: ignore[arg-type]
            raise OSError(28, "No space left on device")
        return real(target, *args, **kwargs)

    monkeypatch.setattr(feeds.build, step, disk_full_for_vm_atom)
    store = FakeStore([edited(a) for a in sample_articles()])
    report = build_feeds(config, store)
    assert set(report.failures) == {"sources/vm"}
    assert "No space left on device" in report.failures["sources/vm"]
    after = files(tmp_path)
    assert after["sources/vm.atom"] == before["sources/vm.atom"]  # last good file stays
    assert after["sources/vm.json"] == before["sources/vm.json"]  # staged after it: dropped
    assert after["sources/m24.atom"] != before["sources/m24.atom"]  # the others are published
    # The failure is recorded with the others, and the index still lists the feed.
    assert ("sources/vm", False, report.failures["sources/vm"], 0) in store.records
    assert {r[0] for r in store.records} == {*FEEDS, "index.html", "feeds.opml"}
    assert b"sources/vm.rss" in after["index.html"]
    assert not list(tmp_path.rglob(".*.tmp"))  # no temporary file left behind


def test_a_first_build_lists_no_feed_it_could_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full disk on the very first build: the index and the OPML file list only feeds whose
    # files exist (once, the OPML listed feeds that were never written: 404s in a reader).
    real = feeds.build.stage_file

    def disk_full_for_vm(target: Path, *args: object, **kwargs: object) -> object:
        if target.parent.name == "sources" and target.stem == "vm":
            raise OSError(28, "No space left on device")
        return real(target, *args, **kwargs)

    monkeypatch.setattr(feeds.build, "stage_file", disk_full_for_vm)
    report = build_feeds(sample_config(tmp_path), FakeStore(sample_articles()))
    assert set(report.failures) == {"sources/vm"}
    written = files(tmp_path)
    assert "sources/vm.rss" not in written
    assert b"sources/vm." not in written["feeds.opml"] + written["index.html"]
    assert (
        b"sources/m24.rss" in written["feeds.opml"] and b"sources/m24.rss" in written["index.html"]
    )


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    rendered: list[str] = []
    for name, fmt in list(FORMATS.items()):

        def counting(feed: PreparedFeed, real=fmt.render, ext=fmt.extension) -> bytes:  # type: ignore[no-untyped-def]
            rendered.append(f"{feed.spec.path}.{ext}")
            return real(feed)

        monkeypatch.setitem(FORMATS, name, replace(fmt, render=counting))
    return rendered


def test_feeds_with_the_inputs_of_their_intact_files_are_not_rendered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, store = sample_config(tmp_path), FakeStore(sample_articles())
    first = build_feeds(config, store)
    assert first.reused == [] and set(store.signatures) == set(FEEDS)
    before = files(tmp_path)
    rendered = _count_renders(monkeypatch)
    again = build_feeds(config, store)
    assert rendered == [] and again.reused == FEEDS and again.changed == []
    assert files(tmp_path) == before
    assert again.items == first.items  # the index and the status rows see the same counts
    assert ("all", True, None, first.items["all"]) in store.records[-7:]

    # An edit renders exactly the feeds holding the article, with the bytes a full build gives.
    store.articles = [edited(sample_articles()[0]), *sample_articles()[1:]]
    edit = build_feeds(config, store)
    assert sorted({r.rsplit(".", 1)[0] for r in rendered}) == [
        "all",
        "sources/m24",
        "topics/electric-transport",
    ]
    assert sorted(edit.reused) == ["sources/vm", "topics/city"]
    fresh = tmp_path / "fresh"
    build_feeds(sample_config(fresh), FakeStore(store.articles))
    assert {k: v for k, v in files(tmp_path).items() if not k.startswith("fresh/")} == files(fresh)


def test_a_damaged_or_missing_file_is_rendered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, store = sample_config(tmp_path), FakeStore(sample_articles())
    build_feeds(config, store)
    before = files(tmp_path)
    (tmp_path / "topics/city.atom").write_bytes(b"<feed>edited by hand</feed>")
    (tmp_path / "sources/vm.json").unlink()
    rendered = _count_renders(monkeypatch)
    report = build_feeds(config, store)
    assert sorted(report.changed) == ["sources/vm", "topics/city"]
    assert {r.rsplit(".", 1)[0] for r in rendered} == {"sources/vm", "topics/city"}
    assert files(tmp_path) == before


@pytest.mark.parametrize(
    "change",
    ["base_url", "feed_max_html_chars", "renderer", "failed before"],
)
def test_anything_that_changes_the_bytes_renders_again(
    change: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FakeStore(sample_articles(), failing={"vm"} if change == "failed before" else None)
    build_feeds(sample_config(tmp_path), store)
    store.failing = set()
    overrides: dict[str, object] = {}
    if change == "base_url":
        overrides["base_url"] = "https://feeds.example.net/"
    elif change == "feed_max_html_chars":
        overrides["feed_max_html_chars"] = 100
    elif change == "renderer":
        # An upgrade of cityfeeds or of feedgen, lxml or nh3 changes the fingerprint.
        monkeypatch.setattr(
            feeds.render.signature, "renderer_fingerprint", lambda: "another version"
        )
    rendered = _count_renders(monkeypatch)
    report = build_feeds(sample_config(tmp_path, **overrides), store)
    expected = ["sources/vm"] if change == "failed before" else FEEDS
    assert sorted({r.rsplit(".", 1)[0] for r in rendered}) == sorted(expected)
    assert sorted(p for p in report.results if p not in report.reused) == sorted(
        [*expected, "index.html", "feeds.opml"]
    )


def test_the_store_bookkeeping_failing_never_fails_the_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config, store = sample_config(tmp_path), FakeStore(sample_articles())
    build_feeds(config, store)
    before = files(tmp_path)

    def down(*args: object) -> None:
        raise OSError("database unreachable")

    # Neither the last build's signatures nor the status rows can be had: every feed renders
    # (the bytes are the same, so nothing is rewritten), and the build still succeeds.
    monkeypatch.setattr(store, "feed_signatures", down)
    monkeypatch.setattr(store, "record_feed_builds", down)
    rendered = _count_renders(monkeypatch)
    report = build_feeds(config, store)
    assert report.ok and report.reused == [] and report.changed == []
    assert len(rendered) == len(FEEDS) * 3
    assert files(tmp_path) == before
    assert "rendering every feed" in caplog.text
    assert "could not record the outcome of this build" in caplog.text


def test_a_format_added_to_the_registry_is_built_listed_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def render_titles(feed: PreparedFeed) -> bytes:
        return "".join(f"{e.title}\n" for e in feed.entries).encode()

    titles = FeedFormat("titles", "txt", "text/plain", "Titles", render_titles)
    monkeypatch.setitem(FORMATS, "titles", titles)
    config = sample_config(tmp_path)
    store = FakeStore(sample_articles())
    report = build_feeds(config, store)
    assert report.ok, report.failures
    assert (tmp_path / "sources/vm.txt").read_text("utf-8") == "Трамвай «Витязь-М» на Шаболовке\n"
    assert {p.stem for p in tmp_path.rglob("*.txt")} == {p.rsplit("/")[-1] for p in FEEDS}
    index = (tmp_path / "index.html").read_text("utf-8")
    assert '<a class="fmt" href="sources/vm.txt" type="text/plain">Titles</a>' in index
    # A feed that leaves the config takes its files in the new format with it.
    config.sources = [s for s in config.sources if s.name != "vm"]
    report = build_feeds(config, store)
    assert "sources/vm.txt" in report.removed and not (tmp_path / "sources/vm.txt").exists()


def test_an_output_folder_that_cannot_be_written_fails_every_file_once_without_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_bytes(b"a file where the output folder should be")
    store = FakeStore(sample_articles())
    with caplog.at_level("ERROR"):
        report = build_feeds(sample_config(blocked), store)
    assert not report.ok and not report.changed
    assert set(report.failures) >= {"all", "index.html", "feeds.opml"}
    # Recorded, so status and /healthz count the failing feeds (once they said 0).
    assert {r[0] for r in store.records if not r[1]} == set(report.failures)
    assert len(set(report.failures.values())) == 1
    assert "cannot create the output folder" in next(iter(report.failures.values()))
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None
    assert blocked.read_bytes() == b"a file where the output folder should be"


def test_a_removed_source_whose_last_build_failed_still_has_its_files_removed(
    tmp_path: Path,
) -> None:
    config, store = sample_config(tmp_path), FakeStore(sample_articles())
    build_feeds(config, store)
    store.failing = {"vm"}
    assert list(build_feeds(config, store).failures) == ["sources/vm"]  # its files stay
    store.failing = set()
    config.sources = [s for s in config.sources if s.name != "vm"]
    report = build_feeds(config, store)
    assert sorted(report.removed) == [f"sources/vm.{ext}" for ext in ("atom", "json", "rss")]
    assert not list(tmp_path.glob("sources/vm.*"))
    assert "vm.ru" not in (tmp_path / "all.rss").read_text(encoding="utf-8")
    assert "sources/vm" not in store.feed_build_paths()  # forgotten: status lists it no more


def test_an_empty_feed_is_dated_by_the_build_that_emptied_it_and_keeps_that_date(
    tmp_path: Path,
) -> None:
    def clock(hour: int) -> Callable[[], datetime]:
        return lambda: datetime(2026, 3, 1, hour, 0, 0, 123456, tzinfo=UTC)

    config, store = sample_config(tmp_path), FakeStore(sample_articles())
    city = tmp_path / "topics/city"
    build_feeds(config, store, clock=clock(9))
    dated = etree.parse(str(city) + ".atom").getroot().findtext(f"{ATOM}updated")
    assert dated == "2024-03-12T08:00:00+00:00"  # its newest entry's

    # Its articles leave the topic: an empty feed, dated by the build that emptied it (a
    # fixed date would move back in time, and readers comparing dates would keep the items).
    store.articles = [
        replace(a, topics=[t for t in a.topics if t.id != "city"]) for a in store.articles
    ]
    build_feeds(config, store, clock=clock(10))
    assert etree.parse(str(city) + ".atom").getroot().findtext(f"{ATOM}updated") == (
        "2026-03-01T10:00:00+00:00"
    )
    rss = etree.parse(str(city) + ".rss").getroot()
    assert rss.findtext("channel/lastBuildDate") == "Sun, 01 Mar 2026 10:00:00 +0000"
    assert rss.findall("channel/item") == []

    # Later builds keep the files as they are: same bytes, mtime, ETag and Last-Modified.
    def state() -> dict[str, tuple[bytes, int]]:
        paths = [Path(f"{city}.{ext}") for ext in ("rss", "atom", "json")]
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}

    before = state()
    report = build_feeds(config, store, clock=clock(11))
    assert "topics/city" in report.reused and state() == before
