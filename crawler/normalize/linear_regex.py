"""User-written regexes compiled by RE2, which matches in time linear in the text.

One place for RE2's options and its error messages: topic regexes (crawler.topics.patterns)
and a source's URL patterns (crawler.normalize.url_patterns) both run text from the web, where
a backtracking engine (Python's ``re``) can take exponential time on one bad input.
"""

from __future__ import annotations

from typing import Any

import re2

__all__ = ["compile_re2", "compile_re2_bytes_ignoring_case"]


def _options() -> re2.Options:
    options = re2.Options()
    # The error is raised (and reported with the config entry's name); RE2 need not log it.
    options.log_errors = False
    return options


_OPTIONS = _options()


def compile_re2(pattern: str) -> Any:
    """``pattern`` compiled by RE2; ValueError with RE2's reason when it cannot be compiled."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        # The binding hands its message over as bytes.
        message = exc.args[0] if exc.args else exc
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise ValueError(str(message)) from None


def _bytes_ignoring_case() -> re2.Options:
    options = _options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.case_sensitive = False
    return options


_BYTES_IGNORING_CASE = _bytes_ignoring_case()


def compile_re2_bytes_ignoring_case(pattern: bytes) -> Any:
    """``pattern`` compiled by RE2 for bytes, each read as its Latin-1 character, case ignored.

    An ASCII letter of the pattern matches itself and its other case only: the characters
    Unicode folds to it beside those (K KELVIN SIGN, LATIN SMALL LETTER LONG S) are beyond
    Latin-1. So an ASCII pattern matches where it would match the ASCII-lower-cased bytes,
    without the copy ``bytes.lower()`` makes.
    """
    return re2.compile(pattern, _BYTES_IGNORING_CASE)
