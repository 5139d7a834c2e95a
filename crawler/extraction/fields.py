"""Small pure helpers for single fields: titles, authors, images, language and dates in text."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from crawler.normalize.dates import (
    DATE_TIME_SEPARATORS,
    US_ZONE_MARKER,
    WEEKDAY_BETWEEN,
    ZONE_MARKER,
    foreign_time_after,
)
from crawler.normalize.text import clean_text, is_garbage_value
from crawler.normalize.urls import (
    absolute_http_url,
    host_of,
    is_valid_host,
    registered_domain_matches,
)

# --- titles -------------------------------------------------------------------------------------
_TITLE_SEPARATORS = (" | ", " - ", " — ", " – ", " // ", " :: ", " · ")


# Where a title's suffix starts, right after the headline: a bar or dot, a dash with a space on
# either side, or a dash right after a headline of 20 characters or more ("…커졌다-정치").
TITLE_SUFFIX_START = re.compile(r"\s*[|/·•ㅣ]|\s+[-–—]|[-–—]\s|(?<=.{20})[-–—]")


def strip_site_suffix(title: str, site_names: Iterable[str]) -> str:
    """Remove a trailing `` | X``, `` - X``, `` — X`` or `` // X`` where X is a known site name."""
    lowered = title.casefold()
    for name in site_names:
        name = name.strip()
        if not name:
            continue
        for sep in _TITLE_SEPARATORS:
            suffix = (sep + name).casefold()
            if lowered.endswith(suffix) and len(title) > len(suffix):
                return title[: -len(suffix)].rstrip(" |-—–/:·")
        # Some sites put the name first ("Москва 24 - Заголовок", "Мослента: Заголовок"): the
        # same separators mirrored, and a colon, which after a site's name is never a kicker's.
        for sep in (*_TITLE_SEPARATORS, ": "):
            prefix = (name + sep).casefold()
            if lowered.startswith(prefix) and len(title) > len(prefix):
                return title[len(prefix) :].lstrip(" |-—–/:·")
    return title


