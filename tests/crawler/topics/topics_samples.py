"""Shared by the topic tests: the shipped topics and a minimal spec to vary."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from crawler.models import TopicMatch
from crawler.topics.spec import TopicSpec, load_topic_specs

ROOT = Path(__file__).resolve().parents[3]
SHIPPED_CONFIG = ROOT / "cityfeeds.toml"


@functools.cache
def shipped_specs() -> tuple[TopicSpec, ...]:
    """The topics of the shipped cityfeeds.toml (validated once per test session)."""
    return tuple(load_topic_specs(SHIPPED_CONFIG))


def spec(**kwargs: object) -> TopicSpec:
    """A one-term topic «t» (include «электробус»), with ``kwargs`` replacing any key."""
    base: dict[str, object] = {"id": "t", "title": "T", "include": {"электробус": 1.0}}
    return TopicSpec.model_validate(base | kwargs)


def ids(matches: Sequence[TopicMatch]) -> list[str]:
    """The topic ids of ``matches``, in order."""
    return [m.id for m in matches]
