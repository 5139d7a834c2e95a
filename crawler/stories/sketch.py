"""MinHash signatures and banded LSH over them: datasketch 2.x's ``affine32`` scheme, in numpy.

Why not datasketch itself: importing it imports all of its sketches, and its LSH module imports
``scipy.integrate`` (its parameter search). That cost ~48 MiB of memory and ~2.5 s of start-up
in every crawl process (the crawl child of each scheduled run imports it for the first story of
the run), for ~40 lines of arithmetic. The signatures here are byte-equal to datasketch's
``MinHash(num_perm, seed, scheme="affine32")`` for the same input, and the LSH bands and rows are
the ones ``MinHashLSH(threshold, num_perm)`` chooses, and :func:`band_matches` offers what its
``query`` offers; tests hold all three to datasketch itself, so signatures stored by earlier
versions keep matching.

The scheme: each token is hashed to 32 bits (the first 4 bytes of its SHA-1, little-endian),
pre-mixed with the MurmurHash3 finalizer, then each permutation ``k`` maps it to
``a_k * h + b_k mod 2**32`` (``a_k`` odd: a bijection); the signature keeps each permutation's
minimum over the tokens.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable

import numpy as np

_MAX_HASH = np.uint32(0xFFFFFFFF)
# MurmurHash3's 32-bit finalizer: (shift, multiplier, shift, multiplier, shift).
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


@functools.cache
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The permutations' ``a`` (odd) and ``b``, drawn as datasketch draws them for ``seed``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(hv: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX
    hv = hv ^ (hv >> s1)
    hv = hv * m1
    hv = hv ^ (hv >> s2)
    hv = hv * m2
    return hv ^ (hv >> s3)


@functools.lru_cache(maxsize=1 << 14)
def token_hash(token: bytes) -> int:
    """A token's 32-bit hash: the first 4 bytes of its SHA-1, little-endian. Remembered: the
    tokens are lemmas, which a news stream repeats, and hashing one (a SHA-1 object made by
    name, its digest, a slice) costs ~6x a cache hit: ~0.75 against ~0.12 µs."""
    return int.from_bytes(hashlib.sha1(token).digest()[:4], "little")


_MASK = 0xFFFFFFFF


@functools.lru_cache(maxsize=1 << 14)
def lemma_hash(lemma: str) -> int:
    """A lemma's token hash (:func:`token_hash` of its UTF-8), pre-mixed as :func:`_fmix32`
    mixes it: what each permutation then maps. Remembered by the lemma itself, so a repeated
    lemma costs no encoding and no mixing (the story index's signatures are of lemmas)."""
    h = token_hash.__wrapped__(lemma.encode("utf-8"))
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


class Signature:
    """A MinHash signature: one uint32 minimum per permutation."""

    __slots__ = ("hashvalues",)

    def __init__(self, hashvalues: np.ndarray) -> None:
        self.hashvalues = hashvalues

    @classmethod
    def of(cls, tokens: Iterable[bytes], num_perm: int, seed: int) -> Signature:
        """The signature of a set of tokens (an empty set: every value the maximum)."""
        hashes = [token_hash(token) for token in tokens]
        mixed = _fmix32(np.array(hashes, dtype=np.uint32)) if hashes else None
        return cls._of_mixed(mixed, num_perm, seed)

    @classmethod
    def of_lemmas(cls, lemmas: Iterable[str], num_perm: int, seed: int) -> Signature:
        """:meth:`of` the lemmas' UTF-8 bytes (the same signature, from :func:`lemma_hash`)."""
        mixed = [lemma_hash(lemma) for lemma in lemmas]
        return cls._of_mixed(np.array(mixed, dtype=np.uint32) if mixed else None, num_perm, seed)

    @classmethod
    def _of_mixed(cls, mixed: np.ndarray | None, num_perm: int, seed: int) -> Signature:
        """The signature of the tokens' mixed hashes (None: no token, every value the maximum)."""
        if mixed is None:
            return cls(np.full(num_perm, _MAX_HASH, dtype=np.uint32))
        a, b = permutations(num_perm, seed)
        hv = mixed.reshape(-1, 1)
        with np.errstate(over="ignore"):  # uint32 wrap-around is the modulo 2**32
            return cls((hv * a + b).min(axis=0))

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """The signature :meth:`to_bytes` wrote."""
        return cls(np.frombuffer(data, dtype="<u4").astype(np.uint32))

    def to_bytes(self) -> bytes:
        """Little-endian uint32 per permutation (what the store keeps)."""
        return self.hashvalues.astype("<u4").tobytes()

    def jaccard(self, other: Signature) -> float:
        """The estimated Jaccard similarity of the two token sets."""
        return float(np.count_nonzero(self.hashvalues == other.hashvalues)) / len(self.hashvalues)


def _nodes(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """64-point Gauss-Legendre points and weights on [lo, hi]: the integral of f there is
    ``sum(weights * f(points))``, exact enough for these smooth polynomials."""
    x, w = _gauss_legendre()
    mid, half = (hi + lo) / 2, (hi - lo) / 2
    return mid + half * x, half * w


@functools.cache
def _gauss_legendre() -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(64)


@functools.cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows per band minimising false positives + false negatives at ``threshold``
    (equal weights: datasketch ``MinHashLSH``'s default choice)."""
    best, best_error = (1, 1), float("inf")
    below, below_w = _nodes(0.0, threshold)
    above, above_w = _nodes(threshold, 1.0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = float(np.sum(below_w * (1 - (1 - below**r) ** b)))  # a pair below: candidate
            fn = float(np.sum(above_w * (1 - above**r) ** b))  # a pair above: missed
            if fp + fn < best_error:
                best, best_error = (b, r), fp + fn
    return best


def band_matches(signatures: np.ndarray, signature: Signature, bands: int, rows: int) -> np.ndarray:
    """Which columns of ``signatures`` (one signature per column: each permutation's minimums
    contiguous) share a band with ``signature``: banded LSH's candidates (all ``rows`` values
    of at least one of the ``bands`` bands equal), as datasketch's ``MinHashLSH.query`` offers
    them, for a boolean mask.

    One comparison over the matrix instead of a table of buckets per band: a window of
    look-alike reports puts every member in the query's buckets, and there a bucket walk
    costs Python work per member; the tables also cost ~4 KB per member.
    """
    width = bands * rows
    equal = signatures[:width] == signature.hashvalues[:width, None]
    if rows == 1:
        return np.logical_or.reduce(equal, axis=0)
    return equal.reshape(bands, rows, -1).all(axis=1).any(axis=0)
