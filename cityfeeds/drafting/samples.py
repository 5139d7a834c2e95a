"""Check pages with the real extractor: article or not, which layer found each field, selectors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cityfeeds.drafting.site import html_tree
from crawler.extraction import extract_article
from crawler.models import ArticleData
from crawler.normalize.dates import parse_date
from crawler.pages import has_words
from crawler.profile import SourceProfile

#: Text a ``body`` selector candidate's element holds: an article's container, not a caption.
#: (Whether a page has text at all is the crawl's own test, ``crawler.pages.has_words``.)
BODY_CONTAINER_CHARS = 200
#: The fields reported per sample, as ``[[sources]] selectors`` names them (``body`` is text).
REPORTED_FIELDS = ("title", "published", "body", "summary", "authors", "section", "image")
#: Fields an article cannot do without: a selector is proposed when a generic layer misses one.
NEEDED_FIELDS = ("title", "published", "body")
_ATTR_OF = {"body": "text"}


@dataclass
class Sample:
    """One page run through the extractor."""

    url: str
    body: bytes
    data: ArticleData

    def value(self, name: str) -> object:
        """The extracted value of a reported field (None or empty when missing)."""
        value = getattr(self.data, _ATTR_OF.get(name, name))
        if name == "body" and isinstance(value, str) and not has_words(value):
            return None  # what the crawl takes for no text
        return value

    def layer(self, name: str) -> str | None:
        """The extraction layer that found ``name``, or None when it is missing."""
        if not self.value(name):
            return None
        return self.data.provenance.get(_ATTR_OF.get(name, name), "?")

    @property
    def missing(self) -> list[str]:
        """Needed fields this page lacks (a summary with words stands in for the body, as in
        the crawl's ``check_page``)."""
        return [
            f
            for f in NEEDED_FIELDS
            if not self.value(f) and not (f == "body" and has_words(self.data.summary))
        ]

    @property
    def is_article(self) -> bool:
        """A title, a date and text, by the crawl's floor (``crawler.pages.MIN_TEXT_LETTERS``)."""
        return not self.missing

    def counts_as_article(self, dated: bool) -> bool:
        """:attr:`is_article` on a site that dates its pages, else :attr:`is_undated_article`."""
        return self.is_article if dated else self.is_undated_article

    @property
    def is_undated_article(self) -> bool:
        """A page the crawl keeps, on a site that dates no page: a title and text, not a list
        of links (the feed's date or the fetch time dates it)."""
        return self.missing in ([], ["published"]) and "link_list" not in self.data.flags


def extract_sample(
    body: bytes, url: str, *, now: datetime, profile: SourceProfile, charset: str | None = None
) -> Sample:
    """Extract ``body`` exactly as a crawl of the drafted source would."""
    data = extract_article(
        body,
        url,
        now=now,
        tz=profile.timezone,
        selectors=profile.selectors,
        site_names=profile.site_names,
        header_charset=charset,
    )
    return Sample(url, body, data)


@dataclass
class FieldReport:
    """How one field fared on the samples: found on ``found`` of ``total``, by which layers."""

    name: str
    found: int
    total: int
    layers: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        """``5/5 (jsonld 3, opengraph 2)``."""
        layers = ", ".join(f"{layer} {n}" for layer, n in self.layers.most_common())
        return f"{self.found}/{self.total}" + (f" ({layers})" if layers else "")


def field_reports(samples: Sequence[Sample]) -> list[FieldReport]:
    """Per reported field: on how many samples it was found and by which layer."""
    reports = []
    for name in REPORTED_FIELDS:
        layers = Counter(layer for s in samples if (layer := s.layer(name)))
        reports.append(FieldReport(name, sum(layers.values()), len(samples), layers))
    return reports


def propose_selectors(
    samples: Sequence[Sample], *, now: datetime, profile: SourceProfile
) -> dict[str, str]:
    """CSS selectors for the needed fields the generic layers miss on some sample.

    A candidate is a ``tag.class`` present on every sample whose text looks like the field; it
    is kept only when, used as the source's selector, it yields the field on every sample.
    """
    proposed: dict[str, str] = {}
    for name in NEEDED_FIELDS:
        if all(s.value(name) for s in samples):
            continue
        for candidate in _candidates(samples, name, tz=profile.timezone, now=now):
            trial = SourceProfile(
                selectors={**profile.selectors, **proposed, name: candidate},
                site_names=profile.site_names,
                timezone=profile.timezone,
            )
            checked = [extract_sample(s.body, s.url, now=now, profile=trial) for s in samples]
            if all(c.value(name) and c.layer(name) == "selector" for c in checked):
                proposed[name] = candidate
                break
    return proposed


def _candidates(samples: Sequence[Sample], name: str, *, tz: str, now: datetime) -> list[str]:
    """``css:tag.class`` selectors found on every sample whose text could be field ``name``."""
    common: list[str] | None = None
    for sample in samples:
        found = _classed_elements(sample.body, name, tz=tz, now=now)
        common = found if common is None else [c for c in common if c in found]
    return [f"css:{c}" for c in common or []]


def _classed_elements(body: bytes, name: str, *, tz: str, now: datetime) -> list[str]:
    doc = html_tree(body)
    if doc is None:
        return []
    out: list[str] = []
    for el in doc.iter():
        if not isinstance(el.tag, str) or not el.get("class"):
            continue
        text = " ".join(el.text_content().split())
        if name == "published":
            fits = 0 < len(text) < 60 and parse_date(text, tz=tz, now=now) is not None
        elif name == "title":
            fits = el.tag in ("h1", "h2") or "title" in el.get("class", "")
        else:
            fits = len(text) >= BODY_CONTAINER_CHARS and el.tag in ("div", "section", "article")
        selector = f"{el.tag}.{el.get('class', '').split()[0]}"
        if fits and selector not in out:
            out.append(selector)
    # The innermost body container first: the shortest text that is still long enough.
    return out if name != "body" else out[::-1]
