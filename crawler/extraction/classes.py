"""One pass over the tree: elements by what their class/id/role say, plus itemprops, h1, <time>."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from itertools import islice

from lxml import etree

from crawler.extraction import xpaths

_BODY, _BOILERPLATE, _BYLINE, _RUBRIC, _TEASER, _LEAD = 1, 2, 4, 8, 16, 32
_CONTAINER_TAGS = frozenset({"div", "section", "main", "article"})


@lru_cache(maxsize=16384)
def _token_kinds(token: str) -> int:
    """Bit set of what one class/id token says. Every pattern matches inside one token, so a
    ``class id`` string is the union of its tokens; tokens (``container``, ``row``, ``title``)
    repeat across sites far more than whole class strings do."""
    kinds = 0
    if xpaths.BOILERPLATE_CLASS.search(token):
        kinds |= _BOILERPLATE
    elif xpaths.BODY_CLASS.search(token):
        # A token naming both is a part of the body, not the body: ``article-content__ad-group``,
        # ``article-content__sign-in-group``, ``article-body-image``.
        kinds |= _BODY
    if xpaths.BYLINE_CLASS.search(token):
        kinds |= _BYLINE
    if xpaths.RUBRIC_CLASS.search(token):
        kinds |= _RUBRIC
    if "teaser" in token:
        kinds |= _TEASER
    if xpaths.LEAD_CLASS.search(token):
        kinds |= _LEAD
    return kinds


@lru_cache(maxsize=8192)
def _kinds(key: str) -> int:
    """Bit set of a whole ``class id`` string, memoized: a page repeats its class strings."""
    kinds = 0
    for token in key.lower().split():
        kinds |= _token_kinds(token)
    return kinds


def class_kinds(el: etree._Element) -> int:
    """The memoized class/id bit set of one element (0 without class and id)."""
    cls, ident = el.get("class"), el.get("id")
    if not cls and not ident:
        return 0
    return _kinds(f"{cls or ''} {ident or ''}")


def is_boilerplate_class(el: etree._Element) -> bool:
    """Whether the element's class/id names a share bar, related box, caption, ad and the like."""
    return bool(class_kinds(el) & _BOILERPLATE)


_BYLINE_OR_RUBRIC_TAGS = tuple(sorted(xpaths.BYLINE_TAGS | xpaths.RUBRIC_TAGS))

_TEASER_MAX_CHARS = 1000
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")


def is_teaser_card(el: etree._Element) -> bool:
    """A short block that links its own headline: another story's card, not article text."""
    if len("".join(el.itertext())) > _TEASER_MAX_CHARS:
        return False
    for heading in el.iterdescendants(*_HEADINGS):
        if heading.find(".//a[@href]") is not None:
            return True
        parent = heading.getparent()
        while parent is not None and parent is not el:
            if parent.tag == "a" and parent.get("href"):
                return True
            parent = parent.getparent()
    return False


def _kind_of_aside(el: etree._Element) -> bool:
    """Whether ``el`` is boilerplate by its class or a teaser card (another story's)."""
    kinds = class_kinds(el)
    return bool(kinds & _BOILERPLATE) or bool(kinds & _TEASER and is_teaser_card(el))


@lru_cache(maxsize=8192)
def names_comments(key: str) -> bool:
    """Whether a ``class id`` string names comments (memoized: pages repeat their classes)."""
    return xpaths.COMMENTS_CLASS.search(key) is not None


#: The heading of a comment section that no class names: «Комментарии (3)», "Comments" alone
#: (not «Комментарий эксперта» or "Comments from riders": parts of the story).
_COMMENTS_HEADING = re.compile(
    r"\s*(?:комментарии|обсуждение|comments|kommentare|commentaires)\s*(?:\(\d+\)|\d+)?\s*:?\s*$",
    re.IGNORECASE,
)


