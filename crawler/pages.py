"""One page in, one Article (or the reason it is none) out: the pure page-processing seam.

``process_page`` is what every caller runs on a fetched page: the spider (in its extraction
worker processes), the distributed worker, ``cityfeeds extract`` and the fixture tools. It
extracts (:mod:`crawler.extraction`), checks what extraction found (the drop reasons below),
and normalizes the result into an :class:`~crawler.models.Article`. No Scrapy, network,
database or clock inside: the fetch time comes in with the page.
"""

from __future__ import annotations

import html as htmllib
import logging
from collections.abc import Sequence
from datetime import datetime

from crawler.canonical import claim_flag, url_kin
from crawler.extraction import extract_article
from crawler.models import (
    CANONICAL_IGNORED_FLAG,
    Article,
    ArticleData,
    Dropped,
    Hints,
    PageFacts,
)
from crawler.normalize.dates import clamp_future, clamp_future_flag, day_only
from crawler.normalize.encoding import looks_like_mojibake
from crawler.normalize.html import SANITIZE_POLICY
from crawler.normalize.text import (
    MAX_TITLE_CHARS,
    cap_title,
    clean_text,
    is_cut_teaser,
    is_garbage_value,
)
from crawler.normalize.urls import (
    canonicalize_url,
    host_of,
    is_http_url,
    registered_domain_matches,
    url_identity,
)
from crawler.profile import SourceProfile
from crawler.timing import stage

logger = logging.getLogger(__name__)

#: Secondary fields a leaked selector or template value costs (flag ``garbage_<name>``),
#: rather than the whole article.
SECONDARY_FIELDS = ("summary", "text", "section", "image")


def process_page(
    profile: SourceProfile, body: bytes | str, page: PageFacts, hints: Hints | None = None
) -> Article | Dropped:
    """The article on one fetched page of ``profile``'s source, or why there is none.

    An error on an odd page costs that page (``extract_error``, the traceback at debug level),
    never the run: a source must not fail on every run while one such page stays in its feed.
    """
    try:
        with stage("extract"):
            data = extract_page(profile, body, page)
        with stage("normalize"):
            return finish_page(profile, data, page, hints)
    except Exception as exc:
        return extract_error(page.url, exc)


def extract_error(url: str, exc: Exception) -> Dropped:
    """The drop of a page whose processing raised ``exc`` (logged with its traceback at debug)."""
    logger.debug("processing %s failed", url, exc_info=exc)
    return Dropped("extract_error", f"{type(exc).__name__}: {str(exc)[:160]}")


def extract_page(profile: SourceProfile, body: bytes | str, page: PageFacts) -> ArticleData:
    """What extraction finds on the page (the fetch time is its clock), not yet checked."""
    return extract_article(
        body,
        page.url,
        now=page.fetched_at,
        tz=profile.timezone,
        selectors=profile.selectors,
        site_names=profile.site_names,
        header_charset=page.header_charset,
        allowed_domains=profile.allowed_domains,
    )


def finish_page(
    profile: SourceProfile, data: ArticleData, page: PageFacts, hints: Hints | None = None
) -> Article | Dropped:
    """Check an extraction (``check_page``), then normalize it (``build_article``)."""
    dropped = check_page(profile, data, page, hints)
    if dropped is not None:
        return dropped
    return build_article(data, profile, page, hints)


