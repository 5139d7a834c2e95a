"""Load and validate the one TOML configuration file (sources, topics, paths, politeness)."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.normalize.urls import is_http_url, is_private_address
from crawler.stories.settings import StorySettings
from crawler.topics.spec import TopicSpec

DEFAULT_CONFIG = "cityfeeds.toml"
ENV_CONFIG = "CITYFEEDS_CONFIG"
ENV_DATABASE_URL = "CITYFEEDS_DATABASE_URL"

SELECTOR_FIELDS = (
    "title",
    "summary",
    "body",
    "published",
    "updated",
    "authors",
    "section",
    "tags",
    "image",
)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_WEEKDAY_NUMBER_RE = re.compile(r"\d")


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message names the offending entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def _check_url(value: str, *, allow_private: bool = False, label: str = "url") -> str:
    if not is_http_url(value):
        raise ValueError(f"{label}: not an http(s) URL: {value!r}")
    from crawler.normalize.urls import host_of, is_valid_host

    host = host_of(value)
    if not is_valid_host(host):
        raise ValueError(f"{label}: {host!r} is not a valid host name or IP address: {value!r}")
    if not allow_private and is_private_address(host):
        raise ValueError(
            f"{label}: private, loopback or link-local address not allowed: {value!r} "
            "(set allow_private = true on the source to crawl it)"
        )
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regex {value!r}: {exc}") from None
    return value


def check_schedule(value: str) -> str:
    """Validate a schedule string: a 5-field cron line or ``every <N><s|m|h|d>``."""
    value = value.strip()
    if parse_interval(value) is not None:
        return value
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(
            f"schedule {value!r}: expected 5 cron fields (minute hour day month weekday) "
            "or 'every 30m'"
        )
    if _WEEKDAY_NUMBER_RE.search(fields[4]):
        # APScheduler's from_crontab counts 0 as Monday, cron counts it as Sunday: refuse
        # the ambiguity instead of silently shifting a day (apscheduler#286).
        raise ValueError(f"schedule {value!r}: use weekday names (mon-fri, sun), not numbers")
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"schedule {value!r}: {exc}") from None
    return value


def parse_interval(value: str) -> int | None:
    """Seconds of an ``every 30m`` schedule, or None if ``value`` is not one."""
    m = re.fullmatch(r"every\s+(\d+)\s*([smhd])", value.strip())
    if not m:
        return None
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


class ListingSpec(_Strict):
    """An HTML listing page whose links matching ``link_pattern`` are articles."""

    url: str
    link_pattern: str = ""
    next_page: str = ""  # a template with {page} (2, 3, ...) or a CSS selector of the "next" link
    max_pages: int | None = Field(default=None, ge=1, le=100)

    @field_validator("link_pattern")
    @classmethod
    def _link(cls, v: str) -> str:
        return _check_regex(v) if v else v


class SourceSpec(_Strict):
    """One site to crawl: identity, discovery and optional per-field selectors."""

    name: str
    title: str
    url: str
    city: str = ""
    language: str = "ru"
    timezone: str = ""
    enabled: bool = True
    feeds: list[str] = []
    sitemaps: list[str] = []
    listings: list[ListingSpec] = []
    article_pattern: str = ""
    allowed_domains: list[str] = []
    allow_private: bool = False
    selectors: dict[str, str] = {}
    site_names: list[str] = []
    schedule: str = ""
    max_pages_per_run: int | None = Field(default=None, ge=1)
    notes: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError(f"source name {v!r}: use lowercase letters, digits, '-' or '_'")
        return v

    @field_validator("article_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return _check_regex(v) if v else v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v) if v else v

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        return check_schedule(v) if v else v

    @field_validator("selectors")
    @classmethod
    def _selectors(cls, v: dict[str, str]) -> dict[str, str]:
        for key, sel in v.items():
            if key not in SELECTOR_FIELDS:
                raise ValueError(
                    f"unknown selector field {key!r} (known: {', '.join(SELECTOR_FIELDS)})"
                )
            _check_selector(key, sel)
        return v

    @model_validator(mode="after")
    def _urls(self) -> SourceSpec:
        ap = self.allow_private
        self.url = _check_url(self.url, allow_private=ap)
        self.feeds = [_check_url(u, allow_private=ap, label="feeds") for u in self.feeds]
        self.sitemaps = [_check_url(u, allow_private=ap, label="sitemaps") for u in self.sitemaps]
        for i, listing in enumerate(self.listings):
            listing.url = _check_url(listing.url, allow_private=ap, label=f"listings.{i}.url")
        if not self.allowed_domains:
            from crawler.normalize.urls import host_of

            host = host_of(self.url)
            self.allowed_domains = [host[4:] if host.startswith("www.") else host]
        else:
            self.allowed_domains = [_idna(d) for d in self.allowed_domains]
        return self

    @property
    def discovery(self) -> list[str]:
        """Human-readable discovery methods, for ``cityfeeds sources``."""
        out = []
        if self.feeds:
            out.append(f"feeds({len(self.feeds)})")
        if self.sitemaps:
            out.append(f"sitemaps({len(self.sitemaps)})")
        if self.listings:
            out.append(f"listings({len(self.listings)})")
        return out or ["homepage"]


def _idna(domain: str) -> str:
    domain = domain.strip().lower().rstrip(".")
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"invalid domain {domain!r}") from None


def _check_selector(field: str, sel: str) -> None:
    kind, _, expr = sel.partition(":") if sel.startswith(("css:", "xpath:")) else ("css", "", sel)
    if not expr.strip():
        raise ValueError(f"selector {field!r} is empty")
    from lxml import etree
    from lxml.cssselect import CSSSelector

    try:
        if kind == "xpath":
            etree.XPath(expr)
        else:
            CSSSelector(expr)
    except Exception as exc:  # cssselect raises several exception types
        raise ValueError(f"invalid {kind} selector for {field!r}: {sel!r} ({exc})") from None


class GeneralSpec(_Strict):
    """The ``[cityfeeds]`` table."""

    output_dir: str = "output"
    database_url: str = "sqlite:///data/cityfeeds.db"
    base_url: str = "http://127.0.0.1:8080/"
    feed_size: int = Field(default=50, ge=1, le=1000)
    feed_max_html_chars: int = Field(default=6000, ge=200, le=200_000)
    timezone: str = "Europe/Moscow"
    title: str = "cityfeeds"

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
    run_timeout: int = Field(default=1800, ge=10)
    max_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    retry_times: int = Field(default=2, ge=0, le=10)


class ScheduleSpec(_Strict):
    """The ``[schedule]`` table: service defaults."""

    default: str = "*/30 * * * *"
    jitter: int = Field(default=120, ge=0)
    timezone: str = ""
    max_backoff: int = Field(default=6 * 3600, ge=60)
    serve: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

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
                raise ValueError(f"hubs: not an http(s) URL: {hub!r}")
        if len(set(v)) != len(v):
            raise ValueError("hubs: a hub is listed twice")
        return v


class Config:
    """The validated configuration. Paths are absolute, resolved against the config's folder."""

    def __init__(self, raw: dict[str, Any], *, path: Path | None = None) -> None:
        self.path = path
        root = path.parent if path else Path.cwd()
        self.root = root
        known = {"cityfeeds", "crawl", "schedule", "sources", "stories", "topics", "websub"}
        for key in raw:
            if key not in known:
                raise ConfigError(
                    f"unknown top-level key {key!r}{_did_you_mean(key, known)} "
                    f"(known: {', '.join(sorted(known))})"
                )
        self.general = _validate(GeneralSpec, raw.get("cityfeeds", {}), "[cityfeeds]")
        self.crawl = _validate(CrawlSpec, raw.get("crawl", {}), "[crawl]")
        self.schedule = _validate(ScheduleSpec, raw.get("schedule", {}), "[schedule]")
        if not self.schedule.timezone:
            self.schedule.timezone = self.general.timezone
        self.stories = _validate(StoriesSpec, raw.get("stories", {}), "[stories]")
        self.websub = _validate(WebSubSpec, raw.get("websub", {}), "[websub]")

        self.sources: list[SourceSpec] = []
        seen: set[str] = set()
        for i, entry in enumerate(raw.get("sources", [])):
            label = f"sources[{i}]" + (
                f" ({entry.get('name')!r})" if isinstance(entry, dict) else ""
            )
            src = _validate(SourceSpec, entry, label)
            if src.name in seen:
                raise ConfigError(f"{label}: duplicate source name {src.name!r}")
            seen.add(src.name)
            if not src.timezone:
                src.timezone = self.general.timezone
            self.sources.append(src)

        self.topics: list[TopicSpec] = []
        topic_ids: set[str] = set()
        for i, entry in enumerate(raw.get("topics", [])):
            label = f"topics[{i}]" + (f" ({entry.get('id')!r})" if isinstance(entry, dict) else "")
            topic = _validate(TopicSpec, entry, label)
            if topic.id in topic_ids:
                raise ConfigError(f"{label}: duplicate topic id {topic.id!r}")
            topic_ids.add(topic.id)
            unknown = [s for s in getattr(topic, "sources", []) if s not in seen]
            if unknown:
                raise ConfigError(
                    f"{label}: unknown source(s) {', '.join(map(repr, unknown))} "
                    f"(known: {', '.join(sorted(seen))})"
                )
            self.topics.append(topic)

        env_db = os.environ.get(ENV_DATABASE_URL)
        self.database_url = env_db or _resolve_sqlite(self.general.database_url, root)
        self.output_dir = (root / self.general.output_dir).resolve()
        self.base_url = self.general.base_url
        self.feed_size = self.general.feed_size
        self.feed_max_html_chars = self.general.feed_max_html_chars
        self.timezone = self.general.timezone

    def source(self, name: str) -> SourceSpec:
        """The source called ``name``; ConfigError listing the known names otherwise."""
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources) or "(none)"
        raise ConfigError(f"unknown source {name!r} (known: {known})")

    def select_sources(self, names: list[str] | None) -> list[SourceSpec]:
        """Named sources (all enabled ones when ``names`` is empty)."""
        if names:
            return [self.source(n) for n in names]
        return [s for s in self.sources if s.enabled]


def _resolve_sqlite(url: str, root: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((root / url[len(prefix) :]).resolve())
    return url


def _validate(model: type[BaseModel], data: Any, label: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a table, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                key = str(err["loc"][-1])
                msg = "unknown key" + _did_you_mean(key, _known_keys(model, err["loc"][:-1]))
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise ConfigError(f"{label}: " + "; ".join(problems)) from None


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest known key, or "" when none is close."""
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys a table accepts at ``loc`` (a pydantic error location) below ``model``."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list of tables
        field = current.model_fields.get(part) if current is not None else None
        current = _model_in(field.annotation) if field is not None else None
    return list(current.model_fields) if current is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``list[ListingSpec] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: ``--config``, then ``$CITYFEEDS_CONFIG``, then ./cityfeeds.toml."""
    return Path(explicit or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, parse and validate the configuration; raise ConfigError with a clear message."""
    p = config_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {p} (use --config FILE or ${ENV_CONFIG})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from None
    return parse_config(text, path=p.resolve())


def parse_config(text: str, *, path: Path | None = None) -> Config:
    """Parse TOML text into a validated Config."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path or 'config'}: invalid TOML: {exc}") from None
    return Config(raw, path=path)
