"""Shared samples for the story tests: look-alike reports of Moscow transport news."""

from __future__ import annotations

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
