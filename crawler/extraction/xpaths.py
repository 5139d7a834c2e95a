"""Every XPath and CSS expression the extraction package uses, compiled once at import."""

from __future__ import annotations

import re

from lxml import etree


def _x(expr: str) -> etree.XPath:
    return etree.XPath(expr, smart_strings=False)


# --- document-level metadata ------------------------------------------------------------------
JSONLD_SCRIPTS = _x("//script[contains(translate(@type, 'LDJSON', 'ldjson'), 'ld+json')]/text()")
META = _x("//meta[@content]")
HTML_LANG = _x("/html/@lang | /html/@xml:lang")
TITLE_TAG = _x("//head/title//text()")
# rel tokens (canonical, icon, image_src, author, tag) are split in Python, see core._by_rel.
LINKS_WITH_REL = _x("//link[@rel][@href]")
# The document's base URL: the first <base> with an href (HTML, "document base URL").
BASE_HREF = _x("(//base[@href])[1]/@href")
ANCHORS_WITH_REL = _x("//a[@rel]")

# The same elements found with lxml's tag-filtered iter(), in document order (a walk in C that
# compares tag names): each XPath above starting with "//" tested every node of the tree the
# slow way, ~10-50 us a page each where these take a few (tests hold each to its XPath).
_LDJSON_LOWER = str.maketrans("LDJSON", "ldjson")
_TEXT_CHILDREN = _x("text()")


def base_hrefs(doc: etree._Element) -> list[str]:
    """``BASE_HREF(doc)``: the href of the first ``<base>`` that has one."""
    for el in doc.iter("base"):
        href = el.get("href")
        if href is not None:
            return [href]
    return []


def meta_elements(doc: etree._Element) -> list[etree._Element]:
    """``META(doc)``: every ``<meta>`` with a ``content`` attribute."""
    return [el for el in doc.iter("meta") if el.get("content") is not None]


def jsonld_scripts(doc: etree._Element) -> list[str]:
    """``JSONLD_SCRIPTS(doc)``: the text nodes of every script whose type says ld+json."""
    found: list[str] = []
    for el in doc.iter("script"):
        kind = el.get("type")
        if kind is not None and "ld+json" in kind.translate(_LDJSON_LOWER):
            found.extend(_TEXT_CHILDREN(el))
    return found


def links_with_rel(doc: etree._Element) -> list[etree._Element]:
    """``LINKS_WITH_REL(doc)``: every ``<link>`` with both ``rel`` and ``href``."""
    return [
        el for el in doc.iter("link") if el.get("rel") is not None and el.get("href") is not None
    ]


def anchors_with_rel(doc: etree._Element) -> list[etree._Element]:
    """``ANCHORS_WITH_REL(doc)``: every ``<a>`` with a ``rel`` attribute."""
    return [el for el in doc.iter("a") if el.get("rel") is not None]


# The owners of the itemprop attributes (an attribute step, then its parent), fewer nodes
# tested than ITEMPROP_ELEMENTS' predicate on every element.
_ITEMPROP_OWNERS = _x("//@itemprop/..")


def itemprop_elements(doc: etree._Element) -> list[etree._Element]:
    """``ITEMPROP_ELEMENTS(doc)``: every element but ``<meta>`` with an ``itemprop``."""
    return [el for el in _ITEMPROP_OWNERS(doc) if el.tag != "meta"]


# --- visible article parts ----------------------------------------------------------------------
TEXT_NODES = _x(
    ".//text()[normalize-space()][not(ancestor::script or ancestor::style or ancestor::noscript)]"
)
# Every text node: TEXT_NODES of an element with no script, style or noscript in or above it
# are these less the blank ones (see page_dates.visible_text_nodes).
ALL_TEXT_NODES = _x(".//text()")
NOT_VISIBLE_TAGS = ("script", "style", "noscript")
# An element's direct text nodes and child elements, in document order.
CHILD_TEXTS_AND_ELEMENTS = _x("text() | *")

ITEMPROP_ELEMENTS = _x("//*[@itemprop and not(self::meta)]")

