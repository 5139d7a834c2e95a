"""Why a download failed, in words: one table for exception classes and policy refusals.

A run keeps its first failure as ``{"url": ..., "error": KEY}`` (the KEY of :func:`error_key`);
the crawl summary, ``status``, ``/healthz`` and the log lines say it with :func:`describe`:
``redirect loop: URL``, ``too large (> 8 MiB): URL``, ``connection closed by the server: URL``,
never a class name (``Blocked``) or an object dump (``DownloadFailedError: [<twisted...>]``).
No Scrapy or Twisted import: exceptions are read by their class names and attributes, which is
also all a stored run has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

#: Policy refusals (crawler.middlewares: the ``reason`` a ``Blocked`` carries) and unreadable
#: documents (the spider's ``bad_*``), by reason. ``{size}`` is the response size limit.
POLICY_WORDS = {
    "redirect_loop": "redirect loop",
    "too_large": "too large (> {size})",
    "blocked_redirect": "redirect refused (to another site or a private address)",
    "blocked_private": "private address refused (allow_private is off)",
    "blocked_scheme": "URL scheme not allowed",
    "robots_disallowed": "forbidden by robots.txt",
    "robots_unavailable": "robots.txt unreachable",
    "unsafe_xml": "unsafe XML (entity expansion or external entities)",
    "bad_feed": "not a readable feed",
    "bad_sitemap": "not a readable sitemap",
    "bad_listing": "not a readable listing page",
}

#: Download errors by exception class name: Scrapy 2.13+'s and the Twisted (and pyOpenSSL)
#: errors they wrap. ``{timeout}`` is the request timeout in seconds.
ERROR_WORDS = {
    "CannotResolveHostError": "DNS lookup failed",
    "DNSLookupError": "DNS lookup failed",
    "DownloadConnectionRefusedError": "connection refused",
    "ConnectionRefusedError": "connection refused",
    "DownloadTimeoutError": "did not answer in {timeout} s",
    "TCPTimedOutError": "did not answer in {timeout} s",
    "TimeoutError": "did not answer in {timeout} s",
    "NoRouteError": "no route to host",
    "ConnectError": "could not connect",
    "ConnectionDone": "connection closed by the server",
    "ConnectionClosed": "connection closed by the server",
    "ConnectionLost": "connection lost",
    "ConnectionAborted": "connection lost",
    "ResponseNeverReceived": "connection closed before an answer",
    "ResponseFailed": "connection lost",
    "DownloadFailedError": "connection lost",
    "ResponseDataLossError": "response cut short",
    "_DataLoss": "response cut short",
    "PotentialDataLoss": "response cut short",
    "TLSError": "TLS handshake failed",
    "DownloadCancelledError": "download cancelled",
    "UnsupportedURLSchemeError": "URL scheme not supported",
    # A rendered page (render = "browser"): crawler.browser.page, Playwright's errors.
    "PageStuck": "its scripts keep the page busy (an endless loop?)",
    "PageTimeout": "the page did not load in {timeout} s (its server, or a script it waits for)",
    "RendererCrashed": "the page crashed the browser (out of memory?)",
}

# A wrapped Twisted failure as DownloadFailedError's text shows it, when the exception it
# wraps is not at hand: "[<twisted.python.failure.Failure twisted.internet.error.ConnectionDone:
# Connection was closed cleanly.>]".
_FAILURE_REPR = re.compile(r"<twisted\.python\.failure\.Failure ([\w.]+)")
_WRAPPERS = frozenset({"DownloadFailedError", "ResponseFailed", "ResponseNeverReceived"})


def error_key(exc: BaseException) -> str:
    """What went wrong, as a key of :data:`POLICY_WORDS` or :data:`ERROR_WORDS` when known
    (the class name otherwise): a refusal's reason, or the innermost download error."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason in POLICY_WORDS:
        return reason
    name = type(exc).__name__
    module = type(exc).__module__
    if module.startswith("OpenSSL"):
        return "TLSError"
    if module.startswith("playwright") and "crashed" in str(exc).lower():
        return "RendererCrashed"  # "Page.content: Target crashed"
    if module.startswith("playwright") and name == "TimeoutError":
        return "PageTimeout"  # "Page.goto: Timeout 10000ms exceeded": not only the server
    if name in _WRAPPERS:
        inner = _wrapped(exc)
        if inner is not None:
            return inner
    return name


