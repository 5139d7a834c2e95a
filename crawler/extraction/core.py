"""Layered extraction of one article page into :class:`~crawler.models.ArticleData`."""

from __future__ import annotations

import codecs
import html as htmllib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from lxml import etree

from crawler.extraction import body as body_mod
from crawler.extraction import dates as page_dates
from crawler.extraction import fields, jsonld, xpaths
from crawler.extraction.classes import ClassIndex
from crawler.extraction.meta import MetaTags
from crawler.extraction.selectors import Compiled, compile_selectors, element_value, select
from crawler.models import ArticleData
from crawler.normalize.dates import clamp_future, parse_date, parse_modified_from_text
from crawler.normalize.encoding import decode_html
from crawler.normalize.html import SANITIZE_POLICY, sanitize_html
from crawler.normalize.text import clean_text, is_garbage_value
from crawler.normalize.urls import canonicalize_url, is_http_url

logger = logging.getLogger(__name__)

Candidate = tuple[str, Any]  # (layer, raw value)

# Meta keys per field, most reliable first. og:*/article:*/twitter:* report as ``opengraph``.
TITLE_META = ("og:title", "twitter:title", "dc.title", "dcterms.title", "headline", "title")
SUMMARY_META = (
    "og:description", "twitter:description", "description", "dc.description",
    "dcterms.description", "dcterms.abstract",
)  # fmt: skip
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
AUTHOR_META = (
    "author", "article:author", "dc.creator", "dcterms.creator", "byl", "sailthru.author",
    "parsely-author", "cxenseparse:author", "citation_author",
)  # fmt: skip
SECTION_META = ("article:section", "articlesection", "section", "parsely-section", "category")
TAG_META = ("article:tag", "news_keywords", "keywords", "parsely-tags", "dc.subject")
IMAGE_META = (
    "og:image", "og:image:secure_url", "og:image:url", "twitter:image", "twitter:image:src",
    "image", "thumbnailurl",
)  # fmt: skip
LANGUAGE_META = ("og:locale", "content-language", "language", "dc.language", "inlanguage")
SITE_NAME_META = ("og:site_name", "application-name", "twitter:site", "publisher")

# Own body below this share of the JSON-LD articleBody length: ask the generic extractor too.
TRUNCATED_SHARE = 0.5
# Every author source trafilatura reads mentions one of these (ASCII, lowercased): its meta names
# (author, byl, creator, citation_author...), JSON-LD (author, Person), itemprop/rel="author" and
# its AUTHOR_XPATHS class/id tests (author, byline/byl/BBL, username, screenname, writer,
# zuozhe, bianji, xiaobian, channel-name, submitted-by, posted-by, journalist-name). A page
# with none of them cannot yield a generic author, so trafilatura (~10 ms) is not run for one.
_GENERIC_AUTHOR_MARKERS = (
    b"author", b"byl", b"bbl", b"creator", b"person", b"username", b"screenname", b"writer",
    b"zuozhe", b"bianji", b"xiaobian", b"channel-name", b"submitted-by", b"posted-by",
    b"journalist",
)  # fmt: skip
_DATE_FLOOR = datetime(1995, 1, 1).year  # news pages with earlier dates are mis-parsed values
# Widest distance between UTC and a local clock: an instant this close to the URL's day may be
# that day somewhere.
_URL_DAY_SLACK = timedelta(hours=14)
# A year or a time of day in a date string: what a byline has and an event in the story lacks.
_DATED_MARK = re.compile(r"\d{4}|\d:\d\d")
# A value that states its own non-zero UTC offset ("…T21:11:03-05:00", "+0300").
_OWN_OFFSET = re.compile(r"[+-](?!00:?00)\d\d:?\d\d\s*$")
_NEAR_TITLE_LEVELS = 4
_NEAR_TITLE_CHARS = 4000


