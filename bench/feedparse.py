"""Benchmark: feed parsing before and after issue 21, per corpus file and per crawl (prints).

    python bench/feedparse.py [--repeat 5]

Runs, in the same process, over every file of feedparser's test corpus (tests/corpus/feedparser,
~2,100 small RSS/Atom/RDF documents): the lxml walker cityfeeds used before issue 21 (kept below,
verbatim but for the JSON and sitemap parts, as the baseline), today's ``parse_feed`` (guards +
RFC 3023 decoding + feedparser) and bare ``feedparser.parse``. Prints the median ms per file
(best of ``--repeat`` per file), crashes and refusals, and each parser's entry-link agreement with
feedparser on the clean files (the rules of tests/test_feed_corpus.py). Then the cost per crawl:
a generated Moscow-style 100-item RSS with ``yandex:full-text`` (the largest feeds sources
serve), against the median CPU time of extracting one article page (bench/README: ~17 ms).
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import feedparser
from lxml import etree
from lxml import html as lxml_html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.discovery import DiscoveryError, Link, UnsafeXMLError, parse_feed
from crawler.discovery.safe_xml import decompress
from crawler.normalize.dates import parse_date
from crawler.normalize.text import clean_text
from crawler.normalize.urls import is_http_url

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "feedparser"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TZ = "Europe/Moscow"
HEADER_RE = re.compile(r"^\s*Header:\s*([\w-]+):\s*(.*?)\s*$", re.M)
EXTRACT_MS_PER_PAGE = 17.0  # bench/README, "cpu ms/page (median)" of bench/extraction.py

# -- the parser before issue 21 (commit e7e7662), feeds only ----------------------------------

MAX_XML_BYTES = 50 * 1024 * 1024
MAX_XML_DEPTH = 64


def absolute_url(href: str, base_url: str) -> str:
    return urldefrag(urljoin(base_url, href.strip())).url


_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    dtd_validation=False,
    remove_comments=True,
    remove_pis=True,
)


_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.I)
_ENTITY_RE = re.compile(rb"<!ENTITY", re.I)


# D6 policy: an internal DTD subset may declare a few small *internal general* entities with
# plain-text values (some feeds do, reader#212). Anything else in a DTD is refused: external
# (SYSTEM/PUBLIC: XXE), parameter (%), nested references (billion laughs), markup in values,
# too many or too large values (quadratic blowup), or any other declaration.
MAX_INTERNAL_ENTITIES = 16
MAX_ENTITY_VALUE = 256
MAX_ENTITY_EXPANSION = 1024 * 1024  # bytes added by all expansions together
_SUBSET_RE = re.compile(rb"<!DOCTYPE\s+[\w:.-]+\s*\[(.*?)\]\s*>", re.S | re.I)
_DECL_RE = re.compile(
    rb"""\s*(?:<!--.*?-->|<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:"([^"&<%]*)"|'([^'&<%]*)')\s*>)""",
    re.S,
)
_ENTITY_REF_RE = re.compile(rb"&([A-Za-z_][\w.-]*);")
_XML_BUILTIN = {b"lt", b"gt", b"amp", b"quot", b"apos"}