def check_page(
    profile: SourceProfile, data: ArticleData, page: PageFacts, hints: Hints | None = None
) -> Dropped | None:
    """Why the page is no article (``None``: it is one); clears leaked secondary fields.

    A page needs an http(s) URL and a real title (a feed's title stands in for a missing one);
    a leaked selector or template value as title, an empty page or a still-garbled title drop
    it. A leaked value in a secondary field costs that field (set to ``None``, flag
    ``garbage_<name>``), not the article.
    """
    hint_title = hints.title if hints is not None else None
    if not is_http_url(page.url):
        return Dropped("bad_url")
    title = data.title if data.title is not None else hint_title
    if "binary" in data.flags:
        # Served as a page, but an image, an archive or random bytes: a feed's title for it
        # must not carry a body of U+FFFD into the feeds.
        return Dropped("bad_encoding", "binary data, not text")
    if "empty_page" in data.flags or not (data.title or data.text or data.html):
        # Even with a title from the feed: an empty page is a failed fetch, not an article.
        return Dropped("empty_page")
    if title is not None and is_garbage_value(title) and title.strip():
        return Dropped("selector_leak", f"title={title[:80]!r}")
    if title is None or not clean_text(title):
        if "garbage_title" in data.flags:
            # The page's title candidates were unevaluated rules, and no feed title stood in.
            return Dropped("selector_leak", "the page's title is a leaked selector or template")
        return Dropped("missing_title")
    if "link_list" in data.flags:
        # A section index or home page: its "body" is the headlines of other pages, and a
        # description or the fetch time as its date would make it look like news.
        return Dropped("link_list", f"title={title[:80]!r}")
    if (lost := _replaced_share(title, data.text)) > MAX_REPLACED_SHARE:
        # Bytes the decoder could not read became U+FFFD (a page in two encodings, say UTF-8
        # then cp1251): a few stay (B9), a text of them is garbage, not an article (and
        # told as such before it counts as no text: U+FFFD is no letter).
        return Dropped("bad_encoding", f"{lost:.0%} of the text undecodable, title={title[:80]!r}")
    hint_summary = hints.summary if hints is not None else None
    if not any(has_words(v) for v in (data.text, data.summary, hint_summary)):
        # A headline with nothing under it (a video or gallery page, a section index matching
        # the pattern, a body only JavaScript fills in) would be a bare link in every feed; a
        # generic extractor's "body" of a lone date or caption is no text either.
        deep = "; nested deeper than the parser reads" if "nesting_too_deep" in data.flags else ""
        return Dropped("no_text", f"title={title[:80]!r}{deep}")
    if looks_like_mojibake(title):
        # decode_html tried BOM, header, <meta> and detection; a still-garbled title
        # would be published as garbage, so the page is dropped and counted instead.
        return Dropped("bad_encoding", f"title={title[:80]!r}")
    for name in SECONDARY_FIELDS:
        value = getattr(data, name)
        if isinstance(value, str) and value.strip() and is_garbage_value(value):
            logger.warning(
                "[%s] %s looks like an unevaluated selector: %r", profile.name, name, value[:80]
            )
            setattr(data, name, None)
            data.flags.append(f"garbage_{name}")
    # A leaked value among several authors or tags costs only that value.
    data.authors = [a for a in data.authors if not is_garbage_value(a)]
    data.tags = [t for t in data.tags if not is_garbage_value(t)]
    return None


#: Letters a body (or summary) needs to count as text: about four words. The crawl's one
#: floor: ``cityfeeds sources draft`` judges its sample pages by it too.
MIN_TEXT_LETTERS = 20


def has_words(value: str | None) -> bool:
    """Whether ``value`` holds text: MIN_TEXT_LETTERS letters within its first 500 characters."""
    if not value:
        return False
    letters = 0
    for ch in value[:500]:
        if ch.isalpha():
            letters += 1
            if letters >= MIN_TEXT_LETTERS:
                return True
    return False


#: The share of a page's title and text that may be U+FFFD (bytes the decoder could not read)
#: before the page counts as undecodable: a few broken bytes in a page stay (B9).
MAX_REPLACED_SHARE = 0.05


def _replaced_share(title: str, text: str | None) -> float:
    """The share of U+FFFD among the characters of ``title`` and ``text``."""
    size = len(title) + len(text or "")
    if not size or ("\ufffd" not in title and "\ufffd" not in (text or "")):
        return 0.0
    return (title.count("\ufffd") + (text or "").count("\ufffd")) / size


def invalid_bytes(flags: Sequence[str]) -> int:
    """Bytes the page's decoder replaced, from its ``invalid_bytes:<n>`` flags."""
    return sum(int(f.partition(":")[2] or 0) for f in flags if f.startswith("invalid_bytes:"))


