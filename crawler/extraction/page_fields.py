"""One method per article field: which layers are asked, in which order, and what is accepted."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from crawler.extraction import body as body_mod
from crawler.extraction import fields, jsonld, xpaths
from crawler.extraction.layers import Candidate, PageLayers
from crawler.extraction.meta import MetaTags
from crawler.extraction.selectors import select
from crawler.normalize.dates import parse_date, parse_modified_from_text
from crawler.normalize.html import sanitize_html
from crawler.normalize.text import clean_text
from crawler.normalize.urls import canonicalize_url, is_http_url

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
_NEAR_TITLE_LEVELS = 4
_NEAR_TITLE_CHARS = 4000


class PageFields(PageLayers):
    """A page's article fields, each found layer by layer (see :class:`PageLayers`)."""

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
        candidates: list[Candidate] = [
            ("selector", v) for v in self.selected("published", "datetime", "content")
        ]
        candidates.append(("jsonld", self.jsonld_value("datePublished", "dateCreated")))
        candidates += self.meta_candidates(PUBLISHED_META)
        candidates += [("meta", v) for v in self.itemprop_texts("datePublished")]
        candidates += [("time", v) for v in self._time_elements()]
        value, layer = self.first(candidates, self._date_value)
        if value is not None:
            return value, layer
        value = self._date_near_title()
        if value is not None:
            return value, "text"
        value = self._date_from_url()
        if value is not None:
            return value, "url"
        return self.first(self.generic_field("date"), self._generic_date_value)

    def _generic_date_value(self, raw: Any) -> datetime | None:
        """A date from the generic extractor, kept only if the page really shows that day.

        htmldate (inside trafilatura) falls back to January 1st of any year-like number it
        sees, so a garbage ``32.13.2024`` would become 2024-01-01: require the day and the
        month next to the year in the page text (numeric, or day + month word + year).
        """
        dt = self._date_value(raw)
        if dt is None:
            return None
        d, m, y = dt.day, dt.month, f"(?:{dt.year}|{dt.year % 100:02d})"
        numeric = (
            rf"(?<!\d)0?{d}\D{{1,3}}0?{m}\D{{1,3}}{y}(?!\d)|"
            rf"(?<!\d){y}\D{{1,3}}0?{m}\D{{1,3}}0?{d}(?!\d)|"
            rf"(?<!\d)0?{d}\.?\s+\w+\.?,?\s+{y}(?!\d)"
        )
        # Only reached when no other layer had a date, so the whole-page text is affordable.
        return dt if re.search(numeric, " ".join(self.doc.itertext())) else None

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
        for text, anchor in self._near_title_texts():
            for candidate in fields.date_strings_in_text(text, anchor):
                dt = self._date_value(candidate)
                if dt is not None:
                    return dt
        return None

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
