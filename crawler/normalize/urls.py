"""URL canonicalisation, identity keys for dedup, domain matching and private-address checks."""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as _w3lib_canonicalize
from w3lib.url import safe_url_string

__all__ = [
    "absolute_http_url",
    "canonicalize_url",
    "host_of",
    "is_http_url",
    "is_private_address",
    "registered_domain_matches",
    "slash_added",
    "url_identity",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Only parameters that never select content. "from", "rnd", "ref" or "source" look like trackers but
# are real parameters on some sources (mos.ru API uses from=...), so they are kept.
_TRACKING_PARAMS = frozenset(
    """fbclid gclid dclid gbraid wbraid msclkid yclid ysclid _openstat mc_cid mc_eid _ga _gl
    igshid twclid ttclid li_fat_id mkt_tok oly_anon_id oly_enc_id vero_id __hsfp __hssc __hstc
    _hsenc _hsmi hsctatracking""".split()
)
_AMP_QUERY_VALUES = frozenset({"", "1", "true"})
# WHATWG URL parsing drops tabs/newlines anywhere and trims C0 controls and spaces at both ends.
_URL_JUNK_RE = re.compile(r"[\t\n\r]|^[\x00-\x20]+|[\x00-\x20]+$")
_IPV4_LEGACY_RE = re.compile(r"^(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}\.?$")


def _is_tracking(key: str) -> bool:
    key = unquote(key).lower()
    return key.startswith("utm_") or key in _TRACKING_PARAMS


def _keep_param(pair: str) -> bool:
    key, _, value = pair.partition("=")
    if _is_tracking(key):
        return False
    # "?amp=1" serves the AMP rendering of the same article.
    return not (key.lower() == "amp" and value.lower() in _AMP_QUERY_VALUES)


def _strip_amp(path: str) -> str:
    segments = path.split("/")
    # "/amp/news/1" and "/news/1/amp" are AMP copies (m24, vm.ru); "amp." host prefixes are not
    # touched because some sites serve a different article tree there.
    if len(segments) > 2 and segments[1].lower() == "amp":
        del segments[1]
    trailing = segments[-1] == "" and len(segments) > 2
    last = -2 if trailing else -1
    if len(segments) > 2 and segments[last].lower() == "amp":
        del segments[last]
    return "/".join(segments)


def _one_trailing_slash(path: str) -> str:
    return path.rstrip("/") + "/" if path.endswith("//") else path


def _host(netloc_host: str | None) -> str:
    return (netloc_host or "").lower().rstrip(".")


# Pure, and asked for the same URL several times per page (the page's own address by the
# extractor, the check and the article). A page asks for a few URLs: a small cache holds them
# while the page is processed, and pages fetched once each never hit an earlier page's.
@functools.lru_cache(maxsize=8)
def canonicalize_url(url: str, base: str | None = None) -> str:
    """Canonical form of an article URL: the address it is stored and published under.

    Resolves against ``base``; lowercases scheme and host (IDN → punycode); drops default port,
    fragment, tracking parameters and AMP variants; sorts the query; normalises percent-encoding.
    A trailing slash is kept (several in a row become one): many CMSes (Bitrix, WordPress)
    answer 404 for ``/news/1`` when the article is ``/news/1/``, so a published link keeps the
    site's form. ``/news/1`` and ``/news/1/`` are still one article: :func:`url_identity`, the
    dedup key, ignores the slash. ``http`` is not upgraded to ``https`` (see url_identity).
    Non-HTTP URLs are returned resolved but otherwise unchanged.
    """
    url = _URL_JUNK_RE.sub("", url)
    if base:
        url = urljoin(_URL_JUNK_RE.sub("", base), url)
    return _canonical_absolute(url)


# The rest of canonicalize_url, cached by the resolved URL: a page's canonical link, its own
# URL and the canonical link again (resolved against the page) are asked for as three calls
# with different arguments (~0.2 ms each) that most often resolve to one URL.
@functools.lru_cache(maxsize=8)
def _canonical_absolute(url: str) -> str:
    """:func:`canonicalize_url` of ``url``, already resolved and without junk characters."""
    if not is_http_url(url):
        return url
    try:
        parts = urlsplit(_w3lib_canonicalize(url, keep_fragments=False))
        port = parts.port
    except ValueError:  # bad port or IDNA failure: keep what we have rather than crash a crawl
        return url
    scheme = parts.scheme.lower()
    host = _host(parts.hostname)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}"
    # One trailing slash at most, before the AMP check (it reads the last segment) and after.
    path = _one_trailing_slash(_strip_amp(_one_trailing_slash(parts.path or "/")))
    query = "&".join(p for p in parts.query.split("&") if p and _keep_param(p))
    return urlunsplit((scheme, netloc, path, query, ""))


