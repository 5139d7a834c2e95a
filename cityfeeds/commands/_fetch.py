"""Fetch one page for the single-page commands (``extract URL``, ``record URL``)."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from w3lib.url import safe_url_string


@dataclass
class Page:
    """A fetched page: its bytes, the charset its Content-Type named, the URL after redirects."""

    body: bytes
    charset: str | None
    url: str


class FetchError(Exception):
    """The page could not be fetched; the message says why in one line."""


def too_large(what: str, max_bytes: int) -> str:
    """Why a page is refused for its size, as the crawl would refuse it."""
    return f"{what}: page larger than {max_bytes} bytes ([crawl] max_response_bytes)"


def fetch_page(url: str, user_agent: str, timeout: float, max_bytes: int) -> Page:
    """GET ``url`` with our User-Agent, at most ``max_bytes`` (the crawl's [crawl]
    max_response_bytes, so a page these commands take is one the crawl takes); FetchError
    with a clear reason."""
    # Percent-encoded as the crawl sends it: urllib refuses a raw Cyrillic path.
    request = urllib.request.Request(
        safe_url_string(url),
        headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError(too_large(url, max_bytes))
            return Page(body, response.headers.get_content_charset(), response.geturl())
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            # urllib's reason is three lines of prose about an infinite loop.
            raise FetchError(f"{url}: redirect loop (HTTP {exc.code})") from None
        reason = " ".join(str(exc.reason).split())
        raise FetchError(f"{url}: HTTP {exc.code} {reason}") from None
    except urllib.error.URLError as exc:
        raise FetchError(f"{url}: {exc.reason}") from None
    except TimeoutError:
        raise FetchError(f"{url}: no answer within {timeout} s") from None
    except (OSError, ValueError) as exc:  # ValueError: a redirect to a URL urllib refuses
        raise FetchError(f"{url}: {exc}") from None
