"""``cityfeeds sources draft``: draft a source's TOML entry from its home page, and check it."""

from __future__ import annotations

from cityfeeds.drafting.draft import Draft, NeedsJavaScript, NoArticlePattern, draft_source
from cityfeeds.drafting.entry import (
    append_to_config,
    config_with,
    render_toml,
    save_sample_fixture,
    write_config_text,
)
from cityfeeds.drafting.fetch import Blocked, DraftError, RobotsForbid, Unreachable

__all__ = [
    "Blocked",
    "Draft",
    "DraftError",
    "NeedsJavaScript",
    "NoArticlePattern",
    "RobotsForbid",
    "Unreachable",
    "append_to_config",
    "config_with",
    "draft_source",
    "render_toml",
    "save_sample_fixture",
    "write_config_text",
]
