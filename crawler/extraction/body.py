"""Main text: the source's selector, a fast own heuristic over likely containers, trafilatura."""

from __future__ import annotations

import copy
import html as htmllib
import itertools
import json
import logging
import re
from dataclasses import dataclass

import lxml.html
from lxml import etree
from lxml.etree import _Element as Element

from crawler.extraction import xpaths
from crawler.extraction.classes import ClassIndex, is_boilerplate_class, is_teaser_card
from crawler.normalize.dates import is_date_line
from crawler.normalize.html import sanitize_html
from crawler.normalize.text import clean_text, is_garbage_value

logger = logging.getLogger(__name__)

# Below this many characters the own heuristic is not trusted and the generic extractor runs.
MIN_BODY_CHARS = 250
# A named container (<article>, itemprop=articleBody, a body-like class) may hold a short story
# (the demo site's are ~300 characters with the lead) when it has most of the page's paragraphs.
MIN_NAMED_CHARS = 80
SHORT_STORY_SHARE = 0.6
# A nested container holding this share of its parent's paragraph text is the tighter choice.
NESTED_SHARE = 0.85
# Paragraph-like lines that introduce other stories or ask to subscribe: never body text.
_BOILERPLATE_LINE = re.compile(
    r"^\s*(?:читайте\s+также|читать\s+также|смотрите\s+также|читайте\s+нас|читайте\s+наш|"
    r"подписывайтесь|подпишитесь|ранее\s+сообщалось\s*:|read\s+(?:more|also)|see\s+also|"
    r"(?:также\s+|читайте\s+)?по\s+теме(?=\s*:)|"
    r"lesen\s+sie\s+(?:auch|mehr)|mehr\s+zum\s+thema|auch\s+interessant|related\s*:|"
    r"advertisement|anzeige|реклама|"
    # "Read more/also" in more languages (Polish, Dutch, Italian, Portuguese, Spanish, Zulu).
    r"czytaj\s+(?:więcej|też|także|również)|lees\s+(?:ook|meer)|leggi\s+anche|"
    r"leia\s+(?:também|mais)|lea\s+también|funda\s+(?:olunye|futhi)|"
    # A line linking another story: "Zum Artikel: Tarifrunde im ÖPNV".
    r"zum\s+artikel(?=\s*:))\b",
    re.IGNORECASE,
)
# Short lines that are page furniture whatever container they sit in: photo and agency credits,
# "as of" stamps, video durations, copyright and legal lines, sign-up and subscription pitches,
# consent placeholders of embedded players. Only lines under _SHORT_LINE characters are tested:
# a long paragraph that happens to start with "Photo:" is text.
_SHORT_LINE = 200
_FURNITURE_START = re.compile(
    r"\s*(?:(?:фото|видео|photo|video|foto|bild|image|quelle|source|credit|источник)s?\s*:\s*"
    r"\S.{0,80}$"
    r"|(?:stand|aktualisiert|updated|обновлено|опубликовано|дата\s+публикации|размещено|"
    r"published|publiziert|veröffentlicht|"
    r"uppdaterad|publicerad|oppdatert|publisert|opdateret|publiceret)\s*:?\s*(?:am\s+|on\s+)?\d"
    r"|(?:heute|gestern|today|yesterday|сегодня|вчера)\s*,?\s*\d{1,2}[:.]\d\d\b"
    r"|with\s+files\s+from\b|mit\s+agenturmaterial|this\s+is\s+a\s+breaking\s+news?\s+story"
    r"|(?:dieses\s+thema\s+im\s+programm|über\s+dieses\s+thema\s+berichtete)\b"
    r"|sign\s+(?:up|in)\b|subscribe\b|create\s+an\s+account|got\s+a\s+story|"
    r"for\s+more\s+stories|follow\s+(?:us|[\w.]+\s+on)\b|support\s+(?:local\s+)?journalism|"
    r"jetzt\s+abonnieren|zum\s+kommentieren\s+anmelden"
    # A tag list: "Теги: транспорт, ЖКХ", "Tags: transport" (Russian themes print "Теги" bare).
    r"|(?:теги|тэги)(?:\s*:|\s+[#\w][\w\s,#-]*$)|(?:tags|метки|schlagwörter|schlagworte)\s*:"
    # A line that is only a byline: "Von Nina Magoley", "By Jane Roe", "Текст: Иван Петров".
    r"|(?:von|by|par|автор|текст)\s*:?\s+(?-i:[A-ZÄÖÜА-Я][\w'-]+(?:\s+[A-ZÄÖÜА-Я][\w'-]+){1,3})\s*$)",
    re.IGNORECASE,
)
# Anywhere in a short line (plain substrings of the lower-cased line: a regex search per
# paragraph cost more than the rest of the paragraph's handling).
_CONSENT_WORDS = (
    "externen inhalt", "externer inhalt", "ich bin damit einverstanden",
    "ein klick für den datenschutz", "personenbezogene daten können", "third-party content",
    "third party content", "empfohlener redaktioneller inhalt",
)  # fmt: skip
_CONSENT_LINE = 600
# A letter every consent phrase holds: a line without it (any Cyrillic paragraph) holds none of
# them and is not searched for each (eight searches of a 500-character line cost ~10 us).
_CONSENT_LETTER = "e"
_FURNITURE_WORDS = (
    *_CONSENT_WORDS,
    "copyright", "©", "all rights reserved", "alle rechte vorbehalten", "все права защищены",
    "版权所有", "contributed to this report", "affiliate commission",
    "may earn us a commission", "may earn a commission",
    # Donation pitches and comment rules (phrases a story's own sentence rarely uses).
    "unterstützen sie uns", "community guidelines", "comment policy",
    # Membership pitches of Japanese papers ("this article is for members", "registration is
    # required", "register for free", "articles for members"), not the words alone.
    "記事は会員限定", "会員登録が必要", "無料で会員登録", "会員向け記事",
    # Paywall prompts ("Этот материал доступен только подписчикам. Оформите подписку...").
    "только подписчикам", "только для подписчиков", "оформите подписку", "оформить подписку",
    "доступен по подписке", "доступно по подписке", "купите подписку", "subscribers only",
    "subscribe to read", "subscribe to continue",
)  # fmt: skip
# A cookie banner without a class that names it opens so (a story quoting someone who says
# "we use cookies" does not).
_COOKIE_BANNER_START = re.compile(
    r"\W*(?:мы\s+используем|(?:этот\s+|наш\s+)?сайт\s+использует|we\s+use|this\s+(?:web)?site\s+"
    r"uses|wir\s+verwenden|diese\s+website\s+verwendet|nous\s+utilisons(?:\s+des)?|utilizamos)"
    r"\s+(?:файлы\s+)?cookies?\b",
    re.IGNORECASE,
)
_DURATION = re.compile(r"(?<!\d)\d{1,2}:\d{2}\s*min\b", re.IGNORECASE)  # "02:57 Min."
# A line that is mostly a date stamp ("公開日：2025/01/31 11:30", "14.05.2024, 10:31 Uhr"): a
# dated year and digits for at least this share of its visible characters.
_STAMP_MAX_CHARS = 160
_STAMP_DIGIT_SHARE = 0.4
_DATED_YEAR = re.compile(r"(?:19|20)\d\d\s*[-/.年]\s*\d|\d[./]\s*(?:19|20)\d\d\b")

