"""`sources draft` proposes a `timezone` when the offsets a site states are not the default's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cityfeeds.drafting.zone import propose_timezone, stated_dates
from crawler.normalize.dates import parse_date

NOW = datetime(2026, 12, 1, tzinfo=UTC)
MOSCOW = "Europe/Moscow"


def _at(offset_hours: float, *days: tuple[int, int]) -> list[datetime]:
    tz = timezone(timedelta(hours=offset_hours))
    return [datetime(2026, month, day, 9, 0, tzinfo=tz) for month, day in days]


def test_stated_offsets_are_the_sites_own_only() -> None:
    values = [
        parse_date("Sat, 21 Nov 2026 05:00:00 +0100", tz=MOSCOW, now=NOW),  # the site's word
        parse_date("2026-11-21T12:00", tz=MOSCOW, now=NOW),  # naive: read in the default zone
        parse_date("2026-11-21T04:00:00Z", tz=MOSCOW, now=NOW),  # UTC: how CMSs store time
        None,
    ]
    assert [v.utcoffset() for v in stated_dates(values)] == [timedelta(hours=1)]


def test_offsets_of_a_german_site_give_berlin() -> None:
    proposal = propose_timezone(
        _at(1, (1, 5), (11, 21)) + _at(2, (6, 10)), default=MOSCOW, language="de", host="stadt.de"
    )
    assert proposal is not None and proposal.zone == "Europe/Berlin"
    assert proposal.agreeing == proposal.total == 3  # daylight saving time counts
    assert "Europe/Moscow" in proposal.comment() and "check it" in proposal.comment()


@pytest.mark.parametrize(
    ("offset", "language", "host", "zone"),
    [
        (1, "fr", "ville.example.com", "Europe/Paris"),  # no country in the host: the language's
        (1, "de", "stadt.example.at", "Europe/Vienna"),  # the host's country before the language's
        (-5, "en", "city.example.org", "America/New_York"),
        (0, "en", "city.example.co.uk", None),  # UTC is no evidence
    ],
)
def test_the_zone_preferred_among_candidates(
    offset: float, language: str, host: str, zone: str | None
) -> None:
    stated = stated_dates(_at(offset, (1, 5), (2, 9)))
    proposal = propose_timezone(stated, default=MOSCOW, language=language, host=host)
    assert (proposal.zone if proposal else None) == zone


def test_offsets_agreeing_with_the_default_propose_nothing() -> None:
    assert (
        propose_timezone(_at(3, (1, 5), (7, 5)), default=MOSCOW, language="ru", host="m.ru") is None
    )
    assert propose_timezone([], default=MOSCOW, language="de", host="stadt.de") is None


def test_offsets_that_fit_no_single_zone_propose_nothing() -> None:
    stated = _at(1, (1, 5)) + _at(-7, (1, 6)) + _at(9, (1, 7)) + _at(5.5, (1, 8))
    assert propose_timezone(stated, default=MOSCOW, language="en", host="x.com") is None


def test_an_odd_date_out_is_outvoted() -> None:
    stated = _at(1, (1, 5), (1, 6), (1, 7)) + _at(-7, (1, 8))
    proposal = propose_timezone(stated, default=MOSCOW, language="de", host="stadt.de")
    assert proposal is not None and proposal.zone == "Europe/Berlin"
    assert (proposal.agreeing, proposal.total) == (3, 4)
    assert ZoneInfo(proposal.zone)  # a name the config's timezone check accepts
