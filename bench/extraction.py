"""Benchmark: cityfeeds extraction vs trafilatura (fundus corpus) and dates vs htmldate (prints)."""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import statistics
import sys
import time
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.extraction import extract_article

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
# Local zone per country folder, for dates a page states without an offset.
COUNTRY_TZ = {
    "at": "Europe/Vienna", "au": "Australia/Sydney", "be": "Europe/Brussels",
    "ca": "America/Toronto", "ch": "Europe/Zurich", "cn": "Asia/Shanghai", "cz": "Europe/Prague",
    "de": "Europe/Berlin", "dk": "Europe/Copenhagen", "es": "Europe/Madrid", "fr": "Europe/Paris",
    "gb": "Europe/London", "uk": "Europe/London", "ie": "Europe/Dublin", "in": "Asia/Kolkata",
    "it": "Europe/Rome", "jp": "Asia/Tokyo", "nl": "Europe/Amsterdam", "no": "Europe/Oslo",
    "pl": "Europe/Warsaw", "pt": "Europe/Lisbon", "ru": "Europe/Moscow", "se": "Europe/Stockholm",
    "tr": "Europe/Istanbul", "ua": "Europe/Kyiv", "us": "America/New_York",
}  # fmt: skip
# htmldate-dev has no crawl time: the clock is just after its newest page (2023-11-09).
DATES_CLOCK = datetime(2024, 1, 1, tzinfo=UTC)
# Every 4th page by a stable hash of its id is held out: rules are tuned on the rest ("dev") and
# --worst lists dev pages only, so the held-out figures show how the rules do on unseen pages.
HELD_OUT_EVERY = 4
_TOKEN = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


@dataclass
class Result:
    """What one extractor produced for one page, in comparable form."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    published_day: str | None = None
    body: str = ""
    ms: float = 0.0
    cpu_ms: float = 0.0
    generic: bool = False


def load_cases(
    path: Path = CORPUS / "fundus" / "cases.jsonl", folder: str = ""
) -> list[dict[str, Any]]:
    """All corpus cases with their raw page bytes attached (``html`` is relative to ``folder``)."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        case["body"] = gzip.decompress((CORPUS / folder / case["html"]).read_bytes())
        cases.append(case)
    return cases


def held_out(case: dict[str, Any]) -> bool:
    """Whether a case is in the held-out split (crc32 of its id, so stable across runs)."""
    return zlib.crc32(case["id"].encode("utf-8")) % HELD_OUT_EVERY == 0


