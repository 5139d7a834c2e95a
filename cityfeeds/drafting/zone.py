"""Propose a source's ``timezone`` from the UTC offsets its feed and pages state."""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

#: Countries (ISO 3166) a language is mostly written in, the largest first: where a site's
#: zone is looked for first when its host has no country code (``.com``, ``.org``).
LANGUAGE_COUNTRIES: dict[str, tuple[str, ...]] = {
    "ru": ("RU", "BY", "KZ"), "uk": ("UA",), "be": ("BY",), "kk": ("KZ",),
    "de": ("DE", "AT", "CH"), "en": ("US", "GB", "CA", "AU", "IE", "NZ", "IN"),
    "fr": ("FR", "BE", "CH", "CA"), "es": ("ES", "MX", "AR", "CO"), "it": ("IT", "CH"),
    "pt": ("PT", "BR"), "nl": ("NL", "BE"), "pl": ("PL",), "cs": ("CZ",), "sk": ("SK",),
    "hu": ("HU",), "ro": ("RO",), "bg": ("BG",), "el": ("GR",), "tr": ("TR",), "sv": ("SE",),
    "no": ("NO",), "nb": ("NO",), "da": ("DK",), "fi": ("FI",), "et": ("EE",), "lv": ("LV",),
    "lt": ("LT",), "sr": ("RS",), "hr": ("HR",), "sl": ("SI",), "ja": ("JP",), "zh": ("CN", "TW"),
    "ko": ("KR",), "he": ("IL",), "ar": ("EG", "SA", "AE"),
}  # fmt: skip
#: Country-code top-level domains that are not the country's ISO code.
_TLD_COUNTRY = {"uk": "GB"}
#: Candidate zones named in the drafted entry's comment besides the proposed one.
OTHER_CANDIDATES = 3


@dataclass(frozen=True)
class ZoneProposal:
    """A zone whose offsets match what the site states, and the evidence for it."""

    zone: str
    default: str
    offsets: Counter[str]  # "+01:00" -> how many stated dates carry it
    agreeing: int  # stated dates the proposed zone matches
    total: int
    others: tuple[str, ...]  # other zones that match as well

    def comment(self) -> str:
        """The comment lines above the drafted ``timezone``: where it comes from, to be checked."""
        offsets = ", ".join(f"{off} on {n}" for off, n in self.offsets.most_common())
        text = (
            f"# timezone: inferred from UTC offsets the site states ({offsets} of {self.total} "
            f"dates in its feed and samples; {self.zone} matches {self.agreeing}), which the "
            f"config's default {self.default} does not: check it"
        )
        if self.others:
            text += f"\n#   also matching: {', '.join(self.others)}"
        return text


def stated_dates(values: Iterable[datetime | None]) -> list[datetime]:
    """The values that carry the site's own non-zero UTC offset.

    ``parse_date`` reads a value without an offset in the config's zone (a ``ZoneInfo``) and
    shows a UTC value in it too: only a kept offset (a fixed ``timezone``) is the site's word.
    UTC says nothing about the site's clock (CMSs store it), so it is no evidence either way.
    """
    return [
        v for v in values if v is not None and not isinstance(v.tzinfo, ZoneInfo) and v.utcoffset()
    ]


def propose_timezone(
    stated: Sequence[datetime], *, default: str, language: str, host: str
) -> ZoneProposal | None:
    """A zone for a source whose stated offsets disagree with ``default``; None if they agree.

    A candidate is a zone whose offset at each stated instant (so daylight saving counts) is
    the stated one; the zone matching the most stated dates wins, at least half of them. Among
    equals, a zone of the host's country (``.de``) comes first, then one of the language's
    countries, then the rest by name.
    """
    if not stated:
        return None
    default_zone = ZoneInfo(default)
    if all(v.utcoffset() == v.astimezone(default_zone).utcoffset() for v in stated):
        return None
    scores = {name: _matches(name, stated) for name in _zone_names()}
    best = max(scores.values(), default=0)
    if best * 2 < len(stated):
        return None  # the site's offsets fit no single zone: nothing to propose
    rank = _preference(host, language)
    tied = sorted((n for n, s in scores.items() if s == best), key=lambda n: (rank(n), n))
    return ZoneProposal(
        zone=tied[0],
        default=default,
        offsets=Counter(_format_offset(v.utcoffset()) for v in stated),
        agreeing=best,
        total=len(stated),
        others=tuple(tied[1 : 1 + OTHER_CANDIDATES]),
    )


def _matches(name: str, stated: Sequence[datetime]) -> int:
    zone = ZoneInfo(name)
    return sum(1 for v in stated if v.astimezone(zone).utcoffset() == v.utcoffset())


def _format_offset(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _preference(host: str, language: str) -> Callable[[str], tuple[int, int]]:
    """A sort key for zone names: the host's country, the language's countries, the rest."""
    tld = host.rsplit(".", 1)[-1].lower() if "." in host else ""
    countries = [_TLD_COUNTRY.get(tld, tld.upper())] if len(tld) == 2 else []
    countries += LANGUAGE_COUNTRIES.get(language.split("-")[0].lower(), ())
    by_country = _country_zones()

    def rank(name: str) -> tuple[int, int]:
        for i, country in enumerate(countries):
            zones = by_country.get(country, [])
            if name in zones:
                return i, zones.index(name)  # zone.tab lists a country's main zone first
        return len(countries), 0

    return rank


@functools.cache
def _zone_names() -> tuple[str, ...]:
    """Canonical zones, one per place (``zone.tab``), else every ``Area/City`` zone."""
    listed = [z for zones in _country_zones().values() for z in zones]
    if listed:
        return tuple(sorted(set(listed)))
    return tuple(
        sorted(
            n
            for n in zoneinfo.available_timezones()
            if "/" in n and not n.startswith(("Etc/", "SystemV/", "posix/", "right/"))
        )
    )


@functools.cache
def _country_zones() -> dict[str, list[str]]:
    """Zones by country code, in ``zone.tab`` order; empty when no ``zone.tab`` is found."""
    text = _zone_tab()
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            out.setdefault(parts[0], []).append(parts[2])
    return out


def _zone_tab() -> str:
    """The tz database's ``zone.tab``, from where ``zoneinfo`` reads zones (system, tzdata)."""
    for root in zoneinfo.TZPATH:
        path = Path(root) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return (
            importlib.resources.files("tzdata")
            .joinpath("zoneinfo", "zone.tab")
            .read_text(encoding="utf-8")
        )
    except (ModuleNotFoundError, FileNotFoundError):
        return ""