# --- authors ------------------------------------------------------------------------------------
_AUTHOR_PREFIX = re.compile(
    r"^\s*(?:автор(?:ы)?(?:\s+(?:текста|материала))?|текст(?:\s+и\s+фото)?|"
    r"(?:материал\s+)?подготовил[аи]?|записал[аи]?|беседовал[аи]?|опубликовал[аи]?|"
    r"(?:опубликован[оа]?|обновлен[оа]?|изменен[оа]?)(?=\s*:)|"
    r"by|von|par|por|door|di|av|od|author(?:s)?|autor(?:in)?|written\s+by|words\s+by|"
    r"story\s+by|reporting\s+by|(?:posted|published|updated|last\s+updated)(?:\s+by|(?=\s*:))|"
    r"contributor|veröffentlicht\s+von|aktualisiert(?=\s*:)|ein\s+beitrag\s+von|text)"
    r"\s*[:\-–—]?\s+",
    re.IGNORECASE,
)
# The bare words for "by" that open a byline without a colon.
_BY_WORD = re.compile(r"^\s*(by|von|par|por|door|di|av|od)\s+(?![:\-–—])", re.IGNORECASE)
# English "by" before a name, which no name starts with ("Published 5 December by Jane Roe").
_ENGLISH_BY = re.compile(r"^\s*by\s+", re.IGNORECASE)
# A label ending in a colon or a dash (the same words as _AUTHOR_PREFIX).
_COLON_LABEL = re.compile(
    _AUTHOR_PREFIX.pattern.removesuffix(r"\s*[:\-–—]?\s+") + r"\s*[:\-–—]\s*", re.IGNORECASE
)
_AUTHOR_SPLIT = re.compile(
    r"\s*(?:,|;|\||[•·]|\s/\s|\s+и\s+|\s+and\s+|\s+und\s+|\s+&\s+|\s+et\s+)\s*", re.I
)
_NOT_A_NAME = re.compile(r"https?://|www\.|@|\d{3,}|^[\W\d_]+$")
# Credits of a picture or video in a byline ("Фото: Анна Смирнова", "(Image: Getty Images)"):
# they name who made the picture, not who wrote the article.
_CREDIT = re.compile(
    r"^\W*(?:фото(?:графи[яи])?|видео|иллюстраци[яи]|инфографика|скриншот|коллаж|источник|"
    r"photo(?:graph)?s?|images?|pictures?|video|illustrations?|graphics?|credits?|source|"
    r"foto(?:s|grafie)?|bilde?r?|grafik)\b\s*(?:[:©(—–]|-\s|by\b|(?-i:(?=[A-ZА-ЯЁ]|"
    # agencies that write their names in lower case: "Foto dpa"
    r"(?:dpa|epa|ddp|apa|kna)\b)))",
    re.IGNORECASE,
)
# A label inside a byline saying what the names after it did, up to the next label:
# "Текст: Иван Петров Фото: Анна Смирнова". Names after a credit label (pictures, video, the
# source a story came from) are not the article's authors; after an author label they are.
_ROLE_LABEL = re.compile(
    r"(?:^|(?<=[\s,;|(/]))(?:(?P<author>текст\s+и\s+фото|автор(?:ы)?(?:\s+текста)?|текст|"
    r"подготовил[аи]?|author(?:s)?|written\s+by|text|story|words)|(?P<credit>автор(?:ы)?\s+фото|"
    r"фото(?:графи[яи]|граф)?|видео|иллюстраци[яи]|инфографика|скриншот|коллаж|источник|"
    r"photo(?:graph)?s?|photographer|images?|pictures?|video|illustrations?|graphics?|"
    r"credits?|source|foto(?:s|grafie)?|bilde?r?|grafik|quelle))(?:\s*[:©]|\s+by\b|"
    # or, after a Russian label, a spaced dash: «Текст — Анна Смирнова / Фото — Пётр Ким»
    # (not "Louise Story - NYT": English labels are also names)
    r"(?<=[а-яё])\s+[—–-]\s)",
    re.IGNORECASE,
)
# Picture agencies and stock libraries: a byline part naming one credits a picture.
_PICTURE_AGENCY = re.compile(
    r"getty\s*images|istock|shutterstock|scanpix|imago\b|picture[\s-]alliance|depositphotos|"
    r"unsplash|pexels|фотобанк|легион-медиа|east\s*news",
    re.IGNORECASE,
)
# A part that is only a job title ("Иван Петров, корреспондент") or a CMS account ("by admin").
_ROLE_ONLY = re.compile(
    r"^(?:(?:старший|главный|специальный|собственный|выпускающий|ведущий|шеф|senior|chief|"
    r"staff|special|political|deputy)[\s-]+)*(?:(?:фото)?корреспондент|обозреватель|редактор|"
    r"журналист|стаж[её]р|колумнист|корр\.|reporter|correspondent|editor|writer|columnist|"
    r"contributor|journalist|redakteur(?:in)?|korrespondent(?:in)?|reporter(?:in)?|"
    r"journalist(?:in)?)(?:\s+(?:отдела|газеты|издания|портала|агентства|службы|редакции|"
    r"рубрики)\b.*)?$|^(?:admin(?:istrator)?|root|webmaster|user|guest|author|"
    r"администратор|модератор|редактор сайта)$",
    re.IGNORECASE,
)
_MAX_AUTHOR_WORDS = 5
# A day with its month but no year ("Mar 4", «5 марта»), which DATE_IN_TEXT leaves in a byline.
_SHORT_DATE_PATTERN = r"(?<!\d)\d{{1,2}}\.?\s+{m}|(?<![^\W\d_]){m}\s+\d{{1,2}}(?!\d)"
# What a byline says before its date (cut out: see _DATE_PART), left on its own.
_LABEL_ONLY = re.compile(
    r"^(?:опубликован[оа]?|обновлен[оа]?|изменен[оа]?|дата(?:\s+публикации)?|published|"
    r"updated|posted|modified|last\s+updated|veröffentlicht|aktualisiert|publié|mis\s+à\s+jour)"
    r"(?:\s+(?:в|at|on|am|le))?$|"
    # A day of the week, a zone or a relative day alone (the rest of the date cut out).
    r"^(?:в\s+|во\s+|on\s+|am\s+)?(?:понедельник|вторник|сред[ау]|четверг|пятниц[ау]|"
    r"суббот[ау]|воскресенье|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|montag|dienstag|mittwoch|donnerstag|"
    r"freitag|samstag|sonntag|heute|gestern|vorgestern|et|pt|ct|mt|est|edt|pst|pdt|cst|cdt|"
    r"mst|mdt|utc|gmt|bst|cet|cest|msk|мск)\.?$|"
    # A credit word alone, in brackets or not: «(фото)».
    r"^(?:фото|видео|photo|video|foto)$",
    re.IGNORECASE,
)
# What a byline's date leaves of itself around a name: a connecting word («Иван Петров в»,
# "John Smith on") or a label ("John Smith Updated") at the end, brackets and separators.
_NAME_TAIL = re.compile(
    r"(?:\s+(?:updated|published|posted|обновлено|опубликовано|"
    r"aktualisiert|veröffentlicht))*(?:\s+(?:в|во|on|am)\s+(?:понедельник|вторник|среду|"
    r"четверг|пятницу|субботу|воскресенье|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag))?\s*$",
    re.IGNORECASE,
)
_DATE_CONNECTOR = re.compile(r"\s+(?:в|во|on|at|am|um|le|el|il)\s*(?=\x00)", re.IGNORECASE)
# A bracketed credit inside a byline: «Иван Петров (фото)», "(Photo: AP)".
_BRACKETED_CREDIT = re.compile(r"\(\s*(?:фото|видео|photo|video|foto|bild)\b[^)]*\)", re.I)
_NAME_EDGES = " :-–—()[]/•·|"