# Blocks whose text is a paragraph of the body.
BLOCK_TAGS = frozenset({"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "li", "dd"})
# Elements that never carry article text.
DROP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "aside", "footer", "form", "button",
        "figure", "figcaption", "iframe", "svg", "select", "input", "textarea", "label", "video",
        "audio", "picture", "object", "embed", "canvas", "menu", "dialog",
    }
)  # fmt: skip
# --- class/id patterns, matched in one pass over the tree (see classes.py) ------------------------
# Evaluating these as XPath translate()/contains() chains costs ~40 ms on a large page; one Python
# pass with a regex per element costs ~2 ms.
BODY_CLASS = re.compile(
    r"article[-_]?body|article__body|article[-_]?text|article__text|article[-_]?content|"
    r"article__content|story[-_]?body|story[-_]?content|entry[-_]content|post[-_]content|"
    r"post__text|content[-_]text|news[-_]text|material[-_]text|js-mediator-article|"
    r"single-article__main-content|text[-_]content|body[-_]text|rich[-_]text|articletext|"
    # CMS defaults: 1C-Bitrix's news.detail (news-detail, news-detail__text, detail_text),
    # Drupal's body field (field-name-body, field--name-body), WordPress themes' post-body.
    r"news[-_]detail|detail[-_]text|field[-_]+name[-_]+body|entry[-_]body|post[-_]body|"
    r"news[-_]body"
)
# Boilerplate: share bars, related-headline carousels, cookie banners, ads, captions, bylines.
# Not "paywall" or "teaser" alone: many sites wrap the (served) article text itself in those;
# a paywall's or premium offer's overlay, banner or prompt is never text.
BOILERPLATE_CLASS = re.compile(
    r"share|social|related|recommend|read[-_]?also|read[-_]?more|more[-_]news|see[-_]also|"
    r"cookie|consent|gdpr|banner|advert|promo|subscri|newsletter|carousel|slick|"
    r"comments|breadcrumb|caption|credit|rubric|byline|author|meta[-_]info|toolbar|sidebar|"
    r"popup|modal|glavnoe|main-news|incut|visually[-_]hidden|sr[-_]only|"
    r"tagbox|popover|comment[-_]?form|(?:^|[\s_-])comments?(?:$|[\s_-])|"
    r"(?:^|[\s_-])(?:ads?|tags|widget|nav|menu|date|time|footer)(?:$|[\s_-])|(?:^|\s)tag(?:$|\s)|"
    r"tweet|instagram-media|tiktok-embed|sign[-_]?in|info[-_]?box|fact[-_]?box|expandable-box|"
    r"popular|player|disclaimer|^(?:hidden|hide)$|video|gallery|slideshow|bild|image|photo|"
    r"picture|media|access-wall|registration-wall|regwall|"
    r"(?:paywall|premium|paid)[-_]*(?:overlay|banner|prompt|offer|cta|message|notice|popup|"
    r"modal|gate|stub|fade)"
)
# A comment section or one comment (``comment-list``, ``kb-recipe-comment-box``, ``disqus``), on a
# block element only: ``<a class="comments">`` is a link to them, often with the story's date, and
# ``comments-date`` or ``comments-count`` are the story's own metadata.
COMMENT_BLOCK_TAGS = frozenset({"div", "section", "aside", "article", "footer", "ol", "ul", "li"})
COMMENTS_CLASS = re.compile(
    r"(?:^|[\s_-])(?:comments?|kommentare?|commentaires?|комментари[йи])(?:$|\s|[-_](?:list|box|"
    r"section|area|wrap\w*|container|thread|body|content|item|block|widget|holder|\d+)\b)|"
    r"commentlist|disqus",
    re.IGNORECASE,
)
BYLINE_CLASS = re.compile(r"byline|author|autor|avtor")
# Blocks of other stories beside the article: their dates and times are those stories'.
OTHER_STORIES_CLASS = re.compile(
    r"related|read[-_]?also|read[-_]?more|more[-_]news|see[-_]also|also[-_]read|sidebar|"
    r"popular|recommend|most[-_]read|other[-_]news|news[-_]feed"
)
# The article's lead (standfirst) shown as its own block: ``lead``, ``article__lead``,
# ``news-anons``, ``article-intro-text``. The lead word ends the token, so a marketing
# ``lead-form`` or ``leadgen`` box is none.
LEAD_CLASS = re.compile(
    r"(?:^|[-_])(?:lead|lede|leadin|standfirst|intro|announce|anons|excerpt|subtitle|summary)"
    r"(?:[-_]?text)?$"
)
RUBRIC_CLASS = re.compile(r"rubric")
# Cookie and consent banners (class or id): removed before the generic extractor reads a page.
CONSENT_BLOCKS = etree.XPath(
    "//*[re:test(concat(@class, ' ', @id), 'cookie|consent|gdpr', 'i')]",
    namespaces={"re": "http://exslt.org/regular-expressions"},
)
BOILERPLATE_ROLES = frozenset({"navigation", "complementary", "banner", "contentinfo"})
BYLINE_TAGS = frozenset({"span", "div", "p", "a", "address", "li"})
RUBRIC_TAGS = frozenset({"a", "span", "div", "p"})
