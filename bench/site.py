"""Benchmark site: a synthetic Russian city-news site, pre-rendered to a directory and served fast.

``python bench/site.py build DIR --articles 1000`` renders article pages (60–120 KB each, like
real news pages: a mega-menu, inline styles and a state script, a Cyrillic sidebar of popular
stories and related links around the article), paginated listing pages, an RSS feed of the
newest 100 and a sitemap index (10,000 URLs per sitemap); a third of the articles carry JSON-LD,
a third OpenGraph, a third nothing but HTML.

Two servers: ``NginxSite`` starts its own nginx (Debian's package; installed with apt-get when
missing) on a loopback port: C, sendfile, well under a core, so the crawlers measured are the
bottleneck, and its CPU time is read from /proc. ``SiteProcess`` serves the same files with
aiohttp (``serve DIR``), for machines without nginx. Both count requests and answer
conditional requests with 304.
"""

from __future__ import annotations

import argparse
import html
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

MSK = timezone(timedelta(hours=3))
TITLE = "Столичный вестник"
PER_PAGE = 50
SECTIONS = (
    "Транспорт",
    "Город",
    "Экономика",
    "Культура",
    "Образование",
    "Дороги",
    "Экология",
    "Спорт",
)
WORDS = (
    "Москва город жители район улица станция метро электробус трамвай маршрут парк сквер "
    "власти мэрия проект строительство ремонт дорога движение остановка пассажиры поездка "
    "школа больница поликлиника музей выставка театр концерт фестиваль праздник площадь "
    "набережная река мост тоннель развязка парковка такси каршеринг самокат велосипед "
    "зарядка станция энергия тариф бюджет рубль миллион процент год месяц неделя день "
    "новый современный удобный большой городской столичный районный областной общественный "
    "открыть запустить построить отремонтировать перевести продлить увеличить сократить "
    "сообщить рассказать объявить отметить подчеркнуть планировать завершить начать"
).split()
TOPIC_WORDS = ("электробус", "трамвай", "электропоезд", "зарядные станции", "МЦД", "электромобиль")