def clean_authors(raw_values: Iterable[str], site_names: Sequence[str]) -> list[str]:
    """Split bylines into names, strip "Автор:"/"By " prefixes, drop URLs and duplicates.

    A site name is dropped when real names are present; alone it is kept as the byline.
    """
    names: list[str] = []
    seen: set[str] = set()
    for raw in raw_values:
        value = clean_text(raw)
        if not value or is_garbage_value(value):
            continue
        value = _without_credits(_BRACKETED_CREDIT.sub(" ", value))
        # A date's place is marked, so the word that introduced it goes with it («Иван
        # Петров в …», "John Smith on …"), not a name's last word ("Thanh Le").
        value = _SHORT_DATE.sub("\x00", DATE_IN_TEXT.sub("\x00", value))
        value = _DATE_CONNECTOR.sub("", value).replace("\x00", ",")
        for part in _AUTHOR_SPLIT.split(_unlabelled(value)):
            if _CREDIT.match(part) or _PICTURE_AGENCY.search(part):
                continue
            # A name's own label says so with a colon or a dash («…, автор: Анна Смирнова»),
            # or is English "by": a bare "Di" or "Von" opening a name is its first word
            # ("John Smith, Di Maio").
            part = _COLON_LABEL.sub("", _ENGLISH_BY.sub("", part))
            part = _NAME_TAIL.sub("", part.strip(_NAME_EDGES))
            part = _without_end_dot(part.strip(_NAME_EDGES))
            if (
                not part
                or _ROLE_ONLY.match(part)
                or _LABEL_ONLY.match(part)
                or _DATE_PART.search(part)
                or _NOT_A_NAME.search(part)
                or len(part.split()) > _MAX_AUTHOR_WORDS
                or is_garbage_value(part)
            ):
                continue
            key = part.casefold()
            if key not in seen:
                seen.add(key)
                names.append(part)
    site_keys = {s.casefold() for s in site_names if s}
    people = [n for n in names if not _is_site_name(n, site_keys)]
    return people or names


def _unlabelled(value: str) -> str:
    """``value`` without the labels that open it: one after another when they end in a colon
    («Опубликовано: Автор: Иван Петров», "Updated: By John Smith"), but after a bare "by" none
    ("By Di Zhang": «di» is the Italian "by" only where it opens the byline)."""
    after_label = False
    for _ in range(3):
        bare = _BY_WORD.match(value)
        if after_label and (bare is None or bare.group(1).lower() != "by"):
            bare = None
            if _COLON_LABEL.match(value) is None:
                return value
        stripped = _AUTHOR_PREFIX.sub("", value, count=1)
        if stripped == value or bare is not None:
            return stripped
        value, after_label = stripped, True
    return value


def _without_end_dot(name: str) -> str:
    """``name`` without a closing period, unless it ends an initial («Петров И.И.»)."""
    if name.endswith(".") and not _INITIAL_END.search(name):
        return name.rstrip(".").rstrip()
    return name