def headed_as_comments(el: etree._Element) -> bool:
    """Whether a block opens with a heading that names it a comment section."""
    first = el[0] if len(el) else None
    return (
        first is not None
        and first.tag in ("h2", "h3", "h4", "h5")
        and _COMMENTS_HEADING.match(first.text or "") is not None
    )


#: How a block of other stories that no class names opens: «Читайте также:», "Read more".
_OTHER_STORIES_HEADING = re.compile(
    r"\s*(?:читайте\s+также|читать\s+также|смотрите\s+также|по\s+теме|другие\s+новости|"
    r"read\s+(?:more|also)|see\s+also|related\s+(?:stories|articles|news)|more\s+stories|"
    r"lesen\s+sie\s+auch|mehr\s+zum\s+thema)\b",
    re.IGNORECASE,
)
#: Longest text of such a block (a list of a few headlines), so a story is never one.
_OTHER_STORIES_CHARS = 800


def headed_as_other_stories(el: etree._Element) -> bool:
    """Whether a block opens with «Читайте также» (or the like) and holds no more than a list
    of headlines: other stories, whatever its class."""
    opening = _opening_text(el)
    return (
        opening is not None
        and _OTHER_STORIES_HEADING.match(opening) is not None
        and text_chars(el) <= _OTHER_STORIES_CHARS
    )


def _opening_text(el: etree._Element) -> str | None:
    """The first text a block shows: its own, its first child's or that child's first
    child's (``<div><p><b>Читайте также:</b>``); None when it opens with none of them."""
    for node in (el, el[0] if len(el) else None):
        if node is None:
            return None
        if node.text and not node.text.isspace():
            return node.text
        if len(node) and node[0].text and not node[0].text.isspace():
            return node[0].text
    return None


def is_page_aside(el: etree._Element) -> bool:
    """Whether ``el`` is an ``<aside>`` of the page, not of the article: a page's aside holds
    other stories; the article's (``<article><aside class="meta">``, or beside the headline
    in the block that holds it) often its own date. Without a headline, only the first is
    told."""
    if el.tag != "aside" or next(el.iterancestors("article"), None) is not None:
        return False
    homes = set()
    for h1 in el.getroottree().iter("h1"):
        for home in islice(h1.iterancestors(), 2):
            if home.tag not in ("body", "html"):
                homes.add(home)
    return not any(a in homes for a in el.iterancestors())


def names_other_stories(el: etree._Element) -> bool:
    """Whether ``el`` is named (or is) a block of other stories: a sidebar, «Читайте также»,
    a page's ``<aside>``. :func:`beside_the_story` tells a layout wrapper named so apart."""
    cls, ident = el.get("class"), el.get("id")
    if (cls or ident) and _names_other_stories(f"{cls or ''} {ident or ''}"):
        return True
    return el.tag == "aside" and is_page_aside(el)


@lru_cache(maxsize=8192)
def _names_other_stories(key: str) -> bool:
    """Whether a ``class id`` string names other stories (memoized: pages repeat classes)."""
    return xpaths.OTHER_STORIES_CLASS.search(key.lower()) is not None


def beside_the_story(el: etree._Element, page_chars: int) -> bool:
    """Whether a block named as other stories is one: it holds less than half the page's text
    (``page_chars``). A wrapper of the whole page can be named so too («mainwrap sidebar»: a
    layout with a sidebar)."""
    return 2 * text_chars(el) < page_chars


def text_chars(el: etree._Element) -> int:
    """How many characters of visible text ``el`` holds (not in scripts or styles)."""
    return sum(map(len, xpaths.TEXT_NODES(el)))


#: Blocks that a heading or a first line may name (lists and their items never are).
_HEADED_TAGS = frozenset({"div", "section", "aside"})