@dataclass(frozen=True)
class Page:
    """One synthetic article."""

    id: int
    slug: str
    section: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    published: datetime
    markup: str  # jsonld | og | plain


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words)), rng.choice(TOPIC_WORDS))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def make_pages(count: int, *, seed: int = 8) -> list[Page]:
    """``count`` articles, newest first, one every 20 minutes back from a fixed instant."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 26, 12, 0, tzinfo=MSK)
    pages = []
    for i in range(count):
        n = 100000 + i
        title = _sentence(rng, rng.randint(6, 11)).rstrip(".")
        paragraphs = tuple(
            " ".join(_sentence(rng, rng.randint(8, 18)) for _ in range(rng.randint(3, 6)))
            for _ in range(rng.randint(6, 42))
        )
        pages.append(
            Page(
                id=n,
                slug=f"novost-{n}",
                section=SECTIONS[i % len(SECTIONS)],
                title=title,
                lead=_sentence(rng, 16),
                paragraphs=paragraphs,
                published=start - timedelta(minutes=20 * i),
                markup=("jsonld", "og", "plain")[i % 3],
            )
        )
    return pages


def article_path(page: Page) -> str:
    """URL path of an article."""
    return f"/news/{page.id}-{page.slug}"


# Real pages are mostly chrome: a mega-menu, inline CSS and JS, footers. ~60 KB of it.
_CSS = (
    "<style>"
    + "".join(f".c{i}{{margin:{i % 7}px;padding:{i % 5}px;color:#{i:06x}}}" for i in range(900))
    + "</style>"
)
_JS = (
    "<script>window.__STATE__="
    + json.dumps(
        {"menu": [{"id": i, "title": f"Раздел {i}", "url": f"/rubric/{i}"} for i in range(250)]},
        ensure_ascii=False,
    )
    + ";</script>"
)


def _nav(listing_pages: int) -> str:
    links = [
        f'<a href="/news/?page={p}">Новости, страница {p}</a>'
        for p in range(1, min(listing_pages, 5) + 1)
    ]
    links += [f'<span class="rubric-link">{html.escape(s)}</span>' for s in SECTIONS]
    return '<header><a href="/">' + TITLE + "</a><nav>" + " ".join(links) + "</nav></header>"


def render_article(page: Page, base: str, related: list[Page], listing_pages: int) -> str:
    """The HTML of one article page."""
    esc = html.escape
    url = base.rstrip("/") + article_path(page)
    iso = page.published.isoformat(timespec="minutes")
    head = [f"<title>{esc(page.title)} — {TITLE}</title>", f'<link rel="canonical" href="{url}">']
    if page.markup in ("og", "jsonld"):
        head += [
            f'<meta property="og:title" content="{esc(page.title)}">',
            f'<meta property="og:description" content="{esc(page.lead)}">',
            f'<meta property="og:url" content="{url}">',
            f'<meta property="article:published_time" content="{iso}">',
            f'<meta property="article:section" content="{esc(page.section)}">',
        ]
    if page.markup == "jsonld":
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": page.title,
            "description": page.lead,
            "datePublished": iso,
            "author": {"@type": "Person", "name": "Редакция"},
            "articleSection": page.section,
        }
        head.append(
            f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
        )
    body = "\n".join(f"<p>{esc(p)}</p>" for p in page.paragraphs)
    rel = "".join(f'<li><a href="{article_path(r)}">{esc(r.title)}</a></li>' for r in related)
    # Real sidebars carry Cyrillic teasers too: the extractor must not take them for the article.
    popular = "".join(
        f'<div class="teaser"><a href="{article_path(r)}">{esc(r.title)}</a>'
        f"<p>{esc(r.lead)}</p></div>"
        for r in related[:12]
    )
    return f"""<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8">{"".join(head)}{_CSS}</head>
