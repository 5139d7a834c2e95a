"""Plain-text cleanup, duplicate keys and detection of failed-extraction values."""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = [
    "MAX_TITLE_CHARS",
    "cap_title",
    "clean_text",
    "dedup_key",
    "is_cut_teaser",
    "is_garbage_value",
    "looks_like_selector",
    "strip_control_chars",
]

# XML 1.0 forbids C0 controls except \t \n \r, plus U+FFFE/U+FFFF; DEL and C1 controls are legal
# in XML but invisible junk in text (usually mojibake), so they go too. U+00AD (soft hyphen) and
# U+FEFF (stray BOM) are invisible and break topic matching inside words ("электро\xadбус").
# Bidi override/embedding/isolate controls allow spoofing; LRM/RLM marks are harmless and stay.
_UNPRINTABLE_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\u202a-\u202e\u2066-\u2069"
_CONTROL_RE = re.compile(f"[{_UNPRINTABLE_CHARS}\u00ad\ufeff]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Either of the two above: clean text (nearly all of it) is scanned once and returned as is.
_UNSAFE_RE = re.compile(_CONTROL_RE.pattern[:-1] + "\ud800-\udfff]")
_ZERO_WIDTH_RE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_LINE_BREAK_RE = re.compile("\r\n|[\r\u2028]")
_PARAGRAPH_SPLIT_RE = re.compile(r"\n[^\S\n]*\n\s*")
_SPACE_RE = re.compile(r"\s+")
_ENTITY_RE = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")
# A dropcap rendered as its own element glues the first letter to the next word ("В15 ...").
# Only the one-letter prepositions В/С/К/У/О before a bare number and a lowercase word are split, at
# the start of a paragraph: "Витамин В12", "Т1" or "С1 продлят до..." inside a sentence stay as is.
_GLUED_INITIALS = frozenset("ВСКУО")
#: The letters a cleaned text may start with and get a space after (the rule reads past them).
GLUED_INITIALS = _GLUED_INITIALS
_GLUED_LEAD_RE = re.compile(r"^([ВСКУО])(\d+)(?= [а-яё])")

_XPATH_RE = re.compile(
    r"^\(?/html/|^\(?//(?:\*|[a-z][\w-]*(?:[\[/()]|$))|/@[\w:-]+|@href\b|\[@[\w:-]+\s*[=\]]"
    r"|/text\(\)|\b(?:normalize-space|string|concat)\(\s*[./@]"
)
# The config's own selector syntax ("xpath://h1 | //title", "css:h1.title"): a rule copied
# into a value, whatever follows the prefix.
# "CSS: новый стандарт" and "CSS: new standard" are headlines: after "css:" only selector
# characters to the end, and either one word or a selector's own punctuation (. # [ > * :).
_RULE_PREFIX_RE = re.compile(
    r"^\s*(?:xpath:\s*[/(.@]"
    r"|css:\s*(?:[a-z.#\[*][\w.#\[\]=\"'()*^$|~>+:,-]*"
    r"|(?=[^.#\[>*:]*[.#\[>*:])[a-z.#\[*][\w.#\[\]=\"'()*^$|~>+:, -]*)$)",
    re.I | re.A,
)
# Template syntaxes (Jinja/Django, JS, ERB/ASP, PHP, Smarty) and the placeholders CMSs substitute:
# %TITLE% and Yoast's %%title%%, [[title]], $TITLE$, Bitrix's #TITLE#, __TITLE__. A placeholder
# name is an ASCII identifier right after its opening mark, so «100% электробусов», «Скидки 50%»,
# hashtags («#безопасность»), C# and Python's __init__ (lowercase) are text.
_TEMPLATE_RE = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|\$\{[^}]*\}|<%.*?%>|<\?(?:php\b|=).*?\?>|\{\$[\w.]+\}"
    r"|(?<![\w%])%{1,2}[A-Za-z_][\w.]*%{1,2}(?![\w%])"
    r"|\[\[\s*[A-Za-z_][\w.]*\s*\]\]"
    r"|(?<!\w)\$[A-Za-z_][\w.]*\$(?!\w)"
    r"|(?<!\w)#[A-Z][A-Z0-9_]*#(?!\w)"
    r"|(?<!\w)__[A-Z][A-Z0-9_]*__(?!\w)",
    re.S | re.A,
)
_CSS_TAGS = (
    "a|article|div|footer|h[1-6]|header|img|li|link|main|meta|ol|p|section|span|time|ul|figure"
)
_CSS_MARKERS_RE = re.compile(
    rf"(?:^|[\s>+~,])(?:{_CSS_TAGS})?\[[a-z][\w:-]*(?:[~|^$*]?=\s*[\"']?[^\]]*)?\]"
    rf"|::(?:text|attr\()|:nth-(?:child|of-type)\("
    rf"|^(?:{_CSS_TAGS})(?:\s*[>+~ ]\s*(?:{_CSS_TAGS}))+$"
    rf"|^(?:{_CSS_TAGS})[.#][a-z_-]"
    rf"|^[.#][a-z][\w]*[-_][\w-]*(?:\s|$)"
)
_PLACEHOLDER_RE = re.compile(
    r"^(?:загрузка|loading|undefined|null|none|nan|nil|\[object object\]|lorem ipsum.*)"
    r"\s*(?:\.{1,3}|…)?$",
    re.I | re.S,
)