# A line that is only the label of a related-stories or recommendations block. Where it comes
# after most of the text, the story is over: what follows is other stories' headlines.
_RELATED_LABEL = re.compile(
    r"^\s*[■□●◆▶▼【\[]?\s*(?:related(?:\s+(?:articles?|stories|content|news|coverage))?|more\s+on\s+this\s+story|"
    r"recommended(?:\s+for\s+you)?|you\s+may\s+also\s+like|ähnliche|mehr\s+zum\s+thema|"
    r"more\s+from(?:\s+\S+){0,4}|latest\s+on|subjects|current\s+issue|archivado\s+en|"
    r"más\s+información|sobre\s+la\s+firma|wie\s+hat\s+ihnen\s+dieser\s+artikel\s+gefallen\??|"
    r"das\s+könnte\s+sie\s+auch\s+interessieren|weitere\s+artikel|"
    r"читайте\s+также|другие\s+новости|похожие\s+новости|новости\s+по\s+теме|по\s+теме|"
    r"смотрите\s+также|(?:à\s+)?lire\s+aussi|leer\s+más|te\s+puede\s+interesar|"
    r"関連記事|関連キーワード|おすすめ情報|あわせて読みたい|注目の動画|関連ニュース)\s*[】\]]?\s*:?\s*$",
    re.IGNORECASE,
)
_RELATED_AFTER_SHARE = 0.5
_LOOSE_TEXT_MIN = 40
_GARBAGE_CHECK_CHARS = 160
_P_DOMINANT = 0.6  # share of the container's text inside <p>
_BLANK_LINE = re.compile(r"\n\s*\n")
# A generic "body" of at least this many paragraphs, this share of whose characters are the
# whole text of a link on the page, is a list of headlines: a listing or home page.
LINK_LIST_MIN_LINES = 3
LINK_LIST_SHARE = 0.8


