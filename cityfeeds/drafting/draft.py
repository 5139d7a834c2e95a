"""Draft a ``[[sources]]`` entry from a site's home page: discovery, article pattern, samples."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from cityfeeds.drafting.fetch import DraftError, Page, PoliteFetcher, Unreachable
from cityfeeds.drafting.pattern import LinkGroup, combined_pattern, group_links
from cityfeeds.drafting.samples import (
    FieldReport,
    Sample,
    extract_sample,
    field_reports,
    propose_selectors,
)
from cityfeeds.drafting.site import (
    Found,
    HtmlPage,
    find_feeds,
    find_sitemaps,
    next_page_rule,
    same_site,
    section_links,
)
from cityfeeds.drafting.zone import ZoneProposal, propose_timezone, stated_dates
from crawler.config import ISO_639_1, Config, check_source_name
from crawler.normalize.url_patterns import compile_url_pattern
from crawler.normalize.urls import host_of, url_identity
from crawler.pages import MIN_TEXT_LETTERS
from crawler.profile import SourceProfile

#: Link groups checked with the extractor, biggest first, and pages checked per group.
MAX_GROUPS = 6
PAGES_PER_GROUP = 3
#: Sample articles extracted to check the finished draft.
SAMPLES = 5
#: Article links a navigation page needs to count as a listing.
MIN_LISTING_LINKS = 3


class NoArticlePattern(DraftError):
    """No group of links reads as articles; the message lists what was tried."""

    kind = "no_pattern"


class NeedsJavaScript(DraftError):
    """The page builds its links with JavaScript: suggest ``render = "browser"``."""

    kind = "needs_javascript"


@dataclass
class Listing:
    """A navigation page holding article links."""

    url: str
    articles: int
    next_page: str = ""


@dataclass
class Draft:
    """Everything found about a site, ready to print as a TOML block."""

    name: str
    title: str
    url: str
    language: str
    allow_private: bool
    feeds: list[Found]
    sitemaps: list[Found]
    listings: list[Listing]
    pattern: str
    groups: list[tuple[LinkGroup, int, int]]  # accepted groups: (group, articles, checked)
    home_links: int
    home_matches: int
    samples: list[Sample]
    reports: list[FieldReport]
    selectors: dict[str, str] = field(default_factory=dict)
    tried: list[str] = field(default_factory=list)
    # Proposed when the offsets the site states disagree with the config's default zone.
    timezone: ZoneProposal | None = None
    # Whether any checked page is dated: if none is, articles are told without a date.
    dated: bool = True

    def is_article(self, sample: Sample) -> bool:
        """Whether ``sample`` is an article by this draft's measure (see ``dated``)."""
        return sample.counts_as_article(self.dated)


def draft_source(
    url: str,
    config: Config,
    *,
    now: datetime,
    name: str | None = None,
    allow_private: bool = False,
    fetcher: PoliteFetcher | None = None,
) -> Draft:
    """Draft a source for the site at ``url``; a DraftError subclass names a bad outcome."""
    crawl = config.crawl
    fetcher = fetcher or PoliteFetcher(
        user_agent=crawl.user_agent,
        timeout=crawl.timeout,
        max_bytes=crawl.max_response_bytes,
        delay=crawl.download_delay,
        obey_robots=crawl.obey_robots,
        allow_private=allow_private,
    )
    page = fetcher.fetch(url)
    if not page.ok:
        raise Unreachable(f"{url}: HTTP {page.status}")
    home = HtmlPage.of(page)
    tz = config.timezone
    profile = SourceProfile(site_names=(home.title(),) if home.title() else (), timezone=tz)
    feeds = find_feeds(fetcher, home, tz=tz, now=now)
    sitemaps = find_sitemaps(fetcher, home, tz=tz, now=now)
    sections = [HtmlPage.of(p) for u in section_links(home) if (p := fetcher.probe(u))]

    home_links = [u for u in home.hrefs() if same_site(u, home.url)]
    pool = list(home_links)
    for section in sections:
        pool += [u for u in section.hrefs() if same_site(u, home.url)]
    for found in [*feeds, *sitemaps]:
        pool += found.links
    accepted, samples, tried, dated = _article_groups(fetcher, group_links(pool), now, profile)
    if not accepted:
        _explain_no_pattern(home, home_links, tried)
    pattern = combined_pattern([g for g, _, _ in accepted])
    regex = compile_url_pattern(pattern)  # as the crawl will run it

    listings = []
    for section in sections:
        count = sum(1 for u in section.hrefs() if regex.search(u))
        if count >= MIN_LISTING_LINKS:
            listings.append(Listing(section.url, count, next_page_rule(section)))
    home_matches = sum(1 for u in home_links if regex.search(u))
    if drafted_page_is_listing(url, home_matches, found=bool(listings or feeds or sitemaps)):
        if all(url_identity(item.url) != url_identity(home.url) for item in listings):
            listings.insert(0, Listing(home.url, home_matches, next_page_rule(home)))

    samples = _more_samples(fetcher, samples, pool, regex, now, profile)
    selectors = propose_selectors(samples, now=now, profile=profile)
    # A code the config accepts: <html lang="fil"> or a made-up one would make the entry
    # (and, with --write, the whole config) fail to load.
    language = lang if (lang := home.language()) in ISO_639_1 else "ru"
    stated = [d for f in feeds for d in f.stated]
    stated += stated_dates(d for s in samples for d in (s.data.published, s.data.updated))
    zone = propose_timezone(stated, default=tz, language=language, host=host_of(page.url))
    return Draft(
        name=name or default_name(url),
        title=home.title([s.body for s in samples]) or host_of(url),
        url=page.url,
        language=language,
        timezone=zone,
        allow_private=allow_private,
        feeds=feeds,
        sitemaps=sitemaps,
        listings=listings,
        pattern=pattern,
        groups=accepted,
        home_links=len(home_links),
        home_matches=home_matches,
        samples=samples,
        reports=field_reports(samples),
        selectors=selectors,
        tried=tried,
        dated=dated,
    )


