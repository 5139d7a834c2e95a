"""Table tests for crawler.normalize.text: cleanup, dedup keys and garbage detection."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from crawler.normalize import text as text_mod
from crawler.normalize.text import (
    clean_text,
    dedup_key,
    is_cut_teaser,
    is_garbage_value,
    looks_like_selector,
    strip_control_chars,
)

SEED = Path(__file__).parent / "fixtures" / "normalize" / "mymsk-online-article.txt"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  \n\t ", ""),
        (
            "Кластер электромобилестроения появился в Москве",
            "Кластер электромобилестроения появился в Москве",
        ),
        ("  Трамваи\u00a0вернулись  на\tЧистые пруды \n", "Трамваи вернулись на Чистые пруды"),
        ("Москва\u2009—\u202fгород\u3000будущего", "Москва — город будущего"),
        # double-encoded entities: bounded fixpoint (B14)
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("&amp;#x27;", "'"),
        ("&laquo;Мосгортранс&raquo; закупит электробусы", "«Мосгортранс» закупит электробусы"),
        ("&amp;amp;amp;", "&amp;"),
        ("ЛиАЗ &ndash; лидер", "ЛиАЗ – лидер"),
        ("AT&T и R&D", "AT&T и R&D"),
        # control chars, surrogates, bidi (B10, B12, B13)
        ("A\x00B\x1bC\x0c", "ABC"),
        ("Метро\x7f\x85", "Метро"),
        ("BOM\x85NEL", "BOM NEL"),  # NEL is a line break: the words stay apart
        ("Метро\x80\x9fвокзал", "Метровокзал"),
        ("🚇 Метро", "🚇 Метро"),
        ("bad\ud800surrogate", "badsurrogate"),
        ("pair \ud83d\ude87 joined", "pair 🚇 joined"),
        ("abc\u202edcba\u202c", "abcdcba"),
        ("\u2066isolate\u2069 and \u200fmark", "isolate and \u200fmark"),
        ("\ufffe\uffffok", "ok"),
        ("электро\u00adбус", "электробус"),
        ("\ufeffЗаголовок", "Заголовок"),
        # NFC: decomposed "й" and "ё" are composed
        ("Мои\u0306 район, е\u0308лка", "Мой район, ёлка"),
        # the seed's glued dropcap, and places where a glued letter is real
        ("В15 межотраслевых объединений", "В 15 межотраслевых объединений"),
        ("С2026 года тарифы растут", "С 2026 года тарифы растут"),
        ("К8 марта подготовят", "К 8 марта подготовят"),
        ("Витамин В12 полезен", "Витамин В12 полезен"),
        ("В12 Содержится", "В12 Содержится"),
        ("Т1 и Т2 — трамвайные диаметры", "Т1 и Т2 — трамвайные диаметры"),
        ("В2Б-продажи", "В2Б-продажи"),
    ],
)
def test_clean_text(value: str | None, expected: str) -> None:
    assert clean_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Первый\nабзац.\n\nВторой  абзац.", "Первый абзац.\n\nВторой абзац."),
        ("\n\n  Один \r\n \r\n\r\nДва\r\nтри\n\n\n", "Один\n\nДва три"),
        ("a\u2029b", "a\n\nb"),
        ("a\u2028b", "a b"),
        ("В15 межотраслевых\n\nВ2022 году", "В 15 межотраслевых\n\nВ 2022 году"),
        ("строка\u00a0\n\u00a0\nновая", "строка\n\nновая"),
        ("", ""),
    ],
)
def test_clean_text_multiline(value: str, expected: str) -> None:
    assert clean_text(value, multiline=True) == expected


def test_strip_control_chars_keeps_newlines_and_tabs() -> None:
    assert strip_control_chars("a\tb\nc\rd\x00\x08e") == "a\tb\nc\rde"


def test_every_character_the_printable_shortcuts_rely_on_is_unprintable() -> None:
    # strip_control_chars returns a printable text as is, and _collapse takes a printable text
    # without double or edge spaces as collapsed: both hold only if every character the regex
    # removes, and every whitespace character but the space, is unprintable.
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if text_mod._UNSAFE_RE.match(char) or (char.isspace() and char != " "):
            assert not char.isprintable(), hex(code)


def test_cleaning_with_the_shortcuts_as_without() -> None:
    def collapse_by_splitting(paragraph: str) -> str:
        text = " ".join(paragraph.split())
        if text[:1] in text_mod._GLUED_INITIALS:
            return text_mod._GLUED_LEAD_RE.sub(r"\1 \2", text)
        return text

    def strip_by_regex(value: str) -> str:
        if text_mod._UNSAFE_RE.search(value) is None:
            return value
        return text_mod._CONTROL_RE.sub("", value)  # (no surrogates among the pieces)

    pieces = ["Москва", "В15", " ", "  ", "\n", "\t", "\xa0", "\u2009", "\xad", "\u202e", "x", "."]
    rng = random.Random(104)
    for _ in range(5000):
        value = "".join(rng.choices(pieces, k=rng.randint(0, 10)))
        assert text_mod._collapse(value) == collapse_by_splitting(value), repr(value)
        assert strip_control_chars(value) == strip_by_regex(value), repr(value)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ёлка на Манежной", "елка на манежной"),
        ("  Электробусы  МОСКВЫ ", "электробусы москвы"),
        ("Тра\u200bмвай", "Трамвай"),
        ("Трам\u200dвай\u2060", "трамвай"),
        ("\ufeffСИМ", "сим"),
        ("Tom &amp;amp; Jerry", "tom & jerry"),
        ("Straße", "STRASSE"),
        ("Москва\u00a0сегодня", "москва сегодня"),
    ],
)
def test_dedup_key_equal(a: str, b: str) -> None:
    assert dedup_key(a) == dedup_key(b)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ёлка на Манежной", "елка на манежной"),
        ("Тра\u200bмвай №\u00a017", "трамвай № 17"),
    ],
)
def test_dedup_key_value(value: str, expected: str) -> None:
    assert dedup_key(value) == expected


def test_dedup_key_differs_for_different_titles() -> None:
    assert dedup_key("Трамвай №17") != dedup_key("Трамвай №18")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "\u00a0\n",
        # leaked XPath/CSS selectors (B3)
        "/html/head/meta[@name='og:title']/@content",
        "/html/head/meta[@name='og:description']/@content",
        "/html/body/div[2]/h1",
        "//h1/text()",
        "//div[@class='content-text']",
        "//*[@id='title']",
        "(//h1)[1]",
        "//meta[@property='og:image']/@content",
        "a/@href",
        "normalize-space(//h1)",
        'meta[property="og:title"]',
        "meta[name='og:title']::attr(content)",
        "h1::text",
        ".b-material-before-body__data h1",
        "div.content-text p",
        "a.news-article-tags__link",
        "div > p",
        "article h1",
        "li:nth-child(2)",
        "[data-datei]",
        # unrendered templates
        "{{ title }}",
        "{{title}}",
        "{% block title %}{% endblock %}",
        "${title}",
        "<%= title %>",
        "<?php echo $title; ?>",
        "<?= $title ?>",
        "Новости {{ page.title }}",
        # unsubstituted CMS placeholders
        "%TITLE%",
        "%title%",
        "%%title%%",
        "Новости %SITE_NAME%",
        "[[title]]",
        "[[ page.title ]]",
        "{%title%}",
        "$TITLE$",
        "#TITLE#",
        "__TITLE__",
        # placeholders
        "Загрузка ...",
        "Загрузка...",
        "загрузка",
        "Loading...",
        "Loading…",
        "undefined",
        "null",
        "None",
        "NaN",
        "[object Object]",
        "Lorem ipsum dolor sit amet",
        # no letters or digits
        "...",
        "—",
        "« »",
        "|||",
        "&nbsp;",
        "&amp;amp;",
        "\u200b",
    ],
)
def test_is_garbage_value_true(value: str | None) -> None:
    assert is_garbage_value(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "Кластер электромобилестроения появился в Москве",
        "В15 межотраслевых объединений входит более 900 организаций.",
        "Город",
        "Трамваи «Витязь-Москва» вышли на маршрут №17",
        "Электробусы КАМАЗ-6282 / ЛиАЗ-6274: что изменилось",
        "Москва/Петербург: сравнили цены на проезд",
        "Курс $ и € на неделю",
        "Сколько стоит проезд? $2 или 50 ₽",
        "Проект {Москва-2030} представили горожанам",
        "Экскурсия «Москва 24/7» стартует в июне",
        "ЦОДД: «Не выезжайте на личном транспорте» // Вечерняя Москва",
        "Собянин: более 1000 электробусов работают в Москве",
        "«Мосгортранс» закупит 100 электробусов",
        "Метро «Электрозаводская» закроют на выходные",
        "МЦД-4: расписание на 1 мая",
        "Null Island: загадка картографов",
        "Нулевой километр",
        "Загрузка транспорта выросла на 15%",
        "Loading dock project approved",
        "None of the stations closed",
        "moscow.ru запустил новый сервис",
        "mymsk.online",
        "https://mymsk.online/uploads/prew/inner/ccq9lhlebw0tqcqygtfq.jpg",
        "//cdn.m24.ru/c/123.580xp.jpg",
        "Т1",
        "2022",
        "🚇 Метро",
        "E-mail: info@mymsk.online",
        "Моя Москва.онлайн",
        "Вечерняя Москва",
        "Цена: 100 руб. (скидка 10%)",
        "SELECT * FROM опасные_запросы",
        "Самокаты: правила #безопасность",
        "[Update] Moscow opens new tram line",
        "Moscow > Saint Petersburg in e-bus count",
        "Time to ride: main routes",
        "100% электробусов",
        "Скидки 50%",
        "Скидки 50%–70% на проезд",
        "Рост 5%, потом 10%",
        "Цена $5 и $10",
        "Что делает __init__ в Python",
        "C# и F# в школах",
        "[[Москва]]",
    ],
)
def test_is_garbage_value_false(value: str) -> None:
    assert is_garbage_value(value) is False


def test_seed_record_selector_leak_is_garbage() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    leaks = [line for line in lines if is_garbage_value(line)]
    assert leaks == [
        "/html/head/meta[@name='og:title']/@content",
        "/html/head/meta[@name='og:description']/@content",
    ]
    assert clean_text(lines[2]) == "В 15 межотраслевых объединений входит более 900 организаций."


@pytest.mark.parametrize(
    ("value", "leaked"),
    [
        ("xpath://h1 | //title", True),  # the config's own rule syntax
        ("css:h1.title", True),
        ("css:div.article > p::text", True),
        ("Электробусы //script/text()", True),
        ("{{ title }}", True),
        # Headlines that only look like it at a glance.
        ("CSS: новый стандарт веба", False),
        ("CSS: new standard", False),
        ("Москва: css-стили для сайтов", False),
        ("xpath: что это такое", False),
        ("Загрузка...", False),  # a placeholder: garbage, but no rule
    ],
)
def test_leaked_rules_are_told_from_headlines(value: str, leaked: bool) -> None:
    assert looks_like_selector(value) is leaked
    assert is_garbage_value(value) is (leaked or value == "Загрузка...")


@pytest.mark.parametrize(
    ("summary", "cut"),
    [
        ("Маршрут трамвая № 9…", True),
        ("Маршрут трамвая № 9 прод...", True),
        ("Маршрут трамвая № 9 продлят […]", True),
        ("Маршрут трамвая № 9 продлят Читать далее", True),
        ("Маршрут трамвая № 9 продлят до Новослободской улицы.", False),  # whole
        ("Куда пойдёт девятый трамвай…", False),  # an editor's teaser, not the text's start
        ("…", False),
    ],
)
def test_is_cut_teaser(summary: str, cut: bool) -> None:
    text = "Маршрут трамвая № 9 продлят до Новослободской улицы. Работы начнутся весной."
    assert is_cut_teaser(summary, text) is cut