def build_article(
    data: ArticleData, profile: SourceProfile, page: PageFacts, hints: Hints | None = None
) -> Article:
    """The normalized Article: never dated in the future, never undated (``date_fallback``)."""
    hints = hints or Hints()
    response_url, fetched_at = page.url, page.fetched_at
    max_text, max_html = profile.max_text, profile.max_html
    flags = list(dict.fromkeys(data.flags))
    provenance = dict(data.provenance)

    url = canonical_article_url(response_url, data.canonical_url, profile.allowed_domains)
    own_url = canonicalize_url(response_url)
    fetched_url = None
    if url == own_url and data.canonical_url and data.canonical_url != own_url:
        if provenance.get("canonical_url") not in (None, "url") and url_identity(
            data.canonical_url
        ) != url_identity(own_url):
            # Another site's or the home page's: refused, so the page's own URL, and said so.
            provenance["canonical_url"] = "url"
            flags.append(CANONICAL_IGNORED_FLAG)
    if url != own_url and url_identity(url) != url_identity(own_url):
        if url_kin(own_url, url):
            # The page says it is another page (its AMP or mobile copy, an old slug): a claim
            # the store checks before it lets this content replace what is stored there.
            fetched_url = own_url
            flags.append(claim_flag(own_url))
        else:
            # A canonical unrelated to the page's URL (every page naming one story, a tag page,
            # another article) is a site's bug or a hostile page's claim: the page keeps its URL.
            url = own_url
            flags.append(CANONICAL_IGNORED_FLAG)
            provenance["canonical_url"] = "url"
    title = clean_text(data.title) if data.title else ""
    if not title and hints.title:
        title, provenance["title"] = clean_text(hints.title), "feed"
    if len(title) > MAX_TITLE_CHARS:
        title = cap_title(title)
        flags.append("title_truncated")

    published = data.published
    if hints.published is not None and (
        published is None or hint_times_page_day(published, hints.published)
    ):
        published, provenance["published"] = hints.published, "feed"
    if published is None and data.updated is not None:
        # A page that shows only when it was updated was published then or earlier: that is
        # nearer the truth than the fetch time (which would also make the update "earlier").
        published = data.updated
        provenance["published"] = provenance.get("updated", "text")
        flags.append("date_from_update")
    if published is None:
        published, provenance["published"] = fetched_at, "fetch_time"
        flags.append("date_fallback")
    published, flag = clamp_future_flag(published, fetched_at)
    if flag and flag not in flags:
        flags.append(flag)
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
        teaser = clean_text(hints.summary)
        # A description the feed cut short gives way to the text's own first sentences: the
        # same words, whole, and the same summary whichever document listed the page first.
        if not is_cut_teaser(teaser, text):
            summary, provenance["summary"] = teaser, "feed"
    if not summary and text:
        summary = summary_from_text(text)
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
        source=profile.name,
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
        language=data.language or profile.language or None,
        provenance=provenance,
        flags=flags,
        html_policy=html_policy if html else None,
        fetched_at=fetched_at,
        fetched_url=fetched_url,
    )


def hint_times_page_day(page_date: datetime, hint: datetime) -> bool:
    """Whether the link's date (feed, sitemap) gives the time of day a page date lacks.

    A page whose exact date is unreadable (an invalid ``article:published_time``, a JSON-LD
    block cut short) often still shows its day, or htmldate finds it: local midnight. When the
    feed's or sitemap's date has a time on that same local day, it is the same publication told
    more precisely; a hint on another day, or with no time either, says nothing the page does
    not, and the page's own day is kept.
    """
    return (
        day_only(page_date)
        and not day_only(hint)
        and hint.astimezone(page_date.tzinfo).date() == page_date.date()
    )


def canonical_article_url(
    response_url: str, canonical: str | None, allowed_domains: Sequence[str]
) -> str:
    """The article's identity: its ``rel=canonical`` when sane, else its own canonicalized URL.

    A canonical that points at another site or at the homepage is a site bug, not identity.
    """
    url = canonicalize_url(response_url)
    if canonical:
        canonical = canonicalize_url(canonical, response_url)
    if canonical and is_http_url(canonical):
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


SUMMARY_FROM_TEXT_CHARS = 300
"""A page with no summary of its own gets its text's first sentences, up to this many chars."""


def summary_from_text(text: str) -> str:
    """The summary a crawl stores for a page that has none: the text's first sentences."""
    return first_sentences(text, SUMMARY_FROM_TEXT_CHARS)


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
