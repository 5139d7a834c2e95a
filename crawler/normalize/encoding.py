"""Decode HTML and XML bytes whose charset may be missing or wrong, and detect mojibake."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

import charset_normalizer

__all__ = ["decode_html", "decode_xml", "looks_like_mojibake"]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET_RE = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.I)
_XML_DECL_RE = re.compile(rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']\s*([a-z0-9_.:-]+)""", re.I)
_CHARSET_PARAM_RE = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# UTF-16/32 without a BOM, told apart by how "<?" is encoded (XML 1.0, appendix F).
_XML_SNIFF = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
# Labels whose bytes a superset codec reads the same, but which also meet the superset's
# characters in the wild (WHATWG decodes both as GB18030): one such character must not turn the
# rest of the document into U+FFFD.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030"}
# A declared charset is kept with U+FFFD for its undefined bytes (cp1251 has no 0x98) while they
# are at most this share of the non-ASCII bytes; more means the declaration is wrong.
_LOSSY_SHARE = 0.01
# Candidates for detection: what Russian sites actually use; latin-1 family last.
_DETECT_CODECS = ["utf_8", "cp1251", "koi8_r", "cp866", "mac_cyrillic", "iso8859_5", "cp1252"]
# Detection candidates this close to the best one (charset-normalizer's chaos and coherence, both
# 0..1) are a tie, won by the codec earlier in _DETECT_CODECS. cp1251 and mac_cyrillic read
# lowercase Cyrillic alike and differ in capitals only, so on a short page their coherence is a
# coin toss (0.55 vs 0.52 for «Электробусы в Москве» read as «Ёлектробусы в ћоскве»).
_TIE_CHAOS = 0.01
_TIE_COHERENCE = 0.1

