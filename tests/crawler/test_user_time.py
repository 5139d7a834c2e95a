"""Times shown to people: one format, to the second, in the schedule's zone with its offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.clock import user_time

MOMENT = datetime(2026, 12, 6, 7, 25, 27, 620363, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "zone", "shown"),
    [
        (MOMENT, "Europe/Moscow", "2026-12-06 10:25:27 +0300"),
        (MOMENT, "UTC", "2026-12-06 07:25:27 +0000"),
        # As a run stores it (retry_at): ISO 8601 with microseconds, in UTC.
        (MOMENT.isoformat(), "Europe/Moscow", "2026-12-06 10:25:27 +0300"),
        (
            MOMENT.astimezone(timezone(timedelta(hours=3))).isoformat(),
            "UTC",
            "2026-12-06 07:25:27 +0000",
        ),
        (datetime(2026, 7, 1, 12, 0), "Europe/Berlin", "2026-07-01 14:00:00 +0200"),  # naive: UTC
        ("later", "UTC", "later"),  # not a time: as it is
    ],
)
def test_user_time(value: datetime | str, zone: str, shown: str) -> None:
    assert user_time(value, zone) == shown
