"""WebSub: feeds declare the configured hubs; changed feeds (only) are notified, with retries,
in the background; nothing is sent without a hub; a down hub never fails a cycle."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import feedparser
import jsonschema
import pytest
from feeds_samples import BASE_URL, sample_articles
from lxml import etree
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cityfeeds.service import Service, ServiceOptions
from cityfeeds.status.views import health_json, render_html
from crawler.config import ConfigError, load_config
from crawler.models import Article
from crawler.storage import Store
from feeds.model import FeedSpec
from feeds.render import FORMATS, prepare_feed
from feeds.websub import HubNotifier, changed_feed_urls, hub_label
from tests.conftest import write_site_config
from tests.websub_hub import HubStub

ATOM = "{http://www.w3.org/2005/Atom}"
HUBS = ["https://hub.example.org/", "https://pubsubhubbub.appspot.com/"]
SPEC = FeedSpec(
    kind="topic",
    key="electric-transport",
    title="Электротранспорт",
    description="Электробусы & трамваи",
    language="ru",
    path="topics/electric-transport",
)
URL_ALL = "https://feeds.example.org/all.rss"
SCHEMA = json.loads(
    (Path(__file__).parent / "fixtures" / "jsonfeed-1.1.schema.json").read_text("utf-8")
)


def rendered(fmt: str, hubs: list[str] | None = None) -> bytes:
    feed = prepare_feed(SPEC, sample_articles(), base_url=BASE_URL, hubs=hubs or ())
    return FORMATS[fmt].render(feed)


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# -- feeds declare their hubs ----------------------------------------------------------------


def test_rss_declares_each_hub_and_its_self_link_in_the_atom_namespace() -> None:
    channel = xml(rendered("rss", HUBS)).find("channel")
    assert channel is not None
    links = [(x.get("rel"), x.get("href")) for x in channel.findall(f"{ATOM}link")]
    assert links == [
        ("self", BASE_URL + "topics/electric-transport.rss"),
        ("hub", HUBS[0]),
        ("hub", HUBS[1]),
    ]
    assert channel.findtext("link") == BASE_URL  # the RSS <link> is still the site
    assert len(channel.findall("item")) == len(sample_articles())


def test_atom_declares_each_hub_and_keeps_the_rfc_4287_structure() -> None:
    feed = xml(rendered("atom", HUBS))
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    links = [(x.get("rel"), x.get("href")) for x in feed.findall(f"{ATOM}link")]
    assert ("self", BASE_URL + "topics/electric-transport.atom") in links
    assert [href for rel, href in links if rel == "hub"] == HUBS
    # RFC 4287 §4.1.1: at most one alternate link per type (the hubs are not alternates).
    assert len([rel for rel, _ in links if rel in (None, "alternate")]) == 1
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == len(sample_articles())
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name


def test_json_feed_declares_its_hubs_per_json_feed_1_1() -> None:
    doc = json.loads(rendered("json", HUBS))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["hubs"] == [{"type": "WebSub", "url": h} for h in HUBS]
    assert doc["feed_url"] == BASE_URL + "topics/electric-transport.json"
    assert len(doc["items"]) == len(sample_articles())


@pytest.mark.parametrize("fmt", ["rss", "atom"])  # JSON Feed: checked against its schema
def test_feeds_with_hubs_stay_valid_for_feed_readers(fmt: str) -> None:
    parsed = feedparser.parse(rendered(fmt, HUBS))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.link for e in parsed.entries] == [a.url for a in sample_articles()]
    assert [link.href for link in parsed.feed.links if link.rel == "hub"] == HUBS


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_without_hubs_the_feeds_say_nothing_of_websub(fmt: str) -> None:
    data = rendered(fmt)
    assert b'rel="hub"' not in data and b'"hubs"' not in data
    assert rendered(fmt, HUBS) != data


@pytest.mark.parametrize(
    "hubs",
    [
        ["ftp://hub.example.org/"],
        ["javascript:alert(1)"],
        ["/relative"],
        ["https://hub.example.org/a b"],
        ["https://hub.example.org/", "https://hub.example.org/"],
    ],
)
def test_hub_urls_are_validated(tmp_path: Path, hubs: list[str]) -> None:
    cfg = write_site_config(tmp_path, "http://127.0.0.1:9/", extra={"websub": {"hubs": hubs}})
    with pytest.raises(ConfigError, match=r"\[websub\]") as raised:
        load_config(cfg)
    assert "hubs: hubs:" not in str(raised.value)  # the field is named once


def test_no_websub_table_means_no_hubs(tmp_path: Path) -> None:
    config = load_config(write_site_config(tmp_path, "http://127.0.0.1:9/"))
    assert config.websub.hubs == []


# -- the notifier ------------------------------------------------------------------------------


def test_a_notification_is_a_form_encoded_publish_ping() -> None:
    with HubStub() as hub:
        notifier = HubNotifier([hub.url], backoff=0.01).start()
        try:
            notifier.notify(["https://feeds.example.org/all.rss"])
            wait_for(lambda: notifier.stats()[hub_label(hub.url)]["ok"] == 1, 10, "the ping")
        finally:
            notifier.close()
    assert hub.received == [
        {"hub.mode": ["publish"], "hub.url": ["https://feeds.example.org/all.rss"]}
    ]
    assert hub.content_types == ["application/x-www-form-urlencoded"]


def _ping(hub: HubStub, url: str, waiting_for: str) -> dict[str, Any]:
    """Notify ``hub`` of ``url`` alone and wait until nothing is pending: the hub's figures."""
    notifier = HubNotifier([hub.url], backoff=0.01).start()
    try:
        notifier.notify([url])
        wait_for(notifier.idle, 10, waiting_for)
        return notifier.stats()[hub_label(hub.url)]
    finally:
        notifier.close()


