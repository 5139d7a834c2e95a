"""Read the one TOML configuration file into a validated :class:`Config`."""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from crawler.config.sections import (
    CrawlSpec,
    GeneralSpec,
    RetentionSpec,
    ScheduleSpec,
    StoriesSpec,
    WebSubSpec,
)
from crawler.config.sources import SourceSpec
from crawler.config.validators import check_database_url
from crawler.normalize.urls import url_identity
from crawler.topics.morph import fold
from crawler.topics.spec import TopicSpec, max_score

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "cityfeeds.toml"
ENV_CONFIG = "CITYFEEDS_CONFIG"
ENV_DATABASE_URL = "CITYFEEDS_DATABASE_URL"
#: A file holding the text of the configuration a crawl's parent loaded, handed to its crawl
#: child: the child crawls with the parent's configuration, not the file as it may have been
#: edited since. (A file, not the text itself: an environment variable is capped at 128 KiB.)
ENV_PARENT_CONFIG = "CITYFEEDS_PARENT_CONFIG"


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message names the offending entry."""


class Config:
    """The validated configuration. Paths are absolute, resolved against the config's folder."""

    def __init__(self, raw: dict[str, Any], *, path: Path | None = None) -> None:
        self.path = path
        #: The TOML text it was parsed from (``parse_config``), handed to crawl children.
        self.text: str | None = None
        root = path.parent if path else Path.cwd()
        self.root = root
        known = {
            "cityfeeds",
            "crawl",
            "retention",
            "schedule",
            "sources",
            "stories",
            "topics",
            "websub",
        }
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
        self.retention = _validate(RetentionSpec, raw.get("retention", {}), "[retention]")

        self.sources: list[SourceSpec] = []
        seen: set[str] = set()
        sites: dict[tuple[object, ...], str] = {}
        for i, entry in enumerate(raw.get("sources", [])):
            label = f"sources[{i}]" + (
                f" ({entry.get('name')!r})" if isinstance(entry, dict) else ""
            )
            src = _validate(SourceSpec, entry, label)
            if src.name in seen:
                raise ConfigError(f"{label}: duplicate source name {src.name!r}")
            seen.add(src.name)
            site = (
                url_identity(src.url),
                *(tuple(sorted(map(url_identity, urls))) for urls in (src.feeds, src.sitemaps)),
                tuple(sorted(url_identity(listing.url) for listing in src.listings)),
            )
            if site in sites:
                # Each article is stored once, under whichever source's crawl found it first:
                # both sources' feeds would miss part of the site. A warning, not an error:
                # a test set-up or a source being replaced may want both for a while.
                logger.warning(
                    "%s: the same site and discovery as source %r (url, feeds, sitemaps, "
                    "listings): an article belongs to one source, so each feed misses part of "
                    "the site; give each source its own section or disable one",
                    label,
                    sites[site],
                )
            sites.setdefault(site, src.name)
            if not src.timezone:
                src.timezone = self.general.timezone
            self.sources.append(src)

        self.topics: list[TopicSpec] = []
        topic_ids: set[str] = set()
        # As the topic engine compares them (case and ё ignored).
        source_cities = {fold(s.city) for s in self.sources if s.city}
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
            missing = [c for c in getattr(topic, "cities", []) if fold(c) not in source_cities]
            if self.sources and missing:
                # The topic would stay empty for that city without a word: a spelling or a
                # script other than the sources' ("Казань" for "Kazan").
                named = sorted({repr(s.city) for s in self.sources if s.city})
                raise ConfigError(
                    f"{label}: no source has the city {', '.join(map(repr, missing))} "
                    f"(the sources' cities: {', '.join(named) or 'none'}; compared ignoring case)"
                )
            _warn_odd_topic(label, topic)
            self.topics.append(topic)

        env_db = os.environ.get(ENV_DATABASE_URL)
        if env_db:
            try:
                check_database_url(env_db)
            except ValueError as exc:
                raise ConfigError(f"{ENV_DATABASE_URL}: {exc}") from None
        self.database_url = env_db or resolve_sqlite_url(self.general.database_url, root)
        self.output_dir = (root / self.general.output_dir).resolve()
        if problem := unpublishable_output(self.output_dir, root, self.database_url):
            raise ConfigError(f"[cityfeeds] output_dir {self.general.output_dir!r}: {problem}")
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
        """Named sources, each once (all enabled ones when ``names`` is empty)."""
        if names:
            return [self.source(n) for n in dict.fromkeys(names)]
        return [s for s in self.sources if s.enabled]


