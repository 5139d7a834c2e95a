"""A small bundled city-news site (Russian) for `cityfeeds demo` and the end-to-end tests.

``build_site(base_url)`` returns every file of the site — article pages, two listing pages, an
RSS feed, a sitemap and robots.txt — as ``{path: (bytes, content type)}``;
:mod:`cityfeeds.devtools.demo_server` serves them on a loopback port. ``build_partner_site``
adds a second, smaller outlet under ``/partner/`` that reports two of the same stories in other
words and one look-alike (for the story clustering the demo shows). The stories are written for
the project (not copied), a mix of electric-transport news, false friends (электроэнергия,
электронный дневник, Электросталь) and other city news.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

MSK = timezone(timedelta(hours=3))
SITE_TITLE = "Городские новости"


@dataclass(frozen=True)
class Story:
    """One article of the demo site."""

    id: int
    slug: str
    section: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    published: datetime
    author: str
    markup: str  # "jsonld", "og-property", "og-name" or "plain": which metadata the page carries


STORIES: tuple[Story, ...] = (
    Story(
        1001,
        "elektrobusy-vyshli-na-novye-marshruty",
        "Транспорт",
        "Электробусы вышли на три новых маршрута в Южном округе",
        "Мосгортранс перевёл на электробусы ещё три маршрута, теперь их больше ста.",
        (
            "С понедельника пассажиров маршрутов 148, 217 и 790 возят электробусы КАМАЗ-6282. "
            "Машины оснащены USB-розетками, климат-контролем и низким полом.",
            "Зарядка электробусов проходит на конечных станциях за 10–20 минут. "
            "До конца года в парк поступят ещё 200 машин.",
        ),
        datetime(2026, 11, 20, 9, 30, tzinfo=MSK),
        "Анна Петрова",
        "jsonld",
    ),
    Story(
        1002,
        "tramvai-vityaz-na-shabolovke",
        "Транспорт",
        "Трамваи «Витязь-Москва» пошли по обновлённой линии на Шаболовке",
        "После ремонта путей на линию вернулись современные низкопольные трамваи.",
        (
            "Ремонт трамвайных путей на Шаболовке завершён досрочно. Новые рельсы уложены на "
            "бетонное основание, что снижает шум и вибрацию.",
            "На маршрут вышли трамваи «Витязь-Москва» вместимостью до 265 пассажиров.",
        ),
        datetime(2026, 11, 21, 8, 15, tzinfo=MSK),
        "Игорь Смирнов",
        "og-property",
    ),
    Story(
        1003,
        "tarify-na-elektroenergiyu",
        "Экономика",
        "Тарифы на электроэнергию для жителей столицы изменятся с января",
        "Стоимость киловатт-часа вырастет на девять процентов.",
        (
            "Новые тарифы на электроэнергию утверждены региональной энергетической комиссией. "
            "Для квартир с электроплитами действует понижающий коэффициент.",
            "Отключения электричества в плановом порядке будут объявляться заранее.",
        ),
        datetime(2026, 11, 21, 12, 0, tzinfo=MSK),
        "Мария Волкова",
        "og-name",
    ),
    Story(
        1004,
        "zaryadnye-stancii-dlya-elektromobilej",
        "Город",
        "В Москве откроют ещё 300 зарядных станций для электромобилей",
        "Быстрые зарядки появятся у торговых центров и на перехватывающих парковках.",
        (
            "Сеть «Энергия Москвы» пополнится тремястами электрозарядными станциями. "
            "Зарядка электромобилей на городских станциях останется бесплатной до конца года.",
            "Сейчас в городе зарегистрировано более 25 тысяч электромобилей.",
        ),
        datetime(2026, 11, 22, 10, 45, tzinfo=MSK),
        "Олег Кузнецов",
        "jsonld",
    ),
    Story(
        1005,
        "elektronnyj-dnevnik-obnovili",
        "Образование",
        "Электронный дневник школьников получил новое оформление",
        "Родители смогут видеть расписание кружков в личном кабинете.",
        (
            "Обновление электронного дневника и электронного журнала МЭШ стало доступно "
            "всем школам.",
            "В приложении появился раздел с домашними заданиями и оценками за четверть.",
        ),
        datetime(2026, 11, 22, 14, 5, tzinfo=MSK),
        "Елена Орлова",
        "og-property",
    ),
    Story(
        1006,
        "elektrosamokaty-zima",
        "Транспорт",
        "Прокат электросамокатов в Москве завершит сезон в декабре",
        "Кикшеринговые сервисы уберут самокаты со улиц до весны.",
        (
            "Сезон проката электросамокатов продлится до первого снегопада. За год пользователи "
            "совершили более 100 миллионов поездок на средствах индивидуальной мобильности.",
            "Скорость СИМ в центре города по-прежнему ограничена 15 километрами в час.",
        ),
        datetime(2026, 11, 23, 9, 0, tzinfo=MSK),
        "Анна Петрова",
        "plain",
    ),
    Story(
        1007,
        "elektrostal-novyj-park",
        "Область",
        "В Электростали открылся новый парк у городского пруда",
        "Благоустройство территории заняло полтора года.",
        (
            "В Электростали завершили благоустройство парка: появились велодорожки, детские "
            "площадки и прокат лодок.",
            "Жители района Электроугли тоже ждут обновления своего сквера.",
        ),
        datetime(2026, 11, 23, 11, 20, tzinfo=MSK),
        "Сергей Ильин",
        "og-name",
    ),
    Story(
        1008,
        "rechnye-elektrosuda-zimnij-marshrut",
        "Транспорт",
        "Речные электросуда будут ходить по Москве-реке и зимой",
        "Ледоколы будут прокладывать путь для речных трамваев на маршруте от Киевского вокзала.",
        (
            "Электросуда «Синара» продолжат работу в холодный сезон. Речной электротранспорт "
            "бесшумен и не выбрасывает выхлопных газов.",
            "Оплатить проезд на речном трамвае можно картой «Тройка».",
        ),
        datetime(2026, 11, 24, 8, 40, tzinfo=MSK),
        "Игорь Смирнов",
        "jsonld",
    ),
    Story(
        1009,
        "remont-dorogi-na-leninskom",
        "Дороги",
        "На Ленинском проспекте ограничат движение из-за ремонта дороги",
        "Две полосы в сторону центра перекроют на выходные.",
        (
            "Дорожные работы пройдут с вечера пятницы до утра понедельника. Водителей просят "
            "заранее планировать маршрут и учитывать перекрытие.",
            "Объезд организован по соседним улицам.",
        ),
        datetime(2026, 11, 24, 16, 10, tzinfo=MSK),
        "Мария Волкова",
        "og-property",
    ),
    Story(
        1010,
        "ivolga-mcd-novye-poezda",
        "Транспорт",
        "На МЦД-2 вышли новые электропоезда «Иволга 4.0»",
        "Поезда стали тише и получили больше мест для колясок и велосипедов.",
        (
            "Электропоезда «Иволга 4.0» начали курсировать по второму Московскому центральному "
            "диаметру. В вагонах есть зарядные устройства для гаджетов.",
            "До конца года на МЦД поступят ещё 15 составов.",
        ),
        datetime(2026, 11, 25, 7, 55, tzinfo=MSK),
        "Олег Кузнецов",
        "jsonld",
    ),
    Story(
        1011,
        "vystavka-v-manezhe",
        "Культура",
        "В Манеже открылась выставка московской графики XX века",
        "Экспозиция объединила более 300 работ из частных собраний.",
        (
            "Выставка продлится до конца января. Вход для школьников бесплатный по выходным.",
            "Кураторы подготовили экскурсии на русском и английском языках.",
        ),
        datetime(2026, 11, 25, 13, 30, tzinfo=MSK),
        "Елена Орлова",
        "og-name",
    ),
    Story(
        1012,
        "elektrobusnyj-park-v-novoj-moskve",
        "Транспорт",
        "В Новой Москве построят электробусный парк на 300 машин",
        "Парк станет одним из крупнейших в Европе.",
        (
            "Строительство электробусного парка начнётся весной. На площадке разместят "
            "ночные зарядные станции для электробусов и ремонтную зону.",
            "Проект позволит перевести на электротранспорт ещё 30 маршрутов.",
        ),
        datetime(2026, 11, 26, 9, 10, tzinfo=MSK),
        "Анна Петрова",
        "og-property",
    ),
)


#: A second sample outlet that reports two of the stories above in its own words (the route
#: launch of 1001 and the trains of 1010) and one look-alike that is a different event (other
#: routes in another district, the same day), so the demo's topic feed shows one entry with
#: "also reported by" for each shared story and keeps the look-alike apart.
PARTNER_TITLE = "Вечерний город"
PARTNER_PREFIX = "/partner"
PARTNER_STORIES: tuple[Story, ...] = (
    Story(
        2001,
        "na-yuge-marshruty-pereveli-na-elektrobusy",
        "Транспорт",
        "На юге столицы маршруты 148, 217 и 790 перевели на электробусы",
        "Вместо автобусов по этим маршрутам теперь ездят электробусы КАМАЗ-6282.",
        (
            "В Южном округе электробусы начали возить пассажиров маршрутов 148, 217 и 790. "
            "В салонах есть климат-контроль и розетки USB, пол низкий.",
            "Машины подзаряжаются на конечных остановках, зарядка занимает 10–20 минут.",
        ),
        datetime(2026, 11, 20, 11, 5, tzinfo=MSK),
        "Павел Зимин",
        "jsonld",
    ),
    Story(
        2002,
        "ivolgi-na-vtorom-diametre",
        "Транспорт",
        "По второму диаметру пошли электропоезда «Иволга 4.0»",
        "Новые составы тише прежних, в них больше места для велосипедов и колясок.",
        (
            "Электропоезда «Иволга 4.0» курсируют по МЦД-2. В вагонах установили зарядные "
            "устройства для телефонов.",
            "До конца года на диаметры поступят ещё 15 таких составов.",
        ),
        datetime(2026, 11, 25, 10, 20, tzinfo=MSK),
        "Павел Зимин",
        "jsonld",
    ),
    Story(
        2003,
        "elektrobusy-na-vostoke",
        "Транспорт",
        "Электробусы вышли на два новых маршрута в Восточном округе",
        "Мосгортранс перевёл на электробусы маршруты 322 и 645.",
        (
            "С понедельника пассажиров маршрутов 322 и 645 в Восточном округе возят "
            "электробусы. Машины оснащены USB-розетками и климат-контролем.",
            "Зарядка проходит на конечных станциях.",
        ),
        datetime(2026, 11, 20, 14, 0, tzinfo=MSK),
        "Павел Зимин",
        "jsonld",
    ),
)
#: Which demo story each partner story reports (the look-alike 2003 reports none).
PARTNER_REWRITES = {2001: 1001, 2002: 1010}


def article_path(story: Story) -> str:
    """The URL path of a story's page."""
    return f"/news/{story.id}-{story.slug}"