# Leaked selectors, templates and placeholders are short: a failed extraction returns the
# expression itself ("//div[@class='x']/text()", "{{ title }}", "Загрузка..."), never an article
# around one. A value longer than this is judged by its head alone; cleaning and scanning the
# whole of a 15 KB article text cost ~2.5 ms per page in validation for the same verdict.
GARBAGE_SCAN_CHARS = 1000


#: What a configured text may not hold: what _CONTROL_RE removes but the invisible soft hyphen
#: and stray BOM (harmless: published texts leave them out), and lone surrogates.
_UNPRINTABLE_RE = re.compile(f"[{_UNPRINTABLE_CHARS}\ud800-\udfff]")


def first_unprintable(value: str) -> str | None:
    """The first character of ``value`` a configured text may not hold, or None."""
    found = _UNPRINTABLE_RE.search(value)
    return found.group() if found else None


def strip_control_chars(value: str) -> str:
    """Remove XML-illegal/invisible control chars, bidi overrides and lone surrogates."""
    # Every character removed here is unprintable: a text that is printable once its line breaks
    # are spaces (most lines, and HTML) has none, and str.isprintable() tells so several times
    # faster than the regex search.
    if value.replace("\n", " ").isprintable():
        return value
    return _remove_unsafe(value)


def _remove_unsafe(value: str) -> str:
    """:func:`strip_control_chars` of a value already known not to be printable."""
    if _UNSAFE_RE.search(value) is None:
        return value
    if _SURROGATE_RE.search(value):
        # A surrogate *pair* left in a str (e.g. after surrogatepass) becomes one astral char; a
        # lone one cannot be serialised by lxml, so it is dropped.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    # NEL, the one C1 control that is a line break, separates words: a space, not nothing.
    return _CONTROL_RE.sub("", value.replace("\x85", " "))


def _unescape(value: str) -> str:
    # Bounded fixpoint: feeds double-escape ("&amp;amp;"), but a third level is real text.
    for _ in range(2):
        if "&" not in value or not _ENTITY_RE.search(value):
            break
        unescaped = html.unescape(value)
        if unescaped == value:
            break
        value = unescaped
    return value


def _collapse(paragraph: str, *, printable: bool = False) -> str:
    # ``printable``: the caller has just seen ``paragraph.isprintable()``, not checked again.
    if (printable or paragraph.isprintable()) and _is_spaced(paragraph):
        text = paragraph  # what splitting and joining would return, without a string per word
    else:
        # str.split() splits on exactly what \s matches (str.isspace), several times faster.
        text = " ".join(paragraph.split())
    return _GLUED_LEAD_RE.sub(r"\1 \2", text) if text[:1] in _GLUED_INITIALS else text


def _is_spaced(text: str) -> bool:
    """Whether ``text``'s spaces are single and between words (other whitespace aside).

    Every whitespace character but the space is unprintable, so in a printable text this
    means its only whitespace is single spaces between words: collapsed already.
    """
    return "  " not in text and text[:1] != " " and text[-1:] != " "


