"""The config's field checks: URLs, schedules, regexes, selectors, time zones, domains, names,
language codes and URL templates.

The underscored checks are internal to :mod:`crawler.config` (its spec modules use them);
``check_schedule`` and ``parse_interval`` are public (the service reads schedules too).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from crawler.normalize.text import first_unprintable
from crawler.normalize.url_patterns import compile_url_pattern
from crawler.normalize.urls import host_of, is_http_url, is_private_address, is_valid_host

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
_WEEKDAY_NUMBER_RE = re.compile(r"\d")
#: The shortest interval schedule (``every 1m``). Shorter ones ran crawls back to back, kept
#: backoff from ever starting and let one source starve the others. A cron line's finest
#: step is one minute anyway.
MIN_INTERVAL_SECONDS = 60
#: The longest interval schedule (``every 366d``): longer ones overflowed date arithmetic in
#: ``status`` and the service's start-up (a yearly crawl is a cron line's job).
MAX_INTERVAL_SECONDS = 366 * 86400
#: Lowers the minimum, for tests and benchmarks only (they cannot wait minutes per cycle).
ENV_MIN_INTERVAL = "CITYFEEDS_MIN_INTERVAL"


#: ISO 639-1: the two-letter language codes a source's ``language`` may use.
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh
    zu""".split()
)
_LANGUAGE_RE = re.compile(r"([A-Za-z]{2})(?:[-_]([A-Za-z]{2}|\d{3}))?")
#: The placeholders a listing's ``next_page`` URL template may use.
PAGE_PLACEHOLDERS = ("page",)
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


class _Strict(BaseModel):
    """A config table: unknown keys are errors (a typo must not be ignored), and values keep
    their TOML type: ``true`` is not the number 1, ``"yes"`` is not a switch, ``"50"`` is not a
    number (pydantic's lax mode converted all three without a word)."""

    model_config = ConfigDict(extra="forbid", frozen=False, strict=True)


def _check_text(value: str, what: str = "") -> str:
    """``value`` unless it is empty or only spaces (a name or title that must say something),
    or holds a control character (:func:`check_printable`)."""
    if not value.strip():
        raise ValueError(f"{what} must not be empty".lstrip())
    return check_printable(value, what)


def check_printable(value: str, what: str = "") -> str:
    """``value`` unless it holds a control character, a bidi override or a lone surrogate
    (``\\u0001`` in a title): feeds, the index page and the OPML show these texts, and XML
    cannot hold some of them (the OPML failed on every build)."""
    if (bad := first_unprintable(value)) is not None:
        label = f"{what} " if what else ""
        raise ValueError(f"{label}holds the control character U+{ord(bad):04X}: {value!r}")
    return value


def _check_language(value: str) -> str:
    """An ISO 639-1 code (``ru``), maybe with a region (``en-US``), written the usual way."""
    match = _LANGUAGE_RE.fullmatch(value.strip())
    if not match or match.group(1).lower() not in ISO_639_1:
        raise ValueError(
            f"{value!r} is not an ISO 639-1 language code (such as 'ru', 'en' or 'en-US')"
        )
    code, region = match.group(1).lower(), match.group(2)
    return f"{code}-{region.upper()}" if region else code


def _check_url(value: str, *, allow_private: bool = False, label: str = "url") -> str:
    if not is_http_url(value):
        raise ValueError(f"{label}: not an http(s) URL: {value!r}")
    host = host_of(value)
    if not is_valid_host(host):
        raise ValueError(f"{label}: {host!r} is not a valid host name or IP address: {value!r}")
    if "@" in urlsplit(value).netloc:
        # A login in the URL would be published: feed links and the OPML show a source's URL.
        raise ValueError(
            f"{label}: a URL with a login (user:password@) is not supported, and it would "
            f"be published in the feeds: {value!r}"
        )
    if any(c.isspace() or ord(c) < 32 for c in value):
        # A typo («rss .xml»): the crawl would fetch some other page, or none.
        raise ValueError(
            f"{label}: a URL holds no space or control character (write a space as %20): {value!r}"
        )
    if not allow_private and is_private_address(host):
        raise ValueError(
            f"{label}: private, loopback or link-local address not allowed: {value!r} "
            "(set allow_private = true on the source to crawl it)"
        )
    return value