# trafilatura needs lxml.html elements (ours are plain lxml.etree ones, see core._PARSER).
# huge_tree: as deep as the page core._PARSER parsed (see there).
_HTML_PARSER = lxml.html.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True
)


@dataclass
class Body:
    """Extracted body: plain text with blank lines between paragraphs, sanitized HTML, layer."""

    text: str
    html: str
    layer: str
    # The containers the text was taken from (none for the generic and JSON-LD layers).
    sources: tuple[Element, ...] = ()
    # The generic extractor's "body" is the page's links (a section index, a home page): the
    # page is no article, whatever else it has.
    link_list: bool = False

    def source_chars(self) -> int:
        """Characters of text the source containers show, boxes and furniture included."""
        return sum(len(clean_text(_text_of(el, set()))) for el in self.sources)


def _text_of(el: Element, skip: set[Element], index: ClassIndex | None = None) -> str:
    """Text of ``el`` without skipped or never-text descendants (``index``: the page's, whose
    :meth:`~ClassIndex.text` remembers each element's whole text)."""
    if not len(el):
        return index.text(el) if index is not None else el.text or ""
    for d in el.iterdescendants():
        tag = d.tag
        if not isinstance(tag, str) or tag in xpaths.DROP_TAGS or tag == "br" or d in skip:
            break
    else:
        # Nothing to leave out or to turn into a line break (most paragraphs): lxml joins the
        # text in C, several times faster than the walk below.
        return index.text(el) if index is not None else "".join(el.itertext())
    parts: list[str] = []

    def visit(node: Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if (
                isinstance(child.tag, str)
                and child not in skip
                and child.tag not in xpaths.DROP_TAGS
            ):
                if child.tag == "br":
                    parts.append("\n")
                else:
                    visit(child)
            if child.tail:
                parts.append(child.tail)

    visit(el)
    return "".join(parts)


def _link_share(el: Element, text_len: int, skip: set[Element]) -> float:
    if not text_len:
        return 0.0
    # Links inside left-out parts (a "Trending" box the parser nested in an unclosed <p>) are not
    # part of the text being judged.
    linked = sum(
        len("".join(a.itertext())) for a in el.iter("a") if not skip or not _under(a, el, skip)
    )
    return linked / text_len


def _under(node: Element, top: Element, skip: set[Element]) -> bool:
    """Whether ``node`` sits in a skipped element below ``top``."""
    for anc in node.iterancestors():
        if anc is top:
            return False
        if anc in skip:
            return True
    return False


_STRUCTURE_TAGS = xpaths.BLOCK_TAGS | {"div", "section", "article"}
_CONTAINER_TAGS = frozenset({"div", "section", "main", "article"})


def _containers_of_blocks(container: Element) -> set[Element]:
    """Elements under ``container`` that have a block or a div below them (one pass)."""
    found: set[Element] = set()
    for el in container.iterdescendants(etree.Element):
        if el.tag in _STRUCTURE_TAGS:
            for anc in el.iterancestors():
                if anc in found or anc is container:
                    break
                found.add(anc)
    return found


def _direct_text(el: Element) -> str:
    """Text that sits directly in a container (``<div>text<br>text</div>``), not in its blocks."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag in ("b", "strong", "i", "em", "a", "span", "u"):
            parts.append("".join(child.itertext()))
        elif isinstance(child.tag, str) and child.tag == "br":
            parts.append("\n")
        parts.append(child.tail or "")
    return "".join(parts)


# What makes a table row part of a page's layout rather than a row of data: text in blocks.
_ROW_STRUCTURE = xpaths.BLOCK_TAGS | {"table", "div", "section", "article", "ul", "ol"}


def _collect(
    container: Element, skip: set[Element], index: ClassIndex | None = None
) -> list[tuple[str, Element | None, str]]:
    """Body blocks in document order as (tag, element or None for loose text, text).

    With the page's ``index``, a paragraph's text read for the share of text in ``<p>`` (and
    for the container's, by :func:`find_container`) is read from lxml once, not again for its
    block.
    """
    blocks: list[tuple[str, Element | None, str]] = []
    has_blocks = _containers_of_blocks(container)
    # Where the text is written in <p>, loose div text is captions, widgets and UI labels;
    # only div-based pages ("text<br>text") need it.
    p_chars = sum(len(_text_of(p, skip, index).strip()) for p in container.iter("p"))
    all_chars = len(_text_of(container, skip, index).strip())
    loose_ok = p_chars < _P_DOMINANT * all_chars

    def visit(el: Element) -> None:
        loose = _direct_text(el) if loose_ok else ""
        if len(loose.strip()) >= _LOOSE_TEXT_MIN:
            # "text<br><br>text": a blank line between runs of text is a paragraph break.
            blocks.extend(("p", None, part) for part in _BLANK_LINE.split(loose) if part.strip())
        for child in el:
            tag = child.tag
            if not isinstance(tag, str) or child in skip or tag in xpaths.DROP_TAGS or tag == "h1":
                continue
            if tag == "a" and child in has_blocks:
                # A link around headings or paragraphs is a teaser card of another story; the
                # article's own links sit inside its paragraphs.
                continue
            if tag == "article" and is_teaser_card(child):
                continue
            if tag in xpaths.BLOCK_TAGS:
                if tag in ("blockquote", "li") and any(
                    isinstance(d.tag, str) and d.tag in ("p", "li") for d in child.iterdescendants()
                ):
                    visit(child)
                else:
                    blocks.append((tag, child, _text_of(child, skip, index)))
            elif tag == "tr" and not any(
                isinstance(d.tag, str) and d.tag in _ROW_STRUCTURE for d in child.iterdescendants()
            ):
                # A data table's row (a schedule, a list of routes): its cells, in one line.
                cells = (_text_of(c, skip).strip() for c in child if c.tag in ("td", "th"))
                blocks.append(("p", child, " | ".join(c for c in cells if c)))
            elif tag in ("ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "td", "th"):
                visit(child)
            elif tag in ("div", "section") and child not in has_blocks and loose_ok:
                blocks.append(("p", child, _text_of(child, skip)))
            else:
                visit(child)

    visit(container)
    return blocks


def _keep(tag: str, el: Element | None, text: str, skip: set[Element]) -> bool:
    if not text:
        return False
    # The garbage rules (placeholders, leaked selectors) concern short values; a long paragraph
    # is only checked for template markup, which is a cheap substring test.
    if len(text) < _GARBAGE_CHECK_CHARS or "{" in text or "<%" in text:
        if is_garbage_value(text):
            return False
    if is_furniture(text):
        return False
    # Lists of links (related headlines) inside the container are not body text.
    if el is not None and len(text) < 300 and _link_share(el, len(text), skip) > 0.8:
        return False
    return not (tag == "li" and len(text) < 15)


def is_furniture(text: str) -> bool:
    """Whether a paragraph-like line is page furniture rather than article text."""
    if _BOILERPLATE_LINE.match(text):
        return True
    if len(text) >= _SHORT_LINE:
        # Consent placeholders of embeds run longer than other furniture ("An dieser Stelle
        # finden Sie einen ... externen Inhalt ..."): their phrases, up to a few sentences.
        # Lower-cased only when it may hold one: no character but "e" and "E" lower-cases to
        # anything with an "e" (tests check all of Unicode), and every phrase has one.
        return (
            len(text) < _CONSENT_LINE
            and ("e" in text or "E" in text)
            and has_consent_words(text.lower())
        )
    if _FURNITURE_START.match(text) or _COOKIE_BANNER_START.match(text):
        return True
    lowered = text.lower()
    if any(word in lowered for word in _FURNITURE_WORDS):
        return True
    if ":" in text and _DURATION.search(text) is not None:
        return True
    # A dateline in words ("21. November 2026, 05:00 Uhr", "Samstag, 5. Dezember") has too few
    # digits for a stamp: the date parser reads it, and nothing but the date may be left.
    return len(text) < _STAMP_MAX_CHARS and (_is_date_stamp(text) or is_date_line(text))


def has_consent_words(lowered: str) -> bool:
    """Whether a lower-cased line holds a phrase of an embed's consent placeholder."""
    return _CONSENT_LETTER in lowered and any(w in lowered for w in _CONSENT_WORDS)


def _is_date_stamp(text: str) -> bool:
    """Whether a short line is a publication stamp or a metadata dump rather than a sentence."""
    digits = sum(map(str.isdigit, text))
    visible = len(text) - text.count(" ")
    return digits >= _STAMP_DIGIT_SHARE * visible and _DATED_YEAR.search(text) is not None


def _block_html(tag: str, el: Element | None, text: str) -> str:
    if tag == "li" and el is not None:
        return "<li>" + htmllib.escape(text) + "</li>"  # from_elements puts it in its list
    if el is None or tag == "li" or (tag == "p" and el.tag != "p"):
        return "<p>" + htmllib.escape(text) + "</p>"
    # The same boilerplate rules, re-applied to the block, keep the HTML equal to the text; a
    # block with nothing to drop (nearly all) is printed as it is, without a copy.
    if not any(_doomed(d) for d in el.iterdescendants(etree.Element)):
        return etree.tostring(el, encoding="unicode", method="html", with_tail=False)
    clone = copy.deepcopy(el)
    clone.tail = None
    doomed = [d for d in clone.iterdescendants(etree.Element) if _doomed(d)]
    for node in doomed:
        if node.getparent() is not None:
            _drop_tree(node)
    return etree.tostring(clone, encoding="unicode", method="html")


def _doomed(el: Element) -> bool:
    return el.tag in xpaths.DROP_TAGS or is_boilerplate_class(el)


def _drop_tree(node: Element) -> None:
    """Remove ``node`` and its content but keep its tail text (lxml.html's ``drop_tree``)."""
    parent = node.getparent()
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def _paragraph_text(doc: Element, index: ClassIndex | None = None) -> dict[Element, int]:
    """Paragraph text length accumulated on every ancestor of every ``<p>`` (``index``: the
    page's, which remembers each paragraph's text for :func:`_collect`)."""
    totals: dict[Element, int] = {}
    for p in doc.iter("p"):
        n = len((index.text(p) if index is not None else "".join(p.itertext())).strip())
        if n < 20:
            continue
        ancestors = list(p.iterancestors())
        if any(anc.tag == "a" for anc in ancestors):
            # A paragraph inside a link is another story's teaser card (_collect skips those too).
            continue
        for anc in ancestors:
            totals[anc] = totals.get(anc, 0) + n
    return totals


def _split_parts(
    best: Element, candidates: list[Element], totals: dict[Element, int]
) -> list[Element]:
    """Other containers of the same kind as ``best``: bodies split into parts around ads."""
    cls = best.get("class")
    if not cls:
        return []
    return [
        el
        for el in candidates
        if el is not best
        and el.get("class") == cls
        and best not in el.iterancestors()
        and el not in best.iterancestors()
    ]


def _lone_short_body(
    doc: Element, candidates: list[Element], totals: dict[Element, int], index: ClassIndex
) -> Element | None:
    """The page's one clearly delimited short body (a brief of a paragraph or two), if any.

    Sidebars, teaser lists and the legal footer of a page often hold more paragraph text than a
    brief, so the share rule misses it. A container that says it is the body (a body-like class,
    ``itemprop=articleBody``), or the ``<article>`` holding the headline, is still the story when
    it is the only one: every such container holding text lies on one chain of nesting. Listing
    pages show several (one per teaser) and get none. A body written without ``<p>``
    ("text<br><br>text", 1C-Bitrix's detail text) counts its loose text.
    """
    strong = [
        el
        for el in candidates
        if totals[el] >= MIN_NAMED_CHARS
        and (index.names_body(el) or (el.tag == "article" and _holds_headline(el)))
    ]
    if not strong:
        loose = {
            el: len(_direct_text(el).strip())
            for el in doc.iter("div", "section")
            if index.names_body(el)
        }
        # Its own loose text must be most of its text: a container whose text sits in nested
        # blocks (and a hidden headline <span> loose beside them) is no such body.
        strong = [
            el
            for el, n in loose.items()
            if n >= MIN_NAMED_CHARS and n >= _P_DOMINANT * len(clean_text(_text_of(el, set())))
        ]
        totals = loose
    if not strong:
        return None
    # Outer containers first: an ancestor has at least its descendants' total, and on a tie
    # sits higher in the tree.
    strong.sort(key=lambda el: (-totals[el], sum(1 for _ in el.iterancestors())))
    for outer, inner in itertools.pairwise(strong):
        if outer not in inner.iterancestors():
            return None
    # The headline's <article> also holds the date line, byline and tags: the container that
    # names the body inside it is the tighter choice, and a tighter one inside that when it
    # keeps the text.
    chain = [el for el in strong if index.names_body(el)] or strong
    best = chain[0]
    for el in chain[1:]:
        if totals[el] >= NESTED_SHARE * totals[best]:
            best = el
    return best


def _holds_headline(el: Element) -> bool:
    """Whether an ``<h1>`` sits inside ``el``."""
    return next(el.iter("h1"), None) is not None


def find_container(doc: Element, index: ClassIndex) -> tuple[list[Element], bool]:
    """The elements most likely to hold the article body (may be empty), and whether they are
    named (``<article>``, ``itemprop=articleBody``, a body-like class) rather than guessed."""
    totals = _paragraph_text(doc, index)
    # Only ancestors of paragraphs can hold the body: classify those, not every element.
    holders = [el for el in totals if el.tag in _CONTAINER_TAGS or el in index.itemprop_body]
    candidates = [el for el in holders if index.is_body_candidate(el)]
    named = [el for el in candidates if totals[el] >= MIN_BODY_CHARS]
    if not named:
        # A short story (a few sentences) in a named container that holds most of the page's
        # paragraph text is still the story; a lone teaser <article> on a long page is not.
        page_total = max(totals.values(), default=0)
        named = [
            el
            for el in candidates
            if totals[el] >= MIN_NAMED_CHARS and totals[el] >= SHORT_STORY_SHARE * page_total
        ]
    if not named:
        lone = _lone_short_body(doc, candidates, totals, index)
        if lone is not None:
            return [lone], True
    if named:
        # Outer containers first (an ancestor always has at least its descendants' total).
        named.sort(key=lambda el: -totals[el])
        best = named[0]
        # A tighter named container inside the best one is preferred when it keeps the text.
        for el in named[1:]:
            if totals[el] >= NESTED_SHARE * totals[best] and best in el.iterancestors():
                best = el
        return [best, *_split_parts(best, candidates, totals)], True
    body = doc.find("body")
    node = body if body is not None else doc
    if totals.get(node, 0) < MIN_BODY_CHARS:
        return [], False
    # Descend while one child holds nearly all paragraph text: the article is in there.
    while True:
        children = [c for c in node if isinstance(c.tag, str)]
        best_child = max(children, key=lambda c: totals.get(c, 0), default=None)
        if best_child is None or totals.get(best_child, 0) < NESTED_SHARE * totals.get(node, 0):
            return [node], False
        node = best_child


def from_elements(
    elements: list[Element], base_url: str, layer: str, index: ClassIndex
) -> Body | None:
    """Build a body from one or more container (or paragraph) elements."""
    texts: list[str] = []
    htmls: list[str] = []
    lists: list[Element | None] = []  # the list each block is an item of, None for the rest
    seen: set[str] = set()
    for container in elements:
        skip = index.boilerplate(container)
        if container.tag in xpaths.BLOCK_TAGS:
            blocks = [(container.tag, container, _text_of(container, skip))]
        else:
            blocks = _collect(container, skip, index)
        for tag, el, raw in blocks:
            text = clean_text(raw)
            if not _keep(tag, el, text, skip):
                continue
            if text in seen:
                # A repeated block is a caption, pull quote or teaser shown twice, never new text.
                continue
            seen.add(text)
            texts.append(text)
            htmls.append(_block_html(tag, el, text))
            lists.append(el.getparent() if tag == "li" and el is not None else None)
    if not texts:
        return None
    end = _related_block_start(texts)
    texts, htmls = texts[:end], htmls[:end]
    html = sanitize_html(_with_lists(htmls, lists[:end]), base_url)
    return Body("\n\n".join(texts), html, layer, tuple(elements))


def _with_lists(htmls: list[str], lists: list[Element | None]) -> str:
    """The blocks' HTML joined, each run of one list's items inside its ``<ul>`` or ``<ol>``."""
    out: list[str] = []
    current: Element | None = None
    for html, parent in zip(htmls, lists, strict=True):
        if parent is not current:
            if current is not None:
                out.append("</ol>" if current.tag == "ol" else "</ul>")
            if parent is not None:
                out.append("<ol>" if parent.tag == "ol" else "<ul>")
            current = parent
        out.append(html)
    if current is not None:
        out.append("</ol>" if current.tag == "ol" else "</ul>")
    return "\n".join(out)


def _related_block_start(texts: list[str]) -> int:
    """Where the story ends: the first related-stories label after most of the text.

    Labels that are also boilerplate lines ("Читайте также", "Lire aussi") are already gone:
    sites put those inline, mid-story, so they never end it.
    """
    total = sum(len(t) for t in texts)
    seen = 0
    for i, text in enumerate(texts):
        if seen >= _RELATED_AFTER_SHARE * total and _RELATED_LABEL.match(text):
            return i
        seen += len(text)
    return len(texts)


def heuristic(doc: Element, base_url: str, index: ClassIndex) -> Body | None:
    """The fast own main-text heuristic; ``None`` when it finds too little text."""
    containers, named = find_container(doc, index)
    if not containers:
        return None
    if len(containers) > 1:
        containers.sort(key=index.position)
    body = from_elements(containers, base_url, "heuristic", index)
    if body is None or len(body.text) < (MIN_NAMED_CHARS if named else MIN_BODY_CHARS):
        return None
    return body


# Article HTML kept as a JSON string in a script (a React/Next.js or Vue app's hydration state:
# ``"contentHtml":"\u003cp\u003e..."``): the page's markup shows no text until the app runs.
# Scripts are only searched when one of these markers is in them, and only strings of at least
# _SCRIPT_HTML_MIN characters are decoded.
_SCRIPT_HTML_MARK = re.compile(r"\\u003c[pP][\s>\\]|<[pP][\s>]|<\\?/[pP]>")
_SCRIPT_HTML_MIN = 200
# Unrolled (a run of plain characters, then escape + run): ~10x faster than (?:[^"\\]|\\.)*.
_JSON_STRING = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"')
_SCRIPT_PARSER = etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=True
)


def _script_html_strings(code: str, depth: int = 0) -> list[str]:
    """JSON string values in ``code`` that hold HTML with paragraphs (one nesting level more:
    a Next.js flight chunk is a string of JSON whose values are strings again)."""
    found: list[str] = []
    for match in _JSON_STRING.finditer(code):
        raw = match.group(1)
        if len(raw) < _SCRIPT_HTML_MIN or _SCRIPT_HTML_MARK.search(raw) is None:
            continue
        try:
            value = json.loads('"' + raw + '"')
        except ValueError:
            continue
        if value.lstrip().startswith("<"):
            if value.count("<p") >= 2:
                found.append(value)
        elif depth == 0:
            found.extend(_script_html_strings(value, 1))
    return found


def from_scripts(doc: Element, base_url: str) -> Body | None:
    """The longest article body among HTML strings in the page's scripts (JSON-LD excluded)."""
    best: Body | None = None
    for script in doc.iter("script"):
        code = script.text
        if (
            not code
            or len(code) < _SCRIPT_HTML_MIN
            or "ld+json" in (script.get("type") or "").lower()
            or _SCRIPT_HTML_MARK.search(code) is None
        ):
            continue
        for value in _script_html_strings(code):
            wrapped = "<html><body><article>" + value + "</article></body></html>"
            try:
                fragment = etree.fromstring(wrapped.encode("utf-8"), parser=_SCRIPT_PARSER)
            except (etree.ParserError, etree.XMLSyntaxError, ValueError):
                continue
            if fragment is None:
                continue
            found = heuristic(fragment, base_url, ClassIndex(fragment))
            # A story, not a banner or a template with a line or two of markup.
            if found is None or len(found.text) < MIN_BODY_CHARS:
                continue
            if best is None or len(found.text) > len(best.text):
                best = Body(found.text, found.html, "script")
    return best


def generic(html_bytes: bytes, base_url: str) -> tuple[Body | None, object | None]:
    """Run trafilatura on the page's UTF-8 bytes; return the body and its metadata document."""
    from trafilatura import bare_extraction  # deferred: importing it costs ~0.3 s

    try:
        # trafilatura wants lxml.html elements and edits the tree: a fresh parse of the bytes
        # costs about what a deep copy of ours would.
        doc = lxml.html.document_fromstring(html_bytes, parser=_HTML_PARSER)
        links = _link_texts(doc)  # before trafilatura edits the tree
        headlines = _headline_texts(doc)
        _drop_figures(doc)
        result = bare_extraction(doc, url=base_url, with_metadata=True, include_comments=False)
        paragraphs = _generic_paragraphs(result)
        if any(_glues_headline(p, headlines) for p in paragraphs):
            # Below ~250 characters trafilatura falls back to its baseline, which prints the
            # whole <article> as one paragraph: headline, date line, byline, captions and tags
            # glued to the story. Its precision mode has no such fallback and keeps paragraphs.
            doc = lxml.html.document_fromstring(html_bytes, parser=_HTML_PARSER)
            _drop_figures(doc)
            precise = bare_extraction(
                doc, url=base_url, with_metadata=True, include_comments=False, favor_precision=True
            )
            kept = _generic_paragraphs(precise)
            if not kept or any(_glues_headline(p, headlines) for p in kept):
                # Still one block (a table layout is printed as one row): the paragraphs of
                # the block that holds the headline, read as the own heuristic reads them.
                kept = _headline_block_paragraphs(html_bytes, base_url) or kept
            if kept:
                paragraphs = kept
    except Exception:  # trafilatura raises assorted errors on odd markup
        logger.exception("trafilatura failed on %s", base_url)
        return None, None
    if result is None:
        return None, None
    paragraphs = [p for p in paragraphs if not is_furniture(p)]
    link_list = is_link_list(paragraphs, links)
    if not link_list:
        # A line that is the headline or the whole text of a link (a menu item, "← Все
        # новости") tells no story; the headline glued in front of a paragraph is cut off it.
        # A listing's lines are kept: the page is told apart as one by them.
        paragraphs = [_unglue_headline(p, headlines) for p in paragraphs]
        paragraphs = [
            p
            for p in paragraphs
            if p and p not in headlines and not (len(p) < _SHORT_LINE and p in links)
        ]
    paragraphs = paragraphs[: _related_block_start(paragraphs)]
    if not paragraphs:
        return None, result
    # Built from the filtered paragraphs, so the HTML never shows what the text dropped.
    raw_html = "".join(f"<p>{htmllib.escape(p)}</p>" for p in paragraphs)
    body = Body("\n\n".join(paragraphs), sanitize_html(raw_html, base_url), "generic")
    body.link_list = link_list
    return body, result


def _headline_block_paragraphs(html_bytes: bytes, base_url: str) -> list[str]:
    """Paragraphs of the smallest block around the ``<h1>`` that holds a short story's text."""
    doc = lxml.html.document_fromstring(html_bytes, parser=_HTML_PARSER)
    heading = next(doc.iter("h1"), None)
    if heading is None:
        return []
    totals = _paragraph_text(doc)
    for block in heading.iterancestors():
        if totals.get(block, 0) >= MIN_NAMED_CHARS:
            found = from_elements([block], base_url, "generic", ClassIndex(doc))
            return found.text.split("\n\n") if found is not None else []
    return []


def _generic_paragraphs(result: object) -> list[str]:
    """trafilatura's text as cleaned, non-empty lines."""
    text = getattr(result, "text", None) or ""
    return [p for p in (clean_text(line) for line in text.splitlines()) if p]


def _drop_figures(doc: Element) -> None:
    """Remove ``<figure>`` blocks and captions: pictures and credits are never body text (the
    own heuristic leaves them out too, see xpaths.DROP_TAGS); and cookie or consent banners,
    which trafilatura took for the text of a gallery page with no paragraph of its own."""
    for el in list(doc.iter("figure", "figcaption")):
        if el.getparent() is not None:
            _drop_tree(el)
    for el in list(xpaths.CONSENT_BLOCKS(doc)):
        if el.getparent() is not None and next(el.iter("h1"), None) is None:
            _drop_tree(el)


# A headline shorter than this is too common a phrase to tell a dump from a sentence; a dump
# starts with the headline, after at most a menu row.
_HEADLINE_MIN = 12
_GLUED_HEADLINE_WITHIN = 300


def _headline_texts(doc: Element) -> set[str]:
    """The cleaned text of the page's ``<h1>`` headlines (at least a few words long)."""
    texts = set()
    for el in doc.iter("h1"):
        text = clean_text(el.text_content())
        if len(text) >= _HEADLINE_MIN:
            texts.add(text)
    return texts


def _glues_headline(paragraph: str, headlines: set[str]) -> bool:
    """Whether a paragraph holds a headline near its start and more: a block's text dumped
    whole."""
    return any(
        paragraph != h and 0 <= paragraph.find(h, 0, _GLUED_HEADLINE_WITHIN + len(h))
        for h in headlines
    )


def _unglue_headline(paragraph: str, headlines: set[str]) -> str:
    """The paragraph without a headline it starts with."""
    for h in headlines:
        if paragraph.startswith(h) and paragraph != h:
            return paragraph[len(h) :].lstrip(" .:—-")
    return paragraph


def _link_texts(doc: Element) -> set[str]:
    """The cleaned text of every link and headline on the page: lines that tell no story.

    The headline counts with the links: a page cut off after it (a truncated response) leaves
    a "body" of menu links and the headline.
    """
    texts = set()
    for el in doc.iter("a", "h1"):
        text = clean_text(el.text_content())
        if text:
            texts.add(text)
    return texts


def is_link_list(paragraphs: list[str], link_texts: set[str]) -> bool:
    """Whether ``paragraphs`` are mostly whole link texts: headlines of a listing, no story."""
    if len(paragraphs) < LINK_LIST_MIN_LINES:
        return False
    linked = sum(len(p) for p in paragraphs if p in link_texts)
    return linked >= LINK_LIST_SHARE * sum(len(p) for p in paragraphs)
