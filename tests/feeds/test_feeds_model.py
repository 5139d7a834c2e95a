"""A feed's identity: safe keys, and file names from a format's plain extension."""

from __future__ import annotations

import pytest

from feeds.model import FeedSpec

SPEC = FeedSpec("topic", "metro", "Метро", "Новости метро", "ru", "topics/metro")


def test_file_names_and_urls_take_a_formats_extension() -> None:
    assert SPEC.filename("rss") == "topics/metro.rss"
    assert SPEC.url("https://feeds.example.org/", "json") == (
        "https://feeds.example.org/topics/metro.json"
    )


@pytest.mark.parametrize("extension", ["", "../rss", "r.ss", "RSS", "rss/"])
def test_anything_but_a_plain_extension_is_refused(extension: str) -> None:
    with pytest.raises(ValueError, match="not a feed file extension"):
        SPEC.filename(extension)


@pytest.mark.parametrize("key", ["", "Metro", "../metro", "metro.rss", "a" * 101])
def test_keys_that_cannot_be_file_names_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="not a safe file name"):
        FeedSpec("topic", key, "t", "d", "ru", f"topics/{key}")