def _article_page(story: Story, base: str, site_title: str = SITE_TITLE) -> str:
    url = base.rstrip("/") + article_path(story)
    esc = html.escape
    iso = story.published.isoformat(timespec="minutes")
    meta = [f'<link rel="canonical" href="{esc(url)}">']
    attr = "name" if story.markup == "og-name" else "property"
    if story.markup in ("og-property", "og-name", "jsonld"):
        meta += [
            f'<meta {attr}="og:title" content="{esc(story.title)}">',
            f'<meta {attr}="og:description" content="{esc(story.lead)}">',
            f'<meta {attr}="og:url" content="{esc(url)}">',
            f'<meta {attr}="og:site_name" content="{site_title}">',
            f'<meta {attr}="article:published_time" content="{iso}">',
            f'<meta {attr}="article:section" content="{esc(story.section)}">',
        ]
    if story.markup == "jsonld":
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": story.title,
            "description": story.lead,
            "datePublished": iso,
            "author": {"@type": "Person", "name": story.author},
            "articleSection": story.section,
            "mainEntityOfPage": url,
        }
        meta.append(
            f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
        )
    months = (
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    )
    p = story.published
    visible_date = f"{p.day} {months[p.month - 1]} {p.year}, {p:%H:%M}"
    body = "\n".join(f"<p>{esc(para)}</p>" for para in story.paragraphs)
    related = "\n".join(
        f'<li><a href="{article_path(s)}">{esc(s.title)}</a></li>'
        for s in STORIES
        if s.id != story.id
    )[:2000]
    return f"""<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="utf-8">
<title>{esc(story.title)} — {site_title}</title>
{chr(10).join(meta)}
</head>
<body>
<header><a href="/">{site_title}</a> <nav><a href="/news/">Все новости</a></nav></header>
<main>
<article>
<div class="rubric">{esc(story.section)}</div>
<h1>{esc(story.title)}</h1>
<time datetime="{iso}">{visible_date}</time>
<p class="lead"><strong>{esc(story.lead)}</strong></p>
<div class="article-body">
{body}
</div>
<p class="byline">Автор: {esc(story.author)}</p>
</article>
<aside class="related"><h2>Читать также</h2><ul>{related}</ul></aside>
</main>
<footer>© {site_title}</footer>
</body>
</html>
"""


