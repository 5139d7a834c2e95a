"""Short news briefs (1-3 paragraphs) in Bitrix, WordPress and Drupal shapes: their own
paragraphs, never one glued block with the headline, date line, byline or a paywall prompt."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crawler.extraction import body as body_mod
from crawler.extraction import extract_article
from crawler.extraction.classes import ClassIndex
from crawler.extraction.core import parse_document

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
URL = "https://example.ru/news/2026/12/06/sneg"
TITLE = "Снегопад: коммунальщики вышли на улицы"
BRIEF = [
    "На уборку снега вышли более 300 единиц техники и 2 тысячи дворников. Главные магистрали "
    "расчищены к утру, сообщили в городском комплексе ЖКХ.",
    "Снегопад продлится до вечера воскресенья.",
    "Жителей просят не оставлять машины у обочин.",
]
# What every page around the story shows: teasers of other news with paragraphs, a legal footer.
SIDEBAR = (
    '<div class="col-right"><div class="news-list">'
    '<div class="news-item"><a href="/news/1">В Твери открыли новый каток</a>'
    "<p>На набережной Волги залили лед, вход свободный для всех жителей города.</p></div>"
    '<div class="news-item"><a href="/news/2">Электробусы выйдут на маршрут</a>'
    "<p>С понедельника на маршрут №7 выйдут двенадцать новых машин из Москвы.</p></div>"
    "</div></div>"
)
LEGAL = (
    '<div class="footer"><p>Сетевое издание «Городские вести». Свидетельство о регистрации СМИ '
    "Эл № ФС77-12345 выдано Роскомнадзором 01.02.2020. Учредитель: ООО «Медиа».</p>"
    "<p>При перепечатке материалов ссылка на сайт обязательна. 18+</p></div>"
)
FIGURE = (
    '<figure class="wp-block-image"><img src="/snow.jpg" alt="">'
    "<figcaption>Фото: пресс-служба мэрии</figcaption></figure>"
)
PAYWALL = (
    '<div class="paywall-overlay"><p>Этот материал доступен только подписчикам. Оформите '
    "подписку всего за 1 рубль!</p></div>"
)
JUNK = ("Опубликовано", "Автор", "Текст:", "Фото", "Теги", "Источник", "подпис", "Все новости")


def paragraphs(n: int) -> str:
    return "".join(f"<p>{line}</p>" for line in BRIEF[:n])


def page(inner: str) -> str:
    return (
        f'<html><head><meta charset="utf-8"><title>{TITLE} – Городские вести</title></head>'
        f'<body><div class="header"><a href="/">Главная</a> <a href="/news/">Новости</a></div>'
        f"{inner}{LEGAL}</body></html>"
    )


def bitrix(n: int, *, text: str | None = None) -> str:
    return page(
        f'<div class="wrapper"><div class="col-left"><div class="news-detail"><h1>{TITLE}</h1>'
        '<div class="news-date-time">06.12.2026, 20:15</div>'
        '<div class="news-detail__author">Текст: Светлана Орлова</div>'
        f'<div class="news-detail__text">{paragraphs(n) if text is None else text}</div>'
        '<div class="news-detail__tags">Теги: <a href="/tags/t">транспорт</a></div>'
        f'<a href="/news/">← Все новости</a></div></div>{SIDEBAR}</div>'
    )


def bitrix_article(n: int) -> str:
    return page(
        f'<article><h1>{TITLE}</h1><div class="article__meta"><span>06.12.2026, 20:15</span>'
        f'<span>Текст: Светлана Орлова</span></div><div class="article__body">{paragraphs(n)}'
        f"</div>{PAYWALL}</article>{SIDEBAR}"
    )


def wordpress(n: int) -> str:
    return page(
        '<div id="content" class="site-content"><main id="main" class="site-main">'
        f'<article id="post-12" class="post type-post"><header class="entry-header">'
        f'<h1 class="entry-title">{TITLE}</h1><div class="entry-meta"><span class="posted-on">'
        "Опубликовано: 6 декабря 2026 в 9:05. Обновлено: 6 декабря 2026 в 11:40</span> "
        '<span class="byline">Автор: Николай Зуев</span></div></header>'
        f'<div class="entry-content">{FIGURE}{paragraphs(n)}'
        "<p>Источник: пресс-служба мэрии</p></div>"
        '<footer class="entry-footer"><span class="tags-links">Теги '
        '<a href="/tag/t" rel="tag">транспорт</a></span></footer></article></main>'
        '<div class="widget-area"><section class="widget"><h2>О газете</h2><p>Городская газета '
        "выходит с 1995 года. Мы пишем о жизни города, о людях и событиях.</p></section></div>"
        "</div>"
    )


def drupal(n: int) -> str:
    return page(
        f'<div class="region-content"><article class="node node--type-news"><h1>{TITLE}</h1>'
        '<div class="node__meta">6 декабря 2026, 09:05</div><div class="node__content">'
        '<div class="clearfix text-formatted field field--name-body field--type-text-with-summary">'
        f"{paragraphs(n)}</div></div></article></div>{SIDEBAR}"
    )


def bitrix_br(n: int) -> str:
    # The detail text as the editor typed it: no <p>, paragraphs parted by blank lines.
    return bitrix(n, text="<br>\n<br>\n".join(BRIEF[:n]))


SHAPES = {
    "bitrix": bitrix,
    "bitrix-br": bitrix_br,
    "bitrix-article": bitrix_article,
    "wordpress": wordpress,
    "drupal": drupal,
}


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_short_brief_is_its_own_paragraphs(shape: str, n: int) -> None:
    data = extract_article(SHAPES[shape](n), URL, now=NOW)
    assert data.text == "\n\n".join(BRIEF[:n])
    assert data.provenance["text"] == "heuristic" and "generic_used" not in data.flags
    assert data.html.count("<p>") == n
    for junk in (TITLE, *JUNK):
        assert junk not in data.html


# Not bitrix-br: trafilatura alone takes the sidebar's teasers for a one-line brief written
# without <p> there (a wrong container, not a glued one); the own heuristic reads that page.
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("shape", sorted(set(SHAPES) - {"bitrix-br"}))
def test_the_generic_extractor_keeps_a_briefs_paragraphs_without_its_header(
    shape: str, n: int
) -> None:
    # trafilatura on its own: below ~250 characters it printed the whole <article> as one
    # paragraph, headline, date line, byline, caption and tags included.
    found, _doc = body_mod.generic(SHAPES[shape](n).encode(), URL)
    assert found is not None
    # Each of the story's paragraphs is one paragraph (whatever trafilatura adds from around).
    lines = found.text.split("\n\n")
    assert all(line in lines for line in BRIEF[:n])
    for junk in (TITLE, *JUNK):
        assert junk not in found.html


def test_a_table_layout_brief_without_metadata_keeps_no_menu() -> None:
    html = page(
        '<table width="100%"><tr><td class="menu"><a href="/">Главная</a><br>'
        '<a href="/news/">Новости</a><br><a href="/about/">О городе</a></td>'
        f"<td><h1>{TITLE}</h1><p>06.12.2026</p>{paragraphs(2)}"
        '<p><a href="/news/">← Все новости</a></p></td></tr></table>'
    )
    data = extract_article(html, URL, now=NOW)
    assert data.text == "\n\n".join(BRIEF[:2])
    for junk in ("Главная", "О городе", "Все новости", "06.12.2026"):
        assert junk not in data.html


@pytest.mark.parametrize(
    "overlay",
    [
        PAYWALL,
        '<div class="premium-overlay"><p>Читайте этот и другие материалы городской газеты без '
        "ограничений и рекламы.</p></div>",
        '<div class="paywall__banner"><p>Продолжение — для тех, кто с нами: полный доступ к '
        "архиву за 1 рубль.</p></div>",
        "<p>Этот материал доступен только подписчикам. Оформите подписку всего за 1 рубль!</p>",
        '<div class="subscribe-box"><p>Будьте в курсе главных новостей города: письмо раз в '
        "неделю.</p></div>",
    ],
    ids=["paywall-overlay", "premium-overlay", "paywall-banner", "prompt-text", "subscribe-box"],
)
def test_a_paywall_overlay_after_the_body_is_not_text(overlay: str) -> None:
    # Directly after the body inside <article> (an overlay inside the body went already).
    html = page(
        f'<article><h1>{TITLE}</h1><div class="article__body">{paragraphs(3)}</div>{overlay}'
        "</article>"
    )
    assert extract_article(html, URL, now=NOW).text == "\n\n".join(BRIEF)


def test_a_listing_of_body_like_previews_has_no_named_body() -> None:
    # Several body-like containers side by side are teasers: no one of them is the story.
    previews = "".join(
        f'<div class="news-item"><h2><a href="/n/{i}">Новость {i}</a></h2>'
        f'<div class="news-detail__text"><p>{BRIEF[0]} {i}</p></div></div>'
        for i in range(3)
    )
    doc, _data, _flags = parse_document(page(previews), None)
    assert doc is not None
    containers, named = body_mod.find_container(doc, ClassIndex(doc))
    assert not named and all(c.get("class") != "news-detail__text" for c in containers)


@pytest.mark.parametrize(
    ("line", "furniture"),
    [
        ("Опубликовано: 6 декабря 2026 в 9:05. Обновлено: 6 декабря 2026 в 11:40", True),
        ("Дата публикации: 06.12.2026 20:15", True),
        ("Размещено 06.12.2026 в 20:15", True),
        ("Теги: транспорт, ЖКХ", True),
        ("Теги транспорт", True),
        ("Tags: transport, snow", True),
        ("Этот материал доступен только подписчикам. Оформите подписку всего за 1 рубль!", True),
        ("Материал доступен по подписке", True),
        ("Теги — это метки, которыми редакция отмечает темы материалов.", False),
        ("Подписка на городской проездной подорожала на 100 рублей с 1 января.", False),
        ("Опубликованы правила уборки снега во дворах.", False),
    ],
)
def test_brief_furniture_lines(line: str, furniture: bool) -> None:
    assert body_mod.is_furniture(line) is furniture
