"""One method per article field: title, summary, authors, section, tags, image, URL, body."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from crawler.extraction import body as body_mod
from crawler.extraction import fields, hydration, jsonld, xpaths
from crawler.extraction.layers import Candidate
from crawler.extraction.meta import MetaTags
from crawler.extraction.page_dates import PageDates
from crawler.extraction.selectors import select
from crawler.normalize.html import html_to_text, sanitize_html
from crawler.normalize.linear_regex import compile_re2_bytes_ignoring_case
from crawler.normalize.text import clean_text, looks_like_selector
from crawler.normalize.urls import canonicalize_url, host_of, is_http_url

# Meta keys per field, most reliable first. og:*/article:*/twitter:* report as ``opengraph``.
TITLE_META = ("og:title", "twitter:title", "dc.title", "dcterms.title", "headline", "title")

SUMMARY_META = (
    "og:description", "twitter:description", "description", "dc.description",
    "dcterms.description", "dcterms.abstract",
)  # fmt: skip

AUTHOR_META = (
    "author", "article:author", "dc.creator", "dcterms.creator", "byl", "sailthru.author",
    "parsely-author", "cxenseparse:author", "citation_author",
)  # fmt: skip

#: The length (characters) of a lead block taken as the summary: shorter is a label or a date,
#: longer is the text itself, not its lead.
LEAD_CHARS = (30, 1000)
SECTION_META = ("article:section", "articlesection", "section", "parsely-section", "category")

TAG_META = ("article:tag", "news_keywords", "keywords", "parsely-tags", "dc.subject")

IMAGE_META = (
    "og:image", "og:image:secure_url", "og:image:url", "twitter:image", "twitter:image:src",
    "image", "thumbnailurl",
)  # fmt: skip

LANGUAGE_META = ("og:locale", "content-language", "language", "dc.language", "inlanguage")

# Microdata item types an article's own image belongs to (schema.org NewsArticle, BlogPosting…).
_ARTICLE_ITEMTYPE = re.compile(r"Article|Posting|Report|WebPage", re.IGNORECASE)
_IMAGE_URL_PROPS = frozenset({"url", "contentUrl", "contenturl"})

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
# Whether any of them is in the page, in one pass: RE2's automaton reads a 90 KB page once
# (~0.15 ms), where a substring search per marker read it fifteen times (~0.6 ms on a page
# without any, where every search runs to the end). It reads the bytes as Latin-1 and ignores
# case, rather than searching a lower-cased copy (~50 us): an ASCII letter then matches itself
# and its other case only, the other characters folding to it (K KELVIN SIGN, ſ) being beyond
# Latin-1 (tests try every byte in every marker's every place).
_GENERIC_AUTHOR_RE = compile_re2_bytes_ignoring_case(
    b"|".join(re.escape(m) for m in _GENERIC_AUTHOR_MARKERS)
)


def has_generic_author_marker(html_bytes: bytes) -> bool:
    """Whether the page's bytes, ASCII lower-cased, hold any of ``_GENERIC_AUTHOR_MARKERS``."""
    return _GENERIC_AUTHOR_RE.search(html_bytes) is not None