<body>{_nav(listing_pages)}
<main><article><div class="rubric">{esc(page.section)}</div><h1>{esc(page.title)}</h1>
<time datetime="{iso}">{page.published:%d.%m.%Y %H:%M}</time>
<p class="lead">{esc(page.lead)}</p><div class="article-body">{body}</div></article>
<aside class="related"><h2>Читайте также</h2><ul>{rel}</ul></aside>
<aside class="popular"><h2>Популярное за неделю</h2>{popular}</aside></main>
<footer>© {TITLE}. Все права защищены. {"Реклама. Контакты. Правила. " * 40}</footer>{_JS}
</body></html>
"""


def render_listing(pages: list[Page], page_no: int, total: int, listing_pages: int) -> str:
    """One page of the paginated news list."""
    items = "".join(
        f'<li class="news-item"><a href="{article_path(p)}">{html.escape(p.title)}</a></li>'
        for p in pages
    )
    nxt = f'<a class="next" href="/news/?page={page_no + 1}">Дальше</a>' if page_no < total else ""
    return (
        f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Новости —'
        f" {TITLE}</title></head>"
        f'<body>{_nav(listing_pages)}<ul class="news-list">{items}</ul>{nxt}</body></html>'
    )


def render_rss(pages: list[Page], base: str) -> str:
    """RSS 2.0 with the newest 100 articles."""
    root = base.rstrip("/")
    items = "".join(
        f"<item><title>{html.escape(p.title)}</title><link>{root}{article_path(p)}</link>"
        f"<description>{html.escape(p.lead)}</description>"
        f"<pubDate>{p.published:%a, %d %b %Y %H:%M:%S +0300}</pubDate></item>"
        for p in pages[:100]
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{TITLE}</title><link>{root}/</link><description>Новости</description>{items}</channel></rss>\n"
    )


SITEMAP_CHUNK = 10000


def render_sitemap_index(chunks: int, base: str) -> str:
    """The sitemap index pointing at ``chunks`` sitemaps (``sitemap-1.xml`` ...)."""
    root = base.rstrip("/")
    maps = "".join(
        f"<sitemap><loc>{root}/sitemap-{n}.xml</loc></sitemap>" for n in range(1, chunks + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex'
        f' xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>\n'
    )


def render_sitemap(pages: list[Page], base: str) -> str:
    """A sitemap of ``pages``."""
    root = base.rstrip("/")
    urls = "".join(
        f"<url><loc>{root}{article_path(p)}</loc><lastmod>{p.published.isoformat()}</lastmod></url>"
        for p in pages
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'


def build(root: Path, base_url: str, articles: int) -> dict[str, Any]:
    """Render the whole site into ``root``; returns a summary (pages, bytes)."""
    pages = make_pages(articles)
    listing_pages = -(-len(pages) // PER_PAGE)
    (root / "news").mkdir(parents=True, exist_ok=True)
    total = 0
    for i, page in enumerate(pages):
        related = [pages[(i + k) % len(pages)] for k in range(1, 31)]
        data = render_article(page, base_url, related, listing_pages).encode()
        (root / "news" / f"{page.id}-{page.slug}").write_bytes(data)
        total += len(data)
    for n in range(1, listing_pages + 1):
        body = render_listing(
            pages[(n - 1) * PER_PAGE : n * PER_PAGE], n, listing_pages, listing_pages
        )
        (root / "news" / f"page-{n}.html").write_text(body, encoding="utf-8")
    (root / "index.html").write_text(
        render_listing(pages[:PER_PAGE], 1, 1, listing_pages), encoding="utf-8"
    )
    (root / "rss.xml").write_text(render_rss(pages, base_url), encoding="utf-8")
    chunks = -(-len(pages) // SITEMAP_CHUNK)
    for n in range(1, chunks + 1):
        part = pages[(n - 1) * SITEMAP_CHUNK : n * SITEMAP_CHUNK]
        (root / f"sitemap-{n}.xml").write_text(render_sitemap(part, base_url), encoding="utf-8")
    (root / "sitemap.xml").write_text(render_sitemap_index(chunks, base_url), encoding="utf-8")
    (root / "robots.txt").write_text(
        f"User-agent: *\nAllow: /\nSitemap: {base_url.rstrip('/')}/sitemap.xml\n",
        encoding="utf-8",
    )
    sizes = sorted(p.stat().st_size for p in (root / "news").iterdir() if "-novost-" in p.name)
    return {
        "articles": len(pages),
        "listing_pages": listing_pages,
        "article_kb": total / len(pages) / 1024,
        "article_kb_min": sizes[0] / 1024,
        "article_kb_median": sizes[len(sizes) // 2] / 1024,
        "article_kb_max": sizes[-1] / 1024,
    }


def source_entry(base_url: str, name: str = "bench") -> dict[str, Any]:
    """The ``[[sources]]`` entry of the benchmark site (laid out like the demo site)."""
    from cityfeeds.devtools.demo_site import demo_source

    entry = demo_source(base_url, name)
    entry.update(title=TITLE, site_names=[TITLE], max_pages_per_run=100000)
    return entry


# -- server --------------------------------------------------------------------------------

TYPES = {
    ".xml": "application/xml",
    ".txt": "text/plain",
    "": "text/html; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def _serve(root: Path, port: int, counter: Any) -> None:
    from aiohttp import web

    async def handle(request: web.Request) -> web.StreamResponse:
        with counter.get_lock():
            counter.value += 1
        path = request.path
        if path in ("/", ""):
            rel = "index.html"
        elif path == "/news/":
            rel = f"news/page-{int(request.query.get('page', '1'))}.html"
        else:
            rel = path.lstrip("/")
        file = (root / rel).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            raise web.HTTPNotFound()
        # FileResponse: sendfile, ETag, Last-Modified and 304s on conditional requests.
        return web.FileResponse(
            file, headers={"Content-Type": TYPES.get(file.suffix, "text/html; charset=utf-8")}
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SiteProcess:
    """Build (once) and serve the benchmark site from a separate process; counts requests."""

    def __init__(self, root: Path, articles: int, port: int | None = None) -> None:
        self.root = root.resolve()
        self.articles = articles
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/"
        self.requests = multiprocessing.get_context("fork").Value("q", 0)
        self.proc: multiprocessing.process.BaseProcess | None = None
        self.summary: dict[str, Any] = {}

    def __enter__(self) -> SiteProcess:
        self.summary = build_once(self.root, self.base_url, self.articles, self.port)
        self.proc = multiprocessing.get_context("fork").Process(
            target=_serve, args=(self.root, self.port, self.requests), daemon=True
        )
        self.proc.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("benchmark site did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.join(5)

    @property
    def count(self) -> int:
        """Requests served so far."""
        return int(self.requests.value)

    @property
    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far."""
        return _proc_cpu_seconds(self.proc.pid) if self.proc and self.proc.pid else 0.0


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; application/xml xml; text/plain txt; }}
    default_type text/html;
    charset utf-8;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    log_format count "$status";
    access_log {work}/access.log count;
    client_body_temp_path {work}/tmp;
    proxy_temp_path {work}/tmp;
    fastcgi_temp_path {work}/tmp;
    uwsgi_temp_path {work}/tmp;
    scgi_temp_path {work}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /news/ {{ try_files /news/page-$arg_page.html /news/page-1.html; }}
        location / {{ try_files $uri $uri/index.html =404; }}
    }}
}}
"""


def find_nginx(install: bool = True) -> str:
    """The nginx binary; installs Debian's package when missing and allowed (needs root)."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).exists():
            return candidate
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True, env=env)
        return "/usr/sbin/nginx"
    raise SystemExit(
        "nginx not found: install it (Debian: apt-get install nginx) or use --server aiohttp"
    )


