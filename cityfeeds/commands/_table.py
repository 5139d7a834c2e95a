"""Plain-text tables for command output (no dependency, stable for tests)."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a header rule."""
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_dropped(dropped: dict[str, int] | None) -> str:
    """``reason=N`` pairs, or ``-``."""
    if not dropped:
        return "-"
    return ",".join(f"{k}={v}" for k, v in sorted(dropped.items()))
