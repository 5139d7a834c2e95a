"""Cheaper checks of the extraction workers, held to the plain definitions they replace."""

from __future__ import annotations

import random

import pytest
from lxml import etree

from crawler.extraction import body, xpaths
from crawler.extraction.core import parse_document
from crawler.extraction.page_dates import visible_text_nodes, visible_text_nodes_around
from crawler.extraction.page_fields import _GENERIC_AUTHOR_MARKERS, has_generic_author_marker


def _markers_by_substring(html_bytes: bytes) -> bool:
    """The definition: one substring search per marker in the lower-cased page."""
    lowered = html_bytes.lower()
    return any(marker in lowered for marker in _GENERIC_AUTHOR_MARKERS)


def _random_pages(seed: int, count: int) -> list[bytes]:
    """Pages of markup, Cyrillic, stray bytes and marker fragments in random order."""
    rng = random.Random(seed)
    pieces = [
        b"<div class='",
        b"'>",
        b"</div>",
        "Новости города ".encode(),
        b"\xd0",
        b"\xff\xfe",
        b"-",
        b" ",
        b"AUTH",
        b"auth",
        b"Or",
        b"or",
        b"by",
        b"B",
        b"l",
        b"posted",
        b"name",
        b"screen",
        b"CHANNEL",
        b"zuo",
        b"zhe",
        b"Journal",
        b"ist",
        b"writ",
        b"er",
    ]
    return [b"".join(rng.choices(pieces, k=rng.randint(0, 60))) for _ in range(count)]


@pytest.mark.parametrize("marker", _GENERIC_AUTHOR_MARKERS)
def test_each_marker_is_found_in_any_case_and_place(marker: bytes) -> None:
    for page in (marker, marker.upper(), b"<p>" + marker.title() + b"</p>", "ы".encode() + marker):
        assert has_generic_author_marker(page)
    assert not has_generic_author_marker(marker[:-1] + b" " + marker[-1:])


def test_author_markers_as_the_substring_searches_found_them() -> None:
    pages = _random_pages(15, 3000)
    found = [_markers_by_substring(page) for page in pages]
    assert 300 < sum(found) < 2700  # both answers are exercised
    assert [has_generic_author_marker(page) for page in pages] == found


def test_every_consent_phrase_holds_the_letter_checked_first() -> None:
    assert all(body._CONSENT_LETTER in phrase for phrase in body._CONSENT_WORDS)
    assert body._CONSENT_LETTER == "e"
    # is_furniture looks for "e" or "E" before lower-casing a long line: no other character
    # lower-cases to anything holding an "e".
    assert [c for c in map(chr, range(0x110000)) if "e" in c.lower()] == ["E", "e"]


def test_consent_words_as_the_substring_searches_found_them() -> None:
    rng = random.Random(600)
    words = [
        *body._CONSENT_WORDS,
        "новый маршрут электробуса",
        "externen",
        "inhalt",
        "ich bin",
        "für den",
        "Е",  # Cyrillic capital Ie, not a Latin E
        "E",
        " ",
    ]
    for _ in range(3000):
        lowered = " ".join(rng.choices(words, k=rng.randint(0, 12))).lower()
        expected = any(phrase in lowered for phrase in body._CONSENT_WORDS)
        assert body.has_consent_words(lowered) is expected


@pytest.mark.parametrize(
    "inner",
    [
        "<p>Текст</p>\n  <p> \t </p><p>\xa0</p><div>\r\n<b>жирный</b> хвост\n</div>",
        "<p>Текст</p><script>var a = 1;</script> хвост <style>p {}</style>",
        "<noscript><p>Включите JavaScript</p></noscript><p>Текст</p>",
        "<p>Текст <span>и <i>курсив</i></span></p> <!-- комментарий --> конец",
    ],
)
@pytest.mark.parametrize("around", ["<main>{}</main>", "<noscript><main>{}</main></noscript>"])
def test_visible_text_nodes_as_the_xpath_finds_them(inner: str, around: str) -> None:
    html = f"<html><body>{around.format('<article><h1>Заголовок</h1>' + inner + '</article>')}"
    doc, _, _ = parse_document((html + "</body></html>").encode(), "utf-8")
    assert doc is not None
    for node in doc.find(".//h1").iterancestors():
        assert visible_text_nodes(node) == xpaths.TEXT_NODES(node)
    _assert_levels_around_the_headline(doc)