_INITIAL_END = re.compile(r"(?:^|[\s.])[^\W\d_]\.$")


def _without_credits(value: str) -> str:
    """``value`` without the stretches a credit label starts (up to the next author label)."""
    labels = list(_ROLE_LABEL.finditer(value))
    if not any(m.group("credit") for m in labels):
        return value
    kept = [value[: labels[0].start()]]
    for label, following in zip(labels, [*labels[1:], None], strict=True):
        if label.group("author"):
            kept.append(value[label.end() : following.start() if following else len(value)])
    return ", ".join(k.strip(" ,;|/") for k in kept if k.strip(" ,;|/"))


def _is_site_name(name: str, site_keys: set[str]) -> bool:
    key = name.casefold()
    return any(key == s or key in s or s in key for s in site_keys if len(s) > 3)


# --- links --------------------------------------------------------------------------------------
def document_base(url: str, base_hrefs: Sequence[str], allowed_domains: Sequence[str]) -> str:
    """The URL relative links and images resolve against: ``<base href>`` if trusted, else ``url``.

    A browser resolves them against ``<base href>``, so relative paths on a page that has one
    only work from there. It is trusted when http(s) and on the source's ``allowed_domains`` (or
    the page's own host, without ``www.``, when none are given): a base on another host
    (``javascript:``, a foreign site) would send every relative link of the article there.
    """
    if not base_hrefs:
        return url
    try:
        base = urljoin(url, "".join(base_hrefs[0].split()))
        if urlsplit(base).scheme not in ("http", "https") or not is_valid_host(host_of(base)):
            return url
    except ValueError:  # "http://[::1/": no base a browser could use either
        return url
    domains = allowed_domains or (host_of(url).removeprefix("www."),)
    return base if registered_domain_matches(host_of(base), domains) else url


# --- images -------------------------------------------------------------------------------------
_LOGO_PATH = re.compile(r"logo|favicon|placeholder|no[-_]?image|default[-_]?(?:image|og)", re.I)


def usable_image(value: str | None, base_url: str, favicons: Iterable[str]) -> str | None:
    """An absolute article image URL, or ``None`` for logos, favicons and non-HTTP values."""
    value = clean_text(value or "")
    if not value or is_garbage_value(value):
        return None
    absolute = absolute_http_url(value, base_url)
    if absolute is None or _LOGO_PATH.search(urlsplit(absolute).path):
        return None
    if any(absolute_http_url(f, base_url) == absolute for f in favicons):
        return None
    return absolute


# --- language -----------------------------------------------------------------------------------
_CYRILLIC_LANGS = frozenset(
    {"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn", "tt", "ba"}
)
_LANG_CODE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.I)
# What is not a letter, in runs: a text's letters are counted as what deleting these leaves. One
# match per word gap, not one match object per letter: 3-4x faster than counting ``findall`` of
# the letters themselves, with the same counts.
_NOT_LETTERS = re.compile(r"[\W\d_]+")
# UTF-8 lead bytes of U+0400-U+04FF, the Cyrillic block, and of nothing else: its letters are
# counted in the encoded text at C speed (a regex tested each character's class).
_CYRILLIC_LEADS = b"\xd0\xd1\xd2\xd3"
# A text cp1251 can encode (ASCII, Russian and most Cyrillic, its punctuation: nearly every
# Russian page's sample) has its letters counted as bytes of that encoding, one ``translate``
# (~20 us for a 3,000-character sample, against ~100 us for deleting the runs of non-letters).
# cp1251 maps characters to bytes one to one, so a byte is a letter exactly when the character
# it decodes to is one by _NOT_LETTERS' own test, which makes this table.
_CP1251_NOT_LETTERS = bytes(
    b
    for b in range(256)
    if not (ch := bytes([b]).decode("cp1251", "ignore")) or _NOT_LETTERS.fullmatch(ch)
)
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")


def language_code(value: str | None) -> str | None:
    """Two-letter language code from ``ru-RU``, ``ru_RU``, ``RU`` and the like."""
    match = _LANG_CODE.match((value or "").strip())
    if not match:
        return None
    code = match.group(1).lower()
    return code if len(code) == 2 else None


