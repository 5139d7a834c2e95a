"""A loopback site whose listing page builds its article links from a JSON request in JavaScript."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cityfeeds.devtools.demo_server import SiteServer
from tests.conftest import write_site_config

HTML = "text/html; charset=utf-8"
ARTICLES = 8
_TEXT = (
    "Городские службы сообщили о завершении работ на улице, где жители давно ждали ремонта. "
    "Движение транспорта восстановлено, на тротуарах высажены новые деревья. "
) * 3


def article_path(i: int) -> str:
    """The path of article ``i``."""
    return f"/news/{500 + i}-novost-iz-skripta/"


def _article(i: int) -> bytes:
    return (
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
        f'<meta property="og:title" content="Новость из скрипта {i}">'
        f'<meta property="article:published_time" content="2026-11-{10 + i}T09:00:00+03:00">'
        f"<title>Новость из скрипта {i}</title></head><body><article>"
        f"<h1>Новость из скрипта {i}</h1><p>{_TEXT}</p><p>{_TEXT}</p></article></body></html>"
    ).encode()


# The listing: an image (never downloaded when rendered), then links from /api/news.json.
_LISTING = """<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Новости</title>
</head><body><h1>Новости</h1><img src="/img/banner.png"><ul id="list"></ul>
<script>
fetch("/api/news.json").then(r => r.json()).then(items => {
  const list = document.getElementById("list");
  for (const item of items) {
    const li = document.createElement("li");
    li.innerHTML = `<a class="item" href="${item.url}">${item.title}</a>`;
    list.appendChild(li);
  }
});
</script>%s</body></html>"""

# What a hostile page script tries: private and link-local addresses, a file, a WebSocket.
# Whatever it reaches becomes a "leak" link, which a crawl would then request from the site.
_PROBES = """<script>
const leak = (n) => {
  const a = document.createElement("a");
  a.href = "/news/999" + n + "-leak-page/";
  document.body.appendChild(a);
};
["http://10.0.0.1/secret", "http://169.254.169.254/latest/meta-data/", "file:///etc/hostname"]
  .forEach((url, n) => fetch(url).then(() => leak(n)).catch(() => {}));
try {
  const ws = new WebSocket("ws://10.0.0.1:9/");
  ws.onopen = () => leak(7);
} catch (e) {}
</script>"""


def js_site(
    *, probes: bool = False, robots: str = "User-agent: *\nAllow: /\n", extra: str = ""
) -> dict[str, tuple[bytes, str]]:
    """Every file of the site; ``probes`` adds the hostile script to the listing, ``extra`` HTML."""
    items = [{"url": article_path(i), "title": f"Новость из скрипта {i}"} for i in range(ARTICLES)]
    files: dict[str, tuple[bytes, str]] = {
        "/robots.txt": (robots.encode(), "text/plain"),
        "/news/": ((_LISTING % ((_PROBES if probes else "") + extra)).encode(), HTML),
        "/api/news.json": (json.dumps(items, ensure_ascii=False).encode(), "application/json"),
        "/img/banner.png": (b"\x89PNG\r\n\x1a\n", "image/png"),
        "/": (b"<!DOCTYPE html><html><body><a href='/news/'>News</a></body></html>", HTML),
    }
    for i in range(ARTICLES):
        files[article_path(i)] = (_article(i), HTML)
    return files


def js_source(base_url: str, *, render: bool, name: str = "jsnews") -> dict[str, Any]:
    """The ``[[sources]]`` entry of the site at ``base_url``."""
    source: dict[str, Any] = {
        "name": name,
        "title": "Новости из скрипта",
        "url": base_url,
        "listings": [{"url": base_url + "news/"}],
        "article_pattern": r"/news/\d+-[\w-]+/$",
        "allow_private": True,
    }
    if render:
        source["render"] = "browser"
    return source


def rendered_sources_waiting(tmp_path: Path, sites: list[SiteServer], script: str) -> Path:
    """A config: a rendered source per site (jsnews, jsnews2, ...), its listing runs ``script``."""
    sources = []
    for n, site in enumerate(sites, start=1):
        site.files = js_site(extra=script)
        name = "jsnews" if n == 1 else f"jsnews{n}"
        sources.append(js_source(site.base_url, render=True, name=name))
    return write_site_config(tmp_path, sites[0].base_url, sources=sources)
