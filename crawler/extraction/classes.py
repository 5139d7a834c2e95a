"""One pass over the tree sorting elements by class/id: body, boilerplate, byline, rubric."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from crawler.extraction import xpaths


class ClassIndex:
    """Elements of a page grouped by what their ``class``/``id``/role say they are."""

    def __init__(self, doc: HtmlElement) -> None:
        self.body_candidates: list[HtmlElement] = []
        self.boilerplate: set[HtmlElement] = set()
        self.bylines: list[HtmlElement] = []
        self.rubrics: list[HtmlElement] = []
        self.itemprop_body: list[HtmlElement] = []
        for el in doc.iter(etree.Element):
            tag = el.tag
            if el.get("itemprop", "").lower() == "articlebody":
                self.itemprop_body.append(el)
                self.body_candidates.append(el)
                continue
            if tag == "article":
                self.body_candidates.append(el)
            key = f"{el.get('class', '')} {el.get('id', '')}".strip().lower()
            # Not @hidden or display:none: paywalled sites serve the full text hidden that way.
            if el.get("aria-hidden") == "true" or el.get("role") in xpaths.BOILERPLATE_ROLES:
                self.boilerplate.add(el)
            if not key:
                continue
            if tag in ("div", "section", "main") and xpaths.BODY_CLASS.search(key):
                self.body_candidates.append(el)
            elif xpaths.BOILERPLATE_CLASS.search(key):
                self.boilerplate.add(el)
            if tag in xpaths.BYLINE_TAGS and xpaths.BYLINE_CLASS.search(key):
                self.bylines.append(el)
            if tag in xpaths.RUBRIC_TAGS and xpaths.RUBRIC_CLASS.search(key):
                self.rubrics.append(el)
