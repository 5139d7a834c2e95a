"""Tests for crawler.normalize.encoding: decoding pages whose charset is missing or wrong."""

from __future__ import annotations

import codecs
import random
import re
from pathlib import Path

import pytest

from crawler.normalize import encoding
from crawler.normalize.encoding import decode_html, decode_xml, looks_binary, looks_like_mojibake

TITLE = "Москва"
BODY = 'Москва получит новые электробусы и трамваи "Витязь-М" до конца года'


def page(encoding: str, meta: str = "") -> bytes:
    html = f"<html><head>{meta}<title>{TITLE}</title></head><body><p>{BODY}</p></body></html>"
    return html.encode(encoding)


META_CP1251 = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
META_KOI8 = "<meta charset=koi8-r>"


@pytest.mark.parametrize(
    ("body", "header", "encoding", "flags"),
    [
        # B7: cp1251 without any charset declaration
        (page("cp1251"), None, "cp1251", ["charset_detected"]),
        # B8: header lies, meta is right
        (
            page("cp1251", META_CP1251),
            "utf-8",
            "cp1251",
            ["charset_header_mismatch", "charset_meta"],
        ),
        # B8: UTF-8 BOM wins over a cp1251 header (scrapy#5601)
        (codecs.BOM_UTF8 + page("utf-8"), "cp1251", "utf-8", ["charset_header_mismatch"]),
        (codecs.BOM_UTF16_LE + page("utf-16-le"), None, "utf-16-le", []),
        # koi8-r declared in meta only
        (page("koi8-r", META_KOI8), None, "koi8-r", ["charset_meta"]),
        # header right
        (page("cp1251"), "windows-1251", "cp1251", []),
        (page("koi8-r"), "KOI8-R", "koi8-r", []),
        (page("utf-8"), "utf-8", "utf-8", []),
        # valid UTF-8 wins over a wrong header or meta
        (page("utf-8", META_CP1251), "cp1251", "utf-8", ["charset_header_mismatch"]),
        (page("utf-8"), None, "utf-8", []),
        # header names a charset that cannot decode the bytes: fall through to detection
        (page("cp1251"), "utf-8", "cp1251", ["charset_header_mismatch", "charset_detected"]),
        (page("cp1251"), "no-such-charset", "cp1251", ["charset_detected"]),
    ],
)
def test_decode_html_gets_moskva_right(
    body: bytes, header: str | None, encoding: str, flags: list[str]
) -> None:
    text, used, got_flags = decode_html(body, header_charset=header)
    assert f"<title>{TITLE}</title>" in text
    assert BODY in text
    assert "\ufffd" not in text
    assert not looks_like_mojibake(text)
    assert (used, got_flags) == (encoding, flags)


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r"])
def test_decode_html_detects_a_single_word(encoding: str) -> None:
    assert decode_html(TITLE.encode(encoding)) == (TITLE, encoding, ["charset_detected"])


def test_decode_html_invalid_utf8_bytes_are_replaced_and_counted() -> None:
    body = page("utf-8", '<meta charset="utf-8">') + b"<p>\xd0\x9f\xff\xfe</p>"
    text, used, flags = decode_html(body, header_charset="utf-8")
    assert used == "utf-8"
    assert flags == ["invalid_bytes:2"]
    assert text.endswith("<p>П\ufffd\ufffd</p>")
    assert BODY in text and "\x00" not in text


def test_decode_html_bare_invalid_sequence_with_utf8_header() -> None:
    assert decode_html(b"\xd0\x9f\xff\xfe", header_charset="utf-8") == (
        "П\ufffd\ufffd",
        "utf-8",
        ["invalid_bytes:2"],
    )


def test_decode_html_existing_replacement_char_is_not_counted() -> None:
    body = "Москва \ufffd ".encode() + b"\xff"
    assert decode_html(body, header_charset="utf-8")[2] == ["invalid_bytes:1"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", ("", "utf-8", [])),
        (b"<p>ascii only</p>", ("<p>ascii only</p>", "utf-8", [])),
        (b"<p>ascii</p>", ("<p>ascii</p>", "cp1251", [])),
        (b"a\x00b", ("ab", "utf-8", [])),
    ],
)
def test_decode_html_ascii_and_nul(body: bytes, expected: tuple[str, str, list[str]]) -> None:
    header = "windows-1251" if expected[1] == "cp1251" else None
    assert decode_html(body, header_charset=header) == expected


def test_decode_html_never_raises_on_random_bytes() -> None:
    body = bytes(range(256)) * 4
    text, used, flags = decode_html(body, header_charset="utf-8")
    assert text and used and flags


