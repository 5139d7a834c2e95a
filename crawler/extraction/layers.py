"""One parsed page and its metadata layers (selectors, JSON-LD, meta tags, text, generic)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from crawler.extraction import body as body_mod
from crawler.extraction import fields, hydration, jsonld, xpaths
from crawler.extraction.classes import ClassIndex
from crawler.extraction.meta import MetaTags
from crawler.extraction.selectors import Compiled, compile_selectors, element_value, select
from crawler.normalize.text import clean_text, is_garbage_value

Candidate = tuple[str, Any]  # (layer, raw value)

SITE_NAME_META = ("og:site_name", "application-name", "twitter:site", "publisher")


class PageLayers:
    """One parsed page plus its metadata layers, and the helpers that read them."""

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
        allowed_domains: Sequence[str] = (),
    ) -> None:
        self.doc = doc
        self.html_bytes = html_bytes
        self.url = url
        #: What the article's relative links and images resolve against (``<base href>``).
        self.base_url = fields.document_base(url, xpaths.base_hrefs(doc), allowed_domains)
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
        self._hydration: dict[str, Any] | None = None

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

    def hydration(self) -> dict[str, Any]:
        """The article's fields in the page's JSON hydration data; parsed once, when asked."""
        if self._hydration is None:
            self._hydration = hydration.find_article(self.doc) or {}
        return self._hydration

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
            self._link_rels = self._by_rel(xpaths.links_with_rel(self.doc))
        return [el.get("href") for el in self._link_rels.get(rel, ())]

    def rel_anchors(self, rel: str) -> list[etree._Element]:
        """Every ``<a>`` whose ``rel`` has the token ``rel`` (``author``, ``tag``)."""
        if self._anchor_rels is None:
            self._anchor_rels = self._by_rel(xpaths.anchors_with_rel(self.doc))
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
            self._generic_body, self._generic_doc = body_mod.generic(self.html_bytes, self.base_url)
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
