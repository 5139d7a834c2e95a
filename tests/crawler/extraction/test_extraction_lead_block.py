"""A page with no summary in its metadata takes the lead it shows as a block of its own.

Many layouts put the lead (standfirst) between the headline and the body's container: without
this layer such a page lost its lead altogether (neither the summary nor the text held it).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crawler.extraction import extract_article

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
URL = "https://example.ru/news/2026/12/07/elektrobus"
TITLE = "Новый электробус вышел на маршрут т25"
LEAD = "Мосгортранс выпустил на маршрут т25 электробус с увеличенным запасом хода."
PARAGRAPHS = [
    "Электробус прошёл испытания зимой и теперь возит пассажиров между метро и районом.",
    "Машина заряжается на конечной станции за двадцать минут и проходит до трёхсот "
    "километров без подзарядки, сообщили в компании.",
    "До конца года на маршрут выйдут ещё восемь таких машин, а к весне весь парк маршрута "
    "станет электрическим, добавили в пресс-службе перевозчика.",
    "Пассажиры уже оценили тишину в салоне, зарядку для телефонов и низкий пол у всех дверей.",
]
BODY = '<div class="article-body">' + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>"


def page(lead_block: str, *, head: str = "", before_title: str = "", after: str = "") -> bytes:
    return (
        f"<html><head><title>{TITLE}</title>{head}</head><body>{before_title}"
        f"<article><h1>{TITLE}</h1>{lead_block}{BODY}{after}</article></body></html>"
    ).encode()


def extract(html: bytes) -> tuple[str | None, str | None, str]:
    data = extract_article(html, URL, now=NOW, tz="Europe/Moscow")
    return data.summary, data.provenance.get("summary"), data.text or ""


@pytest.mark.parametrize(
    "block",
    [
        f'<p class="lead">{LEAD}</p>',
        f'<div class="article__lead">{LEAD}</div>',
        f'<div class="b-material__anons"><p>{LEAD}</p></div>',
        f'<p class="news-announce-text">{LEAD}</p>',
        f'<p id="standfirst">{LEAD}</p>',
    ],
)
def test_a_lead_block_outside_the_body_is_the_summary(block: str) -> None:
    summary, layer, text = extract(page(block))
    assert (summary, layer) == (LEAD, "text")
    # The body's container, as before: the lead sits outside it, and was lost.
    assert text.startswith(PARAGRAPHS[0]) and LEAD not in text


def test_metadata_comes_first() -> None:
    head = '<meta name="description" content="Описание страницы из метаданных сайта.">'
    summary, layer, _ = extract(page(f'<p class="lead">{LEAD}</p>', head=head))
    assert (summary, layer) == ("Описание страницы из метаданных сайта.", "meta")


@pytest.mark.parametrize(
    ("before_title", "after"),
    [
        # Another story's lead: above the headline, in a related box, in a linked teaser card.
        (f'<div class="top"><p class="lead">{LEAD}</p></div>', ""),
        ("", f'<div class="related-news"><p class="lead">{LEAD}</p></div>'),
        ("", f'<div class="teaser"><a href="/news/2"><p class="lead">{LEAD}</p></a></div>'),
        # A marketing lead form, a label too short to be a lead.
        ("", f'<div class="lead-form"><p>{LEAD}</p></div>'),
        ("", '<p class="lead">Фото: пресс-служба</p>'),
    ],
)
def test_what_is_no_lead_of_this_article_is_left_alone(before_title: str, after: str) -> None:
    summary, layer, _ = extract(page("", before_title=before_title, after=after))
    assert layer != "text" and summary != LEAD
