"""Coalesced feed rebuilds: many crawls finishing close together lead to one rebuild."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class FeedRebuilder:
    """Run ``rebuild`` in a background thread some time after the last request.

    A request waits ``debounce`` seconds for more crawls to finish, but never more than
    ``max_delay`` after the first pending request, so one slow source cannot hold the others'
    articles back. A request that arrives during a rebuild causes exactly one more.
    """

    def __init__(
        self,
        rebuild: Callable[[], Any],
        *,
        debounce: float = 5.0,
        max_delay: float = 60.0,
        on_done: Callable[[Any, BaseException | None], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rebuild = rebuild
        self.debounce = debounce
        self.max_delay = max_delay
        self.on_done = on_done
        self.monotonic = monotonic
        self._cond = threading.Condition()
        self._first: float | None = None
        self._due: float | None = None
        self._closing = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the background thread."""
        self._thread = threading.Thread(target=self._loop, name="cityfeeds-feeds", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Ask for a rebuild (cheap; coalesced with the other pending requests)."""
        with self._cond:
            now = self.monotonic()
            if self._first is None:
                self._first = now
            self._due = min(now + self.debounce, self._first + self.max_delay)
            self._cond.notify_all()

    @property
    def pending(self) -> bool:
        """Whether a rebuild has been requested and not started yet."""
        with self._cond:
            return self._due is not None

    def close(self, *, flush: bool = True, timeout: float = 120.0) -> bool:
        """Stop the thread; with ``flush``, run a pending rebuild first (without waiting).

        Waits up to ``timeout`` s for the thread; returns whether it ended (False: a rebuild
        is still running).
        """
        with self._cond:
            self._closing = True
            if not flush:
                self._due = self._first = None
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _take(self) -> bool:
        """Wait for a due rebuild (True), or for closing with none pending (False)."""
        with self._cond:
            while True:
                if self._due is not None and (self._closing or self.monotonic() >= self._due):
                    self._due = self._first = None
                    return True
                if self._closing:
                    return False
                timeout = None if self._due is None else max(0.0, self._due - self.monotonic())
                self._cond.wait(timeout)

    def _loop(self) -> None:
        while self._take():
            result: Any = None
            error: BaseException | None = None
            try:
                result = self.rebuild()
            except Exception as exc:  # a failed build keeps the last good files; try again later
                # The caller's on_done says it in one line; a traceback only for what is not
                # an expected failure (a bug), and at debug level for those.
                expected = getattr(exc, "expected", False)
                logger.log(
                    logging.DEBUG if expected else logging.ERROR,
                    "feed rebuild failed",
                    exc_info=exc,
                )
                error = exc
            if self.on_done is not None:
                try:
                    self.on_done(result, error)
                except Exception:
                    logger.exception("feed rebuild callback failed")
