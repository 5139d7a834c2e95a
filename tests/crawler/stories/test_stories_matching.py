"""Story matching (crawler/stories): rewrites of one event join, look-alike events stay apart."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH
from stories_samples import (
    BUS_2000_MOS,
    BUS_2000_VM,
    BUS_2500,
    ROUTE_776_M24,
    ROUTE_776_MOS,
    ROUTE_812,
    T0,
    TRAM_LESNAYA,
    TRAM_SHABOLOVKA,
)

from crawler.stories.features import Fingerprint, fingerprint
from crawler.stories.index import Member, StoryIndex, minhash, signature_bytes, signature_from_bytes
from crawler.stories.settings import StorySettings
from crawler.stories.sketch import LSH, Signature, lsh_params
from crawler.stories.verify import compare
from crawler.topics.morph import Lemmatizer

LEMMATIZER = Lemmatizer()
SETTINGS = StorySettings()


def fp(pair: tuple[str, str]) -> Fingerprint:
    return fingerprint(pair[0], pair[1], "", LEMMATIZER)


def test_the_same_event_in_other_words_joins() -> None:
    verdict = compare(fp(ROUTE_776_MOS), fp(ROUTE_776_M24), SETTINGS)
    assert verdict.joined
    assert "numbers 776" in verdict.evidence


def test_ordinals_in_digits_and_in_words_are_the_same_number() -> None:
    a, b = fp(BUS_2000_MOS), fp(BUS_2000_VM)
    assert "2000" in a.numbers and "2000" in b.numbers
    assert compare(a, b, SETTINGS).joined


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        (ROUTE_776_MOS, ROUTE_812, "numbers"),
        (BUS_2000_VM, BUS_2500, "numbers"),
        (TRAM_SHABOLOVKA, TRAM_LESNAYA, "places"),
    ],
)
def test_look_alike_events_stay_apart(
    first: tuple[str, str], second: tuple[str, str], why: str
) -> None:
    verdict = compare(fp(first), fp(second), SETTINGS)
    assert not verdict.joined
    assert any(e.startswith(f"apart: {why}") for e in verdict.evidence)


def test_a_place_name_is_read_within_one_sentence() -> None:
    # Shortened from real leads (lenta.ru, news.mail.ru in tests/fixtures/stories): the word
    # after «метро» at a headline's end or a sentence's end starts the next sentence.
    lenta = fp(
        (
            "Путин и Собянин открыли новые станции Троицкой линии метро",
            "Президент России Владимир Путин и мэр Москвы Сергей Собянин открыли четыре новые "
            "станции метро Троицкой линии.",
        )
    )
    mail = fp(
        (
            "",
            "В Москве открыли четыре новые станции на Троицкой линии метро. Церемония прошла в "
            "рамках визита Владимира Путина в Национальный космический центр.",
        )
    )
    assert lenta.places == {"троицкий"}
    assert not mail.places
    assert compare(lenta, mail, SETTINGS).joined


def test_the_index_offers_only_members_within_the_window() -> None:
    index = StoryIndex(SETTINGS)
    first = fp(ROUTE_776_MOS)
    sig = minhash(first, SETTINGS.num_perm)
    index.add(Member(1, 10, "mos", T0, first, sig))
    again = fp(ROUTE_776_M24)
    again_sig = minhash(again, SETTINGS.num_perm)
    match = index.best_match(again, again_sig, T0 + timedelta(hours=5), "m24")
    assert match is not None and match.member.story_id == 10
    late = T0 + SETTINGS.window + timedelta(minutes=1)
    assert index.best_match(again, again_sig, late, "m24") is None
    # A source's own near-copy is not another outlet's report of the story.
    assert index.best_match(again, again_sig, T0, "mos") is None


def test_fingerprints_and_signatures_survive_storage() -> None:
    first = fp(BUS_2000_MOS)
    assert Fingerprint.from_json(first.to_json()) == first
    sig = minhash(first, SETTINGS.num_perm)
    assert signature_from_bytes(signature_bytes(sig)).jaccard(sig) == 1.0
    assert len(signature_bytes(sig)) == 4 * SETTINGS.num_perm


def test_eviction_forgets_old_members() -> None:
    index = StoryIndex(SETTINGS)
    first = fp(ROUTE_776_MOS)
    index.add(Member(1, 10, "mos", T0, first, minhash(first, SETTINGS.num_perm)))
    assert index.evict(T0 + timedelta(hours=1)) == 1
    assert len(index) == 0


def test_signatures_with_shared_permutations_equal_datasketchs_own() -> None:
    # minhash() reuses the seed's permutations instead of drawing them per article: the stored
    # signatures must stay exactly what a plain seeded MinHash gives.
    lemmas = frozenset(f"электробус{i}" for i in range(40)) | {"маршрут", "москва"}
    empty: frozenset[str] = frozenset()
    fp = Fingerprint(lemmas, empty, empty, empty, empty, empty, empty)
    for num_perm in (64, 128):
        plain = MinHash(num_perm=num_perm, seed=1, scheme="affine32")
        plain.update_batch([lemma.encode("utf-8") for lemma in sorted(lemmas)])
        ours = minhash(fp, num_perm)
        assert ours.hashvalues.tobytes() == LeanMinHash(plain).hashvalues.tobytes()
        assert signature_bytes(ours) == LeanMinHash(plain).hashvalues.astype("<u4").tobytes()


@pytest.mark.parametrize("tokens", [0, 1, 7, 300])
def test_sketch_signatures_are_datasketchs_affine32_signatures(tokens: int) -> None:
    # Signatures stored by earlier versions (made with datasketch) must keep matching new ones.
    rng = random.Random(tokens)
    data = [f"слово{rng.random()}".encode() for _ in range(tokens)]
    for num_perm in (16, 128, 256):
        for seed in (1, 7):
            plain = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
            plain.update_batch(data)
            ours = Signature.of(data, num_perm, seed)
            assert ours.hashvalues.dtype == LeanMinHash(plain).hashvalues.dtype
            assert (ours.hashvalues == LeanMinHash(plain).hashvalues).all()
            assert Signature.from_bytes(ours.to_bytes()).jaccard(ours) == 1.0


@pytest.mark.parametrize("threshold", [0.05, 0.1, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("num_perm", [32, 128])
def test_lsh_bands_are_the_ones_datasketch_chooses(threshold: float, num_perm: int) -> None:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    assert lsh_params(threshold, num_perm) == (lsh.b, lsh.r)


def test_lsh_offers_what_datasketchs_lsh_offers() -> None:
    rng = random.Random(5)
    vocabulary = [f"w{i}".encode() for i in range(60)]
    sets = {key: rng.sample(vocabulary, rng.randint(3, 30)) for key in range(200)}
    bands, rows = lsh_params(0.1, 128)
    ours, theirs = LSH(bands, rows), MinHashLSH(num_perm=128, params=(bands, rows))
    for key, tokens in sets.items():
        ours.insert(key, Signature.of(tokens, 128, 1))
        plain = MinHash(num_perm=128, seed=1, scheme="affine32")
        plain.update_batch(tokens)
        theirs.insert(key, LeanMinHash(plain))
    for key in range(0, 200, 3):  # removing forgets every band of the key
        ours.remove(key)
        theirs.remove(key)
    ours.remove(10_000)  # unknown: no-op
    assert len(ours) == len(sets) - len(range(0, 200, 3))
    for tokens in list(sets.values())[:50]:
        plain = MinHash(num_perm=128, seed=1, scheme="affine32")
        plain.update_batch(tokens)
        assert ours.query(Signature.of(tokens, 128, 1)) == sorted(theirs.query(plain))
