"""What a worker adds to each scheduled run's row: the growth of its per-run counters."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crawler.context import RUN_STATS
from crawler.storage import Store

logger = logging.getLogger(__name__)


@dataclass
class _Delta:
    """What a flush adds to one run."""

    counts: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    discovery: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    links: dict[str, int] = field(default_factory=dict)
    causes: list[dict[str, Any]] = field(default_factory=list)


class RunCounts:
    """What a worker has added to each scheduled run's row so far (``RUN_STATS`` counters)."""

    FIGURES = ("pages", "new", "updated", "unchanged", "errors")
    #: Discovery documents of the run read and not read (``discovery_ok``/``discovery_failed``).
    DISCOVERY: ClassVar[dict[str, str]] = {"discovery_ok": "ok", "discovery_failed": "failed"}
    #: The list of why the run's discovery documents were not read (``<run>/causes``).
    CAUSES = "causes"
    #: Documents read by a worker that counts their article links (older workers do not):
    #: the run is judged on its links only when every document read was counted.
    LINKS_COUNTED = "links_counted"
    #: Added to the run's ``stats`` as they are: the article links its documents gave, the
    #: 304s among them, and :data:`LINKS_COUNTED`.
    LINKS: ClassVar[tuple[str, ...]] = ("article_links", "not_modified", LINKS_COUNTED)

    def __init__(self) -> None:
        self.flushed: dict[str, int] = {}

    def flush(
        self, stats: dict[str, Any], store: Store, *, limits: tuple[float, int] = (0.0, 0)
    ) -> int:
        """Add the counters' growth since the last flush to their runs; returns runs touched.

        ``limits``: the crawl's request timeout and size limit, which the run's message names.
        """
        deltas: dict[int, _Delta] = {}
        current: dict[str, int] = {}
        for key, value in stats.items():
            if not key.startswith(RUN_STATS):
                continue
            run, _, figure = key[len(RUN_STATS) :].partition("/")
            # The causes are a list that only grows: its new entries are its growth.
            size = len(value) if figure == self.CAUSES else int(value)
            done = self.flushed.get(key, 0)
            current[key] = size
            if size == done or not run.isdigit():
                continue
            delta = deltas.setdefault(int(run), _Delta())
            if figure == self.CAUSES:
                delta.causes = list(value[done:])
            elif figure.startswith("dropped/"):
                delta.dropped[figure.removeprefix("dropped/")] = size - done
            elif figure.startswith("skipped/"):
                delta.skipped[figure.removeprefix("skipped/")] = size - done
            elif figure in self.DISCOVERY:
                delta.discovery[self.DISCOVERY[figure]] = size - done
            elif figure in self.LINKS:
                delta.links[figure] = size - done
            elif figure in self.FIGURES:
                delta.counts[figure] = size - done
        for run_id, delta in sorted(deltas.items()):
            # judge: the run's state follows its drops and its discovery documents, as a crawl
            # run's does (docs/runs.md).
            added = store.add_to_run(
                run_id,
                delta.counts,
                delta.dropped,
                judge=True,
                discovery=delta.discovery,
                causes=delta.causes,
                skipped=delta.skipped,
                links=delta.links,
                limits=limits,
            )
            if not added:
                logger.debug("run %d is not in the store: its figures are not kept", run_id)
            # Only what was added is marked flushed: a failure retries it next time.
            for key in list(current):
                if key.startswith(f"{RUN_STATS}{run_id}/"):
                    self.flushed[key] = current[key]
        return len(deltas)