#: A byline's label in its own text, then a capitalised word: «Автор: Иван Петров», «Текст —
#: Анна Смирнова», "By John Smith", "Von Anna Schmidt" ("By 2030, …" and "by the river" are not).
_LABELLED_BYLINE = re.compile(
    r"\s*(?:(?i:автор(?:ы)?(?:\s+(?:текста|материала))?|текст|authors?|autor(?:in)?)\s*[:—–]\s*"
    r"|(?i:by|von|par|por|door|written\s+by|story\s+by|reporting\s+by)\s+)[A-ZА-ЯЁ]"
)
#: A publication date opening a plain byline line, before its byline label: «Опубликовано:
#: 5 декабря 2026, 12:00 | Автор: Иван Петров», "Published Dec. 5, 2026 By John Smith".
_DATED_OPENING = re.compile(
    r"\s*(?i:опубликовано|обновлено|дата(?:\s+публикации)?|published|updated|posted|"
    # a date: a number within its first words ("Published by Penguin" is no date)
    r"veröffentlicht|publié\s+le)\b[^\d\n]{0,16}\d.{0,40}?[\s|•·,;/]\s*"
    r"(?=(?i:автор|текст|by|von|par|por)\b)"
)
#: A picture's credit left in a name ("AP Photo": the byline is a caption's).
_PHOTO_WORD = re.compile(r"\b(?:фото\w*|photo\w*|foto\w*|bild)\b", re.IGNORECASE)
#: Lower-case words inside a name ("Ludwig van Beethoven", «Анна де Сото», "Jean d'Ormesson").
_NAME_PARTICLE = re.compile(
    r"(?:de|da|di|del|della|dos|das|do|los|las|van|von|der|den|du|la|le|bin|ibn|al|el|y|e|"
    r"дер|де|ди|ван|фон|ибн|бин|аль)|[dl]['’]\w+"
)
#: Words that name a time, not a person ("By Tuesday Night", "By Christmas Eve").
_TIME_WORDS = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december christmas easter""".split()
)
#: Articles, which open a thing's name ("By The Numbers"), not a person's.
_ARTICLES = frozenset("the a an der die das le la les".split())
#: An agency written in lower case after a name ("Von Hans Müller, dpa").
_LOWER_AGENCY = re.compile(r"[a-zа-яё]{2,5}")


def _name_words(name: str, *, least: int) -> bool:
    """Whether ``name`` is ``least`` to six capitalised words (a particle between, a dash), none
    a time's."""
    words = [w for w in name.split() if any(c.isalnum() for c in w)]
    if not least <= len(words) <= 6 or any(w.lower() in _TIME_WORDS for w in words):
        return False
    return words[0][:1].isupper() and all(
        w[:1].isupper() or _NAME_PARTICLE.fullmatch(w) for w in words
    )


#: Words no person's name holds, capitalised or not ("By Order Of The Mayor" is no one).
_NOT_NAME_WORDS = frozenset("of the and for to in on at with from".split())


def _person(name: str) -> bool:
    words = name.split()
    return (
        _name_words(name, least=2)
        and words[0].lower() not in _ARTICLES
        and not any(w.lower() in _NOT_NAME_WORDS for w in words)
    )


def _byline_names(names: list[str]) -> list[str]:
    """The persons of a byline by the headline that says it is one («Автор: …», "By …"): it
    opens with a person's full name, and whatever follows is names too (another person, an
    agency, a place: "By John Smith, Reuters", "…, The Associated Press", "…, dpa"), else it is
    a sentence or a caption ("By December, the new line…", "By Ivan Petrov / AP Photo"): none.
    Only the persons are kept."""
    if not names or not _person(names[0]):
        return []
    for name in names[1:]:
        if _PHOTO_WORD.search(name) or not (
            _name_words(name, least=1) or _LOWER_AGENCY.fullmatch(name)
        ):
            return []
    return [n for n in names if _person(n)]


#: The most characters a byline element holds (names, a date, a label or two).
_BYLINE_CHARS = 120
#: How many elements after the headline are looked at for such a byline (a third as many
#: before it).
_BYLINE_REACH = 12
_NOT_A_BYLINES_PLACE = frozenset({"aside", "nav", "footer", "form", "figure", "figcaption"})


def _outside_furniture(root: etree._Element) -> Iterator[etree._Element]:
    """``root`` and its descendant elements in document order, less asides, navigation,
    figures, forms and what they hold."""
    if not isinstance(root.tag, str) or root.tag in _NOT_A_BYLINES_PLACE:
        return
    yield root
    for child in root:
        yield from _outside_furniture(child)