def parse_document(
    body: bytes | str, header_charset: str | None
) -> tuple[etree._Element | None, bytes, list[str]]:
    """Decode (when bytes) and parse the page once.

    Returns the tree (``None`` for an empty or unparsable body), the UTF-8 bytes that were parsed
    (the generic extractor re-parses them rather than copying the tree) and the decoding flags.
    """
    flags: list[str] = []
    if isinstance(body, bytes):
        text, encoding, decode_flags = decode_html(body, header_charset=header_charset)
        flags.extend(decode_flags)
        # Clean UTF-8 (most pages) is parsed as received: no second encoding pass.
        clean = encoding == "utf-8" and not decode_flags and len(text) and b"\x00" not in body
        data = body if clean and not body.startswith(codecs.BOM_UTF8) else text.encode("utf-8")
    else:
        text = body
        data = text.encode("utf-8", "surrogatepass")
    if not text or not text.strip():
        return None, b"", flags
    try:
        # Bytes, not str: lxml refuses a str with an XML declaration.
        doc = etree.fromstring(data, parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        logger.warning("unparsable page: %s", exc)
        return None, b"", flags
    if doc is None:
        return None, b"", flags
    return doc, data, flags


# Plain lxml.etree elements, not lxml.html's: the html class lookup runs Python code for every
# element proxy (~2,400 per page), a few ms per page for methods this package does not use.
_PARSER = etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False
)