def _listing_page(stories: list[Story], page: int, pages: int) -> str:
    items = "\n".join(
        f'<li class="news-item"><a href="{article_path(s)}">{html.escape(s.title)}</a></li>'
        for s in stories
    )
    nav = f'<a class="next" href="/news/?page={page + 1}">Дальше</a>' if page < pages else ""
    return f"""<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>Новости — {SITE_TITLE}</title></head>
<body><h1>Новости</h1><ul class="news-list">
{items}
</ul>{nav}</body></html>
"""


def _rss(stories: list[Story], base: str) -> str:
    root = base.rstrip("/")
    items = []
    for s in stories:
        items.append(
            "<item>"
            f"<title>{html.escape(s.title)}</title>"
            f"<link>{root}{article_path(s)}</link>"
            f'<guid isPermaLink="true">{root}{article_path(s)}</guid>'
            f"<description>{html.escape(s.lead)}</description>"
            f"<pubDate>{s.published:%a, %d %b %Y %H:%M:%S +0300}</pubDate>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{SITE_TITLE}</title><link>{root}/</link><description>Новости города</description>"
        + "".join(items)
        + "</channel></rss>\n"
    )


def _sitemap(stories: list[Story], base: str) -> str:
    root = base.rstrip("/")
    urls = "".join(
        f"<url><loc>{root}{article_path(s)}</loc><lastmod>{s.published.isoformat()}</lastmod></url>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
    )