def splits(cases: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Indexes of all cases, the dev split and the held-out split."""
    return {
        "all": list(range(len(cases))),
        "dev": [i for i, c in enumerate(cases) if not held_out(c)],
        "held-out": [i for i, c in enumerate(cases) if held_out(c)],
    }


def fetch_time(case: dict[str, Any]) -> datetime:
    """The crawl time as the clock; ``crawl_date`` has no zone, so allow 14 h of offset."""
    return datetime.fromisoformat(case["crawl_date"]).replace(tzinfo=UTC) + timedelta(hours=14)


def norm(value: str | None) -> str:
    """Comparable text: NFC, soft hyphens dropped, whitespace collapsed."""
    value = unicodedata.normalize("NFC", value or "").replace("\xad", "")
    return _SPACE.sub(" ", value).strip()


def tokens(value: str) -> list[str]:
    # As norm(): fundus stores some pages decomposed ("fu\u0308r") or with soft hyphens
    # ("trú\xadfé\xadlags"), where \w+ would split one word into several tokens.
    return _TOKEN.findall(norm(value).casefold())


def token_f1(predicted: str, expected: str) -> float:
    """Bag-of-tokens F1 between two texts."""
    from collections import Counter

    p, e = Counter(tokens(predicted)), Counter(tokens(expected))
    if not p or not e:
        return float(p == e)
    overlap = sum((p & e).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(p.values()), overlap / sum(e.values())
    return 2 * precision * recall / (precision + recall)


def run_ours(case: dict[str, Any], *, decoded: bool = False, use_generic: bool = True) -> Result:
    tz = COUNTRY_TZ.get(case["country"], "UTC")
    body = case["body"].decode("utf-8") if decoded else case["body"]
    start, cpu_start = time.perf_counter(), time.thread_time()
    data = extract_article(body, case["url"], now=fetch_time(case), tz=tz, use_generic=use_generic)
    ms = (time.perf_counter() - start) * 1000
    # CPU time of this thread: on a shared machine, wall time also counts other jobs' turns.
    cpu_ms = (time.thread_time() - cpu_start) * 1000
    body = data.text or ""
    # Fundus' body starts with the summary/lead; ours keeps it in a separate field.
    if data.summary and norm(data.summary)[:60] not in norm(body[:1500]):
        body = data.summary + "\n\n" + body
    return Result(
        title=data.title,
        authors=data.authors,
        published=data.published or data.updated,  # as build_article dates it
        body=body,
        ms=ms,
        cpu_ms=cpu_ms,
        generic="generic_used" in data.flags,
    )


def run_trafilatura(case: dict[str, Any]) -> Result:
    from trafilatura import bare_extraction

    start, cpu_start = time.perf_counter(), time.thread_time()
    doc = bare_extraction(case["body"], url=case["url"], with_metadata=True)
    ms = (time.perf_counter() - start) * 1000
    # CPU time of this thread: on a shared machine, wall time also counts other jobs' turns.
    cpu_ms = (time.thread_time() - cpu_start) * 1000
    if doc is None:
        return Result(ms=ms, cpu_ms=cpu_ms)
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return Result(
        title=doc.title,
        authors=authors,
        published_day=doc.date,  # plain trafilatura returns the day only (YYYY-MM-DD)
        body=doc.text or "",
        ms=ms,
        cpu_ms=cpu_ms,
    )


def expected_date(case: dict[str, Any]) -> datetime | None:
    raw = case["expected"].get("publishing_date")
    return datetime.fromisoformat(raw) if raw else None


def score(cases: list[dict[str, Any]], results: list[Result]) -> dict[str, float]:
    """Per-field accuracy over the corpus."""
    title = authors = day = minute = minute_n = 0
    f1s: list[float] = []
    for case, res in zip(cases, results, strict=True):
        exp = case["expected"]
        title += norm(res.title) == norm(exp["title"])
        exp_authors = {norm(a).casefold() for a in exp.get("authors") or []}
        authors += {norm(a).casefold() for a in res.authors} == exp_authors
        exp_dt = expected_date(case)
        if exp_dt is not None:
            if res.published is not None:
                got = res.published.astimezone(exp_dt.tzinfo) if exp_dt.tzinfo else res.published
                day += got.date() == exp_dt.date()
            elif res.published_day:
                day += res.published_day == exp_dt.date().isoformat()
            # "to the minute" only where the expected value has a time and an offset.
            if exp_dt.tzinfo and (exp_dt.hour, exp_dt.minute, exp_dt.second) != (0, 0, 0):
                minute_n += 1
                minute += (
                    res.published is not None and abs((res.published - exp_dt).total_seconds()) < 60
                )
        f1s.append(token_f1(res.body, exp.get("body_text") or ""))
    n = len(cases)
    return {
        "title exact": title / n,
        "date (day)": day / n,
        f"date (minute, n={minute_n})": minute / max(minute_n, 1),
        "authors (set)": authors / n,
        "body F1 (mean)": statistics.fmean(f1s),
        "body F1 (median)": statistics.median(f1s),
        "ms/page (median)": statistics.median(r.ms for r in results),
        "cpu ms/page (median)": statistics.median(r.cpu_ms for r in results),
    }


def _field(key: str) -> str:
    """A score's field name without its count (``date (minute, n=237)`` -> ``date (minute)``)."""
    return re.sub(r", n=\d+", "", key)


def _by_field(scores: dict[str, float]) -> dict[str, float]:
    return {_field(k): v for k, v in scores.items()}


def site_zone(url: str) -> str:
    """The zone of a country-code domain (``.de`` -> Europe/Berlin), else UTC."""
    host = url.split("/")[2].split(":")[0]
    return COUNTRY_TZ.get(host.rsplit(".", 1)[-1], "UTC")


@dataclass
class DateRun:
    """Days found on the htmldate-dev pages by one extractor (``None``: no date)."""

    name: str
    days: list[str | None]
    fallback: int = 0  # pages where cityfeeds would have used the fetch time

    def accuracy(self, cases: list[dict[str, Any]], only: list[int] | None = None) -> float:
        """Share of right days over ``cases`` (or over the cases at the ``only`` indexes)."""
        picked = range(len(cases)) if only is None else only
        hits = sum(self.days[i] == cases[i]["expected"]["date"] for i in picked)
        return hits / max(len(picked), 1)


def score_dates(cases: list[dict[str, Any]]) -> list[DateRun]:
    """Publication day on htmldate-dev: cityfeeds, htmldate and trafilatura in the same run.

    The day is compared as the page states it: cityfeeds' datetime in its own offset (the
    publisher's, or the site's zone for UTC values), never converted to the expected zone.
    """
    from htmldate import find_date
    from trafilatura import bare_extraction

    ours = DateRun("cityfeeds", [])
    plain = DateRun("htmldate", [])
    traf = DateRun("trafilatura", [])
    for case in cases:
        data = extract_article(
            case["body"], case["url"], now=DATES_CLOCK, tz=site_zone(case["url"])
        )
        # The day a feed shows: a page whose only date is its update is dated then
        # (crawler.pages.build_article, flag date_from_update).
        shown = data.published or data.updated
        ours.days.append(shown.date().isoformat() if shown else None)
        ours.fallback += shown is None
        plain.days.append(
            find_date(case["body"], url=case["url"], original_date=True, max_date=DATES_CLOCK)
        )
        doc = bare_extraction(case["body"], url=case["url"], with_metadata=True)
        traf.days.append(doc.date if doc is not None else None)
    return [ours, plain, traf]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="substring of case ids to run")
    parser.add_argument(
        "--worst",
        type=int,
        default=0,
        help="list the N worst body F1 cases and the wrong days (dev split only)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    cases = [c for c in load_cases() if not args.only or args.only in c["id"]]
    # Warm up imports and caches so the first page does not carry them.
    run_ours(cases[0])
    run_trafilatura(cases[0])
    ours = [run_ours(c) for c in cases]
    plain = [run_trafilatura(c) for c in cases]
    own_only = [run_ours(c, use_generic=False) for c in cases]
    predecoded = [run_ours(c, decoded=True).ms for c in cases]
    a, b, c = score(cases, ours), score(cases, plain), score(cases, own_only)
    print(
        f"{len(cases)} pages; generic extractor used on {sum(r.generic for r in ours)} "
        f"(on {sum(r.generic for r in own_only)} with use_generic=False)"
    )
    print(f"{'field':<26}{'cityfeeds':>12}{'trafilatura':>14}{'no generic':>12}")
    for key in a:
        print(f"{key:<26}{a[key]:>12.4f}{b[key]:>14.4f}{c[key]:>12.4f}")
    print(f"{'ms/page, str input':<26}{statistics.median(predecoded):>12.3f}")
    fallback = sum(r.published is None for r in ours)
    print(f"fundus: {fallback} pages without a date (cityfeeds would use the fetch time)")
    fundus_splits = splits(cases)
    print(f"\ncityfeeds by split (held out: every {HELD_OUT_EVERY}th page by crc32 of its id)")
    by_split = {
        name: score([cases[i] for i in idx], [ours[i] for i in idx])
        for name, idx in fundus_splits.items()
        if idx
    }
    print(f"{'field':<26}" + "".join(f"{f'{n} ({len(fundus_splits[n])})':>16}" for n in by_split))
    for key in a:
        if "ms/page" not in key:
            values = [_by_field(split_score)[_field(key)] for split_score in by_split.values()]
            print(f"{_field(key):<26}" + "".join(f"{v:>16.4f}" for v in values))
    date_cases = [
        c
        for c in load_cases(CORPUS / "htmldate-dev" / "cases.jsonl", "htmldate-dev")
        if not args.only or args.only in c["id"]
    ]
    runs = score_dates(date_cases)
    date_splits = splits(date_cases)
    print(f"\nhtmldate-dev: publication day on {len(date_cases)} pages")
    print(f"{'':<26}" + "".join(f"{f'{n} ({len(idx)})':>16}" for n, idx in date_splits.items()))
    for run in runs:
        print(
            f"{run.name:<26}"
            + "".join(f"{run.accuracy(date_cases, idx):>16.4f}" for idx in date_splits.values())
        )
    print(f"{runs[0].fallback} pages without a date (cityfeeds would use the fetch time)")
    if args.worst:
        print("\nwrong days, dev split only:")
        for case, day in zip(date_cases, runs[0].days, strict=True):
            if day != case["expected"]["date"] and not held_out(case):
                print(f"  {case['id']:<48} expected {case['expected']['date']} got {day}")
        print(f"\n{args.worst} worst body F1, dev split only:")
        ranked = sorted(
            (t for t in zip(cases, ours, plain, strict=True) if not held_out(t[0])),
            key=lambda t: token_f1(t[1].body, t[0]["expected"]["body_text"] or ""),
        )
        for case, res, tra in ranked[: args.worst]:
            exp = case["expected"]["body_text"] or ""
            print(
                f"{case['id']:<40} ours {token_f1(res.body, exp):.2f} "
                f"traf {token_f1(tra.body, exp):.2f} len {len(res.body)}/{len(exp)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
