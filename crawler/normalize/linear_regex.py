"""User-written regexes compiled by RE2, which matches in time linear in the text.

One place for RE2's options and its error messages: topic regexes (crawler.topics.patterns)
and a source's URL patterns (crawler.normalize.url_patterns) both run text from the web, where
a backtracking engine (Python's ``re``) can take exponential time on one bad input.
"""

from __future__ import annotations

from typing import Any

import re2

__all__ = ["compile_re2"]


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