@pytest.mark.parametrize(
    "text",
    [
        "РњРѕСЃРєРІР°",
        "РўСЂР°РјРІР°Рё РІРµСЂРЅСѓР»РёСЃСЊ",
        "Ð¼Ð¾Ñ\x81ÐºÐ²Ð°",
        "ÐœÐ¾ÑÐºÐ²Ð°",
        "Ìîñêâà — ñòîëèöà",
        BODY.encode("koi8-r").decode("cp1251"),
        BODY.encode("utf-8").decode("cp1251"),
        BODY.encode("cp1251").decode("latin-1"),
    ],
)
def test_looks_like_mojibake_true(text: str) -> None:
    assert looks_like_mojibake(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "Москва",
        BODY,
        "МОСКВА ВЫБИРАЕТ ЭЛЕКТРОБУСЫ И ТРАМВАИ «ВИТЯЗЬ-М»",
        "Рівне і Сімферополь",
        "Сёла, ёлки, «Ёлочка» — №1",
        "Crème brûlée à la française",
        "Größe über Müller",
        "ВДНХ, ЦОДД, МЦД, МЦК, ЦАО и СВАО: ЭЗС для ЭМ",
        "",
    ],
)
def test_looks_like_mojibake_false(text: str) -> None:
    assert looks_like_mojibake(text) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BODY, False),
        (BODY.encode("utf-8").decode("cp1251"), True),
        (BODY.encode("koi8-r").decode("cp1251"), True),
        ("Crème brûlée à la française", False),
    ],
)
def test_looks_like_mojibake_on_a_whole_page(text: str, expected: bool) -> None:
    # The check runs on a page's non-ASCII runs: kilobytes of ASCII markup and script around
    # the text must neither hide mojibake nor invent it.
    markup = '<div class="x-1"><script>var a = {"k": [1, 2, 3]};</script>' * 500
    html = f"<html><head><title>{text}</title></head><body>{markup}<p>{text}</p></body></html>"
    assert looks_like_mojibake(html) is expected


@pytest.mark.parametrize(
    ("head_kb", "text", "expected"),
    [
        (100, BODY.encode("utf-8").decode("cp1251"), True),
        (100, BODY.encode("koi8-r").decode("cp1251"), True),
        (100, BODY, False),
        (100, "Crème brûlée à la française, Größe über Müller " * 40, False),
        # Past the first 256 KB nothing is read: a wrong decoding garbles the page from its start.
        (300, BODY.encode("utf-8").decode("cp1251"), False),
    ],
)
def test_looks_like_mojibake_after_a_long_ascii_head(
    head_kb: int, text: str, expected: bool
) -> None:
    # The sample is read from a 16 KB prefix first, a longer one only when that holds too few
    # non-ASCII characters: text that starts after 100 KB of ASCII script is still read.
    script = "<script>" + "var a = {'k': [1, 2, 3]};\n" * (head_kb * 40) + "</script>"
    assert looks_like_mojibake(f"<html><head>{script}</head><body><p>{text}</p></body></html>") is (
        expected
    )


_CYRILLIC_RE = re.compile("[а-яёА-ЯЁ]")
_CYR_UPPER_RE = re.compile("[А-ЯЁ]")
_KOI8_MARKERS_RE = re.compile("[ПБЙФ]")


def _letter_counts_by_regex(chars: str) -> tuple[int, int, int]:
    """The definition of the sample's letter counts: Cyrillic, Cyrillic capitals, П Б Й Ф."""
    return tuple(len(r.findall(chars)) for r in (_CYRILLIC_RE, _CYR_UPPER_RE, _KOI8_MARKERS_RE))


def _letter_counts_by_cp1251(chars: str) -> tuple[int, int, int]:
    cp1251 = chars.encode("cp1251", "ignore")
    return tuple(
        encoding._count_bytes(cp1251, which)
        for which in (
            encoding._CP1251_CYRILLIC,
            encoding._CP1251_CYR_UPPER,
            encoding._CP1251_KOI8_MARKERS,
        )
    )


def test_mojibake_letter_counts_as_the_regexes_count() -> None:
    # Every character of the Cyrillic and Cyrillic Supplement blocks, cp1251's and latin-1's
    # upper halves, the mojibake of each, CJK, a lone surrogate and a space, mixed at random.
    alphabet = (
        [chr(c) for c in range(0x400, 0x530)]
        + list(bytes(range(0x80, 0x100)).decode("cp1251", "replace"))
        + list(bytes(range(0x80, 0x100)).decode("latin-1"))
        + ["中", "国", "\ud800", " ", "\ufffd"]
    )
    rng = random.Random(1251)
    for _ in range(2000):
        chars = "".join(rng.choices(alphabet, k=rng.randint(0, 300)))
        assert _letter_counts_by_cp1251(chars) == _letter_counts_by_regex(chars)
    everything = "".join(dict.fromkeys(alphabet))
    counts = _letter_counts_by_cp1251(everything)
    assert counts == _letter_counts_by_regex(everything) == (66, 33, 4)


