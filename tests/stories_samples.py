"""Shared samples for the story tests: look-alike reports of Moscow transport news."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from crawler.models import Article, TopicMatch

T0 = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
TOPIC = [TopicMatch("electric-transport", 3.0, ["title: электробус"])]

# Two outlets report the route 776 launch in their own words; route 812 a week later looks the
# same but for its number and district.
ROUTE_776_MOS = (
    "Электробусы вышли на маршрут № 776 на востоке Москвы",
    "Два современных электробуса российского производства начали курсировать по маршруту "
    "№ 776 у станции метро «Новогиреево», сообщил Максим Ликсутов.",
)
ROUTE_776_M24 = (
    "На востоке столицы электробусы начали работать на маршруте 776",
    "Маршрут 776 проходит у метро «Новогиреево» и одноименной станции МЦД; в ВАО "
    "курсируют два современных электробуса российского производства.",
)
ROUTE_812 = (
    "Электробусы вышли на маршрут № 812 на востоке Москвы",
    "Два современных электробуса российского производства начали курсировать по маршруту "
    "№ 812 у станции метро «Перово», сообщил Максим Ликсутов.",
)
BUS_2000_MOS = (
    "Собянин: в Москве на маршрут вышел 2 000-й электробус",
    "Юбилейный электробус начал возить пассажиров на маршруте т25, рассказал мэр.",
)
BUS_2000_VM = (
    "В столице на линию вышел двухтысячный электробус",
    "Двухтысячный электробус начал перевозить пассажиров по маршруту т25.",
)
BUS_2500 = (
    "В столице на линию вышел 2500-й электробус",
    "Юбилейный электробус начал перевозить пассажиров по маршруту т25.",
)
TRAM_SHABOLOVKA = (
    "Движение трамваев закроют на улице Шаболовка из-за ремонта путей",
    "С 14 октября трамваи не будут ходить по улице Шаболовка: специалисты обновят пути.",
)
TRAM_LESNAYA = (
    "Движение трамваев закроют на Лесной улице из-за ремонта путей",
    "С 14 октября трамваи не будут ходить по Лесной улице: специалисты обновят пути.",
)


def report(n: int, source: str, text: tuple[str, str], hours: float = 0, **kw: object) -> Article:
    """Article ``n`` of ``source`` with a (title, lead) pair, ``hours`` after :data:`T0`."""
    values: dict = {
        "url": f"https://{source}.example.ru/news/{n}",
        "source": source,
        "title": text[0],
        "summary": text[1],
        "text": text[1] + " Подробности в материале.",
        "published": T0 + timedelta(hours=hours),
        "topics": list(TOPIC),
        "fetched_at": T0 + timedelta(hours=hours),
    }
    values.update(kw)
    return Article(**values)


# One announcement of eight new electric-bus routes (27 October 2025), headline and lead as
# four outlets published them (tests/fixtures/stories/labelled.jsonl): each headline picks
# another figure (18 districts, 248 routes in all), and only the count of eight is shared.
EIGHT_ROUTES_SMI = (
    "В 18 районах Москвы запустили новые электробусные маршруты",
    "Москва активно развивает сеть экологичного наземного транспорта. Впервые в этом году "
    "одновременно запустили восемь электробусных маршрутов. Курсировать они будут по 18 районам "
    "столицы.",
)
EIGHT_ROUTES_RAMBLER = (
    "",
    "Восемь новых электробусных маршрутов заработали в Москве. Об этом в понедельник, 27 "
    "октября, сообщил заместитель мэра Москвы по вопросам транспорта и промышленности Максим "
    "Ликсутов. Общее число электробусных маршрутов в Москве достигло 248.",
)
EIGHT_ROUTES_RAMBLER_2 = (
    "Восемь электробусных маршрутов запустили в 18 районах Москвы",
    "В Москве запустили сразу 8 новых электробусных маршрутов, которые связали 18 районов "
    "города. Об этом сообщает пресс-служба департамента транспорта и развития "
    "дорожно-транспортной инфраструктуры столицы.",
)
EIGHT_ROUTES_AFISHA = (
    "В Москве запустили 8 новых маршрутов электробуса",
    "В Москве запустили еще 8 электробусных маршрутов, сообщил заммэра Максим Ликсутов. Их "
    "число достигло 248, что составляет более 25% маршрутов всего наземного транспорта.",
)


# Short briefs of different events under one closing paragraph (a site's template, or two
# outlets reprinting one press office's line): the shared sentence once made the tram and the
# electric-bus reports one story (similarity 0.39), and one site's briefs on a rink, power
# tariffs and the e-journal all joined another outlet's electric-bus report.
CLOSING = "Работы ведутся по плану и будут завершены в срок, сообщили в мэрии."
# Other closing lines, for the same class: each stays apart too.
CLOSINGS = (
    CLOSING,
    "Все изменения согласованы с профильными ведомствами и вступят в силу до конца года, "
    "уточнили в правительстве.",
    "Следите за главными новостями района в нашем канале и на официальном сайте управы.",
    "Ранее сообщалось, что власти продолжат обновлять городскую инфраструктуру по программе "
    "развития до 2030 года.",
)
TRAMS_BOULEVARD = (
    "Трамваи «Витязь» пошли по Бульварному кольцу",
    "Новые трамваи «Витязь-Москва» вышли на линию по Бульварному кольцу. Трамвайная сеть "
    "обновлена, троллейбусная тоже.",
)
EBUSES_MARYINO = (
    "Электробусы вышли на маршрут в Марьине",
    "Новые электробусы вышли на маршрут в районе Марьино, сообщили в Департаменте транспорта. "
    "Электробусы оборудованы USB-зарядками.",
)
# One site's short notes on other events (written for the tests).
BRIEFS = (
    (
        "В Электростали открыли новый каток",
        "Каток с искусственным льдом открылся в парке у городского пруда. Вход на каток "
        "бесплатный.",
    ),
    (
        "Тарифы на электроэнергию изменятся с января",
        "Стоимость киловатт-часа для жителей вырастет на девять процентов. Для квартир с "
        "электроплитами сохранится понижающий коэффициент.",
    ),
    (
        "Электронный дневник получил новое оформление",
        "Родители смогут видеть расписание кружков в личном кабинете. Обновление доступно всем "
        "школам.",
    ),
    TRAMS_BOULEVARD,
    (
        "На Ленинском проспекте ограничат движение",
        "Две полосы в сторону центра перекроют на выходные из-за ремонта дороги. Объезд "
        "организован по соседним улицам.",
    ),
    (
        "В Манеже открылась выставка московской графики",
        "Экспозиция объединила более 300 работ из частных собраний. Выставка продлится до конца "
        "января.",
    ),
)


def brief(
    n: int,
    source: str,
    text: tuple[str, str],
    closing: str = CLOSING,
    hours: float = 0,
    *,
    summary: bool = True,
) -> Article:
    """A short report of ``source``: its lead as the first paragraph, then ``closing``; with
    ``summary`` False the page gave no description (the lead is read from the text)."""
    return replace(
        report(n, source, text, hours=hours),
        summary=text[1] if summary else "",
        text=f"{text[1]}\n\n{closing}",
    )


# One outlet's reports of two openings on one day, and another outlet's report of both
# (written for the tests): each report verifies with the digest, not with each other.
OPENING_HOSPITAL = (
    "В Коммунарке открылась больница на 600 коек",
    "Многопрофильная больница на 600 коек приняла первых пациентов в Коммунарке, сообщил мэр.",
)
OPENING_STATION = (
    "Станция «Новаторская» Большой кольцевой линии открыта",
    "Станция «Новаторская» Большой кольцевой линии метро открылась для пассажиров.",
)
OPENINGS_DIGEST = (
    "Собянин открыл больницу в Коммунарке и станцию «Новаторская»",
    "Мэр открыл многопрофильную больницу на 600 коек в Коммунарке и станцию «Новаторская» "
    "Большой кольцевой линии метро.",
)


# One outlet's template pages (a tester's loopback sites): every page carries the same two
# body paragraphs; four name a route and a depot in their headline and lead («маршрут 500»…
# «503»: rival events), one names no number at all (a timetable), and another outlet's report
# names none either. Each numberless report verifies with every numbered one, so either could
# bridge the whole series into one story.
TEMPLATE_BODY = (
    "Электробусы и трамваи: в городе запускают новые маршруты электробусов. Трамвайная сеть "
    "расширяется, зарядные станции для электробусов строят у депо."
)
TEMPLATE_TIMETABLE = ("Электробус: расписание таблицей", "")
TEMPLATE_SERIES = tuple(
    (
        f"Электробус: массовая новость номер {k} о маршруте 50{k}",
        f"Маршрут 50{k} переводят на электробусы, сообщили в депо номер {k}.",
    )
    for k in range(4)
)
TEMPLATE_OTHER = ("Электробус маршрут запущен", "Текст про управляющие символы.")


def template_page(n: int, source: str, text: tuple[str, str], hours: float = 0) -> Article:
    """A page of the template sites: its lead opens the first of two equal body paragraphs."""
    first = f"{text[1]} {TEMPLATE_BODY}".strip()
    return replace(
        report(n, source, text, hours=hours), summary=first, text=f"{first}\n\n{TEMPLATE_BODY}"
    )