def drafted_page_is_listing(url: str, matches: int, *, found: bool) -> bool:
    """Whether the page drafted from (``url``, as given: a root that redirects to /ru/ is the
    root) is a listing of the entry: when it links ``matches`` articles, always for a section
    page (what the user pointed at: its own articles must not be left out for its
    neighbours'), and for the root only when no other way to the articles was ``found``."""
    section_page = urlsplit(url).path.strip("/") != ""
    return matches >= MIN_LISTING_LINKS and (section_page or not found)


def default_name(url: str) -> str:
    """A source name from the host, valid by the config's rule: ``www.m24.ru`` -> ``m24``."""
    host = host_of(url).removeprefix("www.")
    label = host if re.fullmatch(r"[\d.]+", host) else host.split(".")[0]
    name = re.sub(r"[^a-z0-9_-]+", "-", label.lower()).lstrip("-_")[:64].rstrip("-")
    try:
        return check_source_name(name)
    except ValueError:
        return "site"


def _article_groups(
    fetcher: PoliteFetcher, groups: list[LinkGroup], now: datetime, profile: SourceProfile
) -> tuple[list[tuple[LinkGroup, int, int]], list[Sample], list[str], bool]:
    """The link groups whose checked pages are mostly articles, their samples, what was tried,
    and whether any checked page is dated."""
    accepted: list[tuple[LinkGroup, int, int]] = []
    samples: list[Sample] = []
    tried: list[str] = []
    checked_groups = [
        (group, [s for u in _spread(group.urls) if (s := _sample(fetcher, u, now, profile))])
        for group in [g for g in groups if len(g.urls) >= 2][:MAX_GROUPS]
    ]
    # A site that dates its articles tells them from its other pages (authors, tags) by the
    # date; on a site that dates no page the crawl keeps them undated, and so does the draft.
    dated = any(s.value("published") for _, pages in checked_groups for s in pages)
    for group, pages in checked_groups:
        articles = [s for s in pages if s.counts_as_article(dated)]
        missing = sorted({m for s in pages for m in s.missing})
        tried.append(
            f"{group.label} ({len(group.urls)} links): {len(articles)}/{len(pages)} pages are "
            "articles" + (f" (missing {', '.join(missing)})" if missing else "")
        )
        if pages and len(articles) * 3 >= len(pages) * 2:
            accepted.append((group, len(articles), len(pages)))
            samples += articles
    return accepted, samples, tried, dated


def _spread(urls: list[str]) -> list[str]:
    """Up to PAGES_PER_GROUP links from the start, middle and end of a group."""
    if len(urls) <= PAGES_PER_GROUP:
        return list(urls)
    picks = [urls[round(i * (len(urls) - 1) / (PAGES_PER_GROUP - 1))] for i in range(3)]
    return list(dict.fromkeys(picks))


def _sample(
    fetcher: PoliteFetcher, url: str, now: datetime, profile: SourceProfile
) -> Sample | None:
    page: Page | None = fetcher.probe(url)
    if page is None:
        return None
    charset = re.search(r"charset=([\w-]+)", page.content_type, re.I)
    return extract_sample(
        page.body, page.url, now=now, profile=profile, charset=charset.group(1) if charset else None
    )


def _more_samples(
    fetcher: PoliteFetcher,
    samples: list[Sample],
    pool: list[str],
    regex: re.Pattern[str],
    now: datetime,
    profile: SourceProfile,
) -> list[Sample]:
    """SAMPLES article pages matching the pattern (those already checked count)."""
    out = list(samples[:SAMPLES])
    seen = {s.url for s in out}
    for url in dict.fromkeys(pool):
        if len(out) >= SAMPLES:
            break
        if url in seen or not regex.search(url):
            continue
        sample = _sample(fetcher, url, now, profile)
        seen.add(url)
        if sample is not None:
            out.append(sample)
    return out


def _explain_no_pattern(home: HtmlPage, links: list[str], tried: list[str]) -> None:
    scripts, chars = home.scripts(), home.text_chars()
    if scripts and (len(links) < 5 or chars < 200):
        raise NeedsJavaScript(
            f"{home.url} has {len(links)} links and {chars} characters of text but {scripts} "
            'scripts: its content is built by JavaScript. Try render = "browser" with a '
            "listings entry and an article_pattern written by hand."
        )
    what = "; ".join(tried) if tried else "no group of two or more links with a variable path"
    raise NoArticlePattern(
        f"no article pattern found among {len(links)} links of {home.url} "
        f"(tried: {what}). An article needs a title, a date and text ({MIN_TEXT_LETTERS}+ "
        "letters, as the crawl keeps)."
    )