def _wrapped(exc: BaseException) -> str | None:
    """The key of the error a download wrapper stands for (its first reason), if known."""
    reasons = getattr(exc, "reasons", None)  # Twisted's ResponseFailed: a list of Failures
    if reasons:
        value = getattr(reasons[0], "value", None)
        if isinstance(value, BaseException):
            return error_key(value)
    if exc.__cause__ is not None:  # Scrapy's wrapper of the Twisted error
        return error_key(exc.__cause__)
    match = _FAILURE_REPR.search(str(exc))
    if match:
        name = match.group(1)
        return "TLSError" if name.startswith("OpenSSL") else name.rsplit(".", 1)[-1]
    return None


def describe(key: str, *, timeout: float = 0, max_bytes: int = 0) -> str:
    """A failure's key (:func:`error_key`) in a few words: ``connection closed by the server``."""
    words = POLICY_WORDS.get(key) or ERROR_WORDS.get(key)
    if words is None:
        return key  # an error class no table names: its name, never its repr
    return words.format(timeout=f"{timeout:g}", size=_size(max_bytes))


def describe_exception(exc: BaseException, *, timeout: float = 0, max_bytes: int = 0) -> str:
    """An exception in a few words; an unknown class keeps its name and first line."""
    key = error_key(exc)
    if key in POLICY_WORDS or key in ERROR_WORDS:
        return describe(key, timeout=timeout, max_bytes=max_bytes)
    first_line = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
    return f"{key}: {first_line}" if first_line else key


def _size(n: int) -> str:
    """``8 MiB``-style size of a limit (``the size limit`` when unknown)."""
    if n <= 0:
        return "the size limit"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def causes_text(causes: Iterable[dict[str, Any]], timeout: float = 0, max_bytes: int = 0) -> str:
    """Kept causes (a run's ``stats.causes``) in words, each with its URL, one after the other;
    the ones past :data:`CAUSES_SAID` counted."""
    said = list(dict.fromkeys(describe_cause(c, timeout, max_bytes) for c in causes))
    if not said:
        return NO_CAUSE
    more = len(said) - CAUSES_SAID
    return ", ".join(said[:CAUSES_SAID]) + (f" and {more} more" if more > 0 else "")


#: Causes a run's message says in words; it counts the others.
CAUSES_SAID = 3


def describe_cause(cause: dict[str, Any], timeout: float = 0, max_bytes: int = 0) -> str:
    """One kept cause (``{"url", "status"}`` or ``{"url", "error"}``) in words, with its URL.

    A document refused because its host's robots.txt was unreachable names that robots.txt
    (on the document's own host), never another host's.
    """
    url = str(cause.get("url") or "")
    error = str(cause.get("error") or "")
    status = cause.get("status")
    if error == "robots_unavailable":
        text = describe(error) + (f" (HTTP {status})" if status else "")
        if url and not url.endswith("/robots.txt"):
            url = urljoin(url, "/robots.txt")  # the document was never asked for
    elif status:
        text = f"HTTP {status}"
    elif error:
        # A sitemap's own limit (50 MiB) rather than the crawl's, when the cause names one.
        limit = int(cause.get("max_bytes") or max_bytes)
        text = describe(error, timeout=timeout, max_bytes=limit)
    else:
        text = NO_CAUSE
    return f"{text}: {url}" if url else text


NO_CAUSE = "no feed, sitemap or listing could be read"
