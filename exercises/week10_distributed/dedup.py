"""Deduplication: exact (a hash per document) and near (MinHash signatures + LSH bands), from scratch.

MinHash (Broder 1997): for a random hash function h, P[min h(A) == min h(B)] = |A & B| / |A | B|,
the Jaccard similarity of the shingle sets A and B; `num_perm` independent hash functions give
`num_perm` Bernoulli draws whose mean estimates it. LSH (Indyk & Motwani 1998; Leskovec et al.,
Mining of Massive Datasets ch. 3): cut the signature into `bands` bands of `rows` rows; two
documents become candidates when one whole band agrees, which happens with probability
1 - (1 - J^rows)^bands, an S-curve with its threshold near (1/bands)^(1/rows).
Check: `python tracker.py check w10.dedup`
"""

import hashlib

import numpy as np

MERSENNE_PRIME = (1 << 31) - 1  # P: the hash functions are (a * h + b) mod P


def exact_dedup(docs: list[str]) -> list[int]:
    """Indices of the documents to keep: the first occurrence of each distinct text.

    Two documents are duplicates when their texts are equal byte for byte; compare them by the
    SHA-256 digest of their UTF-8 bytes (`hashlib.sha256(doc.encode("utf-8")).digest()`), so only
    32 bytes per document stay in memory.

    Example: ["a", "b", "a", "c", "b"] -> [0, 1, 3].

    Returns:
        the kept indices, increasing.
    """
    # TODO(w10.dedup): return the indices of the first occurrence of each distinct text
    raise NotImplementedError(
        "w10.dedup: write exact_dedup in exercises/week10_distributed/dedup.py"
    )


def shingles(text: str, k: int = 5) -> set[str]:
    """The set of word k-shingles of `text`.

    Words are `text.lower().split()`; a shingle is k consecutive words joined by one space. A text
    with fewer than k words (but at least one) has a single shingle, all its words joined; an
    empty text has none.

    Example: shingles("A b c d", k=3) == {"a b c", "b c d"}; shingles("x y", k=3) == {"x y"}.
    """
    # TODO(w10.dedup): return the set of word k-shingles of text
    raise NotImplementedError("w10.dedup: write shingles in exercises/week10_distributed/dedup.py")


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b|, and 0.0 when both sets are empty.

    Example: jaccard({1, 2, 3}, {2, 3, 4, 5}) == 2 / 5.
    """
    # TODO(w10.dedup): return the Jaccard similarity of the two sets
    raise NotImplementedError("w10.dedup: write jaccard in exercises/week10_distributed/dedup.py")


def hash_coefficients(num_perm: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The `num_perm` hash functions' coefficients (given): a in [1, P), b in [0, P), uint64.

    Drawn as `rng = np.random.default_rng(seed)`, `a = rng.integers(1, P, num_perm)`, then
    `b = rng.integers(0, P, num_perm)`, with P = MERSENNE_PRIME = 2**31 - 1.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(1, MERSENNE_PRIME, num_perm).astype(np.uint64)
    b = rng.integers(0, MERSENNE_PRIME, num_perm).astype(np.uint64)
    return a, b


def base_hash(shingle: str) -> int:
    """A shingle's 32-bit base hash (given): the first 4 bytes of its SHA-1, little-endian."""
    return int.from_bytes(hashlib.sha1(shingle.encode("utf-8")).digest()[:4], "little")


def minhash_signature(shingle_set: set[str], num_perm: int = 128, seed: int = 0) -> np.ndarray:
    """The MinHash signature of a set of shingles.

    With (a, b) = hash_coefficients(num_perm, seed) and h = base_hash(s):
        signature[i] = min over s in shingle_set of (a[i] * h + b[i]) mod P
    computed in numpy uint64 (no overflow: a * h + b < 2**63). The empty set's signature is P in
    every position (larger than any hash value).
    Example: minhash_signature(set(), 4) -> [P, P, P, P]; two equal sets get equal signatures, and
    signature[i] is always one of the set's hashed values (a[i] * h + b[i]) mod P.

    Returns:
        (num_perm,) uint64 array.
    """
    # TODO(w10.dedup): return the set's MinHash signature by the formula above
    raise NotImplementedError(
        "w10.dedup: write minhash_signature in exercises/week10_distributed/dedup.py"
    )


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The fraction of positions where two signatures (same num_perm and seed) agree."""
    # TODO(w10.dedup): return the MinHash estimate of the two sets' Jaccard similarity
    raise NotImplementedError(
        "w10.dedup: write estimate_jaccard in exercises/week10_distributed/dedup.py"
    )


def lsh_candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    """Pairs of documents whose signatures agree on at least one whole band.

    Band j is columns [j * rows, (j + 1) * rows) of `signatures`; documents i and k are
    candidates when, for some band j, signatures[i, band j] == signatures[k, band j] in every
    column. Hash each band into buckets (a dict keyed by the band's values) instead of comparing
    all pairs.

    Example: signatures [[1, 2, 3, 4], [1, 2, 9, 9], [5, 6, 3, 4]] with bands=2, rows=2 -> {(0, 1),
    (0, 2)} (documents 0 and 1 agree on band 0, documents 0 and 2 on band 1).

    Args:
        signatures: (N, num_perm) array, one MinHash signature per row.
        bands, rows: with bands * rows == num_perm exactly (fewer columns as well as more:
            ValueError).

    Returns:
        the set of candidate pairs (i, k) with i < k.
    """
    # TODO(w10.dedup): return the pairs that agree on a whole band, without comparing all pairs
    raise NotImplementedError(
        "w10.dedup: write lsh_candidate_pairs in exercises/week10_distributed/dedup.py"
    )


def near_dedup(
    docs: list[str],
    *,
    threshold: float = 0.8,
    k: int = 5,
    num_perm: int = 128,
    bands: int = 32,
    rows: int = 4,
    seed: int = 0,
) -> list[int]:
    """Indices of the documents to keep after near-duplicate removal.

    Shingle every document (`shingles(doc, k)`), sign it (`minhash_signature(..., num_perm,
    seed)`), find candidate pairs with `lsh_candidate_pairs(signatures, bands, rows)`, and confirm
    a candidate pair when the exact `jaccard` of its shingle sets is >= threshold. Then go through
    the documents in order: document k is dropped when a confirmed pair joins it to an earlier
    document that was kept; otherwise it is kept. k, num_perm, seed, bands and rows are passed on
    as given; a pair whose exact Jaccard equals the threshold is confirmed.
    Example: near_dedup([a, b, a]) for two unrelated texts a, b of 5 words or more -> [0, 1];
    near_dedup([d, d reversed], k=1) -> [0] (the same words, Jaccard 1 at k = 1).

    Returns:
        the kept indices, increasing.
    """
    # TODO(w10.dedup): return the indices of the documents to keep
    raise NotImplementedError(
        "w10.dedup: write near_dedup in exercises/week10_distributed/dedup.py"
    )
