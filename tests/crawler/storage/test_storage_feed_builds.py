"""Feed build outcomes (crawler/storage/feed_builds.py)."""

from __future__ import annotations

from crawler.models import FeedBuild
from crawler.storage import Store


def test_feed_builds_are_recorded_together_and_replace_the_last_outcome(store: Store) -> None:
    store.record_feed_build("all", False, "OSError: disk full", 0)
    store.record_feed_builds(
        [
            FeedBuild("all", True, None, 3, "s" * 64, "d" * 64),
            FeedBuild("topics/x", False, "boom", 0),
        ]
    )
    rows = {r["path"]: r for r in store.feed_build_status()}
    assert set(rows) == {"all", "topics/x"}
    assert (rows["all"]["ok"], rows["all"]["error"], rows["all"]["items"]) == (True, None, 3)
    assert (rows["topics/x"]["ok"], rows["topics/x"]["error"]) == (False, "boom")
    assert store.feed_signatures() == {"all": ("s" * 64, "d" * 64)}  # of successful builds only
    store.record_feed_builds([FeedBuild("all", True, None, 3)])
    assert store.feed_signatures() == {}
    store.record_feed_builds([])  # nothing to record: no transaction, no error