# Cyrillic UTF-8 read as cp1251 gives "Р"/"С" followed by the cp1251 reading of a continuation byte
# (РњРѕСЃРєРІР° = «Москва»); read as cp1252/latin-1 it gives "Ð"/"Ñ" + continuation (ÐœÐ¾Ñ).
_CONT = bytes(range(0x80, 0xC0))
_UTF8_AS_CP1251_RE = re.compile("[РС][" + re.escape(_CONT.decode("cp1251", "ignore")) + "]")
_UTF8_AS_LATIN_RE = re.compile(
    "[ÐÑ][" + re.escape(_CONT.decode("latin-1") + _CONT.decode("cp1252", "ignore")) + "]"
)
_LATIN_HIGH_RE = re.compile("[À-ÿ]")
# cp1251 read as mac_cyrillic turns the capitals В Г Д Е Ж Ц Б Л М Н О П Ъ Ы into ¬ √ ƒ ≈ ∆ ÷ Ѕ
# Ћ ћ Ќ ќ ѕ Џ џ, which no Russian word starts with (ј, ў and the quotes and dashes the other
# capitals become do: Serbian «је», Belarusian «ў», «„слово“»). Real capitals start words too.
# Each starts with its first character, the word-start lookbehind after it spanning it (the
# character before it no letter): the engine skips to the next candidate character, where a
# leading lookbehind was tried at every position (~50 us per page's sample). The same matches as
# the plain spelling, ``(?<![^\W\d_])[¬√ƒ≈∆÷ЅЋћЌќѕЏџ][а-яё]`` (tests/test_normalize_encoding.py).
_MAC_AS_CP1251_RE = re.compile(r"[¬√ƒ≈∆÷ЅЋћЌќѕЏџ](?<![^\W\d_].)[а-яё]")
_CAPITAL_WORD_RE = re.compile(r"[А-ЯЁ](?<![^\W\d_].)[а-яё]")
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Every ASCII byte to a space, bytes >= 0x80 (all of UTF-8's multi-byte sequences) kept.
_ASCII_TO_SPACE = b" " * 128 + bytes(range(128, 256))
# Letters of the sample are counted in its cp1251 encoding, one byte per letter, at C speed
# (``findall`` made a string of every Cyrillic letter). cp1251 gives А-я the bytes C0-FF and
# Ё ё the bytes A8 B8, and no other character any of them; characters it lacks are dropped.
_CP1251_CYRILLIC = bytes(range(0xC0, 0x100)) + b"\xa8\xb8"  # [а-яёА-ЯЁ]
_CP1251_CYR_UPPER = bytes(range(0xC0, 0xE0)) + b"\xa8"  # [А-ЯЁ]
# koi8-r "о а и т" (the commonest lowercase letters) read as cp1251 are "П Б Й Ф".
_CP1251_KOI8_MARKERS = "ПБЙФ".encode("cp1251")
_REPLACEMENT_UTF8 = "\ufffd".encode()
_MOJIBAKE_SAMPLE = 256 * 1024
_MOJIBAKE_CHARS = 2048
_MOJIBAKE_PREFIX = 16 * 1024
_ASCII_BYTE_RE = re.compile(rb"[\x00-\x7f]")


def looks_like_mojibake(text: str) -> bool:
    """True if Russian text shows the traces of a wrong decoding.

    Detects UTF-8 read as cp1251 (``РњРѕСЃРєРІР°``), UTF-8 read as latin-1/cp1252 (``Ð¼Ð¾Ñ``),
    cp1251 read as latin-1 (``Ìîñêâà``), koi8-r read as cp1251 (mostly capitals: ``нНЯЙБЮ``)
    and cp1251 read as mac_cyrillic (``¬ ћоскве``: words start with symbols, not capitals).
    Cheap on whole pages: the patterns run over the non-ASCII characters only.
    """
    if text.isascii():  # O(1) in CPython
        return False
    return _utf8_looks_like_mojibake(text.encode("utf-8", "surrogatepass"))


def _utf8_looks_like_mojibake(raw: bytes) -> bool:
    """:func:`looks_like_mojibake` of the text whose UTF-8 encoding is ``raw``."""
    chars, read, found = _non_ascii_runs(raw)
    cp1251 = chars.encode("cp1251", "ignore")
    cyrillic = _count_bytes(cp1251, _CP1251_CYRILLIC)
    pairs = len(_UTF8_AS_CP1251_RE.findall(chars))
    if pairs >= 2 and pairs * 4 >= cyrillic:
        return True
    if len(_UTF8_AS_LATIN_RE.findall(chars)) >= 2:
        return True
    high = len(_LATIN_HIGH_RE.findall(chars))
    # Western languages use a few accented letters; cp1251-as-latin-1 is almost all of them.
    # The ASCII letters are only counted when there are enough of those (rarely: never in
    # Russian text), a pass over every byte read saved on nearly all pages.
    if high >= 4 and high * 2 >= _sample_ascii_letters(raw, read, found) + high:
        return True
    mac = len(_MAC_AS_CP1251_RE.findall(chars))
    if mac >= 2 and mac > len(_CAPITAL_WORD_RE.findall(chars)):
        return True
    upper = _count_bytes(cp1251, _CP1251_CYR_UPPER)
    # koi8-r read as cp1251 swaps the cases, so text turns mostly capital; an all-caps headline
    # is told apart by its letters: П Б Й Ф are ~6% of real Russian but ~33% of this garbage.
    return (
        cyrillic >= 20
        and upper * 10 >= cyrillic * 7
        and _count_bytes(cp1251, _CP1251_KOI8_MARKERS) * 5 >= upper
    )


def _count_bytes(data: bytes, which: bytes) -> int:
    """How many bytes of ``data`` are among ``which``."""
    return len(data) - len(data.translate(None, which))


def _non_ascii_sample(raw: bytes) -> tuple[str, int]:
    """The first non-ASCII runs of ``raw`` joined by spaces, and the ASCII letters around them
    (see :func:`_non_ascii_runs`)."""
    chars, read, found = _non_ascii_runs(raw)
    return chars, _sample_ascii_letters(raw, read, found)


def _sample_ascii_letters(raw: bytes, read: int, found: int) -> int:
    """The ASCII letters of ``raw``'s first ``read`` bytes, in proportion to the sample's
    characters kept of the ``found`` ones (see :func:`_non_ascii_runs`)."""
    head = raw[:read]
    letters = len(head) - len(head.translate(None, _ASCII_LETTERS))
    return letters * _MOJIBAKE_CHARS // found if found > _MOJIBAKE_CHARS else letters


def _non_ascii_runs(raw: bytes) -> tuple[str, int, int]:
    """The first non-ASCII runs of ``raw`` joined by spaces, the bytes of ``raw`` they were read
    from, and how many characters were found there before the sample was cut.

    Every pattern but the ASCII letter count matches non-ASCII characters only, and its pairs
    are adjacent non-ASCII characters. A page is mostly ASCII markup, so the regexes run on its
    non-ASCII runs alone (joined by spaces, built at C speed), with the same counts as on the
    text: five findall passes over a 300 KB page cost ~40 ms, this well under 1 ms.

    A wrong decoding garbles the whole document alike, so the first runs tell as well as all of
    them: at most ``_MOJIBAKE_CHARS`` characters are kept (a Cyrillic news page has ~40,000;
    five passes over them were ~4 ms of a page's CPU). They are read from ``raw`` in chunks of
    ``_MOJIBAKE_PREFIX`` bytes (each ended before an ASCII byte, so no run is cut in two), up to
    the chunk that holds enough, at most ``_MOJIBAKE_SAMPLE`` bytes: a page's head and
    navigation are mostly ASCII, and reading 4x longer prefixes until one held enough split
    ~64 KB of a 90 KB page per page (~0.2 ms). The ASCII letters they are weighed against are
    counted in the bytes read, in proportion to the characters kept.
    """
    limit = min(len(raw), _MOJIBAKE_SAMPLE)
    runs: list[str] = []
    count = start = 0
    while start < limit:
        end = min(start + _MOJIBAKE_PREFIX, limit)
        if end < len(raw):
            ascii_byte = _ASCII_BYTE_RE.search(raw, end)
            end = ascii_byte.start() if ascii_byte else len(raw)
        chunk = raw[start:end]
        if chunk.isascii():
            # No run in it (a page's head and inline CSS): nothing to translate and split.
            start = end
            continue
        found = b" ".join(chunk.translate(_ASCII_TO_SPACE).split()).decode("utf-8", "surrogatepass")
        if found:
            runs.append(found)
            count += len(found) + 1
        start = end
        if count > _MOJIBAKE_CHARS:
            break
    chars = " ".join(runs)
    return chars[:_MOJIBAKE_CHARS], start, len(chars)


def _codec_name(label: str | None, *, from_meta: bool = False) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
        "".encode(name)  # rejects non-text codecs such as rot13 or base64
    except LookupError:
        return None
    name = _SUPERSETS.get(name, name)
    # A <meta> that could be read as ASCII cannot be UTF-16/32: the HTML spec reads it as UTF-8.
    if from_meta and name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return name


def _try_decode(body: bytes, encoding: str) -> str | None:
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if text.isascii():
        return text
    # Valid UTF-8 is its own UTF-8 encoding: no need to encode the text again for the check.
    raw = body if encoding == "utf-8" else text.encode("utf-8", "surrogatepass")
    return None if _utf8_looks_like_mojibake(raw) else text


def _try_decode_lossy(body: bytes, encoding: str) -> tuple[str, int] | None:
    """``body`` in ``encoding`` with U+FFFD for a few undefined bytes, if it reads as text."""
    try:
        text = body.decode(encoding, "replace")
    except LookupError:
        return None
    invalid = text.count("\ufffd") - body.count(_REPLACEMENT_UTF8)
    non_ascii = len(body) - len(body.translate(None, bytes(range(128))))
    if invalid > max(1, non_ascii * _LOSSY_SHARE):
        return None
    raw = text.encode("utf-8", "surrogatepass")
    return None if _utf8_looks_like_mojibake(raw) else (text, invalid)


def _meta_charset(body: bytes) -> str | None:
    m = _META_CHARSET_RE.search(body[:4096])
    return _codec_name(m.group(1).decode("ascii"), from_meta=True) if m else None


def _xml_declared_charset(body: bytes) -> str | None:
    m = _XML_DECL_RE.match(body[:1024])
    return _codec_name(m.group(1).decode("ascii"), from_meta=True) if m else None


def _utf8_replace(body: bytes) -> tuple[str, int]:
    text = body.decode("utf-8", "replace")
    # U+FFFD already present in the page (EF BF BD) is not a decoding error.
    return text, text.count("\ufffd") - body.count(_REPLACEMENT_UTF8)


def _mostly_utf8(body: bytes, *, declared: bool) -> tuple[str, int] | None:
    # A UTF-8 page with a few broken bytes (docs/reliability.md B9) must not be re-detected as a
    # legacy charset. A legacy Cyrillic page read as UTF-8 is nearly all broken bytes, so keep
    # UTF-8 when valid multi-byte characters hold at least as many bytes as the broken ones (4x if
    # undeclared).
    text, invalid = _utf8_replace(body)
    valid = sum(len(ch.encode()) for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    return (text, invalid) if valid >= invalid * (1 if declared else 4) else None


# WHATWG MIME Sniffing's "binary data bytes": C0 controls no text uses (tab, LF, FF, CR and ESC
# excepted). UTF-16/32 text has NULs, but starts with a BOM or is declared as such.
_BINARY_BYTES = bytes([*range(0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
_NOT_BINARY_BYTES = bytes(b for b in range(256) if b not in _BINARY_BYTES)
#: Bytes of the start of a body looked at, and the share of binary data bytes that makes it
#: no text: random or compressed data has ~10 %, a text page with stray control characters
#: (B10) well below 5 %.
BINARY_SAMPLE = 65536
BINARY_SHARE = 0.05


def looks_binary(body: bytes, *, header_charset: str | None = None) -> bool:
    """Whether ``body`` is binary data (an image, an archive, random bytes), not text.

    A server may label anything ``text/html; charset=utf-8``: decoded, such a body is a page
    of U+FFFD or of letters in random order, which must never become an article's text.
    """
    codec = _codec_name(header_charset) or ""
    if codec.startswith(("utf-16", "utf-32")) or body.startswith(tuple(b for b, _ in _BOMS)):
        return False
    sample = body[:BINARY_SAMPLE]
    return len(sample.translate(None, _NOT_BINARY_BYTES)) > len(sample) * BINARY_SHARE


def decode_html(body: bytes, *, header_charset: str | None = None) -> tuple[str, str, list[str]]:
    """Decode an HTML body; return ``(text, encoding_used, flags)``.

    Order: BOM; valid UTF-8; the header charset if it decodes cleanly; ``<meta charset>`` in the
    first 4 KB; the header or meta charset with U+FFFD for a few undefined bytes; mostly-valid
    UTF-8; charset-normalizer limited to Cyrillic/Western codecs; UTF-8 with replacement. Flags:
    ``charset_header_mismatch``, ``charset_meta``, ``charset_detected``, ``invalid_bytes:N``.
    """
    return _decode_document(body, _codec_name(header_charset), _meta_charset)


def decode_xml(body: bytes, *, content_type: str | None = None) -> tuple[str, str, list[str]]:
    """Decode an XML document (feed, sitemap) by RFC 3023; return ``(text, encoding, flags)``.

    The ``charset`` of the HTTP ``Content-Type`` overrides the XML declaration, which is used
    when the header has none (for ``text/xml`` too: RFC 3023's us-ascii default is what no server
    means). As for HTML, a BOM (or UTF-16/32 sniffed from ``<?``) and valid non-ASCII UTF-8 win
    over a declaration that contradicts them: that is what servers and CMSs get wrong. Never
    fails: undecodable bytes become U+FFFD, counted in the ``invalid_bytes:N`` flag. The text
    keeps its XML declaration, which a parser given it must be told to ignore.
    """
    header = None
    if content_type and (m := _CHARSET_PARAM_RE.search(content_type)):
        header = _codec_name(m.group(1))
    if not body.startswith(tuple(bom for bom, _ in _BOMS)):
        for prefix, encoding in _XML_SNIFF:
            if body.startswith(prefix):
                text = body.decode(encoding, "replace")
                return text.replace("\x00", ""), encoding, []
    return _decode_document(body, header, _xml_declared_charset)


def _decode_document(
    body: bytes, header: str | None, sniff: Callable[[bytes], str | None]
) -> tuple[str, str, list[str]]:
    text, encoding, flags = _decode(body, header, sniff)
    if header and header != encoding.removesuffix("-le").removesuffix("-be"):
        flags.insert(0, "charset_header_mismatch")
    # Decoders pass NUL through; it is never text and lxml refuses it.
    return text.replace("\x00", ""), encoding, flags


def _decode(
    body: bytes, header: str | None, sniff: Callable[[bytes], str | None]
) -> tuple[str, str, list[str]]:
    flags: list[str] = []
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            text = body[len(bom) :].decode(encoding, "replace")
            return text, encoding, flags
    if body.isascii():
        # Any ASCII-compatible charset reads these bytes the same; keep the declared name.
        used = header if header is not None and "A".encode(header) == b"A" else "utf-8"
        return body.decode("ascii"), used, flags
    if (decoded := _try_decode(body, "utf-8")) is not None:
        return decoded, "utf-8", flags
    if header and header != "utf-8" and (decoded := _try_decode(body, header)) is not None:
        return decoded, header, flags
    meta = sniff(body)
    if meta and meta != header and (decoded := _try_decode(body, meta)) is not None:
        flags.append("charset_meta")
        return decoded, meta, flags
    for declared in dict.fromkeys(d for d in (header, meta) if d and d != "utf-8"):
        if lossy := _try_decode_lossy(body, declared):
            text, invalid = lossy
            if declared != header:
                flags.append("charset_meta")
            flags.append(f"invalid_bytes:{invalid}")
            return text, declared, flags
    if mostly := _mostly_utf8(body, declared="utf-8" in (header, meta)):
        text, invalid = mostly
        flags.append(f"invalid_bytes:{invalid}")
        return text, "utf-8", flags
    for encoding in _detected_codecs(body):
        if (decoded := _try_decode(body, encoding)) is not None:
            flags.append("charset_detected")
            return decoded, encoding, flags
    text, invalid = _utf8_replace(body)
    flags.append(f"invalid_bytes:{invalid}")
    return text, "utf-8", flags


def _detected_codecs(body: bytes) -> list[str]:
    """charset-normalizer's best codec for ``body`` and those tied with it, in _DETECT_CODECS order.

    The first that decodes without mojibake is used. Runners-up that do not tie are not: a wrong
    but clean reading would hide what UTF-8 with U+FFFD (``invalid_bytes``) says.
    """
    matches = list(charset_normalizer.from_bytes(body, cp_isolation=_DETECT_CODECS))
    if not matches:
        return []
    best = matches[0]
    # Coherence 0 (no language recognised) ties with nothing: iso8859_5 «Москва» must not lose
    # to its mac_cyrillic reading, which no language model recognises either.
    ties = [
        m
        for m in matches
        if m.coherence > 0
        and m.chaos <= best.chaos + _TIE_CHAOS
        and m.coherence >= best.coherence - _TIE_COHERENCE
    ]
    ties.sort(
        key=lambda m: _DETECT_CODECS.index(m.encoding) if m.encoding in _DETECT_CODECS else 99
    )
    chosen = ties if best in ties else [*ties, best]
    return [_codec_name(m.encoding) or m.encoding for m in chosen]