class _Page:
    """One parsed page plus its metadata layers, with one method per field."""

    def __init__(
        self,
        doc: etree._Element,
        html_bytes: bytes,
        url: str,
        *,
        now: datetime,
        tz: str,
        selectors: Mapping[str, str] | None,
        site_names: Sequence[str],
        use_generic: bool,
    ) -> None:
        self.doc = doc
        self.html_bytes = html_bytes
        self.url = url
        self.now = now
        self.tz = tz
        self.use_generic = use_generic
        self.sel: dict[str, Compiled] = compile_selectors(selectors)
        self.meta = MetaTags(doc)
        self.classes = ClassIndex(doc)
        self.article, self.jsonld_objects = jsonld.find_article(doc)
        self.site_names = self._site_names(site_names)
        self._generic_done = False
        self._generic_body: body_mod.Body | None = None
        self._generic_doc: Any = None
        self._h1_cache: etree._Element | bool | None = False
        self._link_rels: dict[str, list[etree._Element]] | None = None
        self._anchor_rels: dict[str, list[etree._Element]] | None = None

    # --- shared helpers -------------------------------------------------------------------------
    def _site_names(self, given: Sequence[str]) -> list[str]:
        names = [n for n in given if n]
        for _key, value in filter(None, (self.meta.first(k) for k in SITE_NAME_META)):
            names.append(value.lstrip("@"))
        if (name := jsonld.site_name(self.jsonld_objects)) is not None:
            names.append(name)
        host = urlsplit(self.url).hostname or ""
        if host:
            names.append(host.removeprefix("www."))
        # Longer names first so "Москва 24" is tried before "Москва".
        return sorted({clean_text(n) for n in names if clean_text(n)}, key=len, reverse=True)

    @staticmethod
    def accept(value: Any) -> str | None:
        """A cleaned single-line value, or ``None`` for empty, placeholder or garbage values."""
        if not isinstance(value, str):
            return None
        value = clean_text(value)
        if not value or is_garbage_value(value):
            return None
        return value

    def selected(self, name: str, *attrs: str) -> list[str]:
        """Values from the source's own selector for ``name`` (empty when none is configured)."""
        compiled = self.sel.get(name)
        if compiled is None:
            return []
        return [element_value(node, *attrs) for node in select(compiled, self.doc)]

    def jsonld_value(self, *keys: str) -> Any:
        if not self.article:
            return None
        for key in keys:
            value = self.article.get(key)
            if value not in (None, "", []):
                return value
        return None

    def meta_candidates(self, keys: Iterable[str]) -> list[Candidate]:
        return [(MetaTags.layer(k), v) for k in keys for v in self.meta.all(k)]

    def itemprop_texts(self, prop: str) -> list[str]:
        return [
            el.get("content") or el.get("datetime") or " ".join(el.itertext())
            for el in self.classes.itemprops.get(prop, ())
        ]

    def link_hrefs(self, rel: str) -> list[str]:
        """``href`` of every ``<link>`` whose ``rel`` has the token ``rel`` (case-insensitive)."""
        if self._link_rels is None:
            self._link_rels = self._by_rel(xpaths.LINKS_WITH_REL(self.doc))
        return [el.get("href") for el in self._link_rels.get(rel, ())]

    def rel_anchors(self, rel: str) -> list[etree._Element]:
        """Every ``<a>`` whose ``rel`` has the token ``rel`` (``author``, ``tag``)."""
        if self._anchor_rels is None:
            self._anchor_rels = self._by_rel(xpaths.ANCHORS_WITH_REL(self.doc))
        return self._anchor_rels.get(rel, [])

    @staticmethod
    def _by_rel(elements: list[etree._Element]) -> dict[str, list[etree._Element]]:
        # One Python pass over the few elements with @rel: an XPath translate() per rel value
        # walks the whole tree each time.
        found: dict[str, list[etree._Element]] = {}
        for el in elements:
            for token in set(el.get("rel", "").lower().split()):
                found.setdefault(token, []).append(el)
        return found

    def generic(self) -> tuple[body_mod.Body | None, Any]:
        """Run trafilatura at most once per page, only when asked for."""
        if not self._generic_done:
            self._generic_done = True
            self._generic_body, self._generic_doc = body_mod.generic(self.html_bytes, self.url)
        return self._generic_body, self._generic_doc

    def generic_field(self, attr: str) -> list[Candidate]:
        if not self.use_generic:
            return []
        _body, gdoc = self.generic()
        value = getattr(gdoc, attr, None) if gdoc is not None else None
        return [("generic", value)] if value else []

    @staticmethod
    def first(
        candidates: Iterable[Candidate], check: Callable[[Any], Any]
    ) -> tuple[Any, str | None]:
        """The first candidate whose ``check`` yields a value, and its layer."""
        for layer, raw in candidates:
            value = check(raw)
            if value not in (None, "", []):
                return value, layer
        return None, None

    def h1(self) -> etree._Element | None:
        if self._h1_cache is False:
            headings = [h for h in self.classes.headings if self.accept(" ".join(h.itertext()))]
            self._h1_cache = headings[0] if headings else None
        return self._h1_cache  # type: ignore[return-value]

    # --- fields ---------------------------------------------------------------------------------
    def title(self) -> tuple[str | None, str | None]:
        h1 = self.h1()
        candidates: list[Candidate] = [("selector", v) for v in self.selected("title", "content")]
        candidates.append(("jsonld", self.jsonld_value("headline", "name")))
        candidates += self.meta_candidates(TITLE_META)
        if h1 is not None:
            candidates.append(("text", " ".join(h1.itertext())))
        candidates.append(("meta", " ".join(xpaths.TITLE_TAG(self.doc))))
        value, layer = self.first(candidates, self._title_value)
        if value is None:
            value, layer = self.first(self.generic_field("title"), self._title_value)
        return value, layer

    def _title_value(self, raw: Any) -> str | None:
        value = self.accept(raw)
        if value is None:
            return None
        value = fields.strip_site_suffix(value, self.site_names)
        if len(value) < 3 or value.casefold() in {n.casefold() for n in self.site_names}:
            return None
        return value

    def summary(self) -> tuple[str | None, str | None]:
        candidates: list[Candidate] = [("selector", v) for v in self.selected("summary", "content")]
        candidates.append(("jsonld", self.jsonld_value("description", "abstract")))
        candidates += self.meta_candidates(SUMMARY_META)
        candidates += [("meta", v) for v in self.itemprop_texts("description")]
        return self.first(candidates, self.accept)

    def _date_value(self, raw: Any) -> datetime | None:
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
            found = page_dates.htmldate_day(self.html_bytes, self.url, now=self.now, tz=self.tz)
            if found is not None and found.year >= _DATE_FLOOR:
                if value is None or found.date() != value.date():
                    value, layer = found, "htmldate"
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
        value = self._date_near_title()
        if value is not None:
            return value, "text", candidates
        value = self._date_from_url()
        if value is not None:
            return value, "url", candidates
        return None, None, candidates

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

    def _near_title_texts(self) -> Iterable[tuple[str, int]]:
        """Text around the headline, growing one ancestor at a time, with the headline's offset."""
        h1 = self.h1()
        if h1 is None:
            return
        title_text = clean_text(" ".join(h1.itertext()))
        node = h1
        for _ in range(_NEAR_TITLE_LEVELS):
            node = node.getparent()
            if node is None or node.tag in ("body", "html"):
                return
            text = clean_text(" ".join(xpaths.TEXT_NODES(node)))
            anchor = max(text.find(title_text), 0)
            start = max(0, anchor - _NEAR_TITLE_CHARS // 4)
            yield text[start : start + _NEAR_TITLE_CHARS], anchor - start

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
                if _DATED_MARK.search(candidate) is None:
                    bare.append(candidate)
                elif (dt := self._date_value(candidate)) is not None:
                    yield dt
        for candidate in bare:
            if (dt := self._date_value(candidate)) is not None:
                yield dt

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
        for text, _anchor in self._near_title_texts():
            dt = parse_modified_from_text(text, tz=self.tz, now=self.now)
            if dt is not None:
                return dt, "text"
        return None, None

    def authors(self) -> tuple[list[str], str | None]:
        for layer, raw in self._author_layers():
            names = fields.clean_authors([r for r in raw if isinstance(r, str)], self.site_names)
            if names:
                return names, layer
        if not self._may_have_generic_author():
            return [], None
        for layer, raw in self.generic_field("author"):
            names = fields.clean_authors(raw.split(";"), self.site_names)
            if names:
                return names, layer
        return [], None

    def _may_have_generic_author(self) -> bool:
        """Whether the page has any trace trafilatura could read an author from.

        Checked before running the generic extractor only for authors: on pages without a
        byline (a third to two thirds of city news) that run was the single largest cost.
        """
        if self._generic_done:
            return True  # already paid for: reading its author is free
        lowered = self.html_bytes.lower()
        return any(marker in lowered for marker in _GENERIC_AUTHOR_MARKERS)

    def _author_layers(self) -> Iterator[tuple[str, list[str]]]:
        """Author candidates layer by layer, each computed only if the ones before gave none."""
        yield "selector", self.selected("authors", "content")
        yield "jsonld", jsonld.names(self.jsonld_value("author", "creator"))
        for key in AUTHOR_META:
            yield MetaTags.layer(key), self.meta.all(key)
        yield "meta", [self._itemprop_name(el) for el in self._itemprop_authors()]
        yield "text", [" ".join(a.itertext()) for a in self.rel_anchors("author")]
        bylines = self.classes.bylines
        yield "text", [" ".join(b.itertext()) for b in bylines if not b.findall(".//p")][:3]

    def _itemprop_authors(self) -> list[etree._Element]:
        return self.classes.itemprops.get("author", [])

    @staticmethod
    def _itemprop_name(el: etree._Element) -> str:
        for child in el.iterdescendants():
            if "name" in (child.get("itemprop") or "").split():
                return child.get("content") or " ".join(child.itertext())
        return el.get("content") or " ".join(el.itertext())

    def section(self) -> tuple[str | None, str | None]:
        return self.first(self._section_candidates(), self._section_value)

    def _section_candidates(self) -> Iterator[Candidate]:
        """Section candidates, most trusted first; rubric elements are looked for last."""
        yield from (("selector", v) for v in self.selected("section", "content"))
        value = self.jsonld_value("articleSection")
        yield "jsonld", value[0] if isinstance(value, list) and value else value
        yield from self.meta_candidates(SECTION_META)
        yield from (("text", " ".join(el.itertext())) for el in self._rubrics()[:1])

    def _rubrics(self) -> list[etree._Element]:
        return [r for r in self.classes.rubrics if r.find(".//h1") is None and len(r) < 5]

    def _section_value(self, raw: Any) -> str | None:
        value = self.accept(raw)
        # A "section" longer than a few words is a headline or a sentence, not a rubric.
        return value if value and len(value) <= 60 else None

    def tags(self) -> tuple[list[str], str | None]:
        for layer, raw in self._tag_layers():
            tags = self._split_tags(raw, split=layer != "selector")
            if tags:
                return tags, layer
        return [], None

    def _tag_layers(self) -> Iterator[tuple[str, list[Any]]]:
        """Tag candidates layer by layer, each computed only if the ones before gave none."""
        yield "selector", self.selected("tags", "content")
        keywords = self.jsonld_value("keywords")
        yield "jsonld", keywords if isinstance(keywords, list) else [keywords or ""]
        for key in TAG_META:
            yield MetaTags.layer(key), self.meta.all(key)
        yield "text", [" ".join(a.itertext()) for a in self.rel_anchors("tag")]

    def _split_tags(self, raw: list[Any], *, split: bool) -> list[str]:
        tags: list[str] = []
        for value in raw:
            if not isinstance(value, str):
                continue
            for part in value.split(",") if split else [value]:
                tag = self.accept(part)
                if tag and len(tag) <= 60 and tag not in tags:
                    tags.append(tag)
        return tags

    def image(self) -> tuple[str | None, str | None]:
        favicons = [*self.link_hrefs("icon"), *self.link_hrefs("apple-touch-icon")]
        return self.first(
            self._image_candidates(), lambda raw: fields.usable_image(raw, self.url, favicons)
        )

    def _image_candidates(self) -> Iterator[Candidate]:
        yield from (
            ("selector", v) for v in self.selected("image", "content", "src", "data-src", "href")
        )
        yield from (("jsonld", u) for u in jsonld.urls(self.jsonld_value("image", "thumbnailUrl")))
        yield from self.meta_candidates(IMAGE_META)
        yield from (("meta", v) for v in self.link_hrefs("image_src"))

    def canonical_url(self) -> tuple[str, str]:
        candidates: list[Candidate] = [("meta", v) for v in self.link_hrefs("canonical")]
        candidates += self.meta_candidates(("og:url",))
        for layer, raw in candidates:
            value = self.accept(raw)
            if value is None:
                continue
            try:
                absolute = canonicalize_url(value, base=self.url)
            except ValueError:
                continue
            # A canonical pointing at the home page is a CMS bug, not this article's address.
            if is_http_url(absolute) and (
                urlsplit(absolute).path.strip("/") or not urlsplit(self.url).path.strip("/")
            ):
                return absolute, layer
        return canonicalize_url(self.url), "url"

    def language(self, sample: str) -> tuple[str | None, str | None]:
        candidates: list[Candidate] = [("meta", v) for v in xpaths.HTML_LANG(self.doc)]
        candidates += self.meta_candidates(LANGUAGE_META)
        candidates.append(("jsonld", self.jsonld_value("inLanguage")))
        for layer, raw in candidates:
            code = fields.language_code(raw if isinstance(raw, str) else None)
            if code and fields.language_fits(code, sample):
                return code, layer
        guess = fields.guess_language(sample)
        return (guess, "text") if guess else (None, None)

    def body(self) -> body_mod.Body | None:
        if "body" in self.sel:
            nodes = [n for n in select(self.sel["body"], self.doc) if not isinstance(n, str)]
            found = (
                body_mod.from_elements(nodes, self.url, "selector", self.classes) if nodes else None
            )
            if found is not None:
                return found
        found = body_mod.heuristic(self.doc, self.url, self.classes)
        if found is not None and not self._body_looks_truncated(found):
            return found
        if found is not None and not self.use_generic:
            return found
        # The generic extractor runs even with use_generic=False when nothing else found a body.
        generic_body, _gdoc = self.generic()
        if generic_body is not None and (found is None or len(generic_body.text) > len(found.text)):
            return generic_body
        return found or self._jsonld_body()

    def _body_looks_truncated(self, found: body_mod.Body) -> bool:
        """Whether JSON-LD ``articleBody`` says the page holds far more text than was found."""
        declared = self.jsonld_value("articleBody")
        return isinstance(declared, str) and len(found.text) < TRUNCATED_SHARE * len(declared)

    def _jsonld_body(self) -> body_mod.Body | None:
        raw = self.jsonld_value("articleBody")
        if not isinstance(raw, str):
            return None
        paragraphs = [clean_text(p) for p in raw.splitlines()]
        paragraphs = [p for p in paragraphs if p]
        if not paragraphs:
            return None
        html = "".join(f"<p>{htmllib.escape(p)}</p>" for p in paragraphs)
        return body_mod.Body("\n\n".join(paragraphs), sanitize_html(html, self.url), "jsonld")


def extract(
    body: bytes | str,
    url: str,
    *,
    now: datetime,
    tz: str,
    selectors: Mapping[str, str] | None,
    site_names: Sequence[str],
    header_charset: str | None,
    use_generic: bool,
) -> ArticleData:
    """Implementation of :func:`crawler.extraction.extract_article`."""
    data = ArticleData(url=url)
    if now.tzinfo is None:
        # A naive clock is read in the source's zone, as parse_date does.
        now = now.replace(tzinfo=ZoneInfo(tz))
    doc, html_bytes, flags = parse_document(body, header_charset)
    data.flags.extend(flags)
    if doc is None:
        data.flags.append("empty_page")
        data.canonical_url = canonicalize_url(url)
        data.provenance["canonical_url"] = "url"
        return data
    page = _Page(
        doc,
        html_bytes,
        url,
        now=now,
        tz=tz,
        selectors=selectors,
        site_names=site_names,
        use_generic=use_generic,
    )
    prov = data.provenance

    def put(name: str, value: Any, layer: str | None) -> None:
        if value not in (None, "", []) and layer:
            setattr(data, name, value)
            prov[name] = layer

    # Metadata-only fields first: body extraction may run trafilatura, which these rarely need.
    put("summary", *page.summary())
    put("section", *page.section())
    put("tags", *page.tags())
    put("image", *page.image())
    put("canonical_url", *page.canonical_url())
    found = page.body()
    if found is not None:
        data.text, data.html = found.text, found.html
        prov["text"] = prov["html"] = found.layer
    put("title", *page.title())
    if data.text and data.title and data.text.startswith(data.title + "\n\n"):
        # Generic extractors often start the body with the headline.
        data.text = data.text[len(data.title) + 2 :]
        head = f"<p>{htmllib.escape(data.title, quote=False)}</p>"
        if data.html and data.html.startswith(head):
            data.html = data.html[len(head) :].lstrip()
    put("authors", *page.authors())
    published, layer = page.published()
    if published is not None:
        published, clamped = clamp_future(published, now)
        if clamped:
            data.flags.append("date_clamped")
        put("published", published, layer)
    updated, layer = page.updated()
    if updated is not None:
        updated, clamped = clamp_future(updated, now)
        if clamped and "date_clamped" not in data.flags:
            data.flags.append("date_clamped")
        # An "update" before publication is a mis-read date, not information.
        if data.published is None or updated >= data.published:
            put("updated", updated, layer)
    # Every body layer (selector, heuristic, generic, JSON-LD) joins clean_text'ed paragraphs with
    # "\n\n", and cutting the headline off keeps that form: build_article need not clean again.
    data.text_clean = True
    # Every body layer's HTML is sanitize_html output (cutting a leading headline paragraph off
    # keeps it so): feeds need not sanitize it again.
    data.html_policy = SANITIZE_POLICY if data.html else None
    sample = " ".join(filter(None, (data.title, data.summary, (data.text or "")[:3000])))
    put("language", *page.language(sample))
    if page._generic_done and page._generic_body is not None:
        data.flags.append("generic_used")
    return data
