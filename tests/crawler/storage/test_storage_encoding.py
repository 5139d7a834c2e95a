"""The store's fast spellings answer as the plain ones (crawler/storage/engine.py, schema.py)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from crawler.storage.engine import json_encoder
from crawler.storage.schema import UTCDateTime

_WORDS = ["маршрут", "Автобус «Т25»", 'a "quote"', "tab\there", "\u2028", "emoji 🚌", "", "\x00"]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice(_WORDS) + str(rng.randrange(100))
    if kind == 1:
        return rng.randrange(-(10**12), 10**12)
    if kind == 2:
        return rng.choice([rng.random() * 10 ** rng.randrange(-5, 20), 0.1, -0.0, 1e300])
    if kind == 3:
        return rng.choice([None, True, False])
    if kind == 4:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(8)))
    if kind == 5:
        return rng.choice(_WORDS)
    if kind in (6, 7):
        return [_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {rng.choice(_WORDS) + str(i): _value(rng, depth + 1) for i in range(rng.randrange(5))}


@pytest.mark.parametrize(
    "options",
    [{"ensure_ascii": False}, {"ensure_ascii": False, "sort_keys": True}, {}],
)
def test_json_encoder_writes_what_json_writes(options: dict[str, Any]) -> None:
    rng = random.Random(15)
    fast, plain = json_encoder(**options), json.JSONEncoder(**options).encode
    for _ in range(5000):
        value = _value(rng)
        assert fast(value) == plain(value)


def test_json_encoder_fails_as_json_on_what_json_cannot_write() -> None:
    fast = json_encoder(ensure_ascii=False)
    with pytest.raises(TypeError):
        fast([object()])
    assert fast(["после ошибки"]) == '["после ошибки"]'


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_remembered_datetime_binds_as_the_plain_one(dialect: Any) -> None:
    kind = UTCDateTime()
    fast = kind.bind_processor(dialect)
    assert fast is not None
    rng = random.Random(15)
    zones = [UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-7, minutes=-30))]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    values = [
        (
            start + timedelta(seconds=rng.randrange(10**6), microseconds=rng.randrange(10**6))
        ).astimezone(rng.choice(zones))
        for _ in range(300)
    ]
    for value in [*values, *values[::-1], None, *[rng.choice(values) for _ in range(2000)]]:
        assert fast(value) == fast(value)  # remembered
        plain = kind.process_bind_param(value, dialect)
        impl = UTCDateTime.impl.bind_processor(dialect)
        assert fast(value) == (impl(plain) if impl else plain)
    with pytest.raises(ValueError, match="naive"):
        fast(datetime(2026, 1, 1))
