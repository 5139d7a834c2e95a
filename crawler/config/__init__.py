"""Load and validate the one TOML configuration file (sources, topics, paths, politeness).

The package's public API, used across the project: ``from crawler.config import Config, ...``.
One module per job: :mod:`~crawler.config.loader` (reading the file into a :class:`Config`),
:mod:`~crawler.config.sources` (``[[sources]]``), :mod:`~crawler.config.sections` (the
``[cityfeeds]``, ``[crawl]``, ``[schedule]``, ``[stories]``, ``[websub]`` and ``[retention]``
tables) and :mod:`~crawler.config.validators` (URLs, schedules, regexes, selectors, time zones).
"""

from __future__ import annotations

from crawler.config.loader import (
    DEFAULT_CONFIG,
    ENV_CONFIG,
    ENV_DATABASE_URL,
    ENV_PARENT_CONFIG,
    Config,
    ConfigError,
    config_path,
    load_config,
    load_parents_config,
    parse_config,
    resolve_sqlite_url,
    sqlite_file,
    unpublishable_output,
)
from crawler.config.sections import (
    CrawlSpec,
    GeneralSpec,
    RetentionSpec,
    ScheduleSpec,
    StoriesSpec,
    WebSubSpec,
)
from crawler.config.sources import (
    SOURCE_NAME_RULE,
    WORKER_RUN_NAME,
    ListingSpec,
    SourceSpec,
    check_source_name,
)
from crawler.config.validators import (
    ENV_MIN_INTERVAL,
    ISO_639_1,
    MIN_INTERVAL_SECONDS,
    SELECTOR_FIELDS,
    check_schedule,
    min_interval_seconds,
    parse_interval,
)

__all__ = [
    "DEFAULT_CONFIG",
    "ENV_CONFIG",
    "ENV_DATABASE_URL",
    "ENV_MIN_INTERVAL",
    "ENV_PARENT_CONFIG",
    "ISO_639_1",
    "MIN_INTERVAL_SECONDS",
    "SELECTOR_FIELDS",
    "SOURCE_NAME_RULE",
    "WORKER_RUN_NAME",
    "Config",
    "ConfigError",
    "CrawlSpec",
    "GeneralSpec",
    "ListingSpec",
    "RetentionSpec",
    "ScheduleSpec",
    "SourceSpec",
    "StoriesSpec",
    "WebSubSpec",
    "check_schedule",
    "check_source_name",
    "config_path",
    "load_config",
    "load_parents_config",
    "min_interval_seconds",
    "parse_config",
    "parse_interval",
    "resolve_sqlite_url",
    "sqlite_file",
    "unpublishable_output",
]
