"""Apply ``[retention]``: the one function ``cityfeeds prune`` and the service's daily job share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crawler.config import Config
from crawler.storage import Store


@dataclass(frozen=True)
class PruneReport:
    """What one prune did (or, with ``dry_run``, would do)."""

    dry_run: bool
    runs_days: int
    text_days: int
    runs: int = 0  # run records deleted
    articles: int = 0  # articles whose text and HTML were dropped
    chars: int = 0  # characters of text and HTML dropped


def prune(config: Config, store: Store, now: datetime, *, dry_run: bool = False) -> PruneReport:
    """Delete old run records and compact old articles as ``[retention]`` says (0: not)."""
    spec = config.retention
    runs = articles = chars = 0
    if spec.runs_days:
        runs = store.prune_runs(now - timedelta(days=spec.runs_days), dry_run=dry_run)
    if spec.text_days:
        articles, chars = store.compact_articles(
            now - timedelta(days=spec.text_days), dry_run=dry_run
        )
    return PruneReport(dry_run, spec.runs_days, spec.text_days, runs, articles, chars)


def prune_summary(report: PruneReport) -> str:
    """Two lines for people: the run records and the article texts pruned (or to be)."""
    verb = "would delete" if report.dry_run else "deleted"
    if report.runs_days:
        runs = (
            f"Runs: {verb} {report.runs} run record(s) finished over {report.runs_days} day(s) "
            "ago (each source's latest kept)."
        )
    else:
        runs = "Runs: kept forever ([retention] runs_days = 0)."
    verb = "would drop" if report.dry_run else "dropped"
    if report.text_days:
        texts = (
            f"Articles: {verb} the text and HTML of {report.articles} article(s) published and "
            f"first seen over {report.text_days} day(s) ago ({_size(report.chars)}); "
            "their rows, titles, summaries and topics stay."
        )
    else:
        texts = "Articles: texts kept forever ([retention] text_days = 0)."
    return f"{runs}\n{texts}"


def _size(chars: int) -> str:
    """A character count as people read it (``1.2 M characters``)."""
    if chars >= 1_000_000:
        return f"{chars / 1_000_000:.1f} M characters"
    if chars >= 1000:
        return f"{chars / 1000:.1f} k characters"
    return f"{chars} characters"