def clean_text(value: str | None, *, multiline: bool = False) -> str:
    """Normalise text: NFC, entities unescaped (≤2×), control chars removed, whitespace collapsed.

    With ``multiline`` blank-line separated paragraphs are kept, joined by ``"\\n\\n"``; single
    newlines inside a paragraph become spaces. A paragraph starting with a one-letter preposition
    glued to a number ("В15 межотраслевых") gets the missing space back.
    """
    if not value:
        return ""
    text = _unescape(value)
    if not multiline:
        # Collapsing turns newlines into spaces anyway, and neither takes part in NFC (no
        # character decomposes to one): the text with spaces for its newlines collapses alike.
        flat = text.replace("\n", " ")
        if flat.isprintable():
            # Most values: nothing for strip_control_chars to remove (it tests this same string)
            # and no whitespace but spaces. NFC's quick check returns such a text itself, so
            # the one pass over its characters above stands for the two it would otherwise get.
            normalized = unicodedata.normalize("NFC", flat)
            return _collapse(normalized, printable=normalized is flat)
        text = _remove_unsafe(text)
    else:
        text = strip_control_chars(text)
    # Unicode spaces (NBSP, thin, ideographic...) are matched by \s and collapse to " " below.
    text = unicodedata.normalize("NFC", text)
    if not multiline:
        return _collapse(text)
    text = _LINE_BREAK_RE.sub("\n", text).replace("\u2029", "\n\n")
    paragraphs = (_collapse(p) for p in _PARAGRAPH_SPLIT_RE.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def dedup_key(value: str) -> str:
    """Key for duplicate detection: cleaned, zero-width chars removed, casefolded, ё→е."""
    text = _ZERO_WIDTH_RE.sub("", clean_text(value))
    return _SPACE_RE.sub(" ", text.casefold().replace("ё", "е")).strip()


# How feeds mark a description cut short: an ellipsis, bracketed or not, or a "read on" link.
_CUT_MARK_RE = re.compile(
    r"(?:\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)|\s+(?:читать\s+далее|читать\s+полностью|"
    r"подробнее|read\s+more|continue\s+reading)\W*)\s*$",
    re.IGNORECASE,
)


def is_cut_teaser(summary: str, text: str) -> bool:
    """Whether ``summary`` is the start of ``text`` cut short by its feed ("Маршрут трамвая…").

    A feed's description is often the article's first words and an ellipsis or "read more":
    the text's own first sentences say the same, whole. Only a summary whose words (the mark
    left out) begin the text counts: an editor's teaser that ends in "…" says something else.
    """
    match = _CUT_MARK_RE.search(summary)
    if match is None or not text:
        return False
    head = dedup_key(summary[: match.start()])
    return len(head) >= 3 and dedup_key(text[: len(summary) * 2]).startswith(head)


def is_garbage_value(value: str | None) -> bool:
    """True if an extracted value is empty, a placeholder, a leaked selector/template or no text.

    Values without any letter or digit (only punctuation/symbols) count as garbage too. Only
    the first ``GARBAGE_SCAN_CHARS`` characters are examined (see there why).
    """
    if value is None:
        return True
    if len(value) > GARBAGE_SCAN_CHARS:
        value = value[:GARBAGE_SCAN_CHARS]
    text = clean_text(value)
    if not text:
        return True
    if not any(ch.isalnum() for ch in text):
        return True
    return _PLACEHOLDER_RE.match(text) is not None or _looks_like_expression(text)


def looks_like_selector(value: str) -> bool:
    """True if ``value`` holds a leaked selector or template (``//h1/text()``, ``{{ title }}``,
    ``css:h1.title``): an extraction rule that was never evaluated, not a missing value."""
    return _looks_like_expression(clean_text(value[:GARBAGE_SCAN_CHARS]))


# Characters without which a pattern cannot match anywhere: each alternative of _TEMPLATE_RE
# needs one of the first, each of _XPATH_RE one of the second, and each unanchored one of
# _CSS_MARKERS_RE one of the third. Most values (a headline, a lead) have none, and a few
# substring tests (memchr) cost far less than the patterns' search, which tries every
# alternative at every position: ~0.3 ms per page for the ~13 values a page validates.
_TEMPLATE_CHARS = "{$<%[#_"
_XPATH_CHARS = "/@("
_CSS_UNANCHORED_CHARS = "[:"


def _has_any(text: str, chars: str) -> bool:
    for ch in chars:
        if ch in text:
            return True
    return False


def _looks_like_expression(text: str) -> bool:
    if (
        _RULE_PREFIX_RE.match(text)
        or (_has_any(text, _TEMPLATE_CHARS) and _TEMPLATE_RE.search(text))
        or (_has_any(text, _XPATH_CHARS) and _XPATH_RE.search(text))
    ):
        return True
    if not text.isascii():
        return False
    # Without "[" or ":" only the alternatives anchored at the start (``^``, no re.M) can match,
    # and a match at the start is all they can give.
    if _has_any(text, _CSS_UNANCHORED_CHARS):
        return _CSS_MARKERS_RE.search(text) is not None
    return _CSS_MARKERS_RE.match(text) is not None


#: Longest title kept (characters): headlines run to ~150; a longer "title" is a lead or a
#: whole paragraph the page put in its heading, and would flood every reader's list.
MAX_TITLE_CHARS = 300


def cap_title(title: str) -> str:
    """``title`` cut at a word to at most :data:`MAX_TITLE_CHARS` characters, ending with "…".

    When articles are stored (crawler.pages) and, for titles stored before the cap, when feeds
    are built (feeds.content.clean_title): the same cut in both places.
    """
    if len(title) <= MAX_TITLE_CHARS:
        return title
    head = title[: MAX_TITLE_CHARS - 1]
    cut = head.rsplit(" ", 1)[0] if " " in head[MAX_TITLE_CHARS // 2 :] else head
    return cut.rstrip(" ,;:.—-") + "…"
