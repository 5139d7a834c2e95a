"""Source state (crawler/storage/source_state.py): the scheduler's bookkeeping per source."""

from __future__ import annotations

from datetime import timedelta

from storage_samples import NOW

from crawler.storage import Store


def test_source_state_defaults_then_updates_in_place(store: Store) -> None:
    assert store.get_source_state("vm") == {
        "source": "vm",
        "consecutive_failures": 0,
        "backoff_until": None,
        "last_success": None,
        "last_status": None,
        "skipped_overlaps": 0,
    }
    store.set_source_state("vm", consecutive_failures=2, backoff_until=NOW + timedelta(hours=1))
    store.set_source_state("vm", last_status="failed")  # the other fields are kept
    state = store.get_source_state("vm")
    assert (state["consecutive_failures"], state["last_status"]) == (2, "failed")
    assert state["backoff_until"] == NOW + timedelta(hours=1)
    assert store.get_source_state("m24")["consecutive_failures"] == 0  # per source