def _warn_odd_topic(label: str, topic: TopicSpec) -> None:
    """Warn of a topic that is valid but cannot work as meant: a term both included and
    excluded (the exclusion masks it wherever it occurs), a threshold above any score."""
    excluded = {fold(term) for term in topic.exclude}  # as the engine matches: case, ё ignored
    both = sorted(term for term in topic.include if fold(term) in excluded)
    if both:
        logger.warning(
            "%s: %s both included and excluded: the exclusion masks the term wherever it occurs",
            label,
            ", ".join(map(repr, both)),
        )
    highest = max_score(topic)
    if topic.threshold > highest:
        logger.warning(
            "%s: threshold %g is above the highest score an article can get (%g: every include "
            "term and positive regex in every field, repeated): the topic's feed stays empty",
            label,
            topic.threshold,
            highest,
        )


def unpublishable_output(output: Path, root: Path, database_url: str) -> str | None:
    """Why ``output`` (served to anyone) must not take feeds, or None: it would serve the
    configuration's folder (``root``) or the SQLite database."""
    if root == output or root.is_relative_to(output):
        # "" or "." or "/": the config file (and what lies beside it) would be served.
        return f"it holds the configuration's own folder {root}; use a folder of its own"
    database = sqlite_file(database_url)
    if database is not None and database.is_relative_to(output):
        return f"the database {database} would be served with the feeds; keep it outside"
    return None


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (its query left out); None for an in-memory one or
    another kind of database."""
    if url.startswith("sqlite") and "///" in url:
        path = url.split("///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            return Path(path)
    return None


def resolve_sqlite_url(url: str, root: Path) -> str:
    """``url`` with a relative SQLite path made absolute against the configuration's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((root / url[len(prefix) :]).resolve())
    return url


#: Pydantic errors whose message names the bound but not the value given.
_BOUNDS = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "string_too_short",
     "string_too_long", "string_pattern_mismatch"}
)  # fmt: skip


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
            elif err["type"] in _EXPECTED:
                msg = f"expected {_EXPECTED[err['type']]}, got {_toml_value(err['input'])}"
            elif err["type"] in _BOUNDS:
                msg = f"{msg}, got {_toml_value(err['input'])}"
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise ConfigError(f"{label}: " + "; ".join(problems)) from None


#: What a value of the wrong TOML type should have been, by pydantic's error type.
_EXPECTED = {
    "bool_type": "true or false",
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "a quoted string",
    "list_type": "a list [...]",
    "dict_type": "a table",
    "model_type": "a table",
}


def _toml_value(value: Any) -> str:
    """``value`` as the config file wrote it (``true``, ``"yes"``, ``1.5``), briefly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + (value if len(value) <= 40 else value[:40] + "...") + '"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return str(value)[:40]


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


#: The largest config file read (the shipped one is ~20 KB).
MAX_CONFIG_BYTES = 4 * 2**20


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, parse and validate the configuration; raise ConfigError with a clear message."""
    p = config_path(path)
    try:
        with p.open("rb") as f:
            # Read at most a byte past the cap: a device or a runaway file (--config /dev/zero)
            # must not fill the memory.
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"config file {p} is larger than {MAX_CONFIG_BYTES // 2**20} MiB: not a config"
            )
        text = raw.decode("utf-8-sig")  # a BOM (Windows editors) is not TOML
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
    try:
        config = Config(raw, path=path)
    except ConfigError as exc:
        # Which file: the service, a crawl child and the command line may read different ones.
        raise ConfigError(f"{path}: {exc}" if path is not None else str(exc)) from None
    config.text = text
    return config


def load_parents_config(path: str | os.PathLike[str] | None = None) -> Config:
    """The configuration a crawl child runs with: its parent's (the file ``ENV_PARENT_CONFIG``
    names), read against ``path`` for relative paths, or else the file at ``path``.

    A service loads its file once, when it starts; an edit saved since (or a typo made while
    editing) reaches no part of it, its crawls included, until it is restarted.
    """
    parents = os.environ.get(ENV_PARENT_CONFIG)
    if not parents:
        return load_config(path)
    try:
        text = Path(parents).read_text(encoding="utf-8")
    except OSError:
        return load_config(path)  # gone (removed by hand): the file is the next best thing
    return parse_config(text, path=config_path(path).resolve())
