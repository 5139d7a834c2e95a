"""Fakes for testing the service without crawling: an injected clock, scripted crawls, configs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cityfeeds.devtools.demo_site import demo_source
from crawler.config import Config, load_config
from crawler.storage import RunStats, Store
from crawler.supervisor import CrawlOutcome
from tests.conftest import write_site_config

MSK = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """An injected clock that moves only when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeCrawl:
    """Stands in for crawl_subprocess: records calls, returns scripted run records."""

    def __init__(self, results: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.results = results or {}
        self.calls: list[str] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, config: Config, sources: list[str], **kwargs: Any) -> CrawlOutcome:
        name = sources[0]
        self.calls.append(name)
        self.release.wait(30)
        queue = self.results.get(name) or [{"status": "ok"}]
        run = queue.pop(0) if len(queue) > 1 else queue[0]
        return CrawlOutcome(
            returncode=0, killed=bool(run.get("killed")), duration=0.1, runs={name: run}
        )


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it is truthy (its value), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def config_with(tmp_path: Path, sources: list[dict[str, Any]], **schedule: Any) -> Config:
    """A loaded config with ``sources`` and ``[schedule]`` overrides (no jitter, no serving)."""
    extra = {"schedule": {"jitter": 0, "serve": False, "spread": False, **schedule}}
    return load_config(
        write_site_config(tmp_path, "http://127.0.0.1:9/", sources=sources, extra=extra)
    )


def source(
    name: str, schedule: str = "every 1h", base: str = "http://127.0.0.1:9/"
) -> dict[str, Any]:
    """A ``[[sources]]`` entry (the demo site's shape) named ``name`` with ``schedule``."""
    return {**demo_source(base, name), "schedule": schedule}


def record_run(store: Store, name: str, started: datetime, status: str = "ok") -> None:
    """Store a finished run of ``name`` that started at ``started``."""
    run_id = store.start_run(name, now=started)
    store.finish_run(run_id, status=status, stats=RunStats(), now=started + timedelta(seconds=5))
