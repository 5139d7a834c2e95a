"""Loopback sites of different shapes for the drafting tests (feed only, sitemap only, listings).

Each builder returns ``(files, article_paths)``: the files for ``SiteServer`` and the paths of
every real article, so a test can tell articles from everything else that was stored.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta, timezone

MSK = timezone(timedelta(hours=3))
Files = dict[str, tuple[bytes, str]]
HTML = "text/html; charset=utf-8"

_WORDS = (
    "Городские службы сообщили о завершении работ на улице, где жители давно ждали ремонта. "
    "По словам представителей управы, движение транспорта восстановлено в полном объёме, а "
    "на тротуарах высажены новые деревья и установлены скамейки для отдыха. "
)


def _date(i: int) -> datetime:
    return datetime(2026, 11, 1, 9, 0, tzinfo=MSK) + timedelta(hours=7 * i)


def article_html(title: str, published: datetime, *, url: str, markup: str, site: str) -> bytes:
    """An article page: ``markup`` is "jsonld", "og" or "plain" (a classed date only)."""
    esc = html.escape
    iso = published.isoformat(timespec="minutes")
    head = [f"<title>{esc(title)} — {esc(site)}</title>"]
    if markup == "og":
        head += [
            f'<meta property="og:title" content="{esc(title)}">',
            f'<meta property="article:published_time" content="{iso}">',
        ]
    elif markup == "jsonld":
        ld = {"@type": "NewsArticle", "headline": title, "datePublished": iso, "url": url}
        head.append(
            f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
        )
    stamp = f"{published:%d.%m.%Y %H:%M}"
    date_html = f'<div class="meta-line"><span class="stamp">{stamp}</span></div>'
    body = "".join(f"<p>{_WORDS} Абзац {n}.</p>" for n in range(3))
    return (
        f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">{"".join(head)}</head>'
        f'<body><header><a href="/">{esc(site)}</a></header><main><article>'
        f'<h1>{esc(title)}</h1><div class="article-text">{body}</div>{date_html}'
        "</article></main><footer>© 2026</footer></body></html>"
    ).encode()


def page_html(title: str, links: list[tuple[str, str]], *, extra: str = "") -> bytes:
    """A plain page with a list of links (a home page, a section, an about page)."""
    items = "".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in links)
    return (
        f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1><ul>{items}</ul>{extra}</body></html>"
    ).encode()


def rss_feed(site: str, base: str, items: list[tuple[str, str, datetime]]) -> bytes:
    """An RSS 2.0 feed of ``items`` (title, link, publication time with its offset)."""
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<pubDate>{d:%a, %d %b %Y %H:%M:%S %z}</pubDate></item>"
        for title, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{site}</title><link>{base}</link>{entries}</channel></rss>"
    ).encode()


def feed_only_site(base: str, count: int = 12) -> tuple[Files, list[str]]:
    """Articles under /stories/YYYY/MM/DD/slug.html, an RSS feed linked from the home page."""
    site = "Вести Района"
    files: Files = {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain")}
    paths = []
    items: list[tuple[str, str, datetime]] = []
    for i in range(count):
        d = _date(i)
        path = f"/stories/{d:%Y/%m/%d}/novost-rayona-nomer-{i}.html"
        paths.append(path)
        title = f"Новость района номер {i}"
        files[path] = (article_html(title, d, url=base + path[1:], markup="og", site=site), HTML)
        items.append((title, base.rstrip("/") + path, d))
    files["/feed/news.rss"] = (rss_feed(site, base, items), "application/rss+xml")
    latest = [(p, "новость") for p in paths[-3:]] + [("/about.html", "О нас")]
    extra = '<link rel="alternate" type="application/rss+xml" href="/feed/news.rss">'
    home = page_html(site, latest).replace(b"</head>", extra.encode() + b"</head>")
    files["/"] = (home, HTML)
    files["/about.html"] = (page_html("О нас", [("/", "Главная")]), HTML)
    return files, paths


def sitemap_only_site(base: str, count: int = 15) -> tuple[Files, list[str]]:
    """Articles at /a/<id>/ found through a sitemap index named in robots.txt."""
    site = "Столичный вестник"
    root = base.rstrip("/")
    robots = f"User-agent: *\nDisallow: /search\nSitemap: {root}/sitemaps/index.xml\n"
    files: Files = {"/robots.txt": (robots.encode(), "text/plain")}
    paths = []
    urls = []
    for i in range(count):
        d = _date(i)
        path = f"/a/{7000 + i}/"
        paths.append(path)
        title = f"Столичная новость {i}"
        files[path] = (article_html(title, d, url=root + path, markup="jsonld", site=site), HTML)
        urls.append(
            f"<url><loc>{root}{path}</loc><news:news><news:publication_date>{d.isoformat()}"
            f"</news:publication_date><news:title>{title}</news:title></news:news></url>"
        )
    ns = (
        'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
    )
    files["/sitemaps/news.xml"] = (f"<urlset {ns}>{''.join(urls)}</urlset>".encode(), "text/xml")
    pages = "".join(
        f"<url><loc>{root}{p}</loc></url>" for p in ("/about/", "/contacts/", "/tag/gorod-i-lyudi/")
    )
    files["/sitemaps/pages.xml"] = (f"<urlset {ns}>{pages}</urlset>".encode(), "text/xml")
    index = "".join(
        f"<sitemap><loc>{root}/sitemaps/{n}.xml</loc></sitemap>" for n in ("pages", "news")
    )
    files["/sitemaps/index.xml"] = (
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{index}'
        "</sitemapindex>".encode(),
        "text/xml",
    )
    for p in ("/about/", "/contacts/", "/tag/gorod-i-lyudi/"):
        files[p] = (page_html("Страница", [("/", "Главная")]), HTML)
    files["/"] = (page_html(site, [(paths[-1], "Главное"), ("/about/", "О нас")]), HTML)
    return files, paths


def listings_site(base: str, per_section: int = 9) -> tuple[Files, list[str]]:
    """No feed, no sitemap: nav sections paginated by rel=next; dates only in a classed span."""
    site = "Окружная газета"
    files: Files = {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain")}
    paths: list[str] = []
    per_page = 4
    for s, section in enumerate(("gorod", "transport")):
        section_paths = []
        for i in range(per_section):
            d = _date(s * 100 + i)
            path = f"/{section}/{s * 100 + i}-sobytie-v-okruge-dnya/"
            section_paths.append(path)
            title = f"Событие в округе {s}-{i}"
            files[path] = (
                article_html(title, d, url=base + path[1:], markup="plain", site=site),
                HTML,
            )
        paths += section_paths
        pages = -(-per_section // per_page)
        for page in range(1, pages + 1):
            chunk = section_paths[(page - 1) * per_page : page * per_page]
            nxt = (
                f'<a rel="next" href="/{section}/page/{page + 1}/">Дальше</a>'
                if page < pages
                else ""
            )
            body = page_html(f"Раздел {section}", [(p, "статья") for p in chunk], extra=nxt)
            files[f"/{section}/" if page == 1 else f"/{section}/page/{page}/"] = (body, HTML)
    nav = '<nav><a href="/gorod/">Город</a> <a href="/transport/">Транспорт</a></nav>'
    # Author pages share a slug shape too: the draft must check them and leave them out.
    authors = ["/authors/ivan-petrovich-sidorov/", "/authors/anna-sergeevna-petrova/"]
    home = page_html(site, [(paths[0], "главное"), *((a, "автор") for a in authors)], extra=nav)
    files["/"] = (home, HTML)
    for author in authors:
        text = "Колонки и репортажи автора о жизни округа. " * 10
        files[author] = (page_html("Автор", [(paths[1], "статья")], extra=f"<p>{text}</p>"), HTML)
    return files, paths


_WÖRTER = (
    "Die Stadtwerke haben die Bauarbeiten an der Hauptstraße abgeschlossen, auf die die "
    "Anwohner lange gewartet hatten. Der Verkehr fließt wieder in beide Richtungen, auf den "
    "Gehwegen stehen neue Bäume und Bänke. "
)
CET = timezone(timedelta(hours=1))


def german_site(base: str, count: int = 8) -> tuple[Files, list[str]]:
    """A German city's site: its RSS states +0100, its pages only naive local times.

    Each article shows its date as a text line («21. Januar 2026, 05:00 Uhr») before the story
    and in a ``<time datetime>`` without an offset, as the tester's site did.
    """
    site = "Stadt Beispiel"
    root = base.rstrip("/")
    files: Files = {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain")}
    months = ("Januar", "Februar")
    paths: list[str] = []
    items: list[tuple[str, str, datetime]] = []
    for i in range(count):
        d = datetime(2026, 1, 5, 5, 0, tzinfo=CET) + timedelta(days=3 * i, hours=i)
        path = f"/aktuelles/meldung-{100 + i}.html"
        paths.append(path)
        title = f"Meldung aus der Stadt Nummer {i}"
        dateline = f"{d.day}. {months[d.month - 1]} {d.year}, {d:%H:%M} Uhr"
        body = "".join(f"<p>{_WÖRTER} Absatz {n}.</p>" for n in range(3))
        page = (
            f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">'
            f"<title>{title} - {site}</title></head><body><header><a href='/'>{site}</a>"
            f'</header><main><article><h1>{title}</h1><p class="datum">{dateline}</p>'
            f'<time datetime="{d:%Y-%m-%dT%H:%M}">{d:%d.%m.%Y}</time>{body}</article></main>'
            "<footer>Stadt Beispiel</footer></body></html>"
        )
        files[path] = (page.encode(), HTML)
        items.append((title, root + path, d))
    files["/rss.xml"] = (rss_feed(site, base, items), "application/rss+xml")
    extra = '<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
    home = page_html(site, [(p, "Meldung") for p in paths[-3:]])
    home = home.replace(b'lang="ru"', b'lang="de"').replace(b"</head>", extra.encode() + b"</head>")
    files["/"] = (home, HTML)
    return files, paths
