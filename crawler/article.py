"""Turn raw extraction plus discovery hints into a clean, publishable Article (pure)."""

from __future__ import annotations

import html as htmllib
from dataclasses import dataclass
from datetime import datetime

from crawler.models import Article, ArticleData
from crawler.normalize.dates import clamp_future
from crawler.normalize.html import SANITIZE_POLICY
from crawler.normalize.text import clean_text
from crawler.normalize.urls import canonicalize_url, host_of, is_http_url, registered_domain_matches

MAX_TEXT_CHARS = 64 * 1024
MAX_HTML_CHARS = 128 * 1024


@dataclass
class Hints:
    """What a feed, sitemap or listing said about a link: fallbacks for missing fields."""

    title: str | None = None
    published: datetime | None = None
    summary: str | None = None


def build_article(
    data: ArticleData,
    *,
    source: str,
    response_url: str,
    fetched_at: datetime,
    allowed_domains: list[str],
    default_language: str | None = None,
    hints: Hints | None = None,
    extra_flags: list[str] | None = None,
    max_text: int = MAX_TEXT_CHARS,
    max_html: int = MAX_HTML_CHARS,
) -> Article:
    """The normalized Article: never dated in the future, never undated (``date_fallback``)."""
    hints = hints or Hints()
    flags = list(dict.fromkeys([*data.flags, *(extra_flags or [])]))
    provenance = dict(data.provenance)

    url = canonical_article_url(response_url, data.canonical_url, allowed_domains)
    title = clean_text(data.title) if data.title else ""
    if not title and hints.title:
        title, provenance["title"] = clean_text(hints.title), "feed"

    published = data.published
    if published is None and hints.published is not None:
        published, provenance["published"] = hints.published, "feed"
    if published is None:
        published, provenance["published"] = fetched_at, "fetch_time"
        flags.append("date_fallback")
    published, clamped = clamp_future(published, fetched_at)
    if clamped and "date_clamped" not in flags:
        flags.append("date_clamped")
    updated = data.updated
    if updated is not None:
        updated, _ = clamp_future(updated, fetched_at)
        if updated <= published:
            updated = None

    if data.text_clean:
        text = data.text or ""  # cleaned paragraph by paragraph in extraction
    else:
        text = clean_text(data.text, multiline=True) if data.text else ""
    if len(text) > max_text:
        text = truncate_paragraphs(text, max_text)
        flags.append("text_truncated")
    summary = clean_text(data.summary) if data.summary else ""
    if not summary and hints.summary:
        summary, provenance["summary"] = clean_text(hints.summary), "feed"
    if not summary and text:
        summary = first_sentences(text, 300)
        provenance.setdefault("summary", "text")
    html = data.html or ""
    html_policy = data.html_policy
    if len(html) > max_html or not html:
        # Rebuild from the (truncated) text: always well-formed, never cut mid-tag, and nothing
        # but escaped text in paragraphs, which every sanitizer policy lets through.
        html = "".join(f"<p>{htmllib.escape(p)}</p>" for p in text.split("\n\n") if p)
        html_policy = SANITIZE_POLICY
    authors = [a for a in (clean_text(a) for a in data.authors) if a]
    tags = [t for t in dict.fromkeys(clean_text(t) for t in data.tags) if t]
    return Article(
        url=url,
        source=source,
        title=title,
        published=published,
        summary=summary,
        text=text,
        html=html,
        updated=updated,
        authors=authors,
        section=(clean_text(data.section) or None) if data.section else None,
        tags=tags,
        image=data.image if data.image and is_http_url(data.image) else None,
        language=data.language or default_language or None,
        provenance=provenance,
        flags=flags,
        html_policy=html_policy if html else None,
        fetched_at=fetched_at,
    )


def canonical_article_url(
    response_url: str, canonical: str | None, allowed_domains: list[str]
) -> str:
    """The article's identity: its ``rel=canonical`` when sane, else its own canonicalized URL.

    A canonical that points at another site or at the homepage is a site bug, not identity.
    """
    url = canonicalize_url(response_url)
    if canonical and is_http_url(canonicalize_url(canonical, response_url)):
        canonical = canonicalize_url(canonical, response_url)
        path = canonical.split("/", 3)[3] if canonical.count("/") >= 3 else ""
        if path.strip("/") and registered_domain_matches(host_of(canonical), allowed_domains):
            return canonical
    return url


def truncate_paragraphs(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text``, cut at a paragraph (or word) boundary."""
    out: list[str] = []
    size = 0
    for para in text.split("\n\n"):
        if size + len(para) > limit:
            if not out:
                out.append(para[:limit].rsplit(" ", 1)[0] + " …")
            break
        out.append(para)
        size += len(para) + 2
    return "\n\n".join(out)


def first_sentences(text: str, limit: int) -> str:
    """The first paragraph, shortened to whole sentences within ``limit`` characters."""
    first = text.split("\n\n", 1)[0]
    if len(first) <= limit:
        return first
    cut = first[:limit]
    for mark in (". ", "! ", "? "):
        pos = cut.rfind(mark)
        if pos > limit // 3:
            return cut[: pos + 1]
    return cut.rsplit(" ", 1)[0] + " …"