# The plain spellings of the word-start patterns, lookbehind first (encoding.py spells them
# with the lookbehind after the first character, so the engine can skip to candidates).
_PLAIN_WORD_START = {
    "_MAC_AS_CP1251_RE": re.compile(r"(?<![^\W\d_])[¬√ƒ≈∆÷ЅЋћЌќѕЏџ][а-яё]"),
    "_CAPITAL_WORD_RE": re.compile(r"(?<![^\W\d_])[А-ЯЁ][а-яё]"),
}


@pytest.mark.parametrize("name", sorted(_PLAIN_WORD_START))
def test_mojibake_word_start_patterns_match_as_their_plain_spelling(name: str) -> None:
    pattern, plain = getattr(encoding, name), _PLAIN_WORD_START[name]
    alphabet = (
        [chr(c) for c in range(0x400, 0x460)]
        + list(bytes(range(0x80, 0x100)).decode("cp1251", "replace"))
        + list(bytes(range(0x80, 0x100)).decode("mac_cyrillic"))
        + list("aZ09_ \n\t.,-«»—")
    )
    rng = random.Random(10007)
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 60)))
        assert [m.span() for m in pattern.finditer(text)] == [
            m.span() for m in plain.finditer(text)
        ]
    page = "Москва ¬ ћоскве ѕравительство Ќовости 1Ћ _ћа aЋб " * 3
    assert pattern.findall(page) == plain.findall(page) != []


def test_the_mojibake_sample_skips_ascii_chunks_as_before() -> None:
    # An all-ASCII chunk adds no run: skipping it reads the same sample from the same bytes.
    rng = random.Random(5)
    for _ in range(200):
        parts = [
            rng.choice([b"a" * rng.randint(0, 40000), "Мир ".encode() * rng.randint(0, 3000)])
            for _ in range(rng.randint(1, 6))
        ]
        raw = b"".join(parts)
        assert encoding._non_ascii_runs(raw) == _plain_non_ascii_runs(raw)


def _plain_non_ascii_runs(raw: bytes) -> tuple[str, int, int]:
    """``encoding._non_ascii_runs`` as it was spelled before ASCII chunks were skipped."""
    limit = min(len(raw), encoding._MOJIBAKE_SAMPLE)
    runs: list[str] = []
    count = start = 0
    while start < limit:
        end = min(start + encoding._MOJIBAKE_PREFIX, limit)
        if end < len(raw):
            ascii_byte = encoding._ASCII_BYTE_RE.search(raw, end)
            end = ascii_byte.start() if ascii_byte else len(raw)
        chunk = raw[start:end]
        found = b" ".join(chunk.translate(encoding._ASCII_TO_SPACE).split()).decode(
            "utf-8", "surrogatepass"
        )
        if found:
            runs.append(found)
            count += len(found) + 1
        start = end
        if count > encoding._MOJIBAKE_CHARS:
            break
    chars = " ".join(runs)
    return chars[: encoding._MOJIBAKE_CHARS], start, len(chars)


def xml(encoding: str, declared: str | None = None) -> bytes:
    decl = f' encoding="{declared}"' if declared else ""
    return f'<?xml version="1.0"{decl}?><rss><title>{TITLE}</title><p>{BODY}</p></rss>'.encode(
        encoding
    )


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "flags"),
    [
        # RFC 3023: the header charset wins over the declaration...
        (xml("cp1251", "utf-8"), "application/rss+xml; charset=windows-1251", "cp1251", []),
        (xml("koi8-r"), 'text/xml; charset="koi8-r"', "koi8-r", []),
        # ...the declaration is used without one (text/xml too)...
        (xml("cp1251", "windows-1251"), "text/xml", "cp1251", ["charset_meta"]),
        (xml("koi8-r", "koi8-r"), None, "koi8-r", ["charset_meta"]),
        # ...but valid UTF-8 and a BOM win over a wrong label, as for HTML
        (
            xml("utf-8"),
            "application/xml; charset=windows-1251",
            "utf-8",
            ["charset_header_mismatch"],
        ),
        (codecs.BOM_UTF8 + xml("utf-8", "cp1251"), None, "utf-8", []),
        # UTF-16 without a BOM, sniffed from "<?" (XML 1.0 appendix F)
        (xml("utf-16-le", "utf-16"), None, "utf-16-le", []),
        # neither: detection
        (xml("cp1251"), "application/xml", "cp1251", ["charset_detected"]),
    ],
)
def test_decode_xml_rfc3023(
    body: bytes, content_type: str | None, encoding: str, flags: list[str]
) -> None:
    text, used, got_flags = decode_xml(body, content_type=content_type)
    assert f"<title>{TITLE}</title>" in text and BODY in text
    assert (used, got_flags) == (encoding, flags)


