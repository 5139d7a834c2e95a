"""Views of a status report: the CLI table, the ``/status`` HTML page and the ``/healthz`` body."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cityfeeds.status.health import StatusReport, jsonable


def format_age(seconds: float | None) -> str:
    """``45s``, ``12m``, ``5h``, ``3d`` (``-`` for unknown)."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def format_time(value: datetime | None, tz: str) -> str:
    """A datetime in the report's zone, minutes precision (``-`` for None)."""
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def table_rows(report: StatusReport) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the status table (shared by the CLI and the HTML page)."""
    headers = [
        "source", "state", "last run", "result", "pages", "new", "updated", "dropped",
        "failures", "next run", "newest article", "note",
    ]  # fmt: skip
    rows = []
    for s in report.sources:
        dropped = ",".join(f"{k}={v}" for k, v in sorted(s.dropped.items())) or "-"
        last = format_time(s.last_started, report.timezone)
        note = "; ".join(s.reasons) or (s.message or "")
        if s.waiting_until is not None:
            until = s.waiting_until.astimezone(ZoneInfo(report.timezone)).strftime("%H:%M")
            note = f"waiting until {until}" + (f"; {note}" if note else "")
        if s.running:
            # The row's figures and note are the last finished run's: said apart from the
            # run crawling now, so a previous failure's note never reads as the current run's.
            since = (
                s.running_since.astimezone(ZoneInfo(report.timezone)).strftime("%H:%M")
                if s.running_since is not None
                else "?"
            )
            note = f"crawling now (since {since})" + (f"; last run: {note}" if note else "")
        if s.skipped_overlaps:
            note = (
                note + "; " if note else ""
            ) + f"{s.skipped_overlaps} overlapping run(s) skipped"
        rows.append(
            [
                s.name,
                s.state,
                last,
                s.result or "-",
                str(s.pages),
                str(s.new),
                str(s.updated),
                dropped,
                str(s.consecutive_failures),
                format_time(s.next_run, report.timezone),
                format_age(s.newest_age) + (" ago" if s.newest_age is not None else ""),
                note,
            ]
        )
    return headers, rows


def render_html(report: StatusReport) -> str:
    """The ``/status`` page: a plain HTML table, every value escaped, no scripts."""
    esc = html.escape
    headers, rows = table_rows(report)
    h = report.health
    head = "".join(f"<th>{esc(c)}</th>" for c in headers)
    body = "\n".join(
        f'<tr class="{esc(report.sources[i].state.replace(" ", "-"))}">'
        + "".join(f"<td>{esc(c)}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    feeds = ""
    if report.feed_failures:
        items = "".join(
            f"<li>{esc(path)}: {esc(err)}</li>"
            for path, err in sorted(report.feed_failures.items())
        )
        feeds = (
            f"<h2>Feeds that failed to build (last good files still served)</h2><ul>{items}</ul>"
        )
    cycle = format_time(h.last_successful_cycle, report.timezone)
    hubs = "".join(
        f"<li>{esc(hub)}: {s['ok']} sent, {s['failed']} failed, {s['pending']} pending"
        + (f"; last error: {esc(str(s['last_error']))}" if s.get("last_error") else "")
        + "</li>"
        for hub, s in sorted(report.websub.items())
    )
    if hubs:
        feeds += f"<h2>WebSub hubs (notifications since the service started)</h2><ul>{hubs}</ul>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cityfeeds status</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: .25em .5em; text-align: left; font-size: .9em; }}
tr.failing td {{ background: #fdd; }}
tr.degraded td {{ background: #ffd; }}
</style>
</head>
<body>
<h1>cityfeeds status</h1>
<p>Service: <strong>{esc(h.status)}</strong>{esc(f" ({h.reason})" if h.reason else "")};
last successful cycle: {esc(cycle)};
generated {esc(format_time(report.generated_at, report.timezone))} ({esc(report.timezone)}).</p>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody>
</table>
{feeds}
</body>
</html>
"""


def health_json(report: StatusReport, *, pid: int | None = None) -> dict[str, Any]:
    """The ``/healthz`` body: liveness, last successful cycle, source counts, and one line per
    source that is not ok (a status code or error class and the URL, no exception text)."""
    h = report.health
    return jsonable(
        {
            "status": h.status,
            "healthy": h.healthy,
            "reason": h.reason,
            "alive": True,
            "pid": pid,
            "started_at": h.started_at,
            "last_successful_cycle": h.last_successful_cycle,
            "last_ok_run": h.last_ok_run,
            "last_ok_build": h.last_ok_build,
            "threshold_seconds": h.threshold_seconds,
            "sources": report.counts(),
            # Why each source that is not ok is so: its last run's message (which names the
            # HTTP status or error class and the URL) or its degraded reasons.
            "details": {
                s.name: "; ".join(s.reasons) or s.message or s.state
                for s in report.sources
                if s.state in ("failing", "degraded", "waiting", "interrupted")
            },
            # Per source, its latest run the store has no record of (its database or disk
            # full): `cityfeeds status` shows these sources as the service does.
            "not_recorded": {
                name: {"at": run.at, "cause": run.cause, "count": run.count}
                for name, run in report.unrecorded.items()
            },
            "failed_feeds": len(report.failed_feeds()),
            "websub_failed": sum(int(s.get("failed") or 0) for s in report.websub.values()),
        }
    )