@functools.lru_cache(maxsize=8)
def _letters_and_cyrillic(text: str) -> tuple[int, int]:
    # Cached: a page's language sample is weighed for each declared language, then guessed from.
    letters = _letter_count(text)
    if not letters:
        return 0, 0
    raw = text.encode("utf-8", "surrogatepass")
    return letters, len(raw) - len(raw.translate(None, _CYRILLIC_LEADS))


def _letter_count(text: str) -> int:
    """The letters of ``text``: what deleting the runs of _NOT_LETTERS leaves."""
    try:
        encoded = text.encode("cp1251")
    except UnicodeEncodeError:
        return len(_NOT_LETTERS.sub("", text))
    return len(encoded.translate(None, _CP1251_NOT_LETTERS))


def cyrillic_share(text: str) -> float:
    """Share of Cyrillic letters among all letters of ``text`` (0 when there are no letters)."""
    letters, cyrillic = _letters_and_cyrillic(text)
    return cyrillic / letters if letters else 0.0


def language_fits(code: str, sample: str) -> bool:
    """Whether a declared language is plausible for the text's script."""
    letters, cyrillic = _letters_and_cyrillic(sample)
    if letters < 50:
        return True
    if code in _CYRILLIC_LANGS:
        return cyrillic > 0.3 * letters
    return cyrillic < 0.5 * letters


def guess_language(sample: str) -> str | None:
    """A language guess for Cyrillic text only: ``uk`` with Ukrainian letters, else ``ru``."""
    letters, cyrillic = _letters_and_cyrillic(sample)
    if letters < 50 or cyrillic < 0.5 * letters:
        return None
    return "uk" if len(_UKRAINIAN.findall(sample)) > 0.01 * len(sample) else "ru"


