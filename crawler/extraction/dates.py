"""Date evidence beyond metadata: htmldate as a layer, and the days a page itself shows."""

from __future__ import annotations

import functools
import logging
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree

from crawler.extraction import xpaths
from crawler.extraction.classes import other_texts_block, text_chars
from crawler.normalize.dates import parse_date

logger = logging.getLogger(__name__)

# Month word stems by month number (English, Russian, German, French, Spanish, Italian).
_MONTH_STEMS = (
    "jan|янв|jän|janv|ene|genn",
    "feb|фев|févr|fevr|febb",
    "mar|мар|mär|mars|marz",
    "apr|апр|avr|abr",
    "may|ма[йя]|mai|mayo|magg",
    "jun|июн|juin|giu",
    "jul|июл|juil|lug",
    "aug|авг|août|aout|ago",
    "sep|сен|set",
    "oct|окт|okt|ott",
    "nov|ноя",
    "dec|дек|dez|déc|dic",
)


@functools.cache
def _quiet_htmldate() -> None:
    """Once per process: htmldate logs an ERROR for markup it cannot read ("not valid HTML"),
    a miss for us; said once per such page in every crawl log, it would read as a fault of
    ours. (``setLevel`` clears every logger's cache, so not on each call.)"""
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)


def htmldate_day(
    html: bytes, url: str, *, now: datetime, tz: str, has_comments: bool = False
) -> datetime | None:
    """The page's original publication day according to htmldate, as local midnight in ``tz``.

    htmldate reads markup and text patterns this package does not (comments, script data,
    archive-style headers, dates in many languages); ``original_date=True`` asks for the first
    publication rather than the last change. ``max_date`` is the injected clock, so the answer is
    never after ``now`` and does not depend on the machine's calendar. ``has_comments``: the
    page has readers' comment sections or blocks of other stories (:func:`comment_blocks`),
    which htmldate is given the page without.
    """
    from htmldate import find_date  # deferred: ~0.1 s to import, and few pages get here

    _quiet_htmldate()

    local_now = now.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    try:
        found = find_date(
            _without_comments(html) if has_comments else html,
            url=url,
            original_date=True,
            extensive_search=True,
            max_date=local_now,
        )
    except Exception:  # a third-party parser on hostile markup: a miss, never a crash
        logger.debug("htmldate failed on %s", url, exc_info=True)
        return None
    if not found:
        return None
    dt = parse_date(found, tz=tz, now=now)
    if dt is None:
        return None
    # A link to another page is no evidence of this page's day: htmldate reads dates in link
    # targets («Читайте также» /news/2026/11/30/…, a sidebar's /2026/12/01/…), and took a
    # related story's day for an undated page's.
    source = _LINK_TARGET.sub(r"\1", html.decode("utf-8", "replace"))
    if not page_shows_day(f"{url} {source}", dt):
        return None
    return dt


#: The target of an ``<a href>`` (group 1: the tag up to it, kept).
_LINK_TARGET = re.compile(r"""(<a\b[^>]*?\shref\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s>]*)""", re.I)


# huge_tree: as deep as the page core._PARSER parsed (see there).
_HTML_PARSER = lxml.html.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True
)


def _without_comments(html: bytes) -> lxml.html.HtmlElement:
    """The page as htmldate's tree, without readers' comment sections and blocks of other
    stories (:func:`comment_blocks`).

    htmldate prunes only blocks named exactly ``comments``; a recipe or news page with a
    ``comment-box`` per reader otherwise gives a comment's date as the article's, and a
    sidebar's list a related story's. A block that holds the headline is never one of them,
    whatever its name.
    """
    tree = lxml.html.document_fromstring(html, parser=_HTML_PARSER)
    for el in comment_blocks(tree):
        parent = el.getparent()
        if parent is not None:
            parent.remove(el)
    return tree


def comment_blocks(doc: etree._Element) -> list[etree._Element]:
    """Readers' comment sections and comments of a page, and blocks of other stories
    (:func:`~crawler.extraction.classes.other_texts_block`): their dates are other texts'. A
    block that holds the headline is none (a page or article wrapper named ``has-comments``)."""
    headline_blocks = {anc for h in doc.iter("h1") for anc in h.iterancestors()}
    page_chars = functools.cache(lambda: text_chars(doc.getroottree().getroot()))
    return [
        el
        for el in doc.iter(*xpaths.COMMENT_BLOCK_TAGS)
        if el not in headline_blocks and other_texts_block(el, headline_blocks, page_chars)
    ]


def page_shows_day(source: str, dt: datetime) -> bool:
    """Whether the page source states ``dt``'s day with its month (numeric or a month word).

    htmldate turns a lone year into January 1st and a year with a month into the 1st (or another
    guessed day): a day it did not read anywhere is not a publication day. The source, not only
    the visible text, counts, so dates in attributes and script data are evidence too.
    """
    d, m, y = dt.day, dt.month, f"(?:{dt.year}|{dt.year % 100:02d})"
    year4 = str(dt.year)
    month = rf"(?:{_MONTH_STEMS[m - 1]})[^\W\d_]*\.?"
    patterns = (
        rf"(?<!\d)0?{d}\D{{1,3}}0?{m}\D{{1,3}}{y}(?!\d)",
        rf"(?<!\d)0?{m}/0?{d}/{y}(?!\d)",  # month first, as US sites write it
        rf"(?<!\d){year4}\D{{1,3}}0?{m}\D{{1,3}}0?{d}(?!\d)",
        rf"(?<!\d){year4}{m:02d}{d:02d}(?!\d)",
        rf"(?<!\d)0?{d}(?:st|nd|rd|th|er|\.)?\s+(?:de\s+)?{month},?\s+(?:de\s+)?{year4}",
        rf"(?<![^\W\d_]){month}\s+0?{d}(?:st|nd|rd|th)?,?\s+{year4}",
        rf"{year4}年0?{m}月0?{d}日",
    )
    return re.search("|".join(patterns), source, re.IGNORECASE) is not None


def on_day(value: datetime, day: date) -> datetime:
    """``value``'s instant at the whole-hour offset nearest its own that falls on ``day``.

    Used when the page says which day it is (its URL) but stores the time in UTC: the instant is
    kept, only the offset it is shown at changes. Returns ``value`` if no offset fits.
    """
    own = value.utcoffset() or timedelta(0)
    for hours in sorted(range(-12, 15), key=lambda h: abs(timedelta(hours=h) - own)):
        shown = value.astimezone(timezone(timedelta(hours=hours)))
        if shown.date() == day:
            return shown
    return value