# Pure, and asked for an article's URL in the crawl process by DedupePipeline and again, a
# store batch (50 articles) later, by the store's upsert: the cache answers the store's from
# the pipeline's. Links the spider keys in between (a listing's, a sitemap's) may push some
# out; such a miss costs what no cache would. 1,024 short keys: ~0.3 MB.
@functools.lru_cache(maxsize=1024)
def url_identity(url: str) -> str:
    """Dedup key: the canonical URL without scheme, leading ``www.`` and trailing slash.

    http/https, www/no-www and slash/no-slash copies of one article collapse to one key, e.g.
    ``mos.ru/news/item/99623073`` (on every source we crawl ``/news/1`` and ``/news/1/`` are
    the same article, though only one of them may answer).
    """
    canonical = canonicalize_url(url)
    if not is_http_url(canonical):
        return canonical
    parts = urlsplit(canonical)
    netloc = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("", netloc, path, parts.query, "")).removeprefix("//")


def slash_added(stored: str, url: str) -> bool:
    """Whether ``url`` is ``stored`` with a trailing slash added to its path, nothing else.

    The one change the store makes to a stored article's URL (its feeds' links and GUIDs): a
    row stored slashless (as older versions stored every URL) takes the form with the
    slash when its page is fetched under it, since the slashless one may answer 404. Never the
    other way, so a site linking both forms cannot make a GUID alternate between runs.
    """
    try:
        old, new = urlsplit(stored), urlsplit(url)
    except ValueError:
        return False
    return (
        bool(old.path)
        and not old.path.endswith("/")
        and new.path == old.path + "/"
        and old._replace(path=new.path) == new
    )


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except (ValueError, AttributeError):
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def _to_ascii_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def host_of(url: str) -> str:
    """Lowercase ASCII (punycode) host of ``url`` without port; "" if it has none."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return _to_ascii_host(host) if host else ""


def registered_domain_matches(host: str, allowed: Iterable[str]) -> bool:
    """True if ``host`` equals an allowed domain or is its subdomain (label boundary).

    ``news.mos.ru`` matches ``mos.ru``; ``evilmos.ru`` does not. Entries may be written
    ``.mos.ru``, ``*.mos.ru`` or as URLs; IDN entries and hosts are compared as punycode.
    """
    host = _to_ascii_host(host)
    if not host:
        return False
    for domain in allowed:
        domain = host_of(domain) if "://" in domain else domain.removeprefix("*")
        domain = _to_ascii_host(domain.lstrip("."))
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        pass
    # "127.1", "2130706433" and "0x7f.0.0.1" are IPv4 literals to URL parsers and curl alike.
    if _IPV4_LEGACY_RE.match(value):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(value.rstrip(".")))
        except OSError:
            return None
    return None


_HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def is_valid_host(host: str) -> bool:
    """True for an IP address or a syntactically valid host name (IDN allowed).

    A name is dot-separated labels of letters, digits, ``-`` (not at either end) and ``_``, each
    at most 63 characters, 253 in all, so ``exa mple.com`` or ``a..b`` are refused.
    """
    value = host.strip().rstrip(".")
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        ipaddress.ip_address(value.partition("%")[0])
        return True
    except ValueError:
        pass
    name = _to_ascii_host(value)
    if not name or len(name) > 253 or not name.isascii():
        return False
    return all(_HOST_LABEL_RE.match(label) for label in name.split("."))


def absolute_http_url(value: str, base: str) -> str | None:
    """``value`` resolved against ``base``: a percent-encoded http(s) URL with a valid host.

    ``None`` for other schemes and for what no client could fetch (``http://[::1/x``,
    ``http://exa mple.com/``, ``http://a..b/``); never raises. Spaces, quotes and Cyrillic in
    the path are percent-encoded, as an RSS enclosure (a URI) needs them.
    """
    try:
        absolute = safe_url_string(urljoin(base, value))
        parts = urlsplit(absolute)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not host or not is_valid_host(host):
        return None
    return absolute


def is_private_address(host_or_ip: str) -> bool:
    """True if an IP literal is not publicly routable (loopback, private, link-local, ...).

    Covers IPv4, IPv6, IPv4-mapped IPv6 and legacy IPv4 forms; ``localhost`` names are private by
    definition (RFC 6761). Other hostnames are not resolved here and give False.
    """
    value = host_or_ip.strip().lower().rstrip(".")
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    value = value.partition("%")[0]  # IPv6 zone id: fe80::1%eth0
    if value == "localhost" or value.endswith(".localhost"):
        return True
    ip = _parse_ip(value)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )
