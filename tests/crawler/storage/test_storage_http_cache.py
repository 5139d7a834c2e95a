"""Conditional-GET validators (crawler/storage/http_cache.py)."""

from __future__ import annotations

from storage_samples import NOW

from crawler.storage import Store


def test_validators_round_trip(store: Store) -> None:
    assert store.get_validators("https://vm.ru/rss") == (None, None)
    store.set_validators("https://vm.ru/rss", '"abc"', "Tue, 01 Dec 2026 10:00:00 GMT", now=NOW)
    assert store.get_validators("https://vm.ru/rss") == ('"abc"', "Tue, 01 Dec 2026 10:00:00 GMT")