def test_a_5xx_is_retried_with_backoff_until_the_hub_accepts() -> None:
    with HubStub(script=[503, 502]) as hub:
        stats = _ping(hub, "https://feeds.example.org/all.atom", "the retries")
    assert hub.answered == [503, 502, 204]
    assert hub.published() == ["https://feeds.example.org/all.atom"] * 3
    assert (stats["ok"], stats["failed"], stats["retries"]) == (1, 0, 2)


def test_a_refusal_is_not_retried() -> None:
    with HubStub(script=[400]) as hub:
        stats = _ping(hub, "https://feeds.example.org/all.json", "the refusal")
    assert hub.answered == [400]
    assert (stats["ok"], stats["failed"], stats["last_error"]) == (0, 1, "HTTP 400")


def test_a_redirect_is_a_failed_ping_not_a_get_counted_as_sent() -> None:
    # urllib followed a 302 with a GET without the form: counted "ok", never received.
    with HubStub(script=[302]) as hub:
        stats = _ping(hub, "https://feeds.example.org/all.rss", "the redirect")
    assert hub.answered == [302] and hub.gets == 0
    assert (stats["ok"], stats["failed"], stats["last_error"]) == (0, 1, "HTTP 302")


def test_every_5xx_is_retried() -> None:
    with HubStub(script=[501, 507]) as hub:
        stats = _ping(hub, "https://feeds.example.org/all.rss", "the retries")
    assert hub.answered == [501, 507, 204]
    assert (stats["ok"], stats["retries"]) == (1, 2)


def test_a_hub_trickling_its_answer_holds_its_queue_no_longer_than_the_status() -> None:
    # An answer of 100 bytes at one per 0.2 s: its body was read, 20 s per ping.
    with HubStub(script=[200, 200], trickle=100) as hub:
        notifier = HubNotifier([hub.url], backoff=0.01, timeout=2.0).start()
        try:
            notifier.notify(["https://feeds.example.org/a.rss", "https://feeds.example.org/b.rss"])
            wait_for(lambda: notifier.stats()[hub_label(hub.url)]["ok"] == 2, 5, "both pings")
        finally:
            notifier.close()