def _expand_internal_entities(body: bytes, limit: int) -> bytes:
    """Apply the D6 policy: expand safe internal entities and drop the DTD, or refuse."""
    match = _SUBSET_RE.search(body, 0, 65536)
    if match is None:
        if _ENTITY_RE.search(body) or _DOCTYPE_RE.search(body[:4096]):
            raise UnsafeXMLError("document declares a DTD or entities")
        return body
    subset = match.group(1)
    entities: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(subset):
        if not subset[pos:].strip():
            break
        decl = _DECL_RE.match(subset, pos)
        if decl is None or decl.end() == pos:
            raise UnsafeXMLError(
                "DTD declares more than small internal entities (external, parameter or nested)"
            )
        if decl.group(1):
            value = decl.group(2) if decl.group(2) is not None else decl.group(3)
            if len(value) > MAX_ENTITY_VALUE:
                raise UnsafeXMLError(
                    f"entity {decl.group(1)!r} longer than {MAX_ENTITY_VALUE} bytes"
                )
            entities[decl.group(1)] = value
        pos = decl.end()
    if len(entities) > MAX_INTERNAL_ENTITIES:
        raise UnsafeXMLError(f"more than {MAX_INTERNAL_ENTITIES} entity declarations")
    rest = body[: match.start()] + body[match.end() :]
    if _ENTITY_RE.search(rest) or _DOCTYPE_RE.search(rest[:4096]):
        raise UnsafeXMLError("document declares a DTD or entities")
    budget = [min(limit - len(rest), MAX_ENTITY_EXPANSION)]

    def expand(ref: re.Match[bytes]) -> bytes:
        name = ref.group(1)
        if name in _XML_BUILTIN or name not in entities:
            return ref.group(0)
        # Escaped, so a value can never become markup or break an attribute.
        value = (
            entities[name].replace(b'"', b"&quot;").replace(b"'", b"&apos;").replace(b">", b"&gt;")
        )
        budget[0] -= len(value)
        if budget[0] < 0:
            raise UnsafeXMLError("entity expansion too large (quadratic blowup)")
        return value

    return _ENTITY_REF_RE.sub(expand, rest)


def legacy_parse_xml(
    body: bytes, *, limit: int = MAX_XML_BYTES, recover: bool = True
) -> etree._Element:
    """Parse untrusted XML: no external entities, DTD loading or network; size and depth capped.

    Only small internal text entities are accepted (expanded by ``_expand_internal_entities``);
    any other DTD content is refused with UnsafeXMLError: feeds and sitemaps never need it, and
    that is where XXE and billion-laughs payloads live.
    """
    body = decompress(body, limit=limit)
    body = _expand_internal_entities(body, limit)
    parser = etree.XMLParser(recover=recover, **_PARSER_OPTIONS)
    try:
        root = etree.fromstring(body.lstrip(), parser=parser)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not well-formed XML: {exc}") from None
    if root is None:
        raise DiscoveryError("empty or unparseable XML document")
    _check_depth(root)
    return root


def _check_depth(root: etree._Element) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise UnsafeXMLError(f"XML nested deeper than {MAX_XML_DEPTH}")
        stack.extend((child, depth + 1) for child in node)


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(node: etree._Element, *names: str) -> str | None:
    for child in node:
        if _local(child.tag) in names:
            value = "".join(child.itertext()).strip()
            if value:
                return value
    return None


def legacy_parse_feed(body: bytes, base_url: str, *, tz: str, now: datetime) -> list[Link]:
    """Article links of an RSS 0.9x/1.0/2.0 or Atom document, in document order."""
    if body.lstrip()[:1] == b"{":
        raise DiscoveryError("JSON Feed: not measured")
    root = legacy_parse_xml(body)
    kind = _local(root.tag)
    if kind not in ("rss", "rdf", "feed"):
        raise DiscoveryError(f"not an RSS/Atom document (root element <{kind}>)")
    links: list[Link] = []
    for item in root.iter():
        name = _local(item.tag)
        if name not in ("item", "entry"):
            continue
        url = _entry_link(item, base_url)
        if not url:
            continue
        date = _child_text(item, "pubdate", "published", "date", "issued", "updated", "modified")
        summary = _child_text(item, "description", "summary")
        links.append(
            Link(
                url=url,
                title=clean_text(_child_text(item, "title")) or None,
                published=parse_date(date, tz=tz, now=now) if date else None,
                summary=clean_text(_strip_tags(summary)) if summary else None,
            )
        )
    return links


