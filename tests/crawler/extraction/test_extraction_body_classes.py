"""Body text: classes of page furniture, teaser cards and related blocks kept out of the story."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from crawler.extraction import extract_article
from crawler.extraction.body import is_furniture
from crawler.models import Article, PageFacts
from crawler.pages import process_page
from crawler.profile import SourceProfile

NOW = datetime(2026, 2, 4, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
URL = "https://example.ru/news/tram"
BERLIN = "Europe/Berlin"
STORY = [
    f"Абзац {i}: трамваи «Витязь-Москва» вышли на новый маршрут в центре города, интервал "
    "движения сократился до четырех минут, сообщили в Мосгортрансе."
    for i in range(1, 6)
]


def body_text(inner: str) -> str:
    html = f"<html><body><h1>Трамваи вышли на маршрут</h1><article>{inner}</article></body></html>"
    return extract_article(html, URL, now=NOW).text or ""


def paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


def test_furniture_lines() -> None:
    for line in (
        "Фото: АГН «Москва»",
        "Photo: AFP",
        "Copyright © 1999-2024 The Taipei Times. All rights reserved.",
        "02:57 Min.. Verfügbar bis 06.05.2024.",
        "Ich bin damit einverstanden, dass mir externe Inhalte angezeigt werden.",
        "Von Nina Magoley",
        "Sign Up for News Updates",
        "Uppdaterad 15.59 | Publicerad 14.14",
        "Heute, 12:37 Uhr",
        "With files from The Associated Press",
        "—Associated Press writer John Leicester in Paris contributed to this report.",
        "Mit Agenturmaterial.",
        "Dieses Thema im Programm: Über dieses Thema berichtete DLF am 24. März 2023.",
        "Buying through our links may earn us a commission.",
        "この記事は会員限定です。",
        "Hat Ihnen dieser Artikel gefallen? Dann unterstützen Sie uns bitte.",
        "記事に『リアクション』ができます。ご利用には会員登録が必要です。",
        "Мы используем файлы cookie, чтобы сайт работал лучше.",
        "По теме: В Москве открыли новый трамвайный маршрут",
        "Видео: Агентство «Москва»",
        "This website uses cookies to improve your experience.",
    ):
        assert is_furniture(line), line
    for line in (
        "By the way, the tram runs every four minutes",
        "Трамвай прибыл в 12:30, через двадцать минут после отправления",
        "Published works by the author fill two shelves of the city library.",
        "同社の会員登録者数は前年より２割増え、有料会員も伸びた。",
        "Photo: " + "a long paragraph that starts like a credit but tells the story " * 4,
        "По теме совещания мэр высказался коротко: трамваев станет больше.",
    ):
        assert not is_furniture(line), line


def test_a_cookie_banner_is_never_the_text_of_a_page_without_paragraphs() -> None:
    # A photo gallery: captions only, no paragraph for the own heuristic, so the generic
    # extractor reads the page, and took the banner (named by its class) for the text.
    banner = (
        "Мы используем файлы cookie, чтобы сайт работал лучше. Продолжая пользоваться сайтом, "
        "вы соглашаетесь с обработкой данных посетителей и с политикой конфиденциальности. "
        "Подробнее о данных, которые мы собираем, читайте в разделе о конфиденциальности."
        "<button>Принять</button>"
    )
    html = (
        f"<html><body><header><div class='cookie-banner'>{banner}</div></header><main>"
        "<article><h1>Фотогалерея: первый снег</h1><figure><img src='/1.jpg'>"
        "<figcaption>Дворцовая площадь</figcaption></figure></article></main></body></html>"
    )
    assert "конфиденциальности" not in (extract_article(html, URL, now=NOW).text or "")


def test_comments_that_no_class_names_are_not_the_story() -> None:
    comments = (
        "<div class='x-list'><h3>Комментарии (2)</h3><div><b>Вася</b>: Отличная новость, давно "
        "пора пустить трамваи чаще по этому маршруту!</div><div><b>Петя</b>: Не верю, что это "
        "поможет с пробками в центре города.</div></div>"
    )
    text = body_text(paragraphs(STORY) + comments)
    assert STORY[-1] in text and "Вася" not in text and "Комментарии" not in text


def test_a_story_section_headed_like_comments_and_a_quote_about_cookies_stay() -> None:
    expert = (
        "<div class='quote'><h3>Комментарий эксперта</h3><p>«Новая линия разгрузит центр "
        "и сократит интервалы трамваев», — отметил транспортный аналитик.</p></div>"
    )
    quote = (
        "<p>Как пояснили в мэрии, «мы используем файлы cookie только для статистики», "
        "а данные посетителей не передаются.</p>"
    )
    text = body_text(paragraphs(STORY) + expert + quote)
    assert "Комментарий эксперта" in text and "разгрузит центр" in text
    assert "файлы cookie только для статистики" in text


def test_furniture_is_dropped_from_the_body() -> None:
    text = body_text(
        paragraphs([*STORY, "Фото: АГН «Москва»", "© 2026 Example. Все права защищены"])
    )
    assert "Фото" not in text and "©" not in text
    assert STORY[-1] in text


def test_nested_teaser_article_is_not_body_text() -> None:
    card = (
        "<article><h3><a href='/news/other'>Другая новость о метро</a></h3>"
        "<p>Коротко.</p></article>"
    )
    text = body_text(paragraphs(STORY[:3]) + card + paragraphs(STORY[3:]))
    assert "Другая новость" not in text and STORY[4] in text


def test_teaser_class_drops_cards_but_keeps_a_lead() -> None:
    lead = "<div class='article__teaser'><p>Лид: трамваи вернулись на Бульварное кольцо.</p></div>"
    card = (
        "<div class='teaser'><a href='/news/x'><h3>Ещё один трамвай</h3></a>"
        "<p>Текст анонса другой статьи.</p></div>"
    )
    text = body_text(lead + paragraphs(STORY) + card)
    assert "Лид: трамваи" in text
    assert "Ещё один трамвай" not in text and "анонса" not in text


def test_comment_form_is_not_body_text() -> None:
    form = "<div class='comment-form'><p>Напишите комментарий к этой статье, пожалуйста.</p></div>"
    assert "комментарий" not in body_text(paragraphs(STORY) + form)


def test_related_label_after_the_story_ends_it() -> None:
    related = ["Другие новости", "Метро откроет три станции до конца года на западе города"]
    text = body_text(paragraphs([*STORY, *related]))
    assert "Метро откроет" not in text and STORY[-1] in text
    # Early in the text the same label is an inline block of links: the story goes on.
    text = body_text(paragraphs([STORY[0], *related, *STORY[1:]]))
    assert STORY[-1] in text


def test_embeds_boxes_players_and_hidden_pitches_are_not_body_text() -> None:
    extras = (
        "<blockquote class='twitter-tweet'><p>Трамвай, видео очевидца.</p></blockquote>",
        "<div class='metro-factbox'><p>Что ещё известно о новом трамвае: список фактов.</p></div>",
        "<div class='info-box'><p>Справка: трамвай «Витязь» выпускают с 2017 года.</p></div>",
        "<div class='video-player'><h4>Смотрите далее</h4></div>",
        "<div class='intro-body__premium hidden'><p>Читайте без рекламы.</p></div>",
        "<div class='absatzbild'><p>Трамвай на кольце. Фотограф Иван Петров.</p></div>",
    )
    text = body_text(paragraphs(STORY[:2]) + "".join(extras) + paragraphs(STORY[2:]))
    for word in ("очевидца", "список фактов", "Справка", "Смотрите", "без рекламы", "Фотограф"):
        assert word not in text, word
    assert STORY[0] in text and STORY[-1] in text


def test_short_paragraph_keeps_its_text_when_a_box_is_nested_in_it() -> None:
    # libxml2 leaves a <p> open around a following <section>: the box's links are not the
    # paragraph's, so the paragraph is not a list of links.
    quote = "«Это как в другом мире», — сказал водитель трамвая."
    box = "".join(f"<li><a href='/n{i}'>Другая новость номер {i}</a></li>" for i in range(6))
    box = f"<section class='most-popular'><ul>{box}</ul></section>"
    html = paragraphs(STORY[:3]) + f"<p>{quote}{box}"
    text = body_text(html + paragraphs(STORY[3:]))
    assert quote in text and "Другая новость" not in text


def test_date_stamps_and_decorated_related_labels() -> None:
    for line in (
        "公開日：2025/01/31 11:30 更新日：2025/01/31 11:30",
        "2025年1月14日 01時28分 (1月14日 01時40分更新)",
        "14.05.2024, 10:31 Uhr",
    ):
        assert is_furniture(line), line
    for line in (
        "В 2024 году по маршруту проехали 12 млн пассажиров.",
        "Die Linie 12 fährt ab dem 14.05.2024 wieder im Zehn-Minuten-Takt.",
    ):
        assert not is_furniture(line), line
    text = body_text(paragraphs([*STORY, "■関連記事", "別の記事の見出しがここに入ります"]))
    assert "別の記事" not in text and STORY[-1] in text


def test_end_of_story_labels_in_more_languages() -> None:
    for label in ("More from The Nation", "Latest on:", "Archivado En", "Más información"):
        text = body_text(paragraphs([*STORY, label, "Другая история о метро и трамваях"]))
        assert "Другая история" not in text and STORY[-1] in text, label


def test_articlebody_with_boxes_the_body_leaves_out_is_not_a_truncated_page() -> None:
    box = "".join(f"<p>Пункт {i} полной стенограммы заседания думы.</p>" for i in range(60))
    story = paragraphs(STORY)
    declared = " ".join(STORY) + " " + " ".join(f"Пункт {i} стенограммы." for i in range(60))
    jsonld = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Трамваи", '
        f'"articleBody": "{declared}"}}</script>'
    )
    html = (
        f"<html><head>{jsonld}</head><body><h1>Трамваи вышли на маршрут</h1>"
        f"<div class='article-body'>{story}<div class='metro-factbox'>{box}</div></div>"
        "</body></html>"
    )
    data = extract_article(html, URL, now=NOW)
    assert data.provenance["text"] == "heuristic"
    assert "стенограммы" not in (data.text or "")


def test_body_kept_as_html_in_a_hydration_script_is_found() -> None:
    """An app page whose markup is an empty shell: the text is a JSON string in its state."""
    import json

    story = paragraphs(STORY)
    caption = "<div class='caption'><p>Трамвай на Чистых прудах. Фото: Мосгортранс</p></div>"
    state = {"detail": {"title": "Трамваи", "contentHtml": caption + story}}
    # JSON in a script escapes "<" as \u003c (React, Next.js) so the HTML cannot close it.
    raw = json.dumps(state, ensure_ascii=False).replace("<", "\\u003c")
    shell = (
        "<html><head><title>Трамваи вышли на маршрут</title></head><body>"
        "<div id='root'><h1>Трамваи вышли на маршрут</h1><p>Загрузка…</p></div>"
        f"<script>window.__STATE__ = window.__STATE__ || []; window.__STATE__.push({raw});</script>"
        "</body></html>"
    )
    data = extract_article(shell, URL, now=NOW, use_generic=False)
    assert data.provenance["text"] == "script"
    assert data.text == "\n\n".join(STORY)
    # A Next.js flight chunk: the same state, as a string of JSON inside a string.
    flight = json.dumps([1, json.dumps(state, ensure_ascii=False)], ensure_ascii=False)
    nested = shell.replace(f"window.__STATE__.push({raw})", f"self.__next_f.push({flight})")
    assert extract_article(nested, URL, now=NOW).text == "\n\n".join(STORY)
    # A consent banner's template in a script is no story.
    style = " style='margin:0;padding:4px 8px;font-size:14px;line-height:1.4;color:#333'"
    notice = f"<p{style}>Мы используем cookies для удобства.</p>"
    notice += f"<p{style}>Продолжая, вы соглашаетесь с правилами сайта."
    notice += f"</p><p{style}>Настроить их можно в своём браузере в любой момент."
    banner = json.dumps({"html": notice + "</p>"}, ensure_ascii=False).replace("<", "\\u003c")
    only_banner = shell.replace(raw, banner)
    data = extract_article(only_banner, URL, now=NOW, use_generic=False)
    assert data.provenance.get("text") != "script" and "cookies" not in (data.text or "")


def test_a_part_of_the_body_named_as_a_box_is_not_body_text() -> None:
    # BEM names: "article-content__sign-in-group" is a box inside the body, not the body.
    box = (
        "<div class='article-content__sign-in-group'><ul><li>Access articles from across the "
        "country with one account.</li><li>Enjoy additional articles per month.</li></ul>"
        "<p>Get email updates from your favourite authors and join the conversation.</p></div>"
    )
    html = (
        "<html><body><h1>Трамваи вышли на маршрут</h1><div class='article-content'>"
        f"{paragraphs(STORY[:3])}{box}{paragraphs(STORY[3:])}</div></body></html>"
    )
    text = extract_article(html, URL, now=NOW).text or ""
    assert "account" not in text and "email" not in text
    assert text == "\n\n".join(STORY)


def test_footer_named_by_class_or_id_is_not_body_text() -> None:
    # No named container: the body is guessed as <body>, and the site footer is a <div>.
    footer = (
        "<div id='footer'><div class='footer_meta'><p>Der Verlag ist Mitglied der "
        "Arbeitsgemeinschaft Internationale Medienhilfe in Berlin.</p><p>Die veröffentlichten "
        "Texte spiegeln die Meinungen der jeweiligen Autoren wieder.</p></div></div>"
    )
    html = (
        f"<html><body><div class='wrapper'><h1>Трамваи</h1>{paragraphs(STORY)}</div>{footer}"
        "</body></html>"
    )
    text = extract_article(html, URL, now=NOW).text or ""
    assert "Verlag" not in text and "Meinungen" not in text and STORY[-1] in text


def test_read_more_lines_in_more_languages() -> None:
    for line in (
        "Czytaj więcej",
        "Czytaj też: Niemcy zaostrzają kontrole na granicach",
        "Lees ook: Nieuwe tram rijdt vanaf maandag",
        "Leggi anche: il nuovo tram",
        "Leia também: metrô ganha nova linha",
        "FUNDA OLUNYE UDABA LAPHA | Kuboshwe abahlanu besolwa",
        "This is a breaking new story - more to follow",
    ):
        assert is_furniture(line), line
    # The same words inside a sentence are text.
    assert not is_furniture("Mieszkańcy czytaj: pasażerowie narzekają na opóźnienia tramwajów.")


def test_long_consent_placeholders_and_links_to_other_stories() -> None:
    consent = (
        "An dieser Stelle finden Sie einen von unseren Redakteuren ausgewählten, externen "
        "Inhalt, der den Artikel für Sie mit zusätzlichen Informationen anreichert. Sie können "
        "sich hier den externen Inhalt mit einem Klick anzeigen lassen oder wieder ausblenden."
    )
    assert len(consent) > 200 and is_furniture(consent)
    assert is_furniture("Empfohlener redaktioneller Inhalt")
    assert is_furniture("Zum Artikel: Tarifrunde im ÖPNV: Das wird verhandelt")
    assert not is_furniture("Zum Artikel des Grundgesetzes äußerte sich der Minister nicht.")
    # A long paragraph of the story that mentions external content is text.
    story = "Der externe Inhalt der Studie " + "wurde von Forschern ausführlich geprüft. " * 20
    assert not is_furniture(story)


def test_a_dateline_in_words_is_neither_text_nor_summary() -> None:
    # A German city's page: the date is a paragraph before the story, with a month word and
    # «Uhr» (too few digits for a stamp). It is read as the date and kept out of every feed's
    # summary and HTML.
    page = Path(__file__).parents[2] / "fixtures" / "pages" / "de-dateline-paragraph.html"
    url = "https://stadt.example.de/aktuelles/strassenbahn"
    profile = SourceProfile(name="de", allowed_domains=("stadt.example.de",), timezone=BERLIN)
    fetched = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    article = process_page(profile, page.read_bytes(), PageFacts(url, fetched))
    assert isinstance(article, Article)
    assert article.published == datetime(2026, 11, 21, 5, 0, tzinfo=ZoneInfo(BERLIN))
    assert article.summary.startswith("Die neue Straßenbahnlinie 7")
    assert article.text.startswith("Die neue Straßenbahnlinie 7")
    assert article.html.startswith("<p>Die neue Straßenbahnlinie 7")
    assert "Uhr" not in article.text + article.html


def test_date_lines_in_the_date_parsers_languages_are_furniture() -> None:
    for line in (
        "21. November 2026, 05:00 Uhr",
        "Samstag, 21. November 2026",
        "Mo, 21.11.2026 | 05:00 Uhr",
        "5 декабря 2026 г., 14:30",
        "четверг, 5 февраля 2026 года",
        "Nov. 5, 2026, 2:30 p.m. ET",
        "mercredi 4 février 2026",
        "5 de mayo de 2026",
        "Новосибирск, 5 декабря 2026 г.",  # a dateline names its place, and its agency
        "NOVOSIBIRSK, Dec. 4, 2026 (Reuters)",
    ):
        assert is_furniture(line), line
    for line in (
        "Am 21. November 2026 eröffnet die Stadt die neue Linie.",
        "21. November 2026: Die Linie 7 fährt zum ersten Mal.",
        "1. Mai Demo",
        "Открытие линии назначено на 5 декабря 2026 г.",
    ):
        assert not is_furniture(line), line


def test_a_dateline_naming_its_city_is_neither_text_nor_summary() -> None:
    story = (
        "Первые десять электробусов вышли на маршрут 36 в Новосибирске. Машины заряжаются на "
        "конечных станциях и проходят до 70 километров без подзарядки."
    )
    page = f"""<html><head><title>Электробусы вышли на маршрут</title></head><body>
    <article><h1>Электробусы вышли на маршрут</h1>
    <p>Новосибирск, 5 декабря 2026 г.</p>
    <p>{story}</p>
    <p>Мэрия обещает ещё двадцать машин до конца следующего года, вместе с новыми станциями
    зарядки у двух депо города.</p></article></body></html>"""
    url = "https://city.example.ru/news/elektrobusy"
    profile = SourceProfile(
        name="nsk", allowed_domains=("city.example.ru",), timezone="Asia/Novosibirsk"
    )
    fetched = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    article = process_page(profile, page.encode(), PageFacts(url, fetched))
    assert isinstance(article, Article)
    assert article.published.date() == datetime(2026, 12, 5).date()
    assert article.summary.startswith("Первые десять электробусов")
    assert article.text.startswith("Первые десять электробусов")
    assert "Новосибирск, 5 декабря" not in article.text + article.html