def other_texts_block(
    el: etree._Element, headline_blocks: set[etree._Element], page_chars: Callable[[], int]
) -> bool:
    """Whether a block that does not hold the headline is readers' comments or other stories:
    named so (class or id), opening with «Комментарии» or «Читайте также», or a page's
    ``<aside>``. Their dates are other texts'. Without a headline to tell the page's wrapper by
    («mainwrap sidebar»), a block named as other stories must hold less than half the page's
    text (``page_chars``, asked for only then)."""
    cls, ident = el.get("class"), el.get("id")
    if (cls or ident) and names_comments(f"{cls or ''} {ident or ''}"):
        return True
    if el.tag in _HEADED_TAGS and (headed_as_comments(el) or headed_as_other_stories(el)):
        return True
    if not names_other_stories(el):
        return False
    return bool(headline_blocks) or beside_the_story(el, page_chars())


def _in_comments(el: etree._Element, headline_blocks: set[etree._Element]) -> bool:
    """Whether ``el`` sits in a comment section or a block of other stories
    (:func:`other_texts_block`) below the blocks that hold the headline."""
    page_chars = cache(lambda: text_chars(el.getroottree().getroot()))
    for anc in el.iterancestors(*xpaths.COMMENT_BLOCK_TAGS):
        if anc in headline_blocks:
            return False
        if other_texts_block(anc, headline_blocks, page_chars):
            return True
    return False


