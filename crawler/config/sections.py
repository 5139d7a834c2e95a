"""The config's top-level tables: ``[cityfeeds]``, ``[crawl]``, ``[schedule]``, ``[websub]``,
``[stories]`` and ``[retention]``."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from crawler.config.validators import (
    _check_text,
    _check_timezone,
    _Strict,
    check_database_url,
    check_schedule,
)
from crawler.normalize.urls import is_http_url
from crawler.stories.settings import StorySettings


class GeneralSpec(_Strict):
    """The ``[cityfeeds]`` table."""

    output_dir: str = "output"
    database_url: str = "sqlite:///data/cityfeeds.db"
    base_url: str = "http://127.0.0.1:8080/"
    feed_size: int = Field(default=50, ge=1, le=1000)
    feed_max_html_chars: int = Field(default=6000, ge=200, le=200_000)
    timezone: str = "Europe/Moscow"
    title: str = "cityfeeds"

    @field_validator("title")
    @classmethod
    def _text(cls, v: str) -> str:
        return _check_text(v)

    @field_validator("database_url")
    @classmethod
    def _database(cls, v: str) -> str:
        return check_database_url(_check_text(v))

    @field_validator("base_url")
    @classmethod
    def _base(cls, v: str) -> str:
        if not is_http_url(v):
            raise ValueError(f"base_url must be an http(s) URL, got {v!r}")
        return v if v.endswith("/") else v + "/"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v)


class CrawlSpec(_Strict):
    """The ``[crawl]`` table: politeness and limits."""

    user_agent: str = "cityfeeds/0.1 (+https://github.com/cityfeeds/cityfeeds)"
    download_delay: float = Field(default=1.0, ge=0)
    concurrency_per_host: int = Field(default=2, ge=1, le=8)
    autothrottle: bool = True
    obey_robots: bool = True
    timeout: int = Field(default=30, ge=1, le=600)
    max_pages_per_run: int = Field(default=300, ge=1)
    depth_limit: int = Field(default=3, ge=0)
    max_listing_pages: int = Field(default=5, ge=1, le=100)
    refresh_hours: float = Field(default=24, ge=0)
    recheck_per_run: int = Field(default=20, ge=0)
    recheck_seconds: float = Field(default=60, ge=0)
    run_timeout: int = Field(default=1800, ge=10)
    max_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    retry_times: int = Field(default=2, ge=0, le=10)

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, v: str) -> str:
        return _check_text(v)


class ScheduleSpec(_Strict):
    """The ``[schedule]`` table: service defaults."""

    default: str = "*/30 * * * *"
    jitter: int = Field(default=120, ge=0)
    timezone: str = ""
    max_backoff: int = Field(default=6 * 3600, ge=60)
    spread: bool = True
    serve: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        return _check_text(v)

    @field_validator("default")
    @classmethod
    def _default(cls, v: str) -> str:
        return check_schedule(v)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v) if v else v


class StoriesSpec(_Strict):
    """``[stories]``: cross-source story clustering (see crawler.stories.StorySettings)."""

    enabled: bool = True  # assign a story to every article as it is stored
    all_feed: bool = True  # the ``all`` feed shows one entry per story
    window_hours: float = Field(default=StorySettings.window_hours, gt=0, le=24 * 31)
    join_score: float = Field(default=StorySettings.join_score, gt=0, le=3)
    lsh_threshold: float = Field(default=StorySettings.lsh_threshold, gt=0, lt=1)
    num_perm: int = Field(default=StorySettings.num_perm, ge=16, le=512)

    def settings(self) -> StorySettings:
        """The clustering settings these keys give."""
        return StorySettings(
            window_hours=self.window_hours,
            num_perm=self.num_perm,
            lsh_threshold=self.lsh_threshold,
            join_score=self.join_score,
        )


class WebSubSpec(_Strict):
    """The ``[websub]`` table: hubs told when a feed changes (none: no hub links, no pings)."""

    hubs: list[str] = []
    attempts: int = Field(default=5, ge=1, le=20)
    backoff: float = Field(default=2.0, ge=0, le=3600)
    timeout: float = Field(default=10.0, gt=0, le=300)

    @field_validator("hubs")
    @classmethod
    def _hubs(cls, v: list[str]) -> list[str]:
        for hub in v:
            # Whitespace or control characters could not go into a feed's XML unchanged.
            if not is_http_url(hub) or any(c.isspace() or ord(c) < 32 for c in hub):
                raise ValueError(f"not an http(s) URL: {hub!r}")
            if "@" in urlsplit(hub).netloc:
                # Every feed names its hubs: the login would be published with them.
                raise ValueError(
                    f"a hub URL with a login (user:password@) would be published in every "
                    f"feed: {hub!r}"
                )
        if len(set(v)) != len(v):
            raise ValueError("a hub is listed twice")
        return v


class RetentionSpec(_Strict):
    """The ``[retention]`` table: how long run records and article texts are kept (0: forever).

    Whole days: a prune runs once a day, so a finer age would not be honoured anyway.
    """

    # Run records: ~0.6 KB each, one per source and run; each source's latest is always kept.
    runs_days: int = Field(default=180, ge=0, le=36_500)
    # Articles keep their row (URL, title, summary, dates, topics, story) but lose text and HTML.
    text_days: int = Field(default=0, ge=0, le=36_500)