@pytest.fixture
def refused_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/hub"


def test_a_down_hub_is_given_up_after_the_attempts_and_counted(refused_url: str) -> None:
    notifier = HubNotifier([refused_url], attempts=3, backoff=0.01).start()
    try:
        notifier.notify(["https://feeds.example.org/all.rss"])
        wait_for(notifier.idle, 10, "giving up")
        stats = notifier.stats()[hub_label(refused_url)]
    finally:
        notifier.close()
    assert (stats["ok"], stats["failed"], stats["retries"]) == (0, 1, 2)
    assert "Connection" in stats["last_error"] or "refused" in stats["last_error"]


def test_notify_never_waits_for_a_hanging_hub_and_one_hub_does_not_hold_another() -> None:
    with HubStub() as slow, HubStub() as fast:
        slow.gate.clear()  # answers nothing until released
        notifier = HubNotifier([slow.url, fast.url], backoff=0.01).start()
        try:
            notifier.notify(["https://feeds.example.org/all.rss", "https://feeds.example.org/a"])
            # Returned at once; the other hub is served while the first one hangs.
            wait_for(lambda: len(fast.published()) == 2, 10, "the fast hub")
            assert slow.published() == []
            assert notifier.stats()[hub_label(slow.url)]["pending"] == 2
            # A feed already waiting is not queued twice (the fast hub was told already: again).
            wait_for(lambda: slow.arrived == 1, 10, "the slow hub's first ping")
            notifier.notify(["https://feeds.example.org/a"])
            assert notifier.stats()[hub_label(slow.url)]["pending"] == 2
            # The one being sent is queued again: the hub may fetch it before this change.
            notifier.notify([URL_ALL])
            assert notifier.stats()[hub_label(slow.url)]["pending"] == 3
            slow.gate.set()
            wait_for(notifier.idle, 10, "the slow hub")
        finally:
            notifier.close()
    assert slow.published() == [URL_ALL, "https://feeds.example.org/a", URL_ALL]
    assert sorted(fast.published()) == [
        "https://feeds.example.org/a",
        "https://feeds.example.org/a",
        URL_ALL,
        URL_ALL,
    ]


# -- the service -------------------------------------------------------------------------------


def _article(url: str, source: str, title: str) -> Article:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return Article(url=url, source=source, title=title, published=now, summary="Коротко.")


def _service_config(tmp_path: Path, hubs: list[str], **websub: Any) -> Any:
    sources = [
        {"name": name, "title": name, "url": f"https://{name}.example/", "enabled": False}
        for name in ("alpha", "beta")
    ]
    extra: dict[str, Any] = {"schedule": {"serve": False}}
    if hubs:
        extra["websub"] = {"hubs": hubs, "backoff": 0.01, **websub}
    return load_config(
        write_site_config(tmp_path, "http://127.0.0.1:9/", sources=sources, extra=extra)
    )


@pytest.fixture
def running() -> Iterator[list[Service]]:
    services: list[Service] = []
    yield services
    for svc in services:
        svc.stop(grace=1)


def _cycle(svc: Service) -> None:
    """Rebuild the feeds once more and wait until the hubs were told what changed."""
    before = svc.cycles
    assert svc.rebuilder is not None
    svc.rebuilder.request()
    wait_for(lambda: svc.cycles > before, 30, "a rebuild")
    if svc.websub is not None:
        wait_for(svc.websub.idle, 30, "the notifications")


