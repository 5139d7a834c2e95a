"""How a run that ran to its end is judged from its figures: ``ok`` or ``partial``.

One rule for every way a run is crawled: the run recorder of ``cityfeeds crawl`` and the
service decides with it when the crawl ends, and the store applies it to a run queued for
distributed workers each time a worker adds what became of its pages and discovery documents
(:func:`queued_state`: ``failed`` too, as a crawl none of whose documents was read; docs/runs.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crawler.failures import causes_text

#: The drop reason of article pages that could not be fetched (timeouts, resets, 5xx after
#: the retries): lost for this run, fetched again by the next. Other drop reasons are no loss
#: (policy refusals, pages gone for good, unreadable pages).
LOST = "fetch_error"
#: The drop reason of article pages whose extraction worker died with them (killed, a crash
#: in a native parser): lost for this run like LOST, fetched again by the next.
CRASHED = "extract_crash"

#: The drop reason of queued requests a worker took but could not serve: their source is not in
#: its config (queued under a newer one). A queued discovery request dropped so is not read.
UNKNOWN_SOURCE = "unknown_source"

#: What a run whose documents were read but gave no article link says first (its message), and
#: ``cityfeeds status`` as why the source is ``degraded``.
NO_ARTICLE_LINK = "found no article link"

#: Distinct discovery failures a run keeps (``stats.causes``); "N discovery document(s) not
#: read" in its message counts them all.
MAX_CAUSES = 10


def kept_causes(causes: Iterable[dict[str, Any]], *new: dict[str, Any]) -> list[dict[str, Any]]:
    """``causes`` with each of ``new`` that is not among them added, up to :data:`MAX_CAUSES`:
    the distinct discovery failures a run keeps (``stats.causes``), in a crawl or added by
    distributed workers."""
    kept = list(causes)
    for cause in new:
        if cause not in kept and len(kept) < MAX_CAUSES:
            kept.append(cause)
    return kept


def finished_state(dropped: Mapping[str, int], notes: Iterable[str] = ()) -> tuple[str, str | None]:
    """``(state, message)`` of a run that ran to its end, from its drops by reason.

    ``partial`` when article pages could not be fetched or were lost with an extraction worker
    (the message counts them first), else ``ok``; ``notes`` (what else the run has to say)
    follow in the message. A ``partial`` run keeps no feed or sitemap validators, so the next
    run reads its documents in full and fetches those pages again.
    """
    lost, crashed = int(dropped.get(LOST) or 0), int(dropped.get(CRASHED) or 0)
    said = [n for n in notes if n]
    losses = [f"{lost} article page(s) could not be fetched"] if lost else []
    if crashed:
        losses.append(f"{crashed} article page(s) lost with a crashed extraction worker")
    if losses:
        return "partial", "; ".join([*losses, *said])
    return "ok", "; ".join(said) or None


def page_cap_note(left: int) -> str:
    """What a run held by its page cap (``max_pages_per_run``) says: the article links it left
    for the next runs (``stats.skipped/page_cap``)."""
    return f"page cap reached: {left:,} link{'s' if left != 1 else ''} left for the next runs"


def queued_note(queued: int) -> str:
    """What a run queued for distributed workers says about its queueing."""
    return f"queued {queued} discovery request(s) for workers"


def untaken_requests(run: Mapping[str, Any]) -> int:
    """The discovery requests a run queued for distributed workers when no worker has read any
    of its documents yet (0 for any other run, or once a worker has)."""
    stats = run.get("stats") or {}
    if stats.get("mode") != "distributed":
        return 0
    if int(stats.get("discovery_ok") or 0) + int(stats.get("discovery_failed") or 0):
        return 0
    return int(stats.get("queued") or 0)


def queued_state(
    dropped: Mapping[str, int],
    *,
    queued: int,
    read: int,
    not_read: int,
    causes: Iterable[dict[str, Any]],
    limits: tuple[float, int] = (0.0, 0),
    links: int = 0,
    links_counted: int = 0,
    not_modified: int = 0,
) -> tuple[str, str | None]:
    """``(state, message)`` of a run queued for workers, from what the workers added so far.

    As a crawl run: ``failed`` with its ``causes`` in words (why the documents could not be
    read; ``limits``: the crawl's request timeout and size limit) once every one of the
    ``queued`` discovery requests has failed (``not_read``, or dropped as
    :data:`UNKNOWN_SOURCE` by workers whose config lacks the source) and none was ``read``; else
    by :func:`finished_state`, the documents not read named in the message. Each queued request
    ends in one success or one failure, in whichever worker took it. When every document read
    had its article links counted (``links_counted``; workers older than that count do not),
    none answered 304 and they gave no ``links``, the message starts with
    :data:`NO_ARTICLE_LINK`, as a crawl run's does.
    """
    cause = causes_text(causes, *limits) if not_read else ""
    unknown = int(dropped.get(UNKNOWN_SOURCE) or 0)
    if queued and not_read + unknown >= queued and not read:
        if not unknown:
            return "failed", cause
        # Said first: until the workers' config has the source, every run of it fails so.
        said = f"the workers do not know this source ({unknown} request(s) dropped as "
        said += f"{UNKNOWN_SOURCE}): give the workers the config that has it"
        return "failed", "; ".join(p for p in (said, cause) if p)
    notes = [queued_note(queued)]
    if read and links_counted >= read and not links and not not_modified:
        notes.insert(0, NO_ARTICLE_LINK)
    if not_read:
        notes.append(f"{not_read} discovery document(s) not read: {cause}")
    return finished_state(dropped, notes)
