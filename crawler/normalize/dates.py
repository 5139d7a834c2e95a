"""Parse publication dates (ISO, RFC 822, timestamps, Russian/English text) into aware datetimes."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DATE_TIME_SEPARATORS",
    "US_ZONE_MARKER",
    "ZONE_MARKER",
    "clamp_future",
    "clamp_future_flag",
    "day_only",
    "foreign_time_after",
    "is_date_line",
    "parse_date",
    "parse_modified_from_text",
    "plausible",
    "to_utc",
]

_MIN_YEAR = 1990
# Year-less and bare-time values must not land in the future; allow a little clock skew.
_SKEW = timedelta(minutes=10)

# Every accepted month word, exactly: a stem prefix would turn "12 маршрутов" into 12 March.
# Russian and English first; German, French, Spanish and Italian for bylines of foreign pages.
_MONTH_FORMS = (
    "январь января янв january jan januar jänner janvier enero gennaio",
    "февраль февраля фев февр february feb februar février fevrier febrero febbraio",
    "март марта мар march mar märz märz mars marzo",
    "апрель апреля апр april apr avril abril aprile",
    "май мая may mai mayo maggio",
    "июнь июня июн june jun juni juin junio giugno",
    "июль июля июл july jul juli juillet julio luglio",
    "август августа авг august aug août aout agosto",
    "сентябрь сентября сен сент september sep sept septembre septiembre settembre",
    "октябрь октября окт october oct oktober octobre octubre ottobre",
    "ноябрь ноября ноя нояб november nov novembre noviembre",
    "декабрь декабря дек december dec dezember décembre decembre diciembre dicembre",
)
_MONTHS = {form: num for num, forms in enumerate(_MONTH_FORMS, 1) for form in forms.split()}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_MONTH_ALT = "|".join(sorted((m for m in _MONTHS if m.isascii()), key=len, reverse=True))
# Words a date line may hold besides what the date patterns read, in the same languages as the
# month words: weekday names and abbreviations, time and year markers («Uhr», «г.», «a.m.»),
# zone abbreviations and the little words that join a day to its time ("am", "um", "в", "le").
_WEEKDAY_FORMS = (
    "понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье "
    "пн вт ср чт пт сб вс",
    "monday tuesday wednesday thursday friday saturday sunday "
    "mon tue tues wed thu thur thurs fri sat sun",
    "montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag mo di mi do fr sa so",
    "lundi mardi mercredi jeudi vendredi samedi dimanche lun mar mer jeu ven sam dim",
    "lunes martes miércoles miercoles jueves viernes sábado sabado domingo mié jue vie sáb",
    "lunedì lunedi martedì martedi mercoledì mercoledi giovedì giovedi venerdì venerdi sabato "
    "domenica gio sab",
)
_DATE_MARKERS = (
    "uhr h hrs ч час г года год am pm a.m. p.m. um at on в le el de du à il ore alle den der "
    "utc gmt msk мск mez mesz cet cest et est edt ct cst cdt pt pst pdt bst"
)
# Zone markers of more than one word («12:00 по Москве»).
_DATE_PHRASES = ("по москве", "по мск", "по московскому времени")
_DATE_WORD_RE = re.compile(
    r"(?<![^\W\d_])(?:"
    + "|".join(
        re.escape(w)
        for w in sorted(
            {w for forms in (*_WEEKDAY_FORMS, _DATE_MARKERS) for w in forms.split()}
            | set(_DATE_PHRASES),
            key=lambda w: (-len(w), w),
        )
    )
    + r")\.?(?![^\W\d_])"
)

_TIME = r"(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}))?(?!\d)"
_TIME_RE = re.compile(_TIME)
# What sets a date and its time apart on a byline, in either order: «06 декабря 2026 | 18:40»,
# «14:30 / 05.12.26», «10:15, 7 декабря 2026», «05.12.2026 • 14:30», «6 декабря — 18:40».
DATE_TIME_SEPARATORS = ",|/•·—–-"
_SEPARATOR = f"[{re.escape(DATE_TIME_SEPARATORS)}]"
# A time that starts a range («10:00–18:00», «10:00 до 18:00») is an event's, not the date's.
_NOT_A_RANGE = r"(?!\s*(?:[-—–]|до|to|bis|until|till)\s*\d{1,2}[:.]\d{2})"
_TIME_TAIL = (
    rf"(?:\s*(?:{_SEPARATOR}|в(?=[\s\d])|at|um|à|alle|ore|a las)?"
    rf"(?:\s*(?:в|at|um|à)(?=[\s\d]))?\s*{_TIME}{_NOT_A_RANGE})?"
)
# Zone names that mean one offset wherever they are written. CST (US Central or China), IST
# (India, Ireland, Israel) and AST are not here: read in the source's zone rather than guessed.
_NAMED_ZONES = {
    "utc": 0, "gmt": 0, "wet": 0, "west": 60, "bst": 60, "cet": 60, "mez": 60,
    "cest": 120, "mesz": 120, "eet": 120, "eest": 180, "msk": 180, "мск": 180,
    "est": -300, "edt": -240, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
    **dict.fromkeys(_DATE_PHRASES, 180),
}  # fmt: skip
_ZONE_NAME = "|".join(sorted(map(re.escape, _NAMED_ZONES), key=len, reverse=True))
_ZONE_OFFSET = r"(?:\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?)?"
# A zone named after a time, optional, with no groups: for patterns that find date strings
# in a page's text and leave reading them to :func:`parse_date`.
ZONE_MARKER = rf"(?:\s*\(?(?:{_ZONE_NAME})(?:\s*[+-]\s*\d{{1,2}}(?::?\d{{2}})?)?\)?(?![^\W\d_]))?"
# What may not follow a US zone's name: more of a word, "al." ("et al."), or a period and a
# word (an abbreviation: "Mt. Vernon").
_US_NAME_END = r"(?!\w)(?!\s+al\b)(?!\.\s+[^\W\d_])"
# A US zone named without its season, right after an a.m./p.m. ("9:15 a.m. ET"): the same
# for text patterns (see _US_ZONES).
US_ZONE_MARKER = rf"(?:\s*\(?(?:et|ct|mt|pt)\)?{_US_NAME_END})?"
_YEAR_TAIL = r"(?:\s*,?\s*(\d{4})(?!\d)(?:\s*(?:года|г)\.?(?![а-я]))?)?"
# A year that is not four digits but says it is one ("1 января 1 года", "5 мая 20225 г."):
# the date is nonsense, not a year-less one.
_BAD_YEAR_RE = re.compile(r"\.?(?:\s+de)?\s*,?\s*\d+\s*(?:года|г\.?)(?![а-я])")

_ISO_RE = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})"
    r"(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(z|[+-]\d{2}(?::?\d{2})?)?)?(?![\d-])"
)
# The time a bare ISO day may have after a separator ("2026-12-06 | 18:40").
_ISO_TIME_AFTER_RE = re.compile(_TIME_TAIL)
_RFC822_RE = re.compile(r"^(?:[a-z]{3},?\s*)?\d{1,2}\s+[a-z]{3}\s+(\d{2,4})\s+\d{1,2}:\d{2}")
# A weekday between a date and its time: «4 марта 2026 года, среда, 12:00».
WEEKDAY_BETWEEN = (
    r"(?:\s*,?\s*(?:понедельник|вторник|среда|четверг|пятница|суббота|воскресенье|monday|"
    r"tuesday|wednesday|thursday|friday|saturday|sunday)(?=\s*[,|/•·—–-]?\s*\d{1,2}:\d{2}))?"
)
_DAY_MONTH_RE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:-?го|er)?\.?[\s-]*(?:de\s+)?({_MONTH_ALT})\.?(?![a-zа-яäéû])"
    rf"(?:\s+de)?{_YEAR_TAIL}{WEEKDAY_BETWEEN}{_TIME_TAIL}"
)
_MONTH_DAY_RE = re.compile(
    rf"(?<![a-z])({_EN_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)"
    rf"(?:\s*{_SEPARATOR}?\s*(?:at\s+)?{_TIME}\s*([ap]\.?m\.?)?{_NOT_A_RANGE})?"
)
_DMY_RE = re.compile(rf"(?<![\d.:/-])(\d{{1,2}})([./-])(\d{{1,2}})\2(\d{{4}})(?![\d.]){_TIME_TAIL}")
_YMD_RE = re.compile(rf"(?<![\d.:/])(\d{{4}})([./])(\d{{1,2}})\2(\d{{1,2}})(?![\d.]){_TIME_TAIL}")
# Two-digit years and YYYYMMDD are too easily random numbers: only accepted as the whole value.
# A time before it («14:30 / 05.12.26») is the only company it may keep, and its a.m./p.m. and
# a zone after it ("12/5/26 9:15 AM", slashed as US sites write it: see _month_first).
_DMY_SHORT_RE = re.compile(
    rf"(?<![\w.:/-])(\d{{1,2}})([./])(\d{{1,2}})\2(\d{{2}}){_TIME_TAIL}"
    # a.m./p.m. only after a time; a US zone named without its season ("ET": the source's)
    rf"(?=(?:(?<=\d:\d\d)\s*[ap]\.?\s?m\b\.?)?\s*\(?(?:(?:{_ZONE_NAME}|[ecmp]t){_ZONE_OFFSET}\)?)?$)"
)
_YYYYMMDD_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIMESTAMP_RE = re.compile(r"^\d{9,13}(?:\.\d+)?$")
# A time just before a date, with its own a.m./p.m. and zone: «12:00 (мск), 4 декабря 2026»,
# «10:15 a.m. EST, Dec. 5, 2026», «18:40 06.12.2026».
_TIME_BEFORE_RE = re.compile(
    rf"{_TIME}\s*([ap]\.?m\.?)?(?:\s*uhr)?(?:\s*\(?({_ZONE_NAME}){_ZONE_OFFSET}\)?)?"
    rf"\s*{_SEPARATOR}?\s*$"
)
# What makes a time before a date belong to something else: a range («с 10:00 до 18:00 5
# декабря», «10:00–18:00, 5 декабря»), a bound («до 18:00»), a temperature or a duration.
_OTHER_TIME_BEFORE_RE = re.compile(
    r"(?:(?<![^\W\d_])(?:до|с|со|от|по|из|за|till|until|to|from|by|bis|ab|von|dès|jusqu'à|hasta"
    r"|desde|fino|dalle|длительность|продолжительность|duration|dauer)"
    r"|\d[:.]?\d*\s*[-—–]|[°%+]|°\s*[cfс])\s*$"
)
_TIME_BEFORE_REACH = 40
_BARE_TIME_RE = re.compile(rf"^(?:в\s*)?{_TIME}$")
_REL_DAY_RE = re.compile(
    rf"(?<![а-яa-z])(сегодня|вчера|позавчера|today|yesterday|heute|gestern|vorgestern)"
    rf"(?![а-яa-z])(?:\s*,?\s*(?:в|at|um)?\s*{_TIME})?"
)
_REL_DAYS = {
    "сегодня": 0, "today": 0, "heute": 0, "вчера": 1, "yesterday": 1, "gestern": 1,
    "позавчера": 2, "vorgestern": 2,
}  # fmt: skip
_AGO_RE = re.compile(
    r"(?<![а-яa-z\d])(?:(\d+|одну|одна|один|две|два|три|четыре|пять|пол|an?|one)\s*)?"
    r"(секунд[уы]?|сек|минут[уы]?|мин|час(?:а|ов)?|ч|дн(?:я|ей)|день|сутки|суток|недел[юиь]|нед"
    r"|seconds?|secs?|minutes?|mins?|hours?|days?|weeks?)\.?\s+(?:назад|ago)(?![а-яa-z])"
)
# German writes it before: «vor 2 Stunden», «vor einer Stunde».
_VOR_RE = re.compile(
    r"(?<![a-zäöü])vor\s+(\d+|einer|einem|zwei|drei|vier|fünf)\s+"
    r"(sekunden?|minuten?|stunden?|tagen?|tag|wochen?)(?![a-zäöü])"
)
_AGO_NUMBERS: dict[str, float] = {
    "одну": 1, "одна": 1, "один": 1, "две": 2, "два": 2, "три": 3, "четыре": 4, "пять": 5,
    "пол": 0.5, "a": 1, "an": 1, "one": 1,
    "einer": 1, "einem": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
}  # fmt: skip
# Unit word prefix -> timedelta argument; first match wins, so longer prefixes come first.
_AGO_UNITS = (
    ("сек", "seconds"), ("se", "seconds"), ("мин", "minutes"), ("mi", "minutes"),
    ("ч", "hours"), ("h", "hours"), ("д", "days"), ("су", "days"), ("da", "days"),
    ("нед", "weeks"), ("w", "weeks"), ("st", "hours"), ("t", "days"),
)  # fmt: skip
_JUST_NOW_RE = re.compile(r"^(?:только что|just now)$")
# Starts at the keyword: a leading optional "(" and spaces made every position of a page's
# text a match attempt, for the same group 1.
_UPDATED_RE = re.compile(
    r"(?:обновлено|обновлен|изменено|updated|upd|aktualisiert|actualizado)\b\.?\s*:?\s*([^)]*)"
)
_SPACE_RE = re.compile(r"\s+")
# What _UPDATED_RE needs in a normalised text, none with a space or «ё» in it: a text without
# any of them (after lower case and ё -> е alone) has no update date, and whitespace need not be
# collapsed to learn that (that was most of the cost over the text around a headline).
_UPDATED_KEYS = ("обновлен", "изменено", "upd", "aktualisiert", "actualizado")


@lru_cache(maxsize=32)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def _tzinfo(tz: str | tzinfo) -> tzinfo:
    return _zone(tz) if isinstance(tz, str) else tz


def _build(
    zone: tzinfo, now: datetime, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0
) -> datetime | None:
    if not _MIN_YEAR <= y <= now.year + 1:
        return None
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=zone)
    except ValueError:  # 32.13.2024, 25:61 and friends
        return None


def plausible(dt: datetime, now: datetime) -> bool:
    """Whether ``dt`` can be a news date at all: from 1990 up to next year (then clamped).

    For dates read by other parsers (feedparser's), which accept year 1 and 1970.
    """
    return _MIN_YEAR <= dt.year <= now.year + 1


def _hms(match: re.Match[str], first: int) -> tuple[int, int, int] | None:
    """Hour, minute, second from three consecutive optional groups; None if absent."""
    if match.group(first) is None:
        return None
    sec = match.group(first + 2)
    return int(match.group(first)), int(match.group(first + 1)), int(sec) if sec else 0


def _with_time_before(
    text: str, m: re.Match[str], first: int
) -> tuple[tuple[int, int, int], int, tzinfo | None, int]:
    """The time of a date match (its own, else one just before it), where the date starts, the
    zone named with a time before it (None: the source's) and where the date ends.

    "11:28 12.12.2022", "10:15, 7 декабря 2026", "12:00 (мск), 4 декабря 2026", "14:30 / 05.12.26":
    the time precedes the date. A time that ends a range or follows a bound («с 10:00 до 18:00
    5 декабря», «до 18:00, 5 декабря») is an event's and is not taken. Its own time may have an
    a.m./p.m. after it ("03/04/2026 5:00 PM"), which the date then ends with.
    """
    own = _hms(m, first)
    if own is not None:
        own, end = _with_meridiem(text, m.end(), own)
        return own, m.start(), None, end
    return (*_time_before(text, m.start()), m.end())


# An a.m./p.m. right after a time ("5:00 PM", "9:15 a.m."): not a word that starts so ("pmr").
_MERIDIEM_RE = re.compile(r"\s*([ap])\.?\s?m\b\.?")


def _with_meridiem(
    text: str, end: int, hms: tuple[int, int, int]
) -> tuple[tuple[int, int, int], int]:
    """``hms`` on a 24-hour clock when an a.m./p.m. follows at ``end``, and where that ends.

    "14:30 p.m." is no clock reading: its p.m. is left unread.
    """
    m = _MERIDIEM_RE.match(text, end)
    if m is None or not 1 <= hms[0] <= 12:
        return hms, end
    return (hms[0] % 12 + (12 if m[1] == "p" else 0), *hms[1:]), m.end()


def _time_before(text: str, at: int) -> tuple[tuple[int, int, int], int, tzinfo | None]:
    """The time written just before ``text[at:]`` (midnight if none), where it starts, its zone."""
    before = _TIME_BEFORE_RE.search(text, max(0, at - _TIME_BEFORE_REACH), at)
    if before is None or foreign_time_after(text[: before.start()]):
        return (0, 0, 0), at, None
    hour, minute, second = _hms(before, 1) or (0, 0, 0)
    if before[4]:
        if not 1 <= hour <= 12:
            return (0, 0, 0), at, None  # "14:30 p.m.": not a clock reading
        hour = hour % 12 + (12 if before[4].startswith("p") else 0)
    zone = _named_offset(*before.groups()[4:8]) if before[5] else None
    return (hour, minute, second), before.start(), zone


def foreign_time_after(prefix: str) -> bool:
    """Whether a time written right after ``prefix`` belongs to something other than a date
    that follows it: the end of a range («с 10:00 до 18:00»), a bound («до 18:00»), a duration
    or a temperature. ``prefix`` is lower case, as :func:`parse_date` folds it.
    """
    return _OTHER_TIME_BEFORE_RE.search(prefix[-_TIME_BEFORE_REACH:]) is not None


def _in_zone(dt: datetime | None, zone: tzinfo | None) -> datetime | None:
    """``dt`` read in the zone a name beside its time states, when there is one."""
    return dt if dt is None or zone is None else dt.replace(tzinfo=zone)


def _from_timestamp(value: float, zone: tzinfo, now: datetime) -> datetime | None:
    if not math.isfinite(value):
        return None
    if abs(value) > 1e11:  # milliseconds
        value /= 1000
    try:
        dt = datetime.fromtimestamp(value, zone)
    except (OverflowError, OSError, ValueError):
        return None
    return dt if _MIN_YEAR <= dt.year <= now.year + 1 else None


def _latest_not_future(
    zone: tzinfo, now: datetime, mo: int, d: int, hms: tuple[int, int, int]
) -> datetime | None:
    # Year-less "15 февраля, 05:20": the most recent such date not after now (Feb 29 may need
    # several years back).
    for year in range(now.year, now.year - 8, -1):
        dt = _build(zone, now, year, mo, d, *hms)
        if dt is not None and dt <= now + _SKEW:
            return dt
    return None


def _at_time(day: date, hms: tuple[int, int, int], zone: tzinfo) -> datetime | None:
    try:
        return datetime.combine(day, time(*hms), tzinfo=zone)
    except ValueError:
        return None


def _parse_iso(m: re.Match[str], zone: tzinfo, now: datetime) -> datetime | None:
    y, mo, d, h, mi, s, frac, off = m.groups()
    dt = _build(zone, now, int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    if dt is None:
        return None
    if frac:
        dt = dt.replace(microsecond=int(frac[:6].ljust(6, "0")))
    if off:
        try:
            off = off.replace(":", "").ljust(5, "0")
            offset = UTC if off.startswith("z") else datetime.strptime(off, "%z").tzinfo
        except ValueError:
            return None
        dt = dt.replace(tzinfo=offset)
    return dt


def _parse_rfc822(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if not _MIN_YEAR <= dt.year <= now.year + 1:
        return None
    if dt.tzinfo is None:
        # "-0000" means UTC with no local zone; unknown names (MSK) stay local to the source.
        if text.endswith("-0000"):
            return dt.replace(tzinfo=UTC)
        return dt.replace(tzinfo=_zone("Europe/Moscow") if text.endswith("msk") else zone)
    return dt


def _parse_ago(m: re.Match[str], now: datetime) -> datetime:
    count_word, unit = m.groups()
    count: float = 1
    if count_word:
        count = float(count_word) if count_word.isdigit() else _AGO_NUMBERS[count_word]
    name = next(name for prefix, name in _AGO_UNITS if unit.startswith(prefix))
    return now - timedelta(**{name: count})


def _parse_text(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    """Parse a normalised (lowercase, single-spaced) string; ``now`` is already in ``zone``."""
    dt, start, end = _read_text(text, zone, now)
    if dt is None or dt.tzinfo is not zone or end >= len(text):
        return dt
    return _with_named_zone(dt, text, start, end)


# The name ends the date: nothing but punctuation or the end follows. "À 14:00 est annulée"
# is French, not Eastern Time.
_ZONE_END = r"\)?(?=\s*(?:$|[^\w\s+-]))"
# Right after a date and time: "9:15 p.m. EST", "12:00 (мск)", "14:30 GMT+3", "05:00 Uhr MEZ".
_ZONE_AFTER_RE = re.compile(rf"\s*(?:uhr\s*)?\(?({_ZONE_NAME}){_ZONE_OFFSET}{_ZONE_END}")
# US zones named without their season ("5:00 a.m. ET"): that zone's offset on the day. Only
# after an a.m./p.m., written before or with the name: "14:00 et" is French for "and".
_US_ZONES = {
    "et": ZoneInfo("America/New_York"),
    "ct": ZoneInfo("America/Chicago"),
    "mt": ZoneInfo("America/Denver"),
    "pt": ZoneInfo("America/Los_Angeles"),
}
_MERIDIEM = r"[ap]\.?\s?m\b\.?"
# After an a.m./p.m. the name is unambiguous: a byline may follow ("9:15 a.m. ET By …").
_US_ZONE_AFTER_RE = re.compile(rf"(\s*{_MERIDIEM})?\s*\(?(et|ct|mt|pt)\)?{_US_NAME_END}")
_ENDS_WITH_MERIDIEM_RE = re.compile(rf"{_MERIDIEM}\s*$")
# A US zone named after a slashed date's time ("12/5/26 9:15 AM ET", "03/04/2026 5:00 PM EST"):
# the date is written as US sites write it, month first, whatever the source's zone.
_US_NAME_AFTER_RE = re.compile(
    rf"(\s*{_MERIDIEM})?\s*\(?(?:(et|ct|mt|pt)|est|edt|cdt|mst|mdt|pst|pdt)\)?{_US_NAME_END}"
)
_AT_ZONE_END_RE = re.compile(_ZONE_END)
# Right after a date without a time: a time with a dot that a zone name vouches for
# ("5 December 2026 12.00 GMT", the Guardian's style): on its own, "12.00" may be anything.
_DOT_TIME_ZONE_RE = re.compile(
    rf"\s*,?\s*(?:at\s+)?(\d{{1,2}})[.:](\d{{2}})\s*\(?({_ZONE_NAME}){_ZONE_OFFSET}{_ZONE_END}"
)


def _named_offset(
    name: str, sign: str | None, hours: str | None, minutes: str | None
) -> tzinfo | None:
    """The zone of a name (and, for UTC/GMT, a written-out offset); None if it is no offset."""
    offset = _NAMED_ZONES[name]
    if sign and name in ("utc", "gmt"):  # "GMT+3": the offset is written out
        if int(hours or 0) > 14 or int(minutes or 0) > 59:
            return None  # "GMT+99": no zone on Earth
        offset = (1 if sign == "+" else -1) * (int(hours or 0) * 60 + int(minutes or 0))
    return timezone(timedelta(minutes=offset))


def _with_named_zone(dt: datetime, text: str, start: int, end: int) -> datetime:
    """``dt`` (read in the source's zone from ``text[start:end]``) in the zone a name right
    after it states, when the date came with a time; else ``dt`` as it is."""
    if _TIME_RE.search(text, start, end) is not None:
        m = _ZONE_AFTER_RE.match(text, end)
        zone = _named_offset(*m.groups()) if m is not None else None
        if m is None and (us := _US_ZONE_AFTER_RE.match(text, end)) is not None:
            if _after_meridiem(us, text, start, end):
                zone = _US_ZONES[us[2]]
        return dt if zone is None else dt.replace(tzinfo=zone)
    if dt.hour or dt.minute or (m := _DOT_TIME_ZONE_RE.match(text, end)) is None:
        return dt
    hour, minute = int(m[1]), int(m[2])
    zone = _named_offset(*m.groups()[2:])
    if hour > 23 or minute > 59 or zone is None:
        return dt
    return dt.replace(hour=hour, minute=minute, tzinfo=zone)


def _read_text(text: str, zone: tzinfo, now: datetime) -> tuple[datetime | None, int, int]:
    """:func:`_parse_text`, with the span of ``text`` the date was read from.

    The span lets :func:`is_date_line` ask what else a line says besides its date, with the
    same rules that read the date.
    """
    whole = 0, len(text)
    if m := _YYYYMMDD_RE.match(text):
        return _build(zone, now, int(m[1]), int(m[2]), int(m[3])), *whole
    if _TIMESTAMP_RE.match(text):
        return _from_timestamp(float(text), zone, now), *whole
    if m := _RFC822_RE.match(text):
        if len(m[1]) == 3 or (len(m[1]) == 4 and m[1].startswith("0")):
            return None, *whole  # "0001": the email module would make it 2001
        return _parse_rfc822(text, zone, now), *whole
    if m := _ISO_RE.search(text):
        if m[4] is None:  # a bare day: "18:40, 2026-12-06", "2026-12-06 | 18:40"
            after = _ISO_TIME_AFTER_RE.match(text, m.end())
            if after is not None and after[1] is not None:
                hms, end = _with_meridiem(text, after.end(), _hms(after, 1) or (0, 0, 0))
                start, named = m.start(), None
            else:
                (hms, start, named), end = _time_before(text, m.start()), m.end()
            dt = _build(zone, now, int(m[1]), int(m[2]), int(m[3]), *hms)
            return _in_zone(dt, named), start, end
        dt, end = _parse_iso(m, zone, now), m.end()
        if dt is not None and (mer := _MERIDIEM_RE.match(text, end)) and 1 <= dt.hour <= 12:
            # "2026-03-04 12:30 a.m.": a two-digit hour is an ISO time, a.m./p.m. or not.
            dt, end = dt.replace(hour=dt.hour % 12 + (12 if mer[1] == "p" else 0)), mer.end()
        return dt, m.start(), end
    if m := _DAY_MONTH_RE.search(text):
        mo, (hms, start, named, end) = _MONTHS[m[2]], _with_time_before(text, m, 4)
        if m[3] is None:
            if _BAD_YEAR_RE.match(text, m.end(2)):
                return None, start, m.end()
            dt = _latest_not_future(zone, now, mo, int(m[1]), hms)
            return _in_zone(dt, named), start, end
        return _in_zone(_build(zone, now, int(m[3]), mo, int(m[1]), *hms), named), start, end
    if m := _MONTH_DAY_RE.search(text):
        own = _hms(m, 4)
        hms, start, named, end = _with_time_before(text, m, 4)
        hour = hms[0]
        if own is not None and m[7] and 1 <= hour <= 12:
            hour = hour % 12 + (12 if m[7].startswith("p") else 0)
        dt = _build(zone, now, int(m[3]), _MONTHS[m[1]], int(m[2]), hour, *hms[1:])
        return _in_zone(dt, named), start, end
    if m := _DMY_RE.search(text):
        hms, start, named, end = _with_time_before(text, m, 5)
        d, mo = int(m[1]), int(m[3])
        if _month_first(m[2], d, mo, _ordering_zone(text, m.end(), zone)):
            d, mo = mo, d
        dt = _build(zone, now, int(m[4]), mo, d, *hms)
        return _in_zone(dt, named), start, end
    if m := _YMD_RE.search(text):
        hms, start, named, end = _with_time_before(text, m, 5)
        dt = _build(zone, now, int(m[1]), int(m[3]), int(m[4]), *hms)
        return _in_zone(dt, named), start, end
    if m := _DMY_SHORT_RE.search(text):
        hms, start, named, end = _with_time_before(text, m, 5)
        if start == 0:  # the whole value: alone, or after its time
            d, mo = int(m[1]), int(m[3])
            if _month_first(m[2], d, mo, _ordering_zone(text, m.end(), zone)):
                d, mo = mo, d
            dt = _build(zone, now, 2000 + int(m[4]), mo, d, *hms)
            return _in_zone(dt, named), start, end
    if m := _REL_DAY_RE.search(text):
        day = now.date() - timedelta(days=_REL_DAYS[m[1]])
        hms, end = _hms(m, 2) or (0, 0, 0), m.end()
        if m[2] is not None:  # "Yesterday at 4:30 p.m."
            hms, end = _with_meridiem(text, end, hms)
        return _at_time(day, hms, zone), m.start(), end
    if m := _AGO_RE.search(text) or _VOR_RE.search(text):
        return _parse_ago(m, now), *m.span()
    if _JUST_NOW_RE.match(text):
        return now, *whole
    if m := _BARE_TIME_RE.match(text):
        # A bare time means today, or yesterday if today's would still be ahead of us.
        dt = _at_time(now.date(), _hms(m, 1) or (0, 0, 0), zone)
        if dt is not None and dt > now + _SKEW:
            dt -= timedelta(days=1)
        return dt, *whole
    return None, 0, 0


#: Zones of the United States, whose sites write a numeric date month first ("03/04/2026" is
#: March 4th there, April 3rd elsewhere).
_MONTH_FIRST_ZONES = frozenset(
    """America/New_York America/Chicago America/Denver America/Los_Angeles America/Phoenix
    America/Anchorage America/Adak America/Boise America/Detroit America/Juneau America/Sitka
    America/Metlakatla America/Nome America/Yakutat America/Menominee Pacific/Honolulu""".split()
)
_MONTH_FIRST_PREFIXES = ("America/Indiana/", "America/Kentucky/", "America/North_Dakota/", "US/")


def _ordering_zone(text: str, end: int, zone: tzinfo) -> tzinfo:
    """The zone whose custom orders a numeric date ending at ``end``: a US zone's when one is
    named after it (a US story on any source), else the source's."""
    m = _US_NAME_AFTER_RE.match(text, end)
    if m is None:
        return zone
    if _after_meridiem(m, text, 0, end):
        return _US_ZONES["et"]  # words may follow: "9:15 AM ET By John Smith"
    if not m[2] and _AT_ZONE_END_RE.match(text, m.end()):
        return _US_ZONES["et"]  # "17:00 EST" ending the value ("est" is French for "is")
    return zone  # "ET" and its kin count after an a.m./p.m. only (see _US_ZONES)


def _after_meridiem(m: re.Match[str], text: str, start: int, end: int) -> bool:
    """Whether the US zone name ``m`` found at ``end`` follows an a.m./p.m.: in its own match
    (group 1), or ending ``text[start:end]``."""
    return bool(m[1]) or _ENDS_WITH_MERIDIEM_RE.search(text, start, end) is not None


def _month_first(separator: str, first: int, second: int, zone: tzinfo) -> bool:
    """Whether a numeric date written ``first/second/year`` is month first.

    A slashed date whose second number cannot be a month is (12/25/2026, whatever the zone),
    and so is any slashed date a site in a US zone writes; dotted and dashed dates are day first.
    """
    if separator != "/" or first > 12:
        return False
    if second > 12:
        return True
    key = getattr(zone, "key", "") or ""
    return key in _MONTH_FIRST_ZONES or key.startswith(_MONTH_FIRST_PREFIXES)


def _normalise(value: str) -> str:
    return _SPACE_RE.sub(" ", value.replace("\u00a0", " ")).strip().lower().replace("ё", "е")


def _prepare(tz: str | tzinfo, now: datetime) -> tuple[tzinfo, datetime]:
    zone = _tzinfo(tz)
    # A naive clock is taken to be in the source's zone, like naive page values.
    return zone, (now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone))


def parse_date(
    value: str | int | float | None, *, tz: str | tzinfo = "Europe/Moscow", now: datetime
) -> datetime | None:
    """Parse a publication date into an aware datetime, or None if it is absent or implausible.

    Naive values are read in ``tz``, and UTC values are converted to it (so the calendar day is
    the one the source's readers see); any other offset is kept. Year-less dates and bare times
    resolve to the latest moment not after ``now``. In "08:57 (обновлено 04.02.2026 09:45)" the
    first time is the publication time, placed on the day of the update (so replaying an old page
    still gives the right day).
    Never raises on bad input.
    """
    zone, local_now = _prepare(tz, now)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_timestamp(float(value), zone, local_now)
    if not isinstance(value, str):
        return None
    text = _normalise(value)
    if not text:
        return None
    updated = _UPDATED_RE.search(text)
    if updated and updated.start() > 0:
        main = text[: updated.start()].strip(" ,;|(")
        modified = _parse_text(updated[1].strip(), zone, local_now)
        if modified is not None and (bare := _BARE_TIME_RE.match(main)):
            published = _at_time(modified.date(), _hms(bare, 1) or (0, 0, 0), zone)
            if published is not None and published > modified:
                published -= timedelta(days=1)
            return published
        text = main
    return _in_source_zone(_parse_text(text, zone, local_now), zone)


def _in_source_zone(dt: datetime | None, zone: tzinfo) -> datetime | None:
    """A UTC value (``Z``, ``+00:00``, ``GMT``) shown in the source's zone; other offsets kept.

    CMSs store UTC, but the article's day is the one its readers see: 23:00Z on Nov 4 is already
    Nov 5 in Berlin. A non-zero offset is the publisher's own and is kept as given.
    """
    if dt is not None and dt.utcoffset() == timedelta(0) and dt.tzinfo is not zone:
        return dt.astimezone(zone)
    return dt


# A line of text that is only a date is short: longer ones are not tried.
_DATE_LINE_MAX = 100
# A dateline's place: one to three capitalized words of two letters or more (a hyphenated name
# is one: Ростов-на-Дону) before a comma, full stop or dash, or after a comma; its agency: a
# short name in parentheses or slashes after the date («(РИА Новости)», «/ТАСС/»), or after a
# dash («— РИА Новости.»).
_PLACE_WORD = r"[^\W\d_a-zа-я][\w'’.-]+"
_PLACE = rf"{_PLACE_WORD}(?:\s+{_PLACE_WORD}){{0,2}}"
_DATELINE_PLACE_RE = re.compile(rf"^\s*{_PLACE}\s*[,.—–-]\s*$")
_DATELINE_AGENCY_RE = re.compile(r"\(\s*[^\W\d_a-zа-я][^()]{0,40}\)|/\s*[^\W\d_a-zа-я][^/]{0,40}/")
_DATELINE_TAIL_RE = re.compile(rf"^\s*[,.]?\s*(?:[—–-]\s*)?{_PLACE}\s*\.?\s*$")
# Whether a line is a date is a question of its words, not of the crawl's calendar: any year
# from 1990 on counts, so the clock is far ahead of every page.
_DATE_LINE_CLOCK = datetime(9000, 1, 1, tzinfo=UTC)


def is_date_line(value: str) -> bool:
    """Whether ``value`` states a date or time and nothing else («21. November 2026, 05:00 Uhr»,
    «Samstag, 21.11.2026», «5 декабря 2026 г., 14:30», «Nov. 5, 2026, 2:30 p.m.»).

    The line is read by the same rules as :func:`parse_date`; what is left besides the date may
    only be weekday names, time and year markers and punctuation. A bare number (a timestamp, a
    YYYYMMDD) is not a written date. Dateline paragraphs like these are page furniture.
    """
    text = _normalise(value)
    if len(text) > _DATE_LINE_MAX or not any(map(str.isdigit, text)):
        return False
    if _TIMESTAMP_RE.match(text) or _YYYYMMDD_RE.match(text):
        return False
    dt, start, end = _read_text(text, UTC, _DATE_LINE_CLOCK)
    if dt is None or _inside_word(text, start) or _inside_word(text, end):
        return False  # "1. mai de|mo": the patterns' optional "de" cut a word in two
    before, after = text[:start], text[end:]
    # A dateline may name its place first and its agency or place last («Новосибирск, 5 декабря
    # 2026 г.», «NOVOSIBIRSK, Dec. 4, 2026 (Reuters)», «5 декабря 2026 года, Новосибирск»),
    # told by their capitals (``text`` is folded).
    cased = _SPACE_RE.sub(" ", value.replace("\u00a0", " ")).strip().replace("ё", "е")
    if len(cased) == len(text):
        if _DATELINE_PLACE_RE.match(cased[:start]):
            before = ""
        after = _DATELINE_AGENCY_RE.sub("", cased[end:], count=1)
        after = "" if _DATELINE_TAIL_RE.match(after) else after.lower()
    # A time set apart from its date ("21.11.2026 | 05:00 Uhr") is part of the date line.
    rest = _DATE_WORD_RE.sub(" ", _TIME_RE.sub(" ", f"{before} {after}"))
    return not any(map(str.isalnum, rest))


def _inside_word(text: str, pos: int) -> bool:
    return 0 < pos < len(text) and text[pos - 1].isalpha() and text[pos].isalpha()


def parse_modified_from_text(
    value: str, *, tz: str | tzinfo = "Europe/Moscow", now: datetime
) -> datetime | None:
    """Parse the modification date of "… (обновлено 04.02.2026 09:45)"; None if there is none."""
    if not value:
        return None
    folded = value.lower().replace("ё", "е")
    if not any(key in folded for key in _UPDATED_KEYS):
        return None
    zone, local_now = _prepare(tz, now)
    m = _UPDATED_RE.search(_normalise(value))
    return _parse_text(m[1].strip(), zone, local_now) if m else None


def day_only(dt: datetime) -> bool:
    """Whether ``dt`` states a day but no time of day: midnight exactly, in its own offset.

    That is how every date-only value is represented (htmldate's day, a day in the URL,
    «5 декабря 2026», ``2026-12-05``, a CMS's ``T00:00:00``): nothing records the precision
    apart from the value, and a story published at 00:00:00 sharp is rare enough to share it.
    """
    return dt.time() == time(0)


def clamp_future(
    dt: datetime, now: datetime, *, tolerance: timedelta = timedelta(minutes=10)
) -> tuple[datetime, bool]:
    """Return ``(min(dt, now), clamped)``; ``clamped`` is True only beyond ``tolerance``.

    A date a few minutes ahead is clock skew and is silently set to ``now``; further ahead it is
    flagged so that the caller can log it. Both datetimes must be aware.
    """
    if dt.tzinfo is None or now.tzinfo is None:
        raise ValueError("clamp_future needs aware datetimes")
    if dt <= now:
        return dt, False
    return now, dt > now + tolerance


def clamp_future_flag(dt: datetime, now: datetime) -> tuple[datetime, str | None]:
    """:func:`clamp_future`, and the flag saying what it did: ``date_clamped`` beyond its
    tolerance, ``date_skew`` for a date minutes ahead (the site's clock: set to ``now`` too,
    so the value is no longer what its layer read), None when ``dt`` is not ahead."""
    clamped_dt, clamped = clamp_future(dt, now)
    if clamped:
        return clamped_dt, "date_clamped"
    return clamped_dt, "date_skew" if clamped_dt != dt else None


def to_utc(dt: datetime) -> datetime:
    """Convert an aware datetime to UTC; naive values are a bug upstream and raise ValueError."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("to_utc needs an aware datetime")
    return dt.astimezone(UTC)


def parse_retry_after(value: Any, now: datetime) -> float | None:
    """Seconds asked for by ``Retry-After`` (delta-seconds or HTTP-date); None if invalid.

    Used by the crawl (to wait or defer a source) and by the scheduler (to back off).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return max(0.0, float(value))
    text = str(value).strip()
    if re.fullmatch(r"\d{1,10}(\.\d+)?", text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
