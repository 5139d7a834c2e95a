"""Saved-page fixtures: ``<source>/<name>.html[.gz]`` plus meta and expected-fields JSON."""

from __future__ import annotations

import gzip
import json
import logging
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.extraction import extract_article
from crawler.models import ArticleData

logger = logging.getLogger(__name__)

DEFAULT_ROOT = Path("tests/fixtures/sites")
# Pages above this size are stored gzipped; smaller ones stay readable in diffs.
GZIP_ABOVE = 64 * 1024
# Fields written to ``<name>.expected.json``; ``html`` is left out because sanitizer changes
# would churn every fixture without telling anything about extraction.
EXPECTED_FIELDS = (
    "title", "summary", "text", "published", "updated", "authors", "section", "tags", "image",
    "language", "canonical_url", "provenance", "flags",
)  # fmt: skip
_NAME_SAFE = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class ExtractionProfile:
    """How a source's pages are extracted: its selectors, site names and time zone."""

    selectors: Mapping[str, str] = field(default_factory=dict)
    site_names: Sequence[str] = ()
    tz: str = "Europe/Moscow"


@dataclass(frozen=True)
class Fixture:
    """One saved page with its sidecar metadata and (if written) expected fields."""

    source: str
    name: str
    path: Path
    url: str
    fetched_at: datetime
    reconstruction: bool
    notes: str
    expected: dict[str, Any] | None

    @property
    def expected_path(self) -> Path:
        return self.path.parent / f"{self.name}.expected.json"

    def body(self) -> bytes:
        """The page bytes as fetched (gunzipped when stored as ``.html.gz``)."""
        data = self.path.read_bytes()
        return gzip.decompress(data) if self.path.suffix == ".gz" else data


def _name_from_url(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1].rsplit(".", 1)[0] if path else "index"
    return _NAME_SAFE.sub("-", last.lower()).strip("-")[:60] or "page"


def _iso(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def record_fixture(
    body: bytes,
    url: str,
    source: str,
    fetched_at: datetime | str,
    root: Path = DEFAULT_ROOT,
    name: str | None = None,
) -> Path:
    """Save a fetched page as a fixture and return the page's path.

    Writes ``<root>/<source>/<name>.html`` (``.html.gz`` above 64 KiB) and its
    ``<name>.meta.json`` (url, fetched_at, ``reconstruction: false``). An existing fixture of
    the same name is replaced: recording again is how a changed layout is captured.
    """
    name = _NAME_SAFE.sub("-", (name or _name_from_url(url)).lower()).strip("-") or "page"
    folder = Path(root) / source
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (folder / f"{name}.html", folder / f"{name}.html.gz"):
        stale.unlink(missing_ok=True)
    if len(body) > GZIP_ABOVE:
        path = folder / f"{name}.html.gz"
        # mtime=0 keeps the bytes reproducible, so re-recording an unchanged page is no diff.
        path.write_bytes(gzip.compress(body, mtime=0))
    else:
        path = folder / f"{name}.html"
        path.write_bytes(body)
    meta = {"url": url, "fetched_at": _iso(fetched_at), "reconstruction": False, "notes": ""}
    _write_json(folder / f"{name}.meta.json", meta)
    logger.info("recorded %s as %s", url, path)
    return path


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _fixture_name(path: Path) -> str:
    return path.name.removesuffix(".gz").removesuffix(".html")


def fixture_meta(page: Path) -> dict[str, Any] | None:
    """The ``<name>.meta.json`` sidecar of a saved page (url, fetched_at, ...), if it has one."""
    meta_path = page.parent / f"{_fixture_name(page)}.meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def load_fixtures(root: Path = DEFAULT_ROOT) -> list[Fixture]:
    """Every fixture under ``root`` (``<source>/<name>.html[.gz]`` with a meta sidecar), sorted."""
    fixtures: list[Fixture] = []
    root = Path(root)
    for path in sorted([*root.glob("*/*.html"), *root.glob("*/*.html.gz")]):
        name = _fixture_name(path)
        meta_path = path.parent / f"{name}.meta.json"
        if not meta_path.exists():
            logger.warning("fixture %s has no %s; skipped", path, meta_path.name)
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        expected_path = path.parent / f"{name}.expected.json"
        expected = (
            json.loads(expected_path.read_text(encoding="utf-8"))
            if expected_path.exists()
            else None
        )
        fixtures.append(
            Fixture(
                source=path.parent.name,
                name=name,
                path=path,
                url=meta["url"],
                fetched_at=datetime.fromisoformat(meta["fetched_at"]),
                reconstruction=bool(meta.get("reconstruction", False)),
                notes=meta.get("notes") or "",
                expected=expected,
            )
        )
    return fixtures


def record_of(data: ArticleData) -> dict[str, Any]:
    """The JSON form of an extraction result as stored in ``<name>.expected.json``."""
    record: dict[str, Any] = {}
    for key in EXPECTED_FIELDS:
        value = getattr(data, key)
        record[key] = value.isoformat() if isinstance(value, datetime) else value
    return record


def extract_fixture(fixture: Fixture, profile: ExtractionProfile | None = None) -> ArticleData:
    """Run extraction on a fixture exactly as the crawler would, with the fetch time as clock."""
    profile = profile or ExtractionProfile()
    return extract_article(
        fixture.body(),
        fixture.url,
        now=fixture.fetched_at,
        tz=profile.tz,
        selectors=profile.selectors,
        site_names=profile.site_names,
    )


def write_expected(fixture: Fixture, profile: ExtractionProfile | None = None) -> Path:
    """(Re)write one fixture's expected JSON from the current extraction output."""
    _write_json(fixture.expected_path, record_of(extract_fixture(fixture, profile)))
    return fixture.expected_path


def rewrite_expected(
    root: Path = DEFAULT_ROOT,
    source: str | None = None,
    *,
    profiles: Mapping[str, ExtractionProfile] | None = None,
) -> list[Path]:
    """Rewrite the expected JSON of every fixture (of one ``source``); return the written paths.

    ``profiles`` maps source names to their extraction settings; by default they are read from
    ``cityfeeds.toml`` in the working directory. Review the diff before committing.
    """
    if profiles is None:
        profiles = profiles_from_toml(Path("cityfeeds.toml"))
    written = []
    for fixture in load_fixtures(root):
        if source is None or fixture.source == source:
            written.append(write_expected(fixture, profiles.get(fixture.source)))
    return written


def profiles_from_toml(path: Path) -> dict[str, ExtractionProfile]:
    """Extraction profiles of the ``[[sources]]`` of a cityfeeds TOML file ({} if it is absent)."""
    if not path.exists():
        return {}
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    default_tz = raw.get("cityfeeds", {}).get("timezone", "Europe/Moscow")
    return {
        src["name"]: ExtractionProfile(
            selectors=src.get("selectors", {}),
            site_names=[*src.get("site_names", []), *([src["title"]] if src.get("title") else [])],
            tz=src.get("timezone") or default_tz,
        )
        for src in raw.get("sources", [])
        if "name" in src
    }


def profiles_from_config(config: Any) -> dict[str, ExtractionProfile]:
    """Extraction profiles from a loaded :class:`crawler.config.Config`."""
    return {
        src.name: ExtractionProfile(
            selectors=dict(src.selectors),
            site_names=[*getattr(src, "site_names", []), *([src.title] if src.title else [])],
            tz=src.timezone or "Europe/Moscow",
        )
        for src in config.sources
    }