# --- dates in text and URLs ---------------------------------------------------------------------
_MONTHS = (
    r"(?:январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр|"
    r"янв|фев|мар|апр|авг|сен|окт|ноя|дек|"
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|märz|mai|juni|juli|"
    r"oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|"
    r"novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
    r"noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|"
    r"dicembre)[a-zа-яёéû]*\.?"
)
_TIME = r"\d{1,2}:\d{2}"
# A byline shows the date beside the names as often as not («Иван Петров, вчера в 10:15», "By
# Jane Roe | March 4, 2026 5:00 PM", «Опубликовано: 12:00 (мск)»): dates (DATE_IN_TEXT) and days
# with their month (_SHORT_DATE) are cut out before the names are read, and a part that still
# holds a clock reading, a relative day or only a label is no name.
_DATE_PART = re.compile(
    r"\d{1,2}[:.]\d{2}|(?<![^\W\d_])(?:сегодня|вчера|позавчера|назад|today|yesterday|ago)"
    r"(?![^\W\d_])|(?<![^\W\d_])vor\s+\d+\s+(?:stunden?|minuten?|tagen?)|\d{1,2}\s*[ap]\.?m\b",
    re.IGNORECASE,
)
_SHORT_DATE = re.compile(_SHORT_DATE_PATTERN.format(m=_MONTHS), re.IGNORECASE)
# Relative dates a byline shows on the day of publication and the next ones («вчера, 14:30»,
# «Сегодня в 09:15», «5 минут назад», «час назад», "yesterday at 10:15"): parse_date resolves
# them against the fetch time. Days with a time of day, and minutes or hours ago only: a bare
# «вчера» or «несколько дней назад» is prose, and "N days ago" has no time to give.
_AGO_UNIT = (
    r"(?:секунд[уы]?|сек|минут[уы]?|мин|час(?:а|ов)?|ч|seconds?|secs?|minutes?|mins?|hours?)"
)
_RELATIVE = (
    r"(?<![^\W\d_])(?:"
    rf"(?:сегодня|вчера|позавчера|today|yesterday|heute|gestern|vorgestern),?\s*"
    rf"(?:в\s+|at\s+|um\s+)?{_TIME}(?:\s*[ap]\.?m\.?)?(?:\s*uhr)?"
    rf"|(?:\d{{1,3}}\s*{_AGO_UNIT}\.?|минуту|секунду|час|полчаса|(?:an?|one)\s+(?:second|minute|hour))"
    r"\s+(?:назад|ago)(?![^\W\d_])"
    r"|vor\s+(?:\d{1,3}|einer|einem)\s+(?:sekunden?|minuten?|stunden?)(?![^\W\d_])"
    r")"
)
RELATIVE_DATE = re.compile(_RELATIVE, re.IGNORECASE)
# A word of a relative date: what a text node holds when its element may show one (the time
# can be in a child: «вчера, <b>14:30</b>»).
RELATIVE_WORD = re.compile(
    r"сегодня|вчера|позавчера|назад|today|yesterday|ago|heute|gestern|vor\s", re.IGNORECASE
)
_DATE_TIME_SEP = f"[{re.escape(DATE_TIME_SEPARATORS)}]"
# A clock reading beside a date, on either side of it, with its zone («12:00 (мск)», «9:15 p.m.
# EST», «05:00 Uhr»): parse_date reads both orders and the zone.
_CLOCK = rf"{_TIME}(?::\d{{2}})?(?!\d)(?:\s*[ap]\.?m\.?{US_ZONE_MARKER})?(?:\s*uhr)?{ZONE_MARKER}"
_TIME_BEFORE_DATE = rf"(?P<pre>{_CLOCK}\s*(?:{_DATE_TIME_SEP}\s*)?)"
# After the date: a separator or a word that introduces a time; not a time that starts a
# range («5 декабря, 10:00–18:00»), which is an event's.
_TIME_AFTER_DATE = (
    rf"(?:(?:\s*{_DATE_TIME_SEP}\s*|\s+)(?:(?:в|um|at|à|alle|ore)\s+)?"
    rf"(?!{_TIME}\s*(?:[-—–]|до|to|bis|until|till)\s*\d{{1,2}}[:.]\d{{2}}){_CLOCK})"
)
DATE_IN_TEXT = re.compile(
    r"(?<![\d:])(?:"
    rf"{_RELATIVE}"
    r"|"
    rf"{_TIME}\s*\((?:обновлено|изменено)[^)]{{5,40}}\)"
    r"|"
    rf"{_TIME_BEFORE_DATE}?(?:"
    rf"\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]{_TIME}(?::\d{{2}})?(?:[.,]\d+)?(?!\d)"
    # its offset («Z», "+00:00", " +0000"), a.m./p.m. and a zone named after it
    rf"(?:\s*(?:z|[+-]\d{{2}}:?\d{{2}})(?![\w:]))?(?:\s*[ap]\.?m\.?{US_ZONE_MARKER})?{ZONE_MARKER}"
    rf"|{_TIME_AFTER_DATE})?"
    rf"|\d{{1,2}}[./]\d{{1,2}}[./]\d{{4}}{_TIME_AFTER_DATE}?"
    # A two-digit year only beside a time («14:30 / 05.12.26»): alone it is any three numbers.
    rf"|\d{{1,2}}\.\d{{1,2}}\.\d{{2}}(?![\d.])(?:{_TIME_AFTER_DATE}|(?(pre)|(?!)))"
    rf"|\d{{1,2}}(?:er)?\.?\s+(?:de\s+)?{_MONTHS},?\s*(?:de\s+)?(?:\d{{4}})?(?:\s*г(?:ода|\.)?)?{WEEKDAY_BETWEEN}{_TIME_AFTER_DATE}?"
    rf"|{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}}{_TIME_AFTER_DATE}?"
    r")"
    r")(?![\d])",
    re.IGNORECASE,
)
# A date directly after these words is an update time, not the publication time.
_UPDATED_BEFORE = re.compile(
    r"(?:обновлено|обновлен[оа]?|изменено|updated|aktualisiert|modified)"
    r"(?:\s+(?:on|am|at|um|в))?\s*:?\s*$",
    re.I,
)
# Words that say the date after them is the publication's.
_PUBLISHED_BEFORE = re.compile(
    r"(?:опубликовано|дата\s+публикации|размещено|добавлено|published|posted|veröffentlicht|"
    r"publiziert|publié|publicado|pubblicato)\s*(?:on|am|le|el|il)?\s*:?\s*$",
    re.IGNORECASE,
)
_TIME_ONLY = re.compile(r"(?<![\d.:/])([01]?\d|2[0-3]):([0-5]\d)(?![\d.:/])")
_WEATHER_AFTER = re.compile(r"^[^.\n]{0,40}(?:°|градус|ясно|пасмурно|облачно|дождь|снег)", re.I)

