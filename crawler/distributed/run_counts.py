"""What a worker adds to each scheduled run's row: the growth of its per-run counters."""

from __future__ import annotations

import logging
from typing import Any

from crawler.context import RUN_STATS
from crawler.storage import Store

logger = logging.getLogger(__name__)


class RunCounts:
    """What a worker has added to each scheduled run's row so far (``RUN_STATS`` counters)."""

    FIGURES = ("pages", "new", "updated", "unchanged", "errors")

    def __init__(self) -> None:
        self.flushed: dict[str, int] = {}

    def flush(self, stats: dict[str, Any], store: Store) -> int:
        """Add the counters' growth since the last flush to their runs; returns runs touched."""
        deltas: dict[int, tuple[dict[str, int], dict[str, int]]] = {}
        current: dict[str, int] = {}
        for key, value in stats.items():
            if not key.startswith(RUN_STATS):
                continue
            run, _, figure = key[len(RUN_STATS) :].partition("/")
            delta = int(value) - self.flushed.get(key, 0)
            current[key] = int(value)
            if not delta or not run.isdigit():
                continue
            counts, dropped = deltas.setdefault(int(run), ({}, {}))
            if figure.startswith("dropped/"):
                dropped[figure.removeprefix("dropped/")] = delta
            elif figure in self.FIGURES:
                counts[figure] = delta
        for run_id, (counts, dropped) in sorted(deltas.items()):
            # judge: the run's state follows its drops, as a crawl run's does (docs/runs.md).
            if not store.add_to_run(run_id, counts, dropped, judge=True):
                logger.debug("run %d is not in the store: its figures are not kept", run_id)
            # Only what was added is marked flushed: a failure retries it next time.
            for key in list(current):
                if key.startswith(f"{RUN_STATS}{run_id}/"):
                    self.flushed[key] = current[key]
        return len(deltas)