def test_declared_charset_keeps_a_few_undefined_bytes_as_replacement() -> None:
    """cp1251 has no 0x98: one such byte must not throw the whole declared charset away."""
    title = f"<title>{TITLE}".encode("cp1251")
    body = page("cp1251").replace(title, title + b"\x98")
    text, used, flags = decode_html(body, header_charset="windows-1251")
    assert (used, flags) == ("cp1251", ["invalid_bytes:1"])
    assert f"<title>{TITLE}\ufffd</title>" in text and BODY in text


def test_gb2312_label_reads_gb18030_characters() -> None:
    body = "<p>新闻 \u20ac 欧元</p>".encode("gb18030")  # the euro sign is not in GB2312
    assert decode_html(body, header_charset="gb2312")[:2] == ("<p>新闻 \u20ac 欧元</p>", "gb18030")


@pytest.mark.parametrize(
    ("body", "header", "binary"),
    [
        (random.Random(1).randbytes(20_000), "utf-8", True),
        (b"\x89PNG\r\n\x1a\n" + random.Random(2).randbytes(5_000), None, True),
        (bytes(range(256)) * 40, "utf-8", True),
        # Text with a few stray control characters is still text (B10 strips them).
        ("<p>Метро A\x00B\x1bC открыло станцию</p>".encode() * 50, "utf-8", False),
        ("<p>Москва</p>".encode("utf-16"), None, False),  # BOM
        ("<p>Москва</p>".encode("utf-16-le") * 20, "utf-16le", False),  # declared, no BOM
        ("<p>Москва</p>".encode("cp1251") * 20, None, False),
        (b"", None, False),
    ],
)
def test_binary_data_is_told_from_text(body: bytes, header: str | None, binary: bool) -> None:
    assert looks_binary(body, header_charset=header) is binary


def test_the_mojibake_sample_reads_past_an_ascii_head_without_cutting_a_word() -> None:
    # A page's head and navigation are ASCII: the sample is read in chunks until it holds
    # enough letters, each chunk ended before an ASCII byte, so a word across a chunk's end
    # stays whole (a cut inside a letter's two bytes would not even decode).
    head = b"<html>" + b"a" * (16 * 1024 - 9)
    raw = head + ("Москва " * 3000).encode()
    chars, _ = encoding._non_ascii_sample(raw)
    assert set(chars.split()[:-1]) == {"Москва"} and len(chars) == 2048  # the last one cut
    assert not looks_like_mojibake(raw.decode())
    garbled = raw.decode().encode("utf-8").decode("cp1251", "replace")
    assert looks_like_mojibake(garbled)


# Short cp1251 texts with no charset anywhere: cp1251 and mac_cyrillic read lowercase alike, so
# charset-normalizer's coherence may favour mac_cyrillic («Ёлектробусы в ћоскве»).
SHORT_CP1251 = [
    "Электробусы в Москве",
    "Пожар на Тверской улице потушили",
    "Дороги Сочи отремонтируют",
    "Фестиваль в Екатеринбурге",
    "Городской парк открыт",
    "Опрос: жители за трамвай",
]


@pytest.mark.parametrize("title", SHORT_CP1251)
def test_decode_html_short_cp1251_without_charset(title: str) -> None:
    body = f"<html><head><title>{title}</title></head><body><p>{title}</p></body></html>"
    text, used, flags = decode_html(body.encode("cp1251"))
    assert (used, flags) == ("cp1251", ["charset_detected"])
    assert f"<title>{title}</title>" in text


def test_decode_html_short_cp1251_page_without_charset() -> None:
    # The hostile-site tester's page: 300 letters, no header charset, no <meta>.
    path = Path(__file__).parent / "fixtures" / "normalize" / "cp1251-short-no-charset.html"
    text, used, _ = decode_html(path.read_bytes())
    assert used == "cp1251"
    assert "<title>Электробусы в Москве 1</title>" in text


@pytest.mark.parametrize("text", [*SHORT_CP1251[1:], BODY])
def test_looks_like_mojibake_cp1251_read_as_mac_cyrillic(text: str) -> None:
    sentence = f"{text}. В Москве и Новосибирске"
    assert looks_like_mojibake(sentence.encode("cp1251").decode("mac_cyrillic")) is True


@pytest.mark.parametrize(
    "text",
    [
        "Београд је главни град Србије, ћерка и ђак",  # Serbian: ј, ћ, ђ start words
        "Ёжик в тумане, «ёлки» и №5",
        "Гродна ў Беларусі",
    ],
)
def test_looks_like_mojibake_not_other_cyrillic(text: str) -> None:
    assert looks_like_mojibake(text) is False