_URL_DATES = (
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>[01]?\d)/(?P<d>[0-3]?\d)(?:/|$)"),
    re.compile(r"/(?P<y>20\d{2})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?:[/_-]|$)"),
    # m24: /news/<rubric>/<DDMMYYYY>/<id>
    re.compile(r"/(?P<d>[0-3]\d)(?P<m>[01]\d)(?P<y>20\d{2})/"),
    # A path segment that is (or starts with) YYYYMMDD: /20200428/slug, /20200428-slug
    re.compile(r"/(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?:[/_-]|$)"),
    # moslenta: <slug>-DD-MM-YYYY.htm
    re.compile(r"-(?P<d>[0-3]\d)-(?P<m>[01]\d)-(?P<y>20\d{2})\.html?$"),
)


def date_strings_in_text(text: str, anchor: int = 0) -> list[str]:
    """Date-like substrings of ``text`` nearest to ``anchor`` first, skipping update times and
    "today's date and weather" headers."""
    found: list[tuple[int, str]] = []
    for match in DATE_IN_TEXT.finditer(text):
        if _UPDATED_BEFORE.search(text[max(0, match.start() - 20) : match.start()]):
            continue
        if _WEATHER_AFTER.match(text[match.end() : match.end() + 40]):
            continue
        value = match.group(0)
        if match["pre"] and foreign_time_after(
            text[max(0, match.start() - 40) : match.start()].lower()
        ):
            value = text[match.end("pre") : match.end()]  # «до 18:00, 5 декабря»: not its time
        distance = match.start() - anchor
        # Dates just below the headline are the usual byline; above it they are often the header.
        distance = distance if distance >= 0 else 3 * -distance
        # A date labelled as the publication's («Опубликовано 5 марта») comes before any other
        # (an event's date set nearer the headline: «Концерт 15 марта, 19:00»).
        if _PUBLISHED_BEFORE.search(text[max(0, match.start() - 30) : match.start()]):
            distance = -1
        found.append((distance, value))
    return [value for _, value in sorted(found, key=lambda item: item[0])]


# What may stand before or after a byline's relative date in its element: a label ending in a
# separator («Опубликовано:», «Иван Петров,», «Москва |») or a word that introduces a date; after
# it, a separator and a little more («| Общество», «(обновлено …)»).
_BYLINE_SEPARATORS = ":,|·•—–/-"
_BYLINE_LABEL = re.compile(r"(?:опубликовано|добавлено|размещено|published|posted)$", re.I)
_BYLINE_SIDE_CHARS = 60


def relative_byline(text: str) -> str | None:
    """The relative date («вчера, 14:30», «2 часа назад») an element's whole ``text`` shows as a
    byline, or None when there is none or it is inside a sentence.

    «Вчера в 14:00 на Тверской…» in a paragraph is an event of the story, not its date: the
    date must be most of its element, with at most a separated label around it.
    """
    match = RELATIVE_DATE.search(text)
    if match is None:
        return None
    before, after = text[: match.start()].rstrip(), text[match.end() :].strip()
    if before and (
        len(before) > _BYLINE_SIDE_CHARS
        or not (before[-1] in _BYLINE_SEPARATORS or _BYLINE_LABEL.search(before))
    ):
        return None
    if after and (len(after) > _BYLINE_SIDE_CHARS or after[0] not in _BYLINE_SEPARATORS + "(."):
        return None
    return match.group(0)


def time_only_near(text: str, anchor: int = 0) -> tuple[int, int] | None:
    """An ``HH:MM`` without a date nearest to ``anchor`` (m24's ``08:57 (обновлено …)``)."""
    best: tuple[int, tuple[int, int]] | None = None
    for match in _TIME_ONLY.finditer(text):
        if _UPDATED_BEFORE.search(text[max(0, match.start() - 40) : match.start()]):
            continue
        distance = abs(match.start() - anchor)
        if best is None or distance < best[0]:
            best = (distance, (int(match.group(1)), int(match.group(2))))
    return best[1] if best else None


def date_from_url(url: str, tz: str) -> datetime | None:
    """A publication day encoded in the URL path, as local midnight."""
    path = urlsplit(url).path
    for pattern in _URL_DATES:
        match = pattern.search(path)
        if match:
            try:
                return datetime(
                    int(match["y"]), int(match["m"]), int(match["d"]), tzinfo=ZoneInfo(tz)
                )
            except ValueError:
                continue
    return None