def _assert_levels_around_the_headline(doc: etree._Element) -> None:
    """Each level around the headline read from the one inside it, as _texts_around_title
    reads them: the text nodes the XPath finds under that level."""
    inner = doc.find(".//h1")
    nodes = visible_text_nodes(inner)
    for node in inner.iterancestors():
        nodes = visible_text_nodes_around(node, inner, nodes)
        assert nodes == xpaths.TEXT_NODES(node)
        inner = node


@pytest.mark.parametrize("seed", range(4))
def test_text_nodes_around_an_inner_block_as_the_xpath_finds_them(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [
        "<div>", "</div>", "<p>", "</p>", "<b>", "</b>", "<br>", " ", "\n\t", "слово ", "tail ",
        "<script>var x;</script>", "<style>p{}</style>", "<noscript>включите</noscript>",
        "<!-- c -->", "<aside>", "</aside>", "\xa0",
    ]  # fmt: skip
    for _ in range(150):
        parts = rng.choices(pieces, k=30)
        cut = rng.randint(0, len(parts))
        html = "".join(parts[:cut]) + "<h1>Заголовок</h1>" + "".join(parts[cut:])
        doc, _, _ = parse_document(f"<html><body>{html}</body></html>".encode(), "utf-8")
        assert doc is not None
        _assert_levels_around_the_headline(doc)


def test_the_control_byte_check_covers_what_the_scans_it_skips_look_for() -> None:
    # A page with none of core._CONTROL_BYTES skips looks_binary and the removal of the controls
    # XML forbids: both must find nothing in it.
    from crawler.extraction import core
    from crawler.normalize import encoding

    controls = b"".join(core._CONTROL_BYTES)
    assert set(encoding._BINARY_BYTES) <= set(controls)
    assert set(core._XML_FORBIDDEN_CONTROLS) | {0x0C} == set(controls)
    assert not set(controls) & set(b"\t\n\r")


@pytest.mark.parametrize("seed", range(3))
def test_pages_with_and_without_control_bytes_parse_as_before(seed: int) -> None:
    # The tree parsed from a page is the tree of its bytes with the forbidden controls removed
    # and form feeds made spaces, whether or not the page holds any.
    from lxml import etree

    from crawler.extraction import core

    rng = random.Random(seed)
    pieces = ["<p>", "</p>", "Текст ", "text ", "\t", "\n", "\r", "&amp;"]
    for _ in range(200):
        # At most two controls among ~200 bytes: text with stray controls, not binary data.
        controls = rng.choices(["", "\x0c", "\x01", "\x1b", "\x1f"], k=2)
        parts = rng.choices(pieces, k=40) + controls
        rng.shuffle(parts)
        html = "<html><body>" + "".join(parts) + "</body></html>"
        raw = html.encode()
        doc, _data, flags = parse_document(raw, "utf-8")
        expected = raw.translate(core._FORM_FEED_TO_SPACE, core._XML_FORBIDDEN_CONTROLS)
        assert doc is not None and not flags
        assert etree.tostring(doc) == etree.tostring(etree.fromstring(expected, core._PARSER))


@pytest.mark.parametrize("seed", range(3))
def test_remembered_texts_are_the_texts_lxml_reads(seed: int) -> None:
    # The page's ClassIndex remembers each element's text for the body heuristic: its blocks
    # and totals are what the plain reads give.
    from crawler.extraction.classes import ClassIndex

    rng = random.Random(seed)
    pieces = ["<p>", "</p>", "<b>", "</b>", "<br>", "<script>x</script>", "<div>", "</div>"]
    words = ["Текст ", "text ", " ", "\n", "слово. "]
    for _ in range(100):
        parts = rng.choices(pieces, k=20) + rng.choices(words, k=30)
        rng.shuffle(parts)
        html = "<html><body><article>" + "".join(parts) + "</article></body></html>"
        doc, _, _ = parse_document(html.encode(), "utf-8")
        assert doc is not None
        index = ClassIndex(doc)
        article = next(doc.iter("article"))
        skip: set = set()
        for el in doc.iter():
            assert index.text(el) == "".join(el.itertext())
            assert body._text_of(el, skip, index) == body._text_of(el, skip)
        # Children first: a parent's text is then joined from theirs.
        composed = ClassIndex(doc)
        for el in reversed(list(doc.iter())):
            assert composed.text(el) == "".join(el.itertext())
        assert body._paragraph_text(doc, index) == body._paragraph_text(doc)
        assert body._collect(article, skip, index) == body._collect(article, skip)


def test_letters_counted_in_cp1251_as_by_deleting_non_letters() -> None:
    # Every character cp1251 encodes, and others it does not (the fallback), mixed at random.
    from crawler.extraction import fields

    alphabet = [
        *bytes(range(256)).decode("cp1251", "ignore"),
        "ä", "ß", "中", "²", "٣", "Ⅻ", "\u0301", "ǅ", "\u2028", "😀", "ё", "ї",
    ]  # fmt: skip
    rng = random.Random(1251)
    for k in range(3000):
        pool = alphabet if k % 2 else alphabet[:255]  # half of them encodable
        text = "".join(rng.choices(pool, k=rng.randint(0, 80)))
        assert fields._letter_count(text) == len(fields._NOT_LETTERS.sub("", text))


def test_author_markers_with_any_byte_in_any_place() -> None:
    # The marker search ignores case on bytes read as Latin-1: no byte but a marker letter's
    # own two cases may stand for it.
    for marker in _GENERIC_AUTHOR_MARKERS:
        for at in range(len(marker)):
            for byte in range(256):
                page = b"<p>" + marker[:at] + bytes([byte]) + marker[at + 1 :] + b"</p>"
                assert has_generic_author_marker(page) == _markers_by_substring(page)
        assert has_generic_author_marker(marker.upper())


_ITER_FINDERS = [
    (xpaths.base_hrefs, xpaths.BASE_HREF),
    (xpaths.meta_elements, xpaths.META),
    (xpaths.jsonld_scripts, xpaths.JSONLD_SCRIPTS),
    (xpaths.links_with_rel, xpaths.LINKS_WITH_REL),
    (xpaths.anchors_with_rel, xpaths.ANCHORS_WITH_REL),
    (xpaths.itemprop_elements, xpaths.ITEMPROP_ELEMENTS),
]


def _random_heads(seed: int, count: int) -> list[str]:
    """Pages of the elements those XPaths look for, with and without their attributes."""
    rng = random.Random(seed)
    pieces = [
        '<base href="/x/">', "<base>", '<base href="">', '<meta content="c">', '<meta name="n">',
        '<meta itemprop="name" content="m">', '<script type="application/LD+JSON">{"a": 1}',
        '<script type="Application/ld+json">[1]', '<script type="text/javascript">var a;',
        '<script type="application/ld+json"></script>', "<script>x</script>", "</script>",
        '<link rel="canonical" href="/c">', '<link rel="icon">', '<link href="/h">',
        '<a rel="author" href="/a">', "<a>", '<a rel="">', "</a>", '<span itemprop="author">',
        '<div itemprop="">', '<p itemprop="articleBody">', "<p>", "</p>", "<div>", "</div>",
        "<svg><a rel='x'>", "текст ",
    ]  # fmt: skip
    return [
        "<html><head>" + "".join(rng.choices(pieces, k=25)) + "</head><body>"
        + "".join(rng.choices(pieces, k=25)) + "</body></html>"
        for _ in range(count)
    ]  # fmt: skip


@pytest.mark.parametrize(("finder", "definition"), _ITER_FINDERS)
def test_iter_finders_find_what_their_xpath_finds(finder: object, definition: object) -> None:
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    pages = [p.encode() for p in _random_heads(7, 300)]
    pages += [p.read_bytes() for p in sorted(fixtures.rglob("*.html"))]
    found = 0
    for page in pages:
        doc, _, _ = parse_document(page, "utf-8")
        if doc is None:
            continue
        expected = definition(doc)  # type: ignore[operator]
        assert finder(doc) == expected  # type: ignore[operator]
        found += bool(expected)
    assert found > 100


def _plain_window(raw: str, title_text: str) -> tuple[str, int]:
    """The window around the headline as it was cut from the whole cleaned text."""
    from crawler.extraction.page_dates import _NEAR_TITLE_CHARS
    from crawler.normalize.text import clean_text

    text = clean_text(raw)
    anchor = max(text.find(title_text), 0)
    start = max(0, anchor - _NEAR_TITLE_CHARS // 4)
    return text[start : start + _NEAR_TITLE_CHARS], anchor - start


@pytest.mark.parametrize("seed", range(4))
def test_the_window_around_the_headline_from_the_cleaned_head_as_from_the_whole(
    seed: int,
) -> None:
    # Entities, spaces of every kind, soft hyphens and controls, combining marks, glued
    # initials and the headline anywhere (or nowhere): the same window and offset.
    from crawler.extraction.page_dates import window_around_title
    from crawler.normalize.text import clean_text

    rng = random.Random(seed)
    words = [
        "слово", "текст", "В15", "С1", "лет", "&amp;", "&amp;amp;", "&#1086;", "&shy;", "&lt;",
        "&nbsp;", "&", "\xa0", "\u2009", "\n", "\t", "  ", "\xad", "\x85", "\u200b", "е\u0308",
        "\u0301", "x\u0316\u0301", "обновлено", "12.05.2024", "\ufeff", "\u2028",
    ]  # fmt: skip
    title = "Заголовок новости о транспорте"
    for _ in range(150):
        parts = rng.choices(words, k=rng.randint(0, 4000))
        if rng.random() < 0.8:
            parts.insert(rng.randint(0, len(parts)), title)
        raw = " ".join(parts)
        title_text = clean_text(title)
        assert window_around_title(raw, title, title_text) == _plain_window(raw, title_text)


def test_bylines_and_rubrics_found_in_one_walk_as_in_two() -> None:
    from pathlib import Path

    from crawler.extraction import classes

    def plain(doc: object, tags: frozenset[str], kind: int) -> list[object]:
        return [el for el in doc.iter(*tags) if classes.class_kinds(el) & kind]  # type: ignore[attr-defined]

    rng = random.Random(11)
    pieces = [
        '<span class="byline">', '<div class="author rubric">', '<p class="rubric">',
        '<a class="article-author">', '<address id="avtor">', '<li class="rubric-x">',
        '<h2 class="rubric">', '<section class="byline">', "</span>", "</div>", "</p>", "</a>",
        "</li>", "текст ",
    ]  # fmt: skip
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    pages = ["".join(rng.choices(pieces, k=30)).encode() for _ in range(200)]
    pages += [p.read_bytes() for p in sorted(fixtures.rglob("*.html"))]
    for page in pages:
        doc, _, _ = parse_document(b"<html><body>" + page + b"</body></html>", "utf-8")
        assert doc is not None
        for first in ("bylines", "rubrics"):
            index = classes.ClassIndex(doc)
            getattr(index, first)  # either may be asked first
            assert index.bylines == plain(doc, xpaths.BYLINE_TAGS, classes._BYLINE)
            assert index.rubrics == plain(doc, xpaths.RUBRIC_TAGS, classes._RUBRIC)