def build_site(base_url: str, stories: tuple[Story, ...] = STORIES) -> dict[str, tuple[bytes, str]]:
    """Every file of the demo site: ``{path: (body, content type)}``.

    The RSS feed carries the newest half of the stories, the sitemap the older half, and the
    listing pages all of them, so each discovery method has work to do.
    """
    newest_first = sorted(stories, key=lambda s: s.published, reverse=True)
    half = len(newest_first) // 2
    files: dict[str, tuple[bytes, str]] = {}
    for story in stories:
        files[article_path(story)] = (
            _article_page(story, base_url).encode(),
            "text/html; charset=utf-8",
        )
    per_page = 6
    pages = max(1, -(-len(newest_first) // per_page))
    for page in range(1, pages + 1):
        chunk = newest_first[(page - 1) * per_page : page * per_page]
        body = _listing_page(chunk, page, pages).encode()
        files[f"/news/?page={page}"] = (body, "text/html; charset=utf-8")
        if page == 1:
            files["/news/"] = (body, "text/html; charset=utf-8")
    files["/rss.xml"] = (
        _rss(newest_first[:half], base_url).encode(),
        "application/rss+xml; charset=utf-8",
    )
    files["/sitemap.xml"] = (_sitemap(newest_first[half:], base_url).encode(), "application/xml")
    files["/robots.txt"] = (b"User-agent: *\nAllow: /\n", "text/plain")
    files["/"] = (_listing_page(newest_first[:per_page], 1, 1).encode(), "text/html; charset=utf-8")
    return files


def build_partner_site(base_url: str) -> dict[str, tuple[bytes, str]]:
    """Every file of the second sample outlet (:data:`PARTNER_STORIES`), under
    :data:`PARTNER_PREFIX` of the same server as the demo site: its pages, RSS and sitemap."""
    root = base_url.rstrip("/") + PARTNER_PREFIX + "/"
    newest_first = sorted(PARTNER_STORIES, key=lambda s: s.published, reverse=True)
    half = len(newest_first) // 2
    files: dict[str, tuple[bytes, str]] = {
        PARTNER_PREFIX + article_path(story): (
            _article_page(story, root, PARTNER_TITLE).encode(),
            "text/html; charset=utf-8",
        )
        for story in PARTNER_STORIES
    }
    files[PARTNER_PREFIX + "/rss.xml"] = (
        _rss(newest_first[:half], root).encode(),
        "application/rss+xml; charset=utf-8",
    )
    files[PARTNER_PREFIX + "/sitemap.xml"] = (
        _sitemap(newest_first[half:], root).encode(),
        "application/xml",
    )
    home = "".join(
        f'<li><a href="{PARTNER_PREFIX}{article_path(s)}">{html.escape(s.title)}</a></li>'
        for s in newest_first
    )
    files[PARTNER_PREFIX + "/"] = (
        f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>{PARTNER_TITLE}'
        f"</title></head><body><ul>{home}</ul></body></html>\n".encode(),
        "text/html; charset=utf-8",
    )
    return files


def demo_source(base_url: str, name: str = "demo") -> dict[str, Any]:
    """The ``[[sources]]`` entry for the demo site served at ``base_url``."""
    return {
        "name": name,
        "title": SITE_TITLE,
        "url": base_url,
        "city": "Moscow",
        "language": "ru",
        "feeds": [base_url + "rss.xml"],
        "sitemaps": [base_url + "sitemap.xml"],
        "listings": [
            {"url": base_url + "news/", "link_pattern": r"/news/\d+-", "next_page": "css:a.next"}
        ],
        "article_pattern": r"/news/\d+-[\w-]+$",
        "allow_private": True,
        "site_names": [SITE_TITLE],
    }


def partner_source(base_url: str, name: str = "partner") -> dict[str, Any]:
    """The ``[[sources]]`` entry for the second sample outlet (see :func:`build_partner_site`)."""
    root = base_url.rstrip("/") + PARTNER_PREFIX + "/"
    return {
        "name": name,
        "title": PARTNER_TITLE,
        "url": root,
        "city": "Moscow",
        "language": "ru",
        "feeds": [root + "rss.xml"],
        "sitemaps": [root + "sitemap.xml"],
        "article_pattern": PARTNER_PREFIX + r"/news/\d+-[\w-]+$",
        "allow_private": True,
        "site_names": [PARTNER_TITLE],
    }
