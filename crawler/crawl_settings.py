"""Scrapy settings of a cityfeeds crawl, derived from the validated configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.config import Config


def politeness_settings(config: Config) -> dict[str, Any]:
    """Scrapy settings derived from the ``[crawl]`` table."""
    c = config.crawl
    return {
        "USER_AGENT": c.user_agent,
        "ROBOTSTXT_OBEY": c.obey_robots,
        "DOWNLOAD_DELAY": c.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrency_per_host,
        "AUTOTHROTTLE_ENABLED": c.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(c.download_delay, 0.1),
        "DOWNLOAD_TIMEOUT": c.timeout,
        "DEPTH_LIMIT": c.depth_limit,
        "DOWNLOAD_MAXSIZE": c.max_response_bytes,
        "DOWNLOAD_WARNSIZE": min(c.max_response_bytes, 2 * 1024 * 1024),
        "RETRY_TIMES": c.retry_times,
        "CLOSESPIDER_TIMEOUT": max(c.run_timeout - 30, 10),
    }


#: The settings ``politeness_settings`` derives (a spider fills in those nobody set).
POLITENESS_KEYS = (
    "USER_AGENT", "ROBOTSTXT_OBEY", "DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN",
    "AUTOTHROTTLE_ENABLED", "AUTOTHROTTLE_START_DELAY", "DOWNLOAD_TIMEOUT", "DEPTH_LIMIT",
    "DOWNLOAD_MAXSIZE", "DOWNLOAD_WARNSIZE", "RETRY_TIMES", "CLOSESPIDER_TIMEOUT",
)  # fmt: skip


def crawl_settings(
    config: Config,
    *,
    config_path: Path,
    database_url: str | None = None,
    progress: bool = False,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    """All Scrapy settings for a cityfeeds crawl of ``config``."""
    return {
        **politeness_settings(config),
        "CITYFEEDS_CONFIG": str(config_path),
        "CITYFEEDS_DATABASE_URL": database_url or config.database_url,
        "CITYFEEDS_PROGRESS": progress,
        "LOG_LEVEL": log_level,
    }


#: The component priority dictionaries whose disabled entries drop_disabled_components removes.
_COMPONENT_SETTINGS = ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES")


def drop_disabled_components(settings: Any) -> None:
    """Remove the components the project disables (priority None) from Scrapy's settings, and
    from their ``_BASE`` dictionaries: Scrapy imports every component a priority dictionary
    names, disabled or not (to tell a path from its class), so a disabled extension's module
    was imported in every crawl process all the same."""
    for name in _COMPONENT_SETTINGS:
        own = settings.getdict(name)
        disabled = {key for key, value in own.items() if value is None}
        if not disabled:
            continue
        base = name + "_BASE"
        kept = {k: v for k, v in settings.getdict(base).items() if k not in disabled}
        settings.set(base, kept, priority=settings.getpriority(base) or "default")
        enabled = {k: v for k, v in own.items() if v is not None}
        settings.set(name, enabled, priority=settings.getpriority(name) or "project")