class ClassIndex:
    """Elements of a page grouped by what their ``class``/``id``/role say they are.

    Nothing walks the whole tree in Python: lxml's tag-filtered ``iter`` and XPath (both in C)
    return the elements of interest, and each kind is computed only when a field asks for it.
    Boilerplate is only ever needed inside the chosen body container, so it is computed per
    container.
    """

    def __init__(self, doc: etree._Element) -> None:
        self.doc = doc
        self.itemprops: dict[str, list[etree._Element]] = {}
        self.itemprop_body: list[etree._Element] = []
        self.headings: list[etree._Element] = []
        self.times: list[etree._Element] = []
        self.undated_times: list[etree._Element] = []
        for el in doc.iter("h1", "time"):
            if el.tag == "h1":
                self.headings.append(el)
            elif el.get("datetime"):
                self.times.append(el)
            else:
                self.undated_times.append(el)
        if self.times or self.undated_times:
            # Readers' comments are dated too: their <time>s are never the article's.
            headline_blocks = {anc for h in self.headings for anc in h.iterancestors()}
            self.times = [t for t in self.times if not _in_comments(t, headline_blocks)]
            self.undated_times = [
                t for t in self.undated_times if not _in_comments(t, headline_blocks)
            ]
        for el in xpaths.itemprop_elements(doc):
            prop = el.get("itemprop")
            if prop:
                for name in prop.split():
                    self.itemprops.setdefault(name, []).append(el)
                if "articlebody" in prop.lower().split():
                    self.itemprop_body.append(el)
        self._bylines: list[etree._Element] | None = None
        self._rubrics: list[etree._Element] | None = None
        self._position: dict[etree._Element, int] | None = None
        self._boilerplate: dict[etree._Element, set[etree._Element]] = {}
        self._texts: dict[etree._Element, str] = {}

    def text(self, el: etree._Element) -> str:
        """``"".join(el.itertext())``, read from lxml once per element: the tree is never
        changed while its page is read, and a paragraph's text is asked for several times
        (the paragraph totals, the share of text in ``<p>``, the block itself)."""
        texts = self._texts
        found = texts.get(el)
        if found is None:
            if len(el) and all(child in texts for child in el):
                # A container of remembered blocks (the body's paragraphs): their texts and
                # tails in order, as itertext() reads them, without reading them again.
                parts = [el.text or ""]
                for child in el:
                    parts.append(texts[child])
                    parts.append(child.tail or "")
                found = "".join(parts)
            else:
                found = "".join(el.itertext())
            texts[el] = found
        return found

    def is_body_candidate(self, el: etree._Element) -> bool:
        """``itemprop=articleBody``, ``<article>``, or div/section/main with a body-like class."""
        return (
            el.tag == "article"
            or el in self.itemprop_body
            or (el.tag in _CONTAINER_TAGS and bool(class_kinds(el) & _BODY))
        )

    def names_body(self, el: etree._Element) -> bool:
        """Whether ``el`` says it is the body (``itemprop=articleBody``, a body-like class)."""
        return el in self.itemprop_body or bool(class_kinds(el) & _BODY)

    @property
    def bylines(self) -> list[etree._Element]:
        """Elements whose class/id says byline or author (asked only when metadata has none)."""
        if self._bylines is None:
            self._find_bylines_and_rubrics()
        assert self._bylines is not None
        return self._bylines

    @property
    def rubrics(self) -> list[etree._Element]:
        """Elements whose class/id says rubric (asked only when metadata has no section)."""
        if self._rubrics is None:
            self._find_bylines_and_rubrics()
        assert self._rubrics is not None
        return self._rubrics

    def _find_bylines_and_rubrics(self) -> None:
        """Both kinds in one walk: the rubric tags are among the byline tags, and a page that
        asks for one (no author, no section in its metadata) most often asks for the other."""
        bylines: list[etree._Element] = []
        rubrics: list[etree._Element] = []
        for el in self.doc.iter(*_BYLINE_OR_RUBRIC_TAGS):
            kinds = class_kinds(el)
            if kinds & _BYLINE and el.tag in xpaths.BYLINE_TAGS:
                bylines.append(el)
            if kinds & _RUBRIC and el.tag in xpaths.RUBRIC_TAGS:
                rubrics.append(el)
        if self._bylines is None:
            self._bylines = bylines
        if self._rubrics is None:
            self._rubrics = rubrics

    def leads(self) -> list[etree._Element]:
        """``<p>`` and ``<div>`` blocks whose class/id names the article's lead, outside
        boilerplate, teaser cards and readers' comments, after the page's first ``<h1>`` (asked
        only when metadata has no summary)."""
        headline_blocks = {anc for h in self.headings for anc in h.iterancestors()}
        after_headline = not self.headings
        found = []
        for el in self.doc.iter("h1", "p", "div"):
            if el.tag == "h1":
                after_headline = True
            if not after_headline or not class_kinds(el) & _LEAD:
                continue
            around = [el, *el.iterancestors()]
            if any(a.tag == "a" or _kind_of_aside(a) for a in around):
                continue
            if not _in_comments(el, headline_blocks):
                found.append(el)
        return found

    def position(self, el: etree._Element) -> int:
        """Document position of an element (one walk, made only when a page needs ordering)."""
        if self._position is None:
            self._position = {e: i for i, e in enumerate(self.doc.iter(etree.Element))}
        return self._position.get(el, 0)

    def boilerplate(self, container: etree._Element) -> set[etree._Element]:
        """Share bars, related boxes, captions, bylines and the like under ``container``."""
        found = self._boilerplate.get(container)
        if found is None:
            found = set()
            for el in container.iterdescendants(etree.Element):
                # Not @hidden or display:none: paywalled sites serve the full text hidden so.
                if el.get("role") in xpaths.BOILERPLATE_ROLES or el.get("aria-hidden") == "true":
                    if el not in self.itemprop_body:
                        found.add(el)
                    continue
                kinds = class_kinds(el)
                if kinds & _TEASER and el not in self.itemprop_body and is_teaser_card(el):
                    # "teaser" also names leads (article__teaser): only a linked card is another
                    # story's.
                    found.add(el)
                    continue
                if kinds & _BOILERPLATE and not (
                    kinds & _BODY and el.tag in ("div", "section", "main")
                ):
                    if el not in self.itemprop_body:
                        found.add(el)
                elif el.tag in ("div", "section", "aside", "ul") and (
                    headed_as_comments(el) or headed_as_other_stories(el)
                ):
                    found.add(el)  # readers' comments or other stories that no class names
            self._boilerplate[container] = found
        return found
