"""crawler/timing.py: stages cost nothing unless recorded; recorded CPU adds up per stage."""

from __future__ import annotations

from crawler.timing import recording, stage


def _burn() -> int:
    return sum(i * i for i in range(20000))


def test_stages_outside_a_recording_are_not_measured() -> None:
    with stage("parse"):
        _burn()
    with recording() as timings:
        pass
    assert timings == {}


def test_a_recording_adds_up_each_stage_and_nested_ones_count_in_both() -> None:
    with recording() as timings:
        with stage("extract"):
            _burn()
            with stage("sanitize"):
                _burn()
        with stage("extract"):
            _burn()
    assert set(timings) == {"extract", "sanitize"}
    assert timings["extract"] >= timings["sanitize"] > 0


def test_recordings_nest_and_restore_the_outer_one() -> None:
    with recording() as outer:
        with recording() as inner:
            with stage("parse"):
                _burn()
        with stage("decode"):
            _burn()
    assert set(inner) == {"parse"} and set(outer) == {"decode"}
