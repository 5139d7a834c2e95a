"""Tests for crawler.normalize.html: nh3 sanitising against an XSS corpus, and HTML to text."""

from __future__ import annotations

import hashlib
import inspect
import re
from pathlib import Path

import pytest
from lxml import etree

import crawler.normalize.html
from crawler.normalize.html import SANITIZE_POLICY, html_to_text, sanitize_html

BASE = "https://www.m24.ru/news/transport/12122022/1"
XSS_CORPUS = [
    line
    for line in (Path(__file__).parent / "fixtures/normalize/xss.txt")
    .read_text("utf-8")
    .splitlines()
    if line.strip()
]
_FORBIDDEN = re.compile(
    r"<script|<style|<iframe|<object|<embed|<svg|<math|<meta|<base|<form|\son\w+\s*=|javascript:"
    r"|vbscript:|data:|srcset|expression\(|style=",
    re.I,
)


def _well_formed(fragment: str) -> None:
    etree.fromstring(f"<div>{fragment}</div>")  # raises XMLSyntaxError if not XML-safe


def test_corpus_is_big_enough() -> None:
    assert len(XSS_CORPUS) >= 40


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_xss_payload_is_neutralised(payload: str) -> None:
    out = sanitize_html(payload, BASE)
    assert _FORBIDDEN.search(out) is None, out
    _well_formed(out)
    for url in re.findall(r'(?:href|src)="([^"]*)"', out):
        assert url.startswith(("https://", "http://", "mailto:")), out


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Текст</p>", "<p>Текст</p>"),
        (
            '<p>См. <a href="/news/2">новость</a></p>',
            '<p>См. <a href="https://www.m24.ru/news/2" rel="noopener noreferrer nofollow">'
            "новость</a></p>",
        ),
        (
            '<a href="//vm.ru/x" title="T" class="c" id="i" target="_blank">v</a>',
            '<a href="https://vm.ru/x" title="T" rel="noopener noreferrer nofollow">v</a>',
        ),
        (
            '<a href="mailto:info@mymsk.online">почта</a>',
            '<a href="mailto:info@mymsk.online" rel="noopener noreferrer nofollow">почта</a>',
        ),
        ('<a href="javascript:alert(1)">ссылка</a>', "ссылка"),
        ('<a name="anchor">якорь</a>', "якорь"),
        (
            '<img src="/upload/newsfeed/a.jpg" srcset="/b.jpg 2x" alt="Трамвай" width="580" '
            'class="x">',
            '<img src="https://www.m24.ru/upload/newsfeed/a.jpg" alt="Трамвай" width="580" />',
        ),
        ('<img src="data:image/png;base64,iVBOR" alt="пиксель">', ""),
        ('<p>До<img src="javascript:alert(1)">после</p>', "<p>Допосле</p>"),
        ('<img alt="без src">', ""),
        (
            '<img src="a.jpg" width="100px;evil">',
            '<img src="https://www.m24.ru/news/transport/12122022/a.jpg" />',
        ),
        ("<p>a<br>b</p><hr>", "<p>a<br />b</p><hr />"),
        ("<p>1&nbsp;000 рублей</p>", "<p>1&#160;000 рублей</p>"),
        ("<p>A\x00B\x1bC\x0c</p>", "<p>ABC</p>"),
        ("<p>a &lt; b &amp; c</p>", "<p>a &lt; b &amp; c</p>"),
        ("<h1>Заголовок</h1><h2>Подзаголовок</h2>", "Заголовок<h2>Подзаголовок</h2>"),
        ("<div><p>в div</p></div>", "<p>в div</p>"),
        ("<script>alert(1)</script><p>текст</p>", "<p>текст</p>"),
        ("<p>Конец ]]> CDATA</p>", "<p>Конец ]]&gt; CDATA</p>"),
        (
            '<a href="/tag/происшествия">тег</a>',
            '<a href="https://www.m24.ru/tag/%D0%BF%D1%80%D0%BE%D0%B8%D1%81%D1%88%D0%B5%D1%81%D1%82%D0%B2%D0%B8%D1%8F"'
            ' rel="noopener noreferrer nofollow">тег</a>',
        ),
        (
            "<table><tr><th colspan=2>Маршрут</th></tr><tr><td>Т1</td><td>Т2</td></tr></table>",
            '<table><tbody><tr><th colspan="2">Маршрут</th></tr><tr><td>Т1</td><td>Т2</td></tr>'
            "</tbody></table>",
        ),
        (
            '<figure><img src="https://b1.m24.ru/c/1.jpg"><figcaption>Фото</figcaption></figure>',
            '<figure><img src="https://b1.m24.ru/c/1.jpg" /><figcaption>Фото</figcaption></figure>',
        ),
        (
            "<blockquote><q>цитата</q> <cite>автор</cite></blockquote>",
            "<blockquote><q>цитата</q> <cite>автор</cite></blockquote>",
        ),
        ("<p><!-- комментарий -->видимо</p>", "<p>видимо</p>"),
        ("", ""),
        ("   <p> </p> <br> ", ""),
    ],
)
def test_sanitize_html(html: str, expected: str) -> None:
    assert sanitize_html(html, BASE) == expected