def _entry_link(item: etree._Element, base_url: str) -> str | None:
    candidates: list[str] = []
    for child in item:
        name = _local(child.tag)
        if name == "link":
            href = child.get("href")
            rel = child.get("rel", "alternate")
            if href and rel == "alternate":
                candidates.insert(0, href)
            elif (child.text or "").strip():
                candidates.append(child.text.strip())
        elif name == "guid" and child.get("isPermaLink", "true").lower() == "true":
            if (child.text or "").strip():
                candidates.append(child.text.strip())
    for raw in candidates:
        url = absolute_url(raw, base_url)
        if is_http_url(url):
            return url
    return None


def _strip_tags(value: str) -> str:
    if "<" not in value:
        return value
    try:
        return lxml_html.fromstring(value).text_content()
    except (etree.ParserError, ValueError):
        return re.sub(r"<[^>]+>", " ", value)


# -- the measurements --------------------------------------------------------------------------


def corpus() -> list[tuple[str, bytes, dict[str, str]]]:
    """(name, body, HTTP headers) of every corpus file; headers as tests/test_feed_corpus.py."""
    out = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.name == "LICENSE":
            continue
        body = path.read_bytes()
        name = path.relative_to(CORPUS).as_posix()
        declared = {k.lower(): v for k, v in HEADER_RE.findall(body[:4096].decode("latin-1"))}
        headers = {
            "content-type": "application/xml",
            "content-location": f"http://127.0.0.1:8097/tests/{name}",
            **declared,
        }
        out.append((name, body, headers))
    return out


def run_old(body: bytes, headers: dict[str, str]) -> list[str]:
    return [lk.url for lk in legacy_parse_feed(body, headers["content-location"], tz=TZ, now=NOW)]


def run_new(body: bytes, headers: dict[str, str]) -> list[str]:
    feed = parse_feed(
        body, headers["content-location"], tz=TZ, now=NOW, content_type=headers["content-type"]
    )
    return [lk.url for lk in feed.links]


def run_feedparser(body: bytes, headers: dict[str, str]) -> Any:
    return feedparser.parse(io.BytesIO(body), response_headers=headers)


def expected_links(body: bytes, headers: dict[str, str]) -> list[str] | None:
    """feedparser's http(s) entry links, fragments dropped, no Atom id as link; None if bozo."""
    result = run_feedparser(body, headers)
    if result.bozo:
        return None
    atom = result.version.startswith("atom")
    links = []
    for entry in result.entries:
        link = entry.get("link")
        if not link or (atom and not entry.get("links")):
            continue
        try:
            url = urldefrag(link.strip()).url
        except ValueError:
            continue
        if is_http_url(url):
            links.append(url)
    return links or None


