"""WebSub publishing: tell the configured hubs, in the background, which feeds changed.

A publish notification is ``POST hub`` with the form ``hub.mode=publish&hub.url=<feed URL>``,
one per changed feed file (the convention of the PubSubHubbub 0.4 hubs that WebSub keeps; the
W3C recommendation leaves publishing to the hub). Each hub has its own thread and queue, so a
hub that is slow or down never delays the feeds, another hub, or the service's cycle: its
notifications are retried with exponential backoff, then counted as failed.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from feeds.render import FORMATS
from feeds.specs import feed_specs

log = logging.getLogger(__name__)

#: Statuses below 500 worth retrying: the hub is busy now, not refusing the request. Every 5xx
#: is retried too (the hub is broken now).
RETRY_STATUSES = frozenset({408, 425, 429})


def _retryable(status: int) -> bool:
    return status >= 500 or status in RETRY_STATUSES


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A hub's redirect is its answer (an ``HTTPError`` with the 3xx status), not followed:
    urllib would follow a 302 with a GET without the form, and the hub never got the ping."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


#: ``post(hub, form bytes, timeout) -> HTTP status``; raises OSError when no answer came.
PostFn = Callable[[str, bytes, float], int]


def changed_feed_urls(config: Any, report: Any) -> list[str]:
    """Public URLs of every format of each feed whose files a build rewrote (``report``).

    The index page and the OPML file are not feeds; feeds kept as they were are not listed.
    """
    changed = set(getattr(report, "changed", ()))
    return [
        spec.url(config.base_url, fmt.extension)
        for spec, _ in feed_specs(config)
        if spec.path in changed
        for fmt in FORMATS.values()
    ]


def hub_label(hub: str) -> str:
    """A short, bounded name of a hub for metrics and status: its host and port, no path."""
    parts = urlsplit(hub)
    return parts.netloc.rsplit("@", 1)[-1] or hub


def urllib_post(user_agent: str) -> PostFn:
    """A :data:`PostFn` on ``urllib`` (any answer is a status; no answer raises OSError)."""

    def post(hub: str, body: bytes, timeout: float) -> int:
        request = urllib.request.Request(
            hub,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": user_agent,
            },
        )
        try:
            # The status is the answer: the body is not read (a hub that trickles one would
            # hold its queue far past ``timeout``, which bounds each read, not the answer).
            with opener.open(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)

    opener = urllib.request.build_opener(_NoRedirect)
    return post


@dataclass
class HubStats:
    """What happened to one hub's notifications since the service started."""

    ok: int = 0
    failed: int = 0
    retries: int = 0
    pending: int = 0
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str | None = None


@dataclass
class _Hub:
    url: str
    queue: deque[str] = field(default_factory=deque)
    stats: HubStats = field(default_factory=HubStats)
    thread: threading.Thread | None = None
    #: Whether the queue's head is being sent: a feed that changes again meanwhile is queued
    #: again (the hub may have fetched it before the change).
    sending: bool = False


class HubNotifier:
    """Send publish notifications to every hub, each hub from its own background thread.

    :meth:`notify` only queues (a feed already waiting is not queued twice) and returns at once.
    A notification is retried ``attempts`` times in all on a network error or a retryable
    status (5xx, 429, 408), waiting ``backoff``, 2×, 4×... seconds (at most ``max_backoff``);
    another 4xx fails at once (the hub refuses it: retrying cannot help).
    """

    def __init__(
        self,
        hubs: Sequence[str],
        *,
        post: PostFn | None = None,
        user_agent: str = "cityfeeds",
        attempts: int = 5,
        backoff: float = 2.0,
        max_backoff: float = 300.0,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.post = post or urllib_post(user_agent)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.clock = clock
        self._hubs = [_Hub(h) for h in dict.fromkeys(hubs)]
        self._cond = threading.Condition()
        self._closing = threading.Event()

    @property
    def hubs(self) -> list[str]:
        """The hub URLs."""
        return [h.url for h in self._hubs]

    def start(self) -> HubNotifier:
        """Start one thread per hub."""
        for hub in self._hubs:
            hub.thread = threading.Thread(
                target=self._loop, args=(hub,), name=f"websub-{hub_label(hub.url)}", daemon=True
            )
            hub.thread.start()
        return self

    def notify(self, feed_urls: Iterable[str]) -> None:
        """Queue a publish notification of each URL for every hub (cheap; never blocks)."""
        urls = list(dict.fromkeys(feed_urls))
        if not urls or self._closing.is_set():
            return
        with self._cond:
            for hub in self._hubs:
                waiting = set(list(hub.queue)[1:] if hub.sending else hub.queue)
                hub.queue.extend(u for u in urls if u not in waiting)
                hub.stats.pending = len(hub.queue)
            self._cond.notify_all()

    def idle(self) -> bool:
        """True when no notification is queued or being sent."""
        with self._cond:
            return all(h.stats.pending == 0 for h in self._hubs)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the threads; notifications still queued after ``timeout`` seconds are dropped
        (the next build that changes those feeds notifies again)."""
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
        for hub in self._hubs:
            if hub.thread is not None:
                hub.thread.join(timeout)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per hub (by :func:`hub_label`, ``#n`` added when several share a host): ok, failed,
        retries, pending, last success/failure."""
        labels = [hub_label(h.url) for h in self._hubs]
        # Hubs on one host are told apart by their place in the config (``host#2``): one row
        # per host hid the first hub's figures under the last one's.
        shared = {label for label in labels if labels.count(label) > 1}
        seen: dict[str, int] = {}
        stats: dict[str, dict[str, Any]] = {}
        with self._cond:
            for label, h in zip(labels, self._hubs, strict=True):
                if label in shared:
                    seen[label] = seen.get(label, 0) + 1
                    label = f"{label}#{seen[label]}"
                stats[label] = dict(vars(h.stats))
        return stats

    # -- the hub threads -------------------------------------------------------------------

    def _next(self, hub: _Hub) -> str | None:
        with self._cond:
            while not hub.queue:
                if self._closing.is_set():
                    return None
                self._cond.wait()
            hub.sending = True
            return hub.queue[0]

    def _loop(self, hub: _Hub) -> None:
        while (url := self._next(hub)) is not None:
            ok, error = self._send(hub, url)
            with self._cond:
                hub.queue.popleft()
                hub.sending = False
                hub.stats.pending = len(hub.queue)
                if ok:
                    hub.stats.ok += 1
                    hub.stats.last_success = self.clock()
                else:
                    hub.stats.failed += 1
                    hub.stats.last_failure = self.clock()
                    hub.stats.last_error = error
            if not ok:
                log.warning("WebSub hub %s: notifying %s failed: %s", hub.url, url, error)

    def _send(self, hub: _Hub, url: str) -> tuple[bool, str | None]:
        body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode("ascii")
        error: str | None = None
        for attempt in range(self.attempts):
            if attempt:
                with self._cond:
                    hub.stats.retries += 1
                delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
                # Waits on the closing event: a stopping service is not held by a down hub.
                if self._closing.wait(delay):
                    return False, f"{error}; stopped before retrying"
            try:
                status = self.post(hub.url, body, self.timeout)
            except (OSError, ValueError) as exc:  # refused, timed out, reset, bad URL
                error = f"{type(exc).__name__}: {exc}"
                continue
            if 200 <= status < 300:
                log.debug("WebSub hub %s: %s published (%d)", hub.url, url, status)
                return True, None
            error = f"HTTP {status}"
            if not _retryable(status):
                return False, error
        return False, error
