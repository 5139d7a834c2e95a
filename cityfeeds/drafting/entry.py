"""Write a draft as a commented ``[[sources]]`` TOML block, and append it to the config."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from cityfeeds.devtools.fixtures import load_fixtures, record_fixture, write_expected
from cityfeeds.drafting.draft import Draft
from crawler.config import Config, parse_config
from crawler.profile import SourceProfile


def _str(value: str) -> str:
    """A TOML string: literal (no escapes) when possible, so regexes stay readable."""
    if "'" not in value and "\n" not in value and value.isprintable():
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)  # JSON escapes are valid TOML basic strings


def _certainty(good: int, total: int) -> str:
    if total and good == total and total >= 3:
        return "sure"
    return "likely" if total and good * 3 >= total * 2 else "unsure"


def render_toml(draft: Draft) -> str:
    """The draft as a ready ``[[sources]]`` block, a comment on each finding."""
    samples = len(draft.samples)
    articles = sum(1 for s in draft.samples if draft.is_article(s))
    lines = [
        f"# Drafted by `cityfeeds sources draft {draft.url}`: review before relying on it.",
        "[[sources]]",
        f"name = {_str(draft.name)}",
        f"title = {_str(draft.title)}",
        f"url = {_str(draft.url)}",
        f"language = {_str(draft.language)}",
    ]
    if draft.timezone is not None:
        lines.append(draft.timezone.comment())
        lines.append(f"timezone = {_str(draft.timezone.zone)}")
    if draft.allow_private:
        lines.append("allow_private = true  # a local or private address (--allow-private)")
    if draft.feeds:
        lines.append(
            "# feeds: " + "; ".join(f"{f.url} {f.note}, {len(f.links)} links" for f in draft.feeds)
        )
        lines.append("feeds = [" + ", ".join(_str(f.url) for f in draft.feeds) + "]")
    if draft.sitemaps:
        lines.append(
            "# sitemaps: "
            + "; ".join(f"{s.url} {s.note}, {len(s.links)} links" for s in draft.sitemaps)
        )
        lines.append("sitemaps = [" + ", ".join(_str(s.url) for s in draft.sitemaps) + "]")
    checked = sum(n for _, _, n in draft.groups)
    good = sum(a for _, a, _ in draft.groups)
    shapes = ", ".join(g.label for g, _, _ in draft.groups)
    lines.append(
        f"# article_pattern ({_certainty(good, checked)}): {draft.home_matches} of "
        f"{draft.home_links} same-site links on the home page match; {good}/{checked} checked "
        f"pages of {shapes} are articles; {articles}/{samples} samples extracted with title, "
        + (
            "date, body"
            if draft.dated
            else "body (no page is dated: the crawl dates them by the feed, else the fetch time)"
        )
    )
    for line in draft.tried:
        lines.append(f"#   checked {line}")
    lines.append(f"article_pattern = {_str(draft.pattern)}")
    for listing in draft.listings:
        lines.append("")
        lines.append(f"# a listing page with {listing.articles} article links")
        lines.append("[[sources.listings]]")
        lines.append(f"url = {_str(listing.url)}")
        if listing.next_page:
            lines.append(f'next_page = {_str(listing.next_page)}  # its "next page" link')
    lines.append("")
    lines.append("# fields on the samples, and the layer that found them:")
    for report in draft.reports:
        lines.append(f"#   {report.name}: {report.describe()}")
    if draft.selectors:
        lines.append(
            f"# selectors for what the generic layers miss, verified on {samples}/{samples} samples"
        )
        lines.append("[sources.selectors]")
        for name, selector in draft.selectors.items():
            lines.append(f"{name} = {_str(selector)}")
    return "\n".join(lines) + "\n"


def append_to_config(config: Config, block: str) -> Config:
    """Append ``block`` to the config file, keeping every comment; validated before writing.

    The new text must load with the real config loader (a duplicate name, say, is refused and
    nothing is written). Written atomically.
    """
    checked, new = config_with(config, block)
    write_config_text(checked, new)
    return checked


def config_with(config: Config, block: str) -> tuple[Config, str]:
    """The config with ``block`` appended, validated (ConfigError), and its text; not written."""
    assert config.path is not None, "the configuration was not loaded from a file"
    path = Path(config.path)
    text = path.read_text(encoding="utf-8")
    new = text.rstrip("\n") + "\n\n" + block
    return parse_config(new, path=path), new


def write_config_text(config: Config, text: str) -> None:
    """Replace the config file with ``text`` atomically."""
    assert config.path is not None
    path = Path(config.path)
    tmp = path.with_name(path.name + ".draft-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_sample_fixture(draft: Draft, config: Config, *, root: Path, now: datetime) -> Path:
    """Save the first sample article as the source's fixture, as ``cityfeeds record`` does."""
    sample = next(s for s in draft.samples if draft.is_article(s))
    path = record_fixture(sample.body, sample.url, draft.name, now, root=root)
    fixture = next(f for f in load_fixtures(root) if f.path == path)
    # The profile the crawl will use: the one built from the validated config.
    write_expected(fixture, SourceProfile.from_config(config, config.source(draft.name)))
    return path