def test_the_service_notifies_the_hub_of_changed_feeds_only(
    tmp_path: Path, running: list[Service]
) -> None:
    with HubStub() as hub:
        config = _service_config(tmp_path, [hub.url])
        svc = Service(config, ServiceOptions(debounce=0.05))
        running.append(svc)
        svc.start()  # the first build writes every feed: every feed is notified
        wait_for(lambda: svc.cycles >= 1, 30, "the first build")
        wait_for(svc.websub.idle, 30, "the first notifications")
        paths = ["all", "sources/alpha", "sources/beta", *(f"topics/{t.id}" for t in config.topics)]
        formats = ("rss", "atom", "json")
        every_feed = {config.base_url + f"{p}.{fmt}" for p in paths for fmt in formats}
        assert set(hub.published()) == every_feed
        first = len(hub.published())

        _cycle(svc)  # nothing new: nothing to tell
        assert len(hub.published()) == first

        store = Store.open(config.database_url)
        try:
            store.upsert_article(
                _article("https://alpha.example/news/1", "alpha", "Новость"), now=datetime.now(UTC)
            )
        finally:
            store.close()
        _cycle(svc)
        assert sorted(hub.published()[first:]) == sorted(
            config.base_url + f"{path}.{fmt}"
            for path in ("all", "sources/alpha")
            for fmt in ("rss", "atom", "json")
        )
        parsed = feedparser.parse((config.output_dir / "sources/alpha.rss").read_bytes())
        assert not parsed.bozo
        assert [link.href for link in parsed.feed.links if link.rel == "hub"] == [hub.url]


def test_without_a_hub_nothing_is_sent_and_feeds_have_no_hub_link(
    tmp_path: Path, running: list[Service]
) -> None:
    with HubStub() as hub:
        config = _service_config(tmp_path, [])
        svc = Service(config, ServiceOptions(debounce=0.05))
        running.append(svc)
        svc.start()
        wait_for(lambda: svc.cycles >= 1, 30, "the first build")
        _cycle(svc)
        assert svc.websub is None
        assert hub.received == []
        assert b'rel="hub"' not in (config.output_dir / "all.atom").read_bytes()
        assert "websub" not in generate_latest(svc.metrics.registry).decode()


def test_a_down_hub_never_fails_the_cycle_and_shows_in_status_and_metrics(
    tmp_path: Path, running: list[Service], refused_url: str
) -> None:
    config = _service_config(tmp_path, [refused_url], attempts=2)
    svc = Service(config, ServiceOptions(debounce=0.05))
    running.append(svc)
    svc.start()
    wait_for(lambda: svc.cycles >= 1, 30, "the first build")  # published despite the hub
    wait_for(svc.websub.idle, 30, "giving up on the hub")
    label = hub_label(refused_url)
    report = svc.status_report()
    assert report.websub[label]["failed"] > 0
    assert health_json(report)["websub_failed"] == report.websub[label]["failed"]
    assert f"{label}: 0 sent, {report.websub[label]['failed']} failed" in render_html(report)
    families = text_string_to_metric_families(generate_latest(svc.metrics.registry).decode())
    failed = [
        s.value
        for f in families
        for s in f.samples
        if s.name == "cityfeeds_websub_notifications_total" and s.labels["result"] == "failed"
    ]
    assert failed == [report.websub[label]["failed"]]


def test_changed_feed_urls_leave_out_the_index_and_the_opml(tmp_path: Path) -> None:
    config = _service_config(tmp_path, [])

    report = SimpleNamespace(changed=["index.html", "feeds.opml", "sources/beta"])
    assert changed_feed_urls(config, report) == [
        config.base_url + f"sources/beta.{fmt}" for fmt in ("rss", "atom", "json")
    ]


def test_two_hubs_on_one_host_are_counted_apart() -> None:
    """One row per host hid the first hub's figures under the last one's: hubs sharing a host
    are numbered in config order."""
    with HubStub() as hub:
        parts = urlsplit(hub.url)
        other = f"{parts.scheme}://{parts.netloc}/other"
        notifier = HubNotifier([hub.url, other], backoff=0.01).start()
        try:
            notifier.notify(["https://feeds.example.org/all.rss"])
            wait_for(lambda: len(hub.received) == 2 and notifier.idle(), 10, "both hubs")
            stats = notifier.stats()
        finally:
            notifier.close()
    host = hub_label(hub.url)
    assert {label: s["ok"] for label, s in stats.items()} == {f"{host}#1": 1, f"{host}#2": 1}
