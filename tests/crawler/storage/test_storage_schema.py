"""The schema (crawler/storage/schema.py): datetimes are stored and read back as aware UTC."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from storage_samples import NOW, make

from crawler.storage import Store


def test_datetimes_round_trip_aware_utc(store: Store) -> None:
    store.upsert_article(make(3), now=NOW)
    got = store.get_article(make(3).url)
    assert got is not None
    assert got.published.tzinfo is not None and got.published.utcoffset() == timedelta(0)
    assert got.published == make(3).published


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"):
        store.upsert_article(make(1, published=datetime(2026, 1, 1)), now=NOW)