class PageFields(PageDates):
    """One parsed page with one method per field; each returns the value and its layer."""

    #: A title candidate refused as a leaked rule, when no title was found (see :meth:`title`).
    leaked_title: str | None = None

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
        if value is not None:
            value, layer = self._without_unnamed_suffix(value, layer, candidates)
        if value is None:
            value, layer = self.first(self.generic_field("title"), self._title_value)
        if value is None:
            # No title, because the page's were leaked rules ("//h1/text()"): said as such.
            self.leaked_title = next(
                (raw for _, raw in candidates if isinstance(raw, str) and looks_like_selector(raw)),
                None,
            )
        return value, layer

    def _without_unnamed_suffix(
        self, value: str, layer: str | None, candidates: list[Candidate]
    ) -> tuple[str, str | None]:
        """The title without a suffix no site name explains, when another candidate shows it.

        ``"Headline | Sport"``, ``"Headline | DW | 28.04.2023"``, ``"Headline-정치ㅣ한국일보"``: a
        section, a date or a name spelled unlike ``og:site_name`` after a separator. When
        another of the page's titles (the ``<h1>``, ``twitter:title``) is exactly the part
        before the separator, that is the headline. Only a suffix: a kicker before a colon
        ("Ukraine: Headline") is part of the headline on many sites.
        """
        best: tuple[str, str | None] | None = None
        for other_layer, raw in candidates:
            other = self._title_value(raw)
            if (
                other
                and len(value) > len(other) >= len(value) / 2
                and value.startswith(other)
                and fields.TITLE_SUFFIX_START.match(value, len(other))
                and (best is None or len(other) < len(best[0]))
            ):
                best = other, other_layer
        return best or (value, layer)

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
        value, layer = self.first(candidates, self.accept)
        if value is None:
            lead = self.hydration().get("summary")
            if isinstance(lead, str) and "<" in lead:
                lead = html_to_text(lead)
            value, layer = self.first([("script", lead)], self.accept)
        if value is None:
            # The lead shown as its own block, outside the body's container on many layouts:
            # without this, a page with no summary in its metadata lost it altogether.
            value, layer = self.first(
                (("text", text) for text in self._lead_texts()), self._accept_lead
            )
        return value, layer

    def _lead_texts(self) -> Iterator[str]:
        for el in self.classes.leads():
            yield " ".join(self.classes.text(el).split())

    def _accept_lead(self, raw: Any) -> str | None:
        if not isinstance(raw, str) or not LEAD_CHARS[0] <= len(raw) <= LEAD_CHARS[1]:
            return None
        return self.accept(raw)

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
        return has_generic_author_marker(self.html_bytes)

    def _author_layers(self) -> Iterator[tuple[str, list[str]]]:
        """Author candidates layer by layer, each computed only if the ones before gave none."""
        yield "selector", self.selected("authors", "content")
        yield "jsonld", jsonld.names(self.jsonld_value("author", "creator"))
        for key in AUTHOR_META:
            yield MetaTags.layer(key), self.meta.all(key)
        yield "meta", [self._itemprop_name(el) for el in self._itemprop_authors()]
        yield "script", hydration.author_names(self.hydration().get("authors"))
        yield "text", [" ".join(a.itertext()) for a in self.rel_anchors("author")]
        bylines = self.classes.bylines
        yield "text", [" ".join(b.itertext()) for b in bylines if not b.findall(".//p")][:3]
        yield "text", self._labelled_bylines()

    def _labelled_bylines(self) -> list[str]:
        """A byline that says so in its text, in an element no class names: «Автор: Иван
        Петров», "By John Smith" in a plain ``<p>`` just after (or before) the headline."""
        for el in self._near_headline():
            if el.tag not in xpaths.BYLINE_TAGS:
                continue
            # Its opening words first (its own text, or its first child's and that one's
            # tail: «<b>Автор:</b> Иван Петров»): its whole text is read only then.
            opening = el.text or ""
            if not opening.strip() and len(el):
                opening = f"{opening}{el[0].text or ''}{el[0].tail or ''}"
            dated = _DATED_OPENING.match(opening)
            if not _LABELLED_BYLINE.match(opening, dated.end() if dated else 0):
                continue
            text = self.classes.text(el)
            if dated and (dated := _DATED_OPENING.match(text)):
                text = text[dated.end() :]  # the date is read as a date, not as a name
            if len(text) <= _BYLINE_CHARS and _LABELLED_BYLINE.match(text):
                # Only names (and a date): "By December, the new line…", "By Moscow
                # standards…" and a caption "By Ivan Petrov / AP Photo" are no bylines.
                if names := _byline_names(fields.clean_authors([text], self.site_names)):
                    return names
        return []

    def _near_headline(self) -> Iterator[etree._Element]:
        """The elements just after the headline in document order (at most ``_BYLINE_REACH``),
        then those just before it, outside asides, navigation, figures and forms."""
        h1 = self.h1()
        if h1 is None:
            return
        for preceding, reach in ((False, _BYLINE_REACH), (True, _BYLINE_REACH // 3)):
            node: etree._Element | None = h1
            while node is not None and reach > 0 and node.tag not in ("body", "html"):
                for sibling in node.itersiblings(preceding=preceding):
                    for el in _outside_furniture(sibling):
                        yield el
                        reach -= 1
                        if reach <= 0:
                            break
                    if reach <= 0:
                        break
                node = node.getparent()

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
            self._image_candidates(), lambda raw: fields.usable_image(raw, self.base_url, favicons)
        )

    def _image_candidates(self) -> Iterator[Candidate]:
        yield from (
            ("selector", v) for v in self.selected("image", "content", "src", "data-src", "href")
        )
        yield from (("jsonld", u) for u in jsonld.urls(self.jsonld_value("image", "thumbnailUrl")))
        yield from self.meta_candidates(IMAGE_META)
        yield from (("meta", v) for v in self.link_hrefs("image_src"))
        yield from (("meta", v) for v in self._itemprop_images())
        yield "script", hydration.image_url(self.hydration().get("image"))

    def _itemprop_images(self) -> Iterator[str]:
        """Microdata ``itemprop="image"`` of the article (not of its author or publisher)."""
        for el in self.classes.itemprops.get("image", ()):
            scope = next((a for a in el.iterancestors() if a.get("itemscope") is not None), None)
            if scope is not None and not _ARTICLE_ITEMTYPE.search(scope.get("itemtype") or ""):
                continue  # an author's photo, an organization's picture
            if el.get("itemscope") is not None:  # an ImageObject: its url or contentUrl
                found = [d for d in el.iterdescendants() if d.get("itemprop") in _IMAGE_URL_PROPS]
                el = found[0] if found else el
            value = el.get("href") or el.get("content") or el.get("src") or el.get("data-src")
            if value:
                yield value

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
                return _kept_https(absolute, self.url), layer
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
            if nodes:
                found = body_mod.from_elements(nodes, self.base_url, "selector", self.classes)
                if found is not None:
                    return found
        found = body_mod.heuristic(self.doc, self.base_url, self.classes)
        if found is not None and not self._body_looks_truncated(found):
            return found
        if found is not None and not self.use_generic:
            return found
        # An app page whose markup holds no text may carry the article's HTML as a string in its
        # hydration state; searched only here, where the own heuristic came up short.
        scripted = body_mod.from_scripts(self.doc, self.base_url)
        if scripted is not None and (found is None or len(scripted.text) > len(found.text)):
            found = scripted
        # The generic extractor runs even with use_generic=False when nothing else found a body.
        generic_body, _gdoc = self.generic()
        if (
            generic_body is not None
            and not generic_body.link_list
            and (found is None or len(generic_body.text) > len(found.text))
        ):
            return generic_body
        return found or self._jsonld_body()

    def _body_looks_truncated(self, found: body_mod.Body) -> bool:
        """Whether JSON-LD ``articleBody`` says the page holds far more text than was found.

        Only when the container itself shows too little: ``articleBody`` often carries the fact
        boxes and embeds the body leaves out, and those are in the container, not missing.
        """
        declared = self.jsonld_value("articleBody")
        if not isinstance(declared, str):
            return False
        wanted = TRUNCATED_SHARE * len(declared)
        return len(found.text) < wanted and found.source_chars() < wanted

    def _jsonld_body(self) -> body_mod.Body | None:
        raw = self.jsonld_value("articleBody")
        if not isinstance(raw, str):
            return None
        paragraphs = [clean_text(p) for p in raw.splitlines()]
        paragraphs = [p for p in paragraphs if p]
        if not paragraphs:
            return None
        html = "".join(f"<p>{htmllib.escape(p)}</p>" for p in paragraphs)
        return body_mod.Body("\n\n".join(paragraphs), sanitize_html(html, self.base_url), "jsonld")


def _kept_https(canonical: str, fetched: str) -> str:
    """``canonical`` over https when the page was fetched so from the same host (``www.`` or
    not): a canonical tag left at ``http://`` by a CMS would make every reader leave the secure
    address."""
    if canonical.startswith("http://") and fetched.startswith("https://"):
        secure = "https://" + canonical.removeprefix("http://")
        # A site's two names for one server, www. or not.
        if host_of(secure).removeprefix("www.") == host_of(fetched).removeprefix("www."):
            return secure
    return canonical
