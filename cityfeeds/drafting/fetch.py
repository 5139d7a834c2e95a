"""Fetch a site's pages for drafting as a crawl would: robots.txt, our User-Agent, SSRF rules."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from protego import Protego
from w3lib.url import safe_url_string

from crawler.normalize.urls import host_of, is_http_url, is_private_address
from crawler.robots_txt import ROBOTS_TXT_MAX_BYTES, robots_txt_prefix


class DraftError(Exception):
    """Drafting stopped; ``kind`` names the outcome, the message says what happened."""

    kind = "error"


class Unreachable(DraftError):
    """The site does not answer, or answers with an error."""

    kind = "unreachable"


class RobotsForbid(DraftError):
    """The site's robots.txt forbids our user agent to fetch the page."""

    kind = "robots"


class Blocked(DraftError):
    """The address is private (or not http): refused by the same rules as a crawl."""

    kind = "blocked"


@dataclass
class Page:
    """A fetched document: the URL after redirects, its status, bytes and Content-Type."""

    url: str
    status: int
    body: bytes
    content_type: str = ""

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300


def check_address(url: str, *, allow_private: bool) -> None:
    """Refuse what SafetyMiddleware refuses in a crawl: other schemes and private addresses."""
    if not is_http_url(url):
        raise Blocked(f"{url}: not an http(s) URL")
    if allow_private:
        return
    host = host_of(url)
    if is_private_address(host):
        raise Blocked(f"{url}: private address {host} (use --allow-private for a local site)")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return  # the fetch itself reports the DNS failure as unreachable
    for info in infos:
        ip = str(info[4][0])
        if is_private_address(ip):
            raise Blocked(f"{url}: {host} resolves to private address {ip}")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Every redirect hop obeys the same address rules as the first request."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        check_address(urljoin(req.full_url, newurl), allow_private=self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass
class PoliteFetcher:
    """GETs one site's pages one at a time, spaced by the crawl delay, as robots.txt allows."""

    user_agent: str
    timeout: float
    max_bytes: int
    delay: float = 0.0
    obey_robots: bool = True
    allow_private: bool = False
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    fetched: list[str] = field(default_factory=list)
    _robots: dict[str, Protego | None] = field(default_factory=dict)
    _last: float | None = None

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(_CheckedRedirects(self.allow_private))

    def robots(self, url: str) -> Protego | None:
        """The robots.txt rules of ``url``'s origin (None: no robots.txt, everything allowed).

        As in a crawl (RFC 9309): a 4xx robots.txt allows everything, an unreachable or 5xx
        one forbids everything.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            # Read up to the crawl's robots.txt limit, the rest ignored (RFC 9309 §2.5).
            page = self._get(origin + "/robots.txt", max_bytes=ROBOTS_TXT_MAX_BYTES, cut=True)
            if page.ok:
                text = robots_txt_prefix(page.body)[0].decode("utf-8", "replace")
                self._robots[origin] = Protego.parse(text)
            elif page.status >= 500:
                self._robots[origin] = Protego.parse("User-agent: *\nDisallow: /\n")
            else:
                self._robots[origin] = None
            rules = self._robots[origin]
            crawl_delay = rules.crawl_delay(self.user_agent) if rules is not None else None
            if crawl_delay:
                self.delay = max(self.delay, min(float(crawl_delay), 60.0))
        return self._robots[origin]

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets our user agent fetch ``url``."""
        if not self.obey_robots:
            return True
        rules = self.robots(url)
        return rules is None or bool(rules.can_fetch(url, self.user_agent))

    def fetch(self, url: str, *, max_bytes: int | None = None) -> Page:
        """GET ``url``; RobotsForbid, Blocked or Unreachable (no answer at all) otherwise.

        An HTTP error status is returned as a page, for the caller to judge. ``max_bytes``
        replaces the fetcher's size limit (a sitemap's is the protocol's 50 MiB, as in a crawl).
        """
        check_address(url, allow_private=self.allow_private)
        if not self.allowed(url):
            raise RobotsForbid(f"robots.txt of {host_of(url)} forbids {url} to {self.user_agent}")
        return self._get(url, max_bytes=max_bytes)

    def probe(self, url: str, *, max_bytes: int | None = None) -> Page | None:
        """``fetch`` for a guessed URL: None when it is missing, forbidden or unreachable."""
        try:
            page = self.fetch(url, max_bytes=max_bytes)
        except DraftError:
            return None
        return page if page.ok else None

    def _get(self, url: str, *, max_bytes: int | None = None, cut: bool = False) -> Page:
        check_address(url, allow_private=self.allow_private)
        if self._last is not None and self.delay:
            wait = self._last + self.delay - self.clock()
            if wait > 0:
                self.sleep(wait)
        # Percent-encoded as the crawl sends it: urllib refuses a raw Cyrillic path.
        url = safe_url_string(url)
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        self.fetched.append(url)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return self._page(response, response.geturl(), response.status, max_bytes, cut)
        except urllib.error.HTTPError as exc:
            return self._page(exc, url, exc.code, max_bytes, cut)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, DraftError):
                raise exc.reason from None
            raise Unreachable(f"{url}: {exc.reason}") from None
        except TimeoutError:
            raise Unreachable(f"{url}: no answer within {self.timeout} s") from None
        except (OSError, ValueError) as exc:  # ValueError: a redirect to a URL urllib refuses
            raise Unreachable(f"{url}: {exc}") from None
        finally:
            self._last = self.clock()

    def _page(
        self, response: Any, url: str, status: int, max_bytes: int | None, cut: bool = False
    ) -> Page:
        """The page, or Unreachable if over the limit (``cut``: its first bytes past it)."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        body = response.read(limit + 1)
        if len(body) > limit and not cut:
            raise Unreachable(f"{url}: larger than {limit} bytes")
        return Page(url, status, body, response.headers.get("Content-Type", "") or "")