def _proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class NginxSite:
    """Build (once) and serve the benchmark site with its own nginx on a free loopback port."""

    def __init__(self, root: Path, articles: int, port: int | None = None) -> None:
        self.root = root.resolve()
        self.articles = articles
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/"
        self.work = self.root.parent / f"nginx-{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.summary: dict[str, Any] = {}

    def __enter__(self) -> NginxSite:
        self.summary = build_once(self.root, self.base_url, self.articles, self.port)
        binary = find_nginx()
        (self.work / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(work=self.work, port=self.port, root=self.root))
        self.proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(self.work)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start: {(self.work / 'error.log').read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def _pids(self) -> list[int]:
        assert self.proc is not None
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            pids += [int(p) for p in children.split()]
        except OSError:
            pass
        return pids

    @property
    def cpu_seconds(self) -> float:
        """CPU time nginx (master and worker) has used so far."""
        return sum(_proc_cpu_seconds(pid) for pid in self._pids())

    @property
    def count(self) -> int:
        """Requests served so far (lines of the access log; nginx writes it unbuffered)."""
        try:
            with open(self.work / "access.log", "rb") as log:
                return sum(1 for _ in log)
        except FileNotFoundError:
            return 0


def build_once(root: Path, base_url: str, articles: int, port: int) -> dict[str, Any]:
    """Build the site unless this size for this port was built before; its summary."""
    marker = root / f".built-{articles}-{port}"
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    if root.exists():
        shutil.rmtree(root)
    summary = build(root, base_url, articles)
    marker.write_text(json.dumps(summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("root", type=Path)
    b.add_argument("--articles", type=int, default=1000)
    b.add_argument("--base-url", default="http://127.0.0.1:8700/")
    s = sub.add_parser("serve")
    s.add_argument("root", type=Path)
    s.add_argument("--port", type=int, default=8700)
    args = parser.parse_args(argv)
    if args.cmd == "build":
        print(json.dumps(build(args.root, args.base_url, args.articles)))
    else:
        counter = multiprocessing.Value("q", 0)
        _serve(args.root.resolve(), args.port, counter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
