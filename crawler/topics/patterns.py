"""A topic's user-written regexes, compiled by RE2 so that matching takes linear time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from crawler.normalize.linear_regex import compile_re2

__all__ = ["REGEX_INPUT_LIMIT", "REGEX_MAX_LENGTH", "TopicPattern", "compile_pattern"]

# A pattern is config, not code: longer than this is a mistake (and a bigger RE2 program).
REGEX_MAX_LENGTH = 300
# Regexes see at most this many characters per field. Fields are already cut to the engine's scan
# limit; this also bounds an engine built with a larger one, so a regex costs the same per field.
REGEX_INPUT_LIMIT = 20_000
# RE2's \w, \W, \b and \B are defined over ASCII only: «\bэлектро\w+» compiles but never matches
# Russian text, where Python's re would. Refusing them at load beats a topic that silently stops
# matching; \pL (a letter) and [\pL\pN_] (a word character) say the same in Unicode.
_ASCII_ONLY_ESCAPES = frozenset("wWbB")


class _Match(Protocol):
    def group(self) -> str: ...


class _Regex(Protocol):
    def search(self, text: str, pos: int | None = None, endpos: int | None = None) -> _Match | None:
        """RE2's search, as in ``re.Pattern.search``."""


@dataclass(frozen=True, slots=True)
class TopicPattern:
    """One compiled regex of a topic; the only place the topic engine meets the regex library."""

    pattern: str
    _regex: _Regex

    def first_match(self, text: str) -> str | None:
        """The leftmost match in the first :data:`REGEX_INPUT_LIMIT` characters, or None."""
        found = self._regex.search(text, 0, REGEX_INPUT_LIMIT)
        return None if found is None else found.group()


def compile_pattern(pattern: str) -> TopicPattern:
    """Compile ``pattern`` with RE2, or raise ValueError saying why it cannot be used.

    Why RE2 rather than Python's ``re``: a topic regex runs on text from the web, and ``re``
    backtracks, so ``(a+)+$`` against a long run of «a» takes exponential time. RE2 compiles a
    pattern to an automaton that reads the text once, so every accepted pattern, ``(a+)+$``
    included, matches in time linear in the text (which :data:`REGEX_INPUT_LIMIT` also bounds).
    Unlike a timeout, this keeps scores independent of machine load, and they are stored.

    The price is RE2's syntax (https://github.com/google/re2/wiki/Syntax): no backreferences,
    lookaround, atomic groups or possessive repeats, which RE2 itself rejects here; and \\w, \\W,
    \\b, \\B are ASCII-only, so they are rejected too (see ``_ASCII_ONLY_ESCAPES``). \\d is 0-9
    and \\s ASCII whitespace (article text has its Unicode spaces folded to " " already). Matching
    is leftmost-first, as in ``re``, so a pattern both accept finds the same text.
    """
    if len(pattern) > REGEX_MAX_LENGTH:
        raise ValueError(f"regex longer than {REGEX_MAX_LENGTH} characters")
    try:
        regex = compile_re2(pattern)
    except ValueError as exc:
        raise ValueError(
            f"invalid regex {pattern!r}: {exc} (RE2 syntax: no backreferences or lookaround)"
        ) from None
    escape = _ascii_only_escape(pattern)
    if escape is not None:
        raise ValueError(
            f"regex {pattern!r}: \\{escape} sees only ASCII letters in RE2 and never matches "
            "around Cyrillic; write \\pL (a letter) or [\\pL\\pN_] (a word character)"
        )
    return TopicPattern(pattern, cast(_Regex, regex))


def _ascii_only_escape(pattern: str) -> str | None:
    """The first of \\w \\W \\b \\B used as an escape in ``pattern`` (not quoted by \\Q...\\E)."""
    i = 0
    while i < len(pattern) - 1:
        if pattern[i] != "\\":
            i += 1
            continue
        escaped = pattern[i + 1]
        if escaped == "Q":  # \Q...\E is literal text: a \w inside it is a backslash and a «w»
            end = pattern.find("\\E", i + 2)
            if end < 0:
                return None
            i = end + 2
            continue
        if escaped in _ASCII_ONLY_ESCAPES:
            return escaped
        i += 2
    return None
