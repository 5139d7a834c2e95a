"""Figures for /metrics (crawler/storage/monitoring.py): sums over runs by id range, settling."""

from __future__ import annotations

from datetime import timedelta

from storage_samples import NOW

from crawler.storage import RunStats, Store


def _run(store: Store, source: str, status: str, seconds: float, **figures: object) -> int:
    run_id = store.start_run(source, now=NOW)
    stats = RunStats(
        pages=3,
        new=2,
        dropped={"duplicate": 1, "missing_title": 2},
        extra={"bytes": 100, "requests": 4, "errors/article": 1, "finish_reason": "finished"},
    )
    for key, value in figures.items():
        setattr(stats, key, value)
    store.finish_run(run_id, status=status, stats=stats, now=NOW + timedelta(seconds=seconds))
    return run_id


def test_sums_by_source_and_state_computed_by_the_database(store: Store) -> None:
    first = _run(store, "vm", "ok", 60)
    _run(store, "vm", "failed", 5, pages=0)
    _run(store, "m24", "ok", 90)
    store.start_run("m24", now=NOW)  # still running: not counted
    totals = {(r["source"], r["status"]): r for r in store.run_totals()}
    assert set(totals) == {("vm", "ok"), ("vm", "failed"), ("m24", "ok")}
    assert (totals[("vm", "ok")]["runs"], totals[("vm", "ok")]["pages"]) == (1, 3)
    assert totals[("vm", "failed")]["pages"] == 0
    assert totals[("m24", "ok")]["bytes"] == 100 and totals[("m24", "ok")]["requests"] == 4
    assert store.run_key_totals("dropped") == {
        ("vm", "duplicate"): 2,
        ("vm", "missing_title"): 4,
        ("m24", "duplicate"): 1,
        ("m24", "missing_title"): 2,
    }
    # Only the keys under the prefix (the stats also hold text such as finish_reason).
    assert store.run_key_totals("stats", "errors/") == {
        ("vm", "errors/article"): 2,
        ("m24", "errors/article"): 1,
    }
    # An exact 60 s run is in the 60 s bucket (no floating-point spill into the next one).
    assert store.run_duration_buckets([5, 60, 90]) == {
        "vm": ([1, 2, 2], 2, 65.0),
        "m24": ([0, 0, 1], 1, 90.0),
    }
    # An id range leaves the other runs out.
    assert {r["source"] for r in store.run_totals(after_id=first)} == {"vm", "m24"}
    assert [r["runs"] for r in store.run_totals(up_to_id=first)] == [1]


def test_settled_runs_end_before_the_first_unfinished_or_recent_one(store: Store) -> None:
    old = _run(store, "vm", "ok", 10)
    running = store.start_run("vm", now=NOW)
    _run(store, "m24", "ok", 10)
    later = NOW + timedelta(days=2)
    assert store.settled_run_id(finished_before=later) == old == running - 1
    store.finish_run(running, status="failed", stats=RunStats(), now=NOW + timedelta(days=1))
    assert store.settled_run_id(finished_before=later, after_id=old) > running
    # Nothing finished before NOW: nothing is settled beyond what the caller already has.
    assert store.settled_run_id(finished_before=NOW, after_id=old) == old


def test_the_size_of_the_store_is_known_for_a_database_on_disk(store: Store) -> None:
    _run(store, "vm", "ok", 10)
    assert (store.size_bytes() or 0) > 0
