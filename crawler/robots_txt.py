"""How much of a robots.txt is read: RFC 9309 §2.5's floor, shared by the crawl and the draft."""

from __future__ import annotations

#: robots.txt bytes parsed. RFC 9309 §2.5: a crawler must parse at least 500 KiB and may
#: ignore the rest; a larger file is cut here (counted and logged), never a failed source.
ROBOTS_TXT_MAX_BYTES = 512 * 1024


def robots_txt_prefix(body: bytes) -> tuple[bytes, bool]:
    """``body`` up to ROBOTS_TXT_MAX_BYTES, and whether it was cut.

    A cut body ends at its last whole line: half a ``Disallow: /news/2`` line read as
    ``Disallow: /ne`` would forbid more than the site wrote.
    """
    if len(body) <= ROBOTS_TXT_MAX_BYTES:
        return body, False
    head = body[:ROBOTS_TXT_MAX_BYTES]
    end = max(head.rfind(b"\n"), head.rfind(b"\r"))
    return (head[: end + 1] if end >= 0 else b""), True