def test_sanitize_html_output_is_well_formed_for_xml_feeds() -> None:
    html = (
        '<p>Раз&nbsp;два<br>три <img src="/a.jpg" alt="a > b &quot;c&quot;"></p><hr>'
        "<ul><li>один<li>два</ul><p>незакрытый <b>жирный"
    )
    out = sanitize_html(html, BASE)
    _well_formed(out)
    assert "<li>один</li><li>два</li>" in out


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Первый абзац.</p><p>Второй абзац.</p>", "Первый абзац.\n\nВторой абзац."),
        ("<div>Строка<br>продолжение</div>", "Строка продолжение"),
        ("Старый<br><br>сайт<br/><br/>mosday", "Старый\n\nсайт\n\nmosday"),
        (
            "<h2>Заголовок</h2>Текст <b>жирный</b> и <a href='/x'>ссылка</a>.",
            "Заголовок\n\nТекст жирный и ссылка.",
        ),
        ("<ul><li>один</li><li>два</li></ul>", "один\n\nдва"),
        ("<table><tr><td>Т1</td><td>Т2</td></tr></table>", "Т1 Т2"),
        ("<p>a<script>var x = '<p>';</script>b<style>p{}</style>c</p>", "abc"),
        ("<p>до<!-- коммент -->после</p>", "допосле"),
        ("<p>1&nbsp;000&nbsp;₽ &amp; &laquo;скидка&raquo;</p>", "1 000 ₽ & «скидка»"),
        ("<p>Tom &amp;amp; Jerry</p>", "Tom & Jerry"),
        ("<p>A\x00B</p>", "AB"),
        ("<p>В15 межотраслевых</p>", "В 15 межотраслевых"),
        (
            "<!DOCTYPE html><html><head><title>Титул</title><meta charset=utf-8></head>"
            "<body><h1>Кластер</h1><p>Текст статьи</p></body></html>",
            "Кластер\n\nТекст статьи",
        ),
        ('<?xml version="1.0" encoding="utf-8"?><p>xml</p>', "xml"),
        ("просто текст", "просто текст"),
        ("", ""),
        ("   ", ""),
        ("<p></p>", ""),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize("depth", [300, 1500, 5000])
def test_html_to_text_deep_nesting(depth: int) -> None:
    # 300: beyond libxml2's default limit; 1500: beyond Python's recursion limit; 5000: beyond
    # huge_tree's limit, handled by the tag-stripping fallback.
    html = "<div>" * depth + "<p>глубоко</p><p>внутри</p>" + "</div>" * depth
    assert html_to_text(html) == "глубоко\n\nвнутри"


def test_html_to_text_fallback_drops_scripts() -> None:
    html = "<font>" * 5000 + "<script>var a = 1;</script>текст<br>ещё" + "</font>" * 5000
    assert html_to_text(html) == "текст\n\nещё"


# The sanitizer's inputs at each SANITIZE_POLICY version. Feeds trust stored HTML of the current
# version without sanitizing it again, so a change to what sanitize_html lets through must come
# with a new version (older rows are then sanitized again when published).
# Policy 1's fingerprint moved once without a new version: _absolute_url learned to return None
# where urljoin or safe_url_string raised (nh3 dropped such attributes all the same), so every
# stored output is unchanged.
POLICY_FINGERPRINTS = {1: "643bce72"}


def _policy_fingerprint() -> str:
    module = crawler.normalize.html
    parts = [
        sorted(module._TAGS),
        sorted(module._CLEAN_CONTENT_TAGS),
        sorted((tag, sorted(attrs)) for tag, attrs in module._ATTRIBUTES.items()),
        module._LINK_REL,
        sorted(module._URL_ATTRS),
        [
            getattr(module, name).pattern
            for name in (
                "_SCHEME_RE",
                "_URL_WS_RE",
                "_SMUGGLED_SCHEME_RE",
                "_SIZE_RE",
                "_IMG_WITHOUT_SRC_RE",
                "_A_WITHOUT_HREF_RE",
                "_VOID_RE",
                "_EMPTY_HTML_RE",
            )
        ],
        inspect.getsource(module._sanitize),
        inspect.getsource(module._absolute_url),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:8]


def test_a_changed_sanitizer_comes_with_a_new_policy_version() -> None:
    assert _policy_fingerprint() == POLICY_FINGERPRINTS.get(SANITIZE_POLICY), (
        "sanitize_html's allowlists or rules changed: bump SANITIZE_POLICY in "
        "crawler/normalize/html.py and record the new fingerprint "
        f"{_policy_fingerprint()!r} here"
    )


@pytest.mark.parametrize("url", ["http://[::1/x", "//[fe80::1%25eth0/x", "http://ex]ample.com/x"])
def test_a_link_no_client_could_follow_is_dropped_quietly(
    url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    # An exception in nh3's attribute filter is printed to stderr ("Exception ignored in"),
    # once per link, into the crawl's log.
    html = f'<p><a href="{url}">ссылка</a> и <img src="{url}"> текст</p>'
    assert sanitize_html(html, "https://example.ru/news/1") == "<p>ссылка и  текст</p>"
    assert capfd.readouterr().err == ""
