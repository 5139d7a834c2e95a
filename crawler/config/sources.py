"""The ``[[sources]]`` entries: one site to crawl, and its HTML listing pages."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crawler.config.validators import (
    SELECTOR_FIELDS,
    _check_language,
    _check_next_page,
    _check_regex,
    _check_selector,
    _check_text,
    _check_timezone,
    _check_url,
    _idna,
    _Strict,
    check_schedule,
)
from crawler.normalize.urls import host_of, registered_domain_matches

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
#: What a source name may be, as every refusal of one says it.
SOURCE_NAME_RULE = "1-64 lowercase letters, digits, '-' or '_', the first a letter or digit"
#: The name under which a distributed worker records its own run (all sources together): a
#: source of that name would share its rows in ``runs``, status and metrics.
WORKER_RUN_NAME = "worker"
#: Names no source may take, and why.
RESERVED_SOURCE_NAMES = {
    WORKER_RUN_NAME: "distributed workers record their own runs under it (docs/scaling.md)"
}


def check_source_name(name: str) -> str:
    """``name`` if it is a valid source name; ValueError stating the rule otherwise.

    The one rule for the config loader and ``cityfeeds sources draft --name``: a name the
    draft prints is one the config loads.
    """
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"source name {name!r}: use {SOURCE_NAME_RULE}")
    if name in RESERVED_SOURCE_NAMES:
        raise ValueError(
            f"source name {name!r} is reserved: {RESERVED_SOURCE_NAMES[name]}; choose another"
        )
    return name


class ListingSpec(_Strict):
    """An HTML listing page whose links matching ``link_pattern`` are articles."""

    url: str
    link_pattern: str = ""
    next_page: str = ""  # a template with {page} (2, 3, ...) or a CSS selector of the "next" link
    max_pages: int | None = Field(default=None, ge=1, le=100)

    @field_validator("link_pattern")
    @classmethod
    def _link(cls, v: str) -> str:
        return _check_regex(v) if v else v

    @field_validator("next_page")
    @classmethod
    def _next(cls, v: str) -> str:
        return _check_next_page(v) if v else v


class SourceSpec(_Strict):
    """One site to crawl: identity, discovery and optional per-field selectors."""

    name: str
    title: str
    url: str
    city: str = ""
    language: str = "ru"
    timezone: str = ""
    enabled: bool = True
    feeds: list[str] = []
    sitemaps: list[str] = []
    listings: list[ListingSpec] = []
    article_pattern: str = ""
    allowed_domains: list[str] = []
    allow_private: bool = False
    selectors: dict[str, str] = {}
    site_names: list[str] = []
    render: Literal["", "browser"] = ""
    render_articles: bool = False
    render_wait: str = ""
    schedule: str = ""
    max_pages_per_run: int | None = Field(default=None, ge=1)
    notes: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_source_name(v)

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return _check_text(v)

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        return _check_language(v)

    @field_validator("site_names")
    @classmethod
    def _site_names(cls, v: list[str]) -> list[str]:
        for name in v:
            _check_text(name, "a name")
        return v

    @field_validator("article_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return _check_regex(v) if v else v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v) if v else v

    @field_validator("render_wait")
    @classmethod
    def _render_wait(cls, v: str) -> str:
        if v:
            _check_selector("render_wait", "css:" + v.removeprefix("css:"))
        return v.removeprefix("css:")

    @model_validator(mode="after")
    def _render(self) -> SourceSpec:
        if (self.render_articles or self.render_wait) and not self.render:
            raise ValueError('render_articles and render_wait need render = "browser"')
        return self

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        return check_schedule(v) if v else v

    @field_validator("selectors")
    @classmethod
    def _selectors(cls, v: dict[str, str]) -> dict[str, str]:
        for key, sel in v.items():
            if key not in SELECTOR_FIELDS:
                raise ValueError(
                    f"unknown selector field {key!r} (known: {', '.join(SELECTOR_FIELDS)})"
                )
            _check_selector(key, sel)
        return v

    @model_validator(mode="after")
    def _urls(self) -> SourceSpec:
        ap = self.allow_private
        self.url = _check_url(self.url, allow_private=ap)
        self.feeds = [_check_url(u, allow_private=ap, label="feeds") for u in self.feeds]
        self.sitemaps = [_check_url(u, allow_private=ap, label="sitemaps") for u in self.sitemaps]
        for i, listing in enumerate(self.listings):
            listing.url = _check_url(listing.url, allow_private=ap, label=f"listings.{i}.url")
            if "{page}" in listing.next_page:
                # The template's URL, as the spider will ask for it (page 2 onwards).
                page_2 = listing.next_page.replace("{page}", "2")
                _check_url(page_2, allow_private=ap, label=f"listings.{i}.next_page")
        if not self.allowed_domains:
            host = host_of(self.url)
            self.allowed_domains = [host[4:] if host.startswith("www.") else host]
        else:
            self.allowed_domains = [_idna(d) for d in self.allowed_domains]
        # The crawl never requests a host off these domains: a feed there failed every run
        # with a robots.txt message that named neither the host nor the fix.
        found = [*self.feeds, *self.sitemaps, *(listing.url for listing in self.listings)]
        for url in found:
            if not registered_domain_matches(host_of(url), self.allowed_domains):
                raise ValueError(
                    f"{url} is on {host_of(url)}, not on the source's domains "
                    f"({', '.join(self.allowed_domains)}): add {host_of(url)!r} to "
                    "allowed_domains, or use the address the site itself links"
                )
        return self

    @property
    def discovery(self) -> list[str]:
        """Human-readable discovery methods, for ``cityfeeds sources``."""
        out = []
        if self.feeds:
            out.append(f"feeds({len(self.feeds)})")
        if self.sitemaps:
            out.append(f"sitemaps({len(self.sitemaps)})")
        if self.listings:
            out.append(f"listings({len(self.listings)})")
        return out or ["homepage"]
