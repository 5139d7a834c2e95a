"""Download failures in words: every error class and refusal a run can keep, never a repr."""

from __future__ import annotations

import pytest
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseNeverReceived

from crawler.failures import ERROR_WORDS, POLICY_WORDS, describe, describe_exception, error_key
from crawler.middlewares.policy import Blocked


def _wrapped(inner: Exception, *, keep_cause: bool = True) -> DownloadFailedError:
    """What Scrapy's download handler raises for a Twisted ResponseFailed."""
    failed = ResponseNeverReceived([Failure(inner)])
    outer = DownloadFailedError(str(failed))
    if keep_cause:
        outer.__cause__ = failed
    return outer


@pytest.mark.parametrize("keep_cause", [True, False])
def test_a_wrapped_connection_error_is_said_in_words(keep_cause: bool) -> None:
    exc = _wrapped(ConnectionDone(), keep_cause=keep_cause)
    assert "twisted" in str(exc)  # what the summary used to show
    assert error_key(exc) == "ConnectionDone"
    assert describe_exception(exc) == "connection closed by the server"
    assert describe_exception(_wrapped(ConnectionLost())) == "connection lost"


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (Blocked("redirect_loop", "redirect_loop: u: a -> b"), "redirect loop"),
        (Blocked("too_large", "too_large: u: big"), "too large (> 8 MiB)"),
        (Blocked("blocked_private", "x"), "private address refused (allow_private is off)"),
        (DownloadTimeoutError("Getting u took longer than 30 seconds."), "did not answer in 30 s"),
        (CannotResolveHostError("nx.example"), "DNS lookup failed"),
        (DownloadConnectionRefusedError("refused"), "connection refused"),
        (ValueError("odd\nsecond line"), "ValueError: odd"),
    ],
)
def test_exceptions_in_words(exc: Exception, words: str) -> None:
    assert describe_exception(exc, timeout=30, max_bytes=8 * 2**20) == words


def test_every_kept_key_has_words_and_no_placeholder_is_left() -> None:
    for key in (*POLICY_WORDS, *ERROR_WORDS):
        text = describe(key, timeout=5, max_bytes=1536)
        assert text and "{" not in text and key not in text, key
    assert describe("too_large", max_bytes=1536) == "too large (> 1.5 KiB)"
    assert describe("SomethingNew") == "SomethingNew"  # a class no table names: its name only


def test_a_rendered_page_that_crashed_its_browser_is_said_in_words() -> None:
    # Playwright's own error class, "Error"; the run said "Error: <url>" and no more.
    error = type("Error", (Exception,), {"__module__": "playwright._impl._errors"})
    crashed = error("Page.content: Target crashed")
    assert describe_exception(crashed) == "the page crashed the browser (out of memory?)"
    assert describe_exception(error("Page.goto: net::ERR_ABORTED")) == (
        "Error: Page.goto: net::ERR_ABORTED"
    )
    # A script that blocks the page's parsing times its navigation out: not only the server.
    timeout = type("TimeoutError", (error,), {"__module__": "playwright._impl._errors"})
    assert describe_exception(timeout("Page.goto: Timeout 10000ms exceeded"), timeout=10) == (
        "the page did not load in 10 s (its server, or a script it waits for)"
    )