def _check_regex(value: str) -> str:
    """A URL pattern RE2 can run (linear time; see crawler.normalize.url_patterns)."""
    compile_url_pattern(value)  # raises ValueError with the reason
    return value


#: The stores cityfeeds runs on: SQLite (the default) and PostgreSQL, any SQLAlchemy driver.
_DATABASE_URL_RE = re.compile(r"^(?:sqlite|postgresql)(?:\+\w+)?://", re.I)


def check_database_url(value: str) -> str:
    """``value`` if it is a SQLite or PostgreSQL URL; ValueError (one line) otherwise."""
    if not _DATABASE_URL_RE.match(value):
        raise ValueError(
            f"database_url {value!r}: not a SQLite or PostgreSQL URL "
            "(sqlite:///data/cityfeeds.db, postgresql+psycopg://user@host/db)"
        )
    return value


def check_schedule(value: str) -> str:
    """Validate a schedule string: a 5-field cron line or ``every <N><s|m|h|d>``."""
    value = value.strip()
    seconds = parse_interval(value)
    if seconds is not None:
        floor = min_interval_seconds()
        if seconds < floor:
            raise ValueError(
                f"schedule {value!r}: shorter than the minimum interval of {floor} s"
                + (" (every 1m)" if floor == MIN_INTERVAL_SECONDS else "")
            )
        if seconds > MAX_INTERVAL_SECONDS:
            raise ValueError(
                f"schedule {value!r}: longer than the maximum interval (every 366d); "
                "use a cron line for a rarer schedule"
            )
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
        trigger = CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"schedule {value!r}: {exc}") from None
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        # 31 February, 31 April: valid fields, a date that never comes; the source never runs.
        raise ValueError(f"schedule {value!r}: never fires (no such date)")
    return value


def min_interval_seconds() -> int:
    """The shortest accepted interval: :data:`MIN_INTERVAL_SECONDS`, or the test override."""
    override = os.environ.get(ENV_MIN_INTERVAL, "").strip()
    return int(override) if override.isdigit() else MIN_INTERVAL_SECONDS


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


def _idna(domain: str) -> str:
    domain = domain.strip().lower().rstrip(".")
    if not domain:
        raise ValueError("allowed_domains: a domain is empty")
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(domain.strip("[]")))  # an IP address is its own host
    if "/" in domain or ":" in domain or "@" in domain:
        # "http://vm.ru/" would match no host: every request, robots.txt first, is refused.
        if "://" in domain:
            host = host_of(domain)
        elif domain.startswith("["):  # an IPv6 address with a port: the address alone
            host = domain[1:].partition("]")[0]
        else:
            host = domain.split("/")[0].split(":")[0]
        raise ValueError(
            f"allowed_domains: {domain!r} is not a domain name; write the host alone"
            + (f" ({host!r})" if host else "")
        )
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


def _check_next_page(value: str) -> str:
    """A ``next_page`` rule: a URL template whose only placeholder is ``{page}`` (its URL is
    checked with the source's others), or a CSS/XPath selector of the "next" link."""
    unknown = [p for p in _PLACEHOLDER_RE.findall(value) if p not in PAGE_PLACEHOLDERS]
    stray = ("{" in value or "}" in value) and "{page}" not in value
    if unknown or stray:
        placeholder = "{" + unknown[0] + "}" if unknown else "a stray brace"
        raise ValueError(
            f"{value!r}: unknown placeholder {placeholder} (the page number is written {{page}})"
        )
    if "{page}" not in value:
        _check_selector("next_page", value)
    return value
