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
from typing import Any

from cityfeeds.devtools.demo_stories import (
    PARTNER_PREFIX,
    PARTNER_STORIES,
    PARTNER_TITLE,
    STORIES,
    Story,
)

SITE_TITLE = "Городские новости"


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
