"""The service's opt-in memory tracing (CITYFEEDS_TRACEMALLOC): what a dump says."""

from __future__ import annotations

import sqlite3
import sys
import tracemalloc

import pytest

from cityfeeds.service.memory import (
    ENV,
    MemoryTracer,
    interval_from_env,
    malloc_mib,
    sqlite_bytes,
    trim_free_memory,
)


def test_interval_from_the_environment() -> None:
    assert interval_from_env(None) is None
    assert interval_from_env("") is None
    assert interval_from_env("0") is None
    assert interval_from_env("ten") is None
    assert interval_from_env("2.5") == 150.0


def test_from_env_is_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert MemoryTracer.from_env() is None
    monkeypatch.setenv(ENV, "5")
    tracer = MemoryTracer.from_env()
    assert tracer is not None and tracer.interval == 300.0


def test_without_tracemalloc_a_dump_names_the_types_that_grew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV, "1")
    monkeypatch.setenv("CITYFEEDS_TRACEMALLOC_FRAMES", "0")
    tracer = MemoryTracer.from_env()
    assert tracer is not None and tracer.frames == 0
    tracer.dump()

    class Leaked:
        pass

    held = [Leaked() for _ in range(5000)]
    head, grown = tracer.dump()
    assert "Python blocks +" in head and "traced" not in head
    assert "Leaked +5000" in grown
    assert len(held) == 5000


def test_a_dump_names_the_site_that_grew() -> None:
    tracer = MemoryTracer(3600)
    was_tracing = tracemalloc.is_tracing()
    tracemalloc.start(8)
    try:
        assert tracer.dump()[0].startswith("baseline: RSS")
        held = [f"item {i}" * 4 for i in range(20_000)]  # the "leak"
        head, *sites = tracer.dump()
        assert "since the baseline" in head and "traced" in head
        assert sites[0].startswith("objects grown: ")
        assert sites[1:] and "test_memory.py" in sites[1]
        assert len(held) == 20_000
    finally:
        if not was_tracing:
            tracemalloc.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc")
def test_free_heap_is_handed_back() -> None:
    assert trim_free_memory() is True
    heap = malloc_mib()
    assert heap is not None and heap[0] > 0


def test_sqlite_memory_follows_a_connections_page_cache() -> None:
    before = sqlite_bytes()
    assert before is not None
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("create table t (x)")
        conn.executemany("insert into t values (?)", [("x" * 200,)] * 5000)
        held = sqlite_bytes()
        assert held is not None and held > before + 500_000  # ~1 MB of pages
        head = MemoryTracer(3600, frames=0)
        head.dump()
        assert "SQLite" in head.dump()[0]
    finally:
        conn.close()
    after = sqlite_bytes()
    assert after is not None and after < held
