"""Publication and update dates of a page: metadata, bylines, <time> elements, the URL, htmldate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from crawler.extraction import dates as page_dates
from crawler.extraction import fields, xpaths
from crawler.extraction.layers import Candidate, PageLayers
from crawler.normalize.dates import parse_date, parse_modified_from_text
from crawler.normalize.text import GLUED_INITIALS, clean_text

PUBLISHED_META = (
    "article:published_time", "og:published_time", "article:published", "datepublished",
    "dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date", "dcterms.created",
    "pubdate", "publishdate", "publish-date", "date", "parsely-pub-date", "sailthru.date",
    "article.published", "cxenseparse:recs:publishtime", "citation_publication_date",
)  # fmt: skip

UPDATED_META = (
    "article:modified_time", "og:updated_time", "article:modified", "datemodified",
    "dc.date.modified", "dcterms.modified", "last-modified", "article.updated",
)  # fmt: skip

_DATE_FLOOR = datetime(1995, 1, 1).year  # news pages with earlier dates are mis-parsed values

# Widest distance between UTC and a local clock: an instant this close to the URL's day may be
# that day somewhere.
_URL_DAY_SLACK = timedelta(hours=14)

# A year, a time of day or a count of minutes or hours ago in a date string: what a byline has
# and an event in the story lacks.
_DATED_MARK = re.compile(r"\d{4}|\d:\d\d|(?<!\w)(?:назад|ago)(?!\w)", re.IGNORECASE)

# A value that states its own non-zero UTC offset ("…T21:11:03-05:00", "+0300").
_OWN_OFFSET = re.compile(r"[+-](?!00:?00)\d\d:?\d\d\s*$")

_NEAR_TITLE_LEVELS = 4
# A date shown this far ahead of the fetch is the site's clock, not an event to come.
_CLOCK_SKEW = timedelta(minutes=10)
# How far back a date written without a year may be placed in an earlier year (see _not_ahead).
_YEARLESS_REACH = timedelta(days=60)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")

_NEAR_TITLE_CHARS = 4000
# How much of a page's visible text is searched for the time of htmldate's day.
_SHOWN_DAY_CHARS = 50_000


def visible_text_nodes(node: etree._Element) -> list[str]:
    """``xpaths.TEXT_NODES(node)``: the text nodes under ``node`` that are neither blank nor in a
    script, style or noscript element.

    Where no such element is in or above ``node`` (most article containers), they are its text
    nodes less the blank ones, found without testing every node's ancestors three times (less
    than half the work). Blank is what XPath's ``normalize-space()`` takes away: only the space,
    tab, CR and LF.
    """
    if next(node.iter(*xpaths.NOT_VISIBLE_TAGS), None) is not None or any(
        a.tag in xpaths.NOT_VISIBLE_TAGS for a in node.iterancestors()
    ):
        return xpaths.TEXT_NODES(node)
    return [t for t in xpaths.ALL_TEXT_NODES(node) if t.strip(" \t\r\n")]


def visible_text_nodes_without(node: etree._Element, others: list[etree._Element]) -> list[str]:
    """``visible_text_nodes(node)`` less those of ``others`` (elements in document order) that
    lie under it.

    Read at C speed for ``node`` and for each outermost of ``others`` under it; each one's run
    of text nodes is then cut where it stands in ``node``'s (found by value, in order).
    """
    nodes = visible_text_nodes(node)
    under = [o for o in others if node in set(o.iterancestors())]
    outermost = set(under)
    kept: list[str] = []
    at = 0
    for other in under:
        if any(a in outermost for a in other.iterancestors()):
            continue  # cut with the block that holds it
        run = visible_text_nodes(other)
        if not run:
            continue
        size, first, start = len(run), run[0], at
        while start <= len(nodes) - size:
            if nodes[start] == first and nodes[start : start + size] == run:
                break
            start += 1
        else:
            continue  # not found as a run (a node's own texts always are): nothing cut
        kept.extend(nodes[at:start])
        at = start + size
    kept.extend(nodes[at:])
    return kept


def visible_text_nodes_around(
    node: etree._Element, inner: etree._Element, inner_nodes: list[str]
) -> list[str]:
    """``visible_text_nodes(node)`` for the parent of ``inner``, given ``inner``'s own.

    The text nodes under ``node`` in document order are its direct text nodes and, in their
    place, those under each child element (``text() | *`` lists both in that order): the
    inner element's are reused rather than read from lxml again (most of the text around a
    headline is its article's, which the level below already read). A direct text node is
    visible unless ``node`` or an ancestor is a script, style or noscript element.
    """
    if node.tag in xpaths.NOT_VISIBLE_TAGS or any(
        a.tag in xpaths.NOT_VISIBLE_TAGS for a in node.iterancestors()
    ):
        return []  # nothing under such a node is visible
    found: list[str] = []
    for item in xpaths.CHILD_TEXTS_AND_ELEMENTS(node):
        if isinstance(item, str):
            if item.strip(" \t\r\n"):
                found.append(item)
        elif item is inner:
            found.extend(inner_nodes)
        else:
            found.extend(visible_text_nodes(item))
    return found


def window_around_title(raw: str, raw_title: str, title_text: str) -> tuple[str, int]:
    """The cleaned text around the headline in ``raw`` (at most _NEAR_TITLE_CHARS characters,
    a quarter of them before it) and the headline's offset in it: ``clean_text(raw)`` cut
    around the first ``title_text`` in it (its start when there is none).

    Only the head of ``raw`` that holds the window is cleaned when that is enough to tell (the
    rest of an article's text was cleaned only to be cut off): see :func:`_cleaned_head`.
    """
    text = _cleaned_head(raw, raw_title, title_text)
    anchor = max(text.find(title_text), 0)
    start = max(0, anchor - _NEAR_TITLE_CHARS // 4)
    return text[start : start + _NEAR_TITLE_CHARS], anchor - start


# Raw characters past the headline's place cleaned first: the window's three quarters after
# it, and room for what cleaning removes (entities, doubled spaces).
_HEAD_AFTER_TITLE = _NEAR_TITLE_CHARS + _NEAR_TITLE_CHARS // 2


def _cleaned_head(raw: str, raw_title: str, title_text: str) -> str:
    """``clean_text(raw)``, or a prefix of it that holds :func:`window_around_title`'s window.

    Cleaning is local between words: no entity, surrogate pair or composed character spans
    an ASCII space, and whitespace collapses to single spaces either side. So ``raw`` cut just
    before a space cleans to a prefix of ``clean_text(raw)``, unless its start is a letter
    that the glued-initial rule («В15 лет») may split, which reads past it. Where that prefix
    holds the headline's first occurrence and the whole window after it, the window is the
    same as the whole text's; otherwise the whole text is cleaned.
    """
    at = raw.find(raw_title)
    cut = raw.find(" ", max(at, 0) + _HEAD_AFTER_TITLE)
    if cut < 0:
        return clean_text(raw)
    head = clean_text(raw[:cut])
    if head[:1] not in GLUED_INITIALS:
        anchor = head.find(title_text)
        start = max(0, anchor - _NEAR_TITLE_CHARS // 4)
        if anchor >= 0 and start + _NEAR_TITLE_CHARS <= len(head):
            return head
    return clean_text(raw)


class PageDates(PageLayers):
    """The date fields of a page, layer by layer."""

    _near_title: list[tuple[str, int]] | None = None
    _bylines: set[str] | None = None
    _other_blocks: list[etree._Element] | None = None

    def _date_value(self, raw: Any) -> datetime | None:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = _epoch_iso(raw)  # hydration data: seconds or milliseconds since 1970
        value = self.accept(raw)
        if value is None:
            return None
        dt = parse_date(value, tz=self.tz, now=self.now)
        if dt is None or dt.year < _DATE_FLOOR:
            return None
        return dt

    def published(self) -> tuple[datetime | None, str | None]:
        value, layer, candidates = self._published_evidence()
        if layer != "selector" and (value is None or self._ambiguous_date(value, layer)):
            found = page_dates.htmldate_day(
                self.html_bytes,
                self.url,
                now=self.now,
                tz=self.tz,
                has_comments=bool(self._others()),
            )
            if found is not None and found.year >= _DATE_FLOOR:
                if value is None and self._updated_on(found):
                    # The page's only date is its update («Updated: …»): no publication date
                    # (build_article dates it at the update, flagged date_from_update).
                    return None, None
                if value is None or (
                    found.date() != value.date() and not _swapped(found.date(), value.date())
                ):
                    value, layer = self._time_shown_on(found), "htmldate"
        if value is not None and layer == "meta":
            value, layer = self._byline_over_meta(value)
        if value is not None and layer not in ("selector", "url"):
            value = self._on_url_day(self._publisher_offset(value, candidates))
        return value, layer

    def _published_evidence(self) -> tuple[datetime | None, str | None, list[Candidate]]:
        """The first publication date of the page's own layers, most trusted first."""
        candidates: list[Candidate] = [
            ("selector", v) for v in self.selected("published", "datetime", "content")
        ]
        candidates.append(("jsonld", self.jsonld_value("datePublished", "dateCreated")))
        candidates += self.meta_candidates(PUBLISHED_META)
        candidates += [("meta", v) for v in self.itemprop_texts("datePublished")]
        candidates += [("time", v) for v in self._time_elements()]
        # A <time> without datetime="" still shows the day ("31.03.2020") in its text.
        candidates += [("time", " ".join(t.itertext())) for t in self.classes.undated_times]
        value, layer = self.first(candidates, self._date_value)
        if value is not None:
            return value, layer, candidates
        value = self._date_value(self.hydration().get("published"))
        if value is not None:
            return value, "script", candidates
        value = self._date_near_title()
        if value is not None:
            return value, "text", candidates
        value = self._date_from_url()
        if value is not None:
            return value, "url", candidates
        return None, None, candidates

    def _updated_on(self, day: datetime) -> bool:
        """Whether the page's update date is on ``day``."""
        updated, _layer = self.updated()
        return updated is not None and (
            updated.date() == day.date() or _swapped(updated.date(), day.date())
        )

    def _time_shown_on(self, day: datetime) -> datetime:
        """htmldate's ``day`` (local midnight) at the time of day the page shows with that day
        («7 декабря 2026, 12:00» in a page without a headline to search around), else as is.

        htmldate gives days only; a page it read often states the time right beside the day.
        """
        body = self.doc.find("body")
        text = clean_text(" ".join(visible_text_nodes(body if body is not None else self.doc)))
        for candidate in fields.date_strings_in_text(text[:_SHOWN_DAY_CHARS]):
            if _DATED_MARK.search(candidate) is None:
                continue
            dt = self._date_value(candidate)
            if dt is not None and dt.date() == day.date() and (dt.hour, dt.minute) != (0, 0):
                return dt
        return day

    def _byline_over_meta(self, value: datetime) -> tuple[datetime, str]:
        """A plain ``<meta name=date>``-style value, unless the byline shows another day.

        Such tags (``date``, ``dc.date``, ``pubdate``, ``itemprop``) are often the CMS's save
        date; when the text around the headline never shows their day but shows another, the
        reader's day is the one shown.
        """
        shown = [dt for dt in self._dates_near_title() if dt is not None]
        if shown and all(dt.date() != value.date() for dt in shown):
            return shown[0], "text"
        return value, "meta"

    def _publisher_offset(self, value: datetime, candidates: list[Candidate]) -> datetime:
        """The same instant in the publisher's own offset, when another tag states it.

        A UTC value (shown in the source's zone) is only our guess at the reader's clock;
        ``<time datetime="…-05:00">`` for the same instant is the publisher's own word.
        """
        if not isinstance(value.tzinfo, ZoneInfo):
            return value  # an explicit offset: parse_date keeps it as a fixed timezone
        zone_offset = value.utcoffset()
        for _layer, raw in candidates:
            if not isinstance(raw, str) or not _OWN_OFFSET.search(raw):
                continue  # parsing only values that state a non-UTC offset keeps this cheap
            other = self._date_value(raw)
            if (
                other is not None
                and other.utcoffset() != zone_offset
                and abs(other - value) < timedelta(minutes=1)
            ):
                return other
        return value

    def _ambiguous_date(self, value: datetime, layer: str | None) -> bool:
        """Whether a date is weak evidence that htmldate's reading of the page should check.

        Several ``<time datetime>`` elements are lists, embeds or comments as often as the
        byline; a bare day (no time of day) in the text around the headline may be an event's
        or a header's date. A single ``<time>`` or a byline with a time of day is not questioned.
        """
        if layer == "time":
            return len(self.classes.times) > 1 and not self._time_by_headline()
        return layer == "text" and (value.hour, value.minute) == (0, 0)

    def _time_by_headline(self) -> bool:
        """Whether a ``<time datetime>`` sits in the headline's block (up to its grandparent)."""
        block, node = None, self.h1()
        for _ in range(2):
            node = node.getparent() if node is not None else None
            if node is None or node.tag in ("body", "html"):
                break
            block = node
        return block is not None and any(t.get("datetime") for t in block.iter("time"))

    def _on_url_day(self, value: datetime) -> datetime:
        """A UTC-stored instant shown on the day the publisher put in the URL (``/2023/11/08/``).

        The URL is written on the publisher's calendar. An instant that is that day somewhere
        (within 14 hours of it) but another day in the source's zone keeps its instant, shown at
        the offset nearest the zone's that falls on the URL's day. A publisher's own explicit
        offset, and a date further away (metadata that is simply different), are kept as given.
        """
        if not isinstance(value.tzinfo, ZoneInfo):
            return value  # the publisher's explicit offset (parse_date keeps it fixed)
        url_day = fields.date_from_url(self.url, self.tz)
        if url_day is None or value.date() == url_day.date():
            return value
        if url_day - _URL_DAY_SLACK <= value < url_day + timedelta(days=1) + _URL_DAY_SLACK:
            return page_dates.on_day(value, url_day.date())
        return value

    def _time_elements(self) -> list[str]:
        """``<time datetime>`` values, the one nearest the headline first."""
        times = self.classes.times
        if not times:
            return []
        h1 = self.h1()
        if h1 is None:
            return [t.get("datetime") for t in times]
        if len(times) == 1:
            return [times[0].get("datetime")]
        position = self.classes.position
        anchor = position(h1)

        def distance(el: etree._Element) -> int:
            d = position(el) - anchor
            return d if d >= 0 else 3 * -d

        return [t.get("datetime") for t in sorted(times, key=distance)]

    def _others(self) -> list[etree._Element]:
        """The page's comment sections and blocks of other stories (computed once)."""
        if self._other_blocks is None:
            self._other_blocks = page_dates.comment_blocks(self.doc)
        return self._other_blocks

    def _near_title_texts(self) -> list[tuple[str, int]]:
        """Text around the headline, growing one ancestor at a time, with the headline's offset
        (an ancestor that shows no more text than the last is left out).

        Three date fields read it, so it is computed once per page.
        """
        if self._near_title is None:
            self._near_title = list(self._texts_around_title())
        return self._near_title

    def _title_blocks(self) -> Iterator[etree._Element]:
        """The headline's ancestors whose text is searched for a date, innermost first."""
        node = self.h1()
        for level in range(_NEAR_TITLE_LEVELS):
            node = node.getparent() if node is not None else None
            if node is not None and node.tag == "body" and level == 0:
                # No wrapper at all: the page's body is the headline's block (the text read
                # is a window around the headline, not the whole page).
                yield node
                return
            if node is None or node.tag in ("body", "html"):
                return
            yield node

    def _texts_around_title(self) -> Iterator[tuple[str, int]]:
        h1 = self.h1()
        if h1 is None:
            return
        raw_title = " ".join(h1.itertext())
        title_text = clean_text(raw_title)
        last_raw: str | None = None
        inner: etree._Element | None = None
        nodes: list[str] = []
        # Comment sections and blocks of other stories near the headline: their dates are
        # other texts' («Читайте также … 14 февраля», a reader's «5 марта в 12:00»).
        others = self._others()
        around_others = {a for el in others for a in el.iterancestors()}
        for node in self._title_blocks():
            # Each block is the parent of the one before: its text nodes hold that one's.
            if node in around_others:
                nodes = visible_text_nodes_without(node, others)
            elif inner is None:
                nodes = visible_text_nodes(node)
            else:
                nodes = visible_text_nodes_around(node, inner, nodes)
            inner = node
            raw = " ".join(nodes)
            if len(raw) > 4 * _NEAR_TITLE_CHARS:
                # Only a window is kept: clean the raw text around the headline, with room for
                # the whitespace cleaning removes, not the whole article around it.
                at = max(raw.find(raw_title.strip()), 0)
                raw = raw[max(0, at - _NEAR_TITLE_CHARS) : at + 3 * _NEAR_TITLE_CHARS]
            if raw == last_raw:
                # A wrapper with no text of its own shows its child's text: the readers take
                # the first date, or ask whether any shown date differs, so the same text
                # again (cleaned and searched again) adds nothing.
                continue
            last_raw = raw
            yield window_around_title(raw, raw_title.strip(), title_text)

    def _date_near_title(self) -> datetime | None:
        return next(self._dates_near_title(), None)

    def _dates_near_title(self) -> Iterator[datetime]:
        """Dates in the text around the headline, nearest and innermost first.

        A date with neither a year nor a time of day ("Am Samstag, 29. Oktober warnte…") comes
        after every other: it is more often an event in the story than the story's date.
        """
        bare: list[str] = []
        for text, anchor in self._near_title_texts():
            for candidate in fields.date_strings_in_text(text, anchor):
                if fields.RELATIVE_DATE.match(candidate) and not self._is_byline(candidate):
                    continue
                if _DATED_MARK.search(candidate) is None:
                    bare.append(candidate)
                elif (dt := self._date_value(candidate)) is not None and self._not_ahead(
                    dt, candidate
                ):
                    yield dt
        for candidate in bare:
            if (dt := self._date_value(candidate)) is not None and self._not_ahead(dt, candidate):
                yield dt

    def _not_ahead(self, dt: datetime, written: str) -> bool:
        """Whether ``dt`` (read from ``written``) can be when the page was published: not after
        the fetch (beyond clock skew). A date ahead by the headline is an event's («Концерт
        пройдёт 15 марта»), and so is one written without a year that only a past year makes
        a past date, months back («15 декабря в 19:00» fetched on 5 December: sites omit the
        year of this year's dates, and a byline of late last year is weeks old, not months)."""
        if dt > self.now + _CLOCK_SKEW:
            return False
        return not (
            _YEAR.search(written) is None
            and dt.year < self.now.year
            and self.now - dt > _YEARLESS_REACH
        )

    def _is_byline(self, relative: str) -> bool:
        """Whether a relative date («вчера, 14:30») found around the headline is a byline: the
        whole text of an element there (``fields.relative_byline``), not part of a sentence."""
        if self._bylines is None:
            self._bylines = set()
            blocks = list(self._title_blocks())
            for el in blocks[-1].iter() if blocks else ():
                if not isinstance(el.tag, str) or el.tag in xpaths.NOT_VISIBLE_TAGS:
                    continue
                own = [el.text or ""] + [child.tail or "" for child in el]
                if not any(fields.RELATIVE_WORD.search(t) for t in own):
                    continue
                found = fields.relative_byline(clean_text(" ".join(visible_text_nodes(el))))
                if found is not None:
                    self._bylines.add(_byline_key(found))
        return _byline_key(relative) in self._bylines

    def _date_from_url(self) -> datetime | None:
        day = fields.date_from_url(self.url, self.tz)
        if day is None:
            return None
        # m24 shows only "08:57 (обновлено …)" for today's news: combine with the URL's day.
        for text, anchor in self._near_title_texts():
            hm = fields.time_only_near(text, anchor)
            if hm is not None:
                return day.replace(hour=hm[0], minute=hm[1])
        return day

    def updated(self) -> tuple[datetime | None, str | None]:
        candidates: list[Candidate] = [
            ("selector", v) for v in self.selected("updated", "datetime", "content")
        ]
        candidates.append(("jsonld", self.jsonld_value("dateModified")))
        candidates += self.meta_candidates(UPDATED_META)
        candidates += [("meta", v) for v in self.itemprop_texts("dateModified")]
        value, layer = self.first(candidates, self._date_value)
        if value is not None:
            return value, layer
        value = self._date_value(self.hydration().get("updated"))
        if value is not None:
            return value, "script"
        for text, _anchor in self._near_title_texts():
            dt = parse_modified_from_text(text, tz=self.tz, now=self.now)
            if dt is not None:
                return dt, "text"
        return None, None


def _swapped(a: date, b: date) -> bool:
    """Whether two days are one numeric date read day first and month first (03/04/2026): the
    source's zone decided how the page's own reading takes it, which htmldate does not know."""
    return a.year == b.year and (a.day, a.month) == (b.month, b.day)


def _epoch_iso(value: float) -> str | None:
    """An epoch timestamp (seconds, or milliseconds past ~2001-09-09 in seconds) as ISO 8601."""
    seconds = value / 1000 if value > 1e11 else value
    try:
        return datetime.fromtimestamp(seconds, tz=ZoneInfo("UTC")).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _byline_key(relative: str) -> str:
    """A relative date as compared between an element's text and the joined text around the
    headline (which may space it differently)."""
    return "".join(relative.split()).lower()