def best_ms(func: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            func()
        except Exception:  # crashes are counted separately; the time until it still counts
            pass
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def outcome(func: Callable[[], list[str]]) -> tuple[str, list[str] | None]:
    try:
        return "ok", func()
    except UnsafeXMLError:
        return "refused", None
    except DiscoveryError:
        return "not a feed", None
    except Exception:
        return "crash", None


def big_feed(items: int = 100, text_chars: int = 3000) -> bytes:
    """A Moscow-style RSS 2.0 feed with Yandex full text, like the largest feeds sources serve."""
    para = "Собянин открыл новую станцию метро на Большой кольцевой линии. " * 64
    entries = "".join(
        f"<item><title>Новость номер {i} &amp; подробности</title>"
        f"<link>https://www.mos.ru/news/item/{100000 + i}/?utm_source=rss&amp;x={i}</link>"
        f"<guid>https://www.mos.ru/news/item/{100000 + i}/</guid>"
        f"<pubDate>Tue, 24 Nov 2026 {i % 24:02d}:15:00 +0300</pubDate>"
        f"<description><![CDATA[<p>{para[:300]}</p>]]></description>"
        f"<yandex:genre>message</yandex:genre>"
        f"<yandex:full-text>{para[:text_chars]}</yandex:full-text></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:yandex="http://news.yandex.ru"><channel><title>mos.ru</title>'
        f"<link>https://www.mos.ru/</link>{entries}</channel></rss>"
    ).encode()


def load_bench_site() -> Any:
    """bench/site.py (imported by path: ``site`` is also a standard-library module)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_site", Path(__file__).with_name("site.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_site"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per file; the best is kept")
    args = parser.parse_args()

    files = corpus()
    times: dict[str, list[float]] = {"old": [], "new": [], "feedparser": []}
    outcomes: dict[str, dict[str, int]] = {"old": {}, "new": {}}
    agree = {"old": 0, "new": 0}
    clean = 0
    for name, body, headers in files:
        runs = {
            "old": lambda b=body, h=headers: run_old(b, h),
            "new": lambda b=body, h=headers: run_new(b, h),
        }
        times["feedparser"].append(
            best_ms(lambda b=body, h=headers: run_feedparser(b, h), args.repeat)
        )
        expected = None if name.startswith("illformed/") else expected_links(body, headers)
        clean += expected is not None
        for key, func in runs.items():
            times[key].append(best_ms(func, args.repeat))
            status, links = outcome(func)
            outcomes[key][status] = outcomes[key].get(status, 0) + 1
            if expected is not None and links == expected:
                agree[key] += 1

    print(f"feedparser corpus: {len(files)} files, {clean} clean with entry links")
    print(f"{'parser':<28}{'median ms/file':>15}{'mean ms/file':>14}  outcomes / link agreement")
    labels = {
        "old": "old (lxml walker, e7e7662)",
        "new": "new (guards + feedparser)",
        "feedparser": "bare feedparser.parse",
    }
    for key, label in labels.items():
        median, mean = statistics.median(times[key]), statistics.fmean(times[key])
        extra = ""
        if key in outcomes:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(outcomes[key].items()))
            extra = f"{counts}; links agree {agree[key]}/{clean} ({agree[key] / clean:.0%})"
        print(f"{label:<28}{median:>15.3f}{mean:>14.3f}  {extra}")

    body = big_feed()
    headers = {"content-type": "application/rss+xml; charset=utf-8", "content-location": ""}
    headers["content-location"] = "https://www.mos.ru/rss"
    old_ms = best_ms(lambda: run_old(body, headers), args.repeat)
    new_ms = best_ms(lambda: run_new(body, headers), args.repeat)
    print(
        f"\nper crawl: a 100-item RSS with yandex:full-text ({len(body) // 1024} KB): "
        f"old {old_ms:.1f} ms, new {new_ms:.1f} ms"
    )
    site = load_bench_site()
    base = "http://127.0.0.1:8000/"
    rss = site.render_rss(site.make_pages(500), base).encode()
    headers = {"content-type": "application/rss+xml; charset=utf-8", "content-location": base}
    old_site = best_ms(lambda: run_old(rss, headers), args.repeat)
    new_site = best_ms(lambda: run_new(rss, headers), args.repeat)
    print(
        f"bench/crawl.py's feed ({len(rss) // 1024} KB, its 100 newest of 500 articles): "
        f"old {old_site:.1f} ms, new {new_site:.1f} ms; that crawl extracts 500 pages "
        f"(~{500 * EXTRACT_MS_PER_PAGE / 1000:.1f} s CPU), so +{new_site - old_site:.0f} ms "
        f"is {(new_site - old_site) / (500 * EXTRACT_MS_PER_PAGE):.2%} of it"
    )
    for feeds, pages in ((1, 20), (3, 100)):
        share = feeds * new_ms / (feeds * new_ms + pages * EXTRACT_MS_PER_PAGE)
        print(
            f"  {feeds} such feed(s) + {pages} article pages at {EXTRACT_MS_PER_PAGE:.0f} ms: "
            f"feed parsing is {share:.1%} of the CPU time (old: "
            f"{feeds * old_ms / (feeds * old_ms + pages * EXTRACT_MS_PER_PAGE):.1%})"
        )


if __name__ == "__main__":
    main()
