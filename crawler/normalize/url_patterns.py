"""A source's URL regexes (``article_pattern``, ``link_pattern``), compiled by RE2.

Python's ``re`` backtracks: ``/news/([\\w-]+-?)+/\\d+$`` takes seconds on a URL with a long
slug, doubling with each character, and the URLs come from the sites. RE2 matches in time
linear in the URL for every pattern it accepts, as for topic regexes
(:mod:`crawler.topics.patterns`). Patterns are written in the ``re`` dialect users know and
translated where RE2 differs: ``\\w`` and ``\\W`` are ASCII-only in RE2 but feeds link
Cyrillic slugs as they are (``/новости/москва-1``), so they become ``[\\pL\\pN_]`` and its
negation. What RE2 cannot do (backreferences, lookaround, ``\\b``) is a config error naming
the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from crawler.normalize.linear_regex import compile_re2

__all__ = ["UrlPattern", "compile_url_pattern"]

#: Longer than this is a mistake in a config, not a URL shape.
MAX_PATTERN_LENGTH = 500
_WORD = r"\pL\pN_"


class _Regex(Protocol):
    def search(self, text: str) -> object | None:
        """RE2's search, as in ``re.Pattern.search``."""


@dataclass(frozen=True, slots=True)
class UrlPattern:
    """A compiled URL regex: :meth:`search` as ``re``'s, in linear time."""

    pattern: str
    _regex: _Regex

    def search(self, url: str) -> bool:
        """Whether the pattern matches anywhere in ``url``."""
        return self._regex.search(url) is not None


def compile_url_pattern(pattern: str) -> UrlPattern:
    """Compile ``pattern`` for RE2, or raise ValueError saying why it cannot be used."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"regex longer than {MAX_PATTERN_LENGTH} characters")
    translated = _translate(pattern)
    try:
        regex = compile_re2(translated)
    except ValueError as exc:
        raise ValueError(
            f"invalid regex {pattern!r}: {exc} (URL patterns use RE2, which matches in "
            "linear time: no backreferences or lookaround)"
        ) from None
    return UrlPattern(pattern, cast(_Regex, regex))


def _translate(pattern: str) -> str:
    """``pattern`` with ``\\w``/``\\W`` made Unicode-aware; ``\\b``/``\\B`` refused."""
    out: list[str] = []
    i, n = 0, len(pattern)
    class_start = -1  # index where the current [...] set's members begin, -1 outside one
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            esc = pattern[i + 1]
            inside = class_start >= 0
            if esc == "w":
                out.append(_WORD if inside else f"[{_WORD}]")
            elif esc == "W":
                if inside:
                    raise ValueError(
                        f"regex {pattern!r}: \\W inside [...] is not supported; write the set "
                        "as [^...] of what may not appear"
                    )
                out.append(f"[^{_WORD}]")
            elif esc in "bB":
                raise ValueError(
                    f"regex {pattern!r}: \\{esc} (a word boundary) is not supported in URL "
                    "patterns; anchor on the URL's own separators (/, -, ., ?) instead"
                )
            else:
                out.append(ch + esc)
            i += 2
            continue
        if class_start >= 0:
            if ch == "]" and i > class_start:
                class_start = -1
        elif ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            class_start = j  # a "]" right here is a member, not the end
        out.append(ch)
        i += 1
    return "".join(out)
