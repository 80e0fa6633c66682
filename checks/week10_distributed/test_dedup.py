"""Checks for w10.dedup: exact dedup, shingles, MinHash signatures, LSH bands, near-dedup.

Oracles: hand-computed answers; the MinHash formula of the docstring evaluated here with Python
integers (the given hash_coefficients and base_hash); a statistical bound (the estimate of J from
n hash functions is a mean of n Bernoulli(J) draws: |estimate - J| <= 5 sqrt(J (1 - J) / n), a
false alarm rate below 1e-6 per pair); brute-force band comparison for LSH; a synthetic corpus
with planted near-duplicates (recall >= 99%).
"""

import math
import random

import numpy as np
import pytest

from roadmap.impl import load

mod = load("week10_distributed.dedup")


def test_exact_dedup_keeps_first_occurrences():
    docs = ["a", "b", "a", "c", "b", "A", "é", "e\u0301", "é", ""]
    got = mod.exact_dedup(docs)
    expected = [0, 1, 3, 5, 6, 7, 9]
    assert got == expected, (
        f"exact_dedup({docs}): expected {expected}, got {got}\n  likely cause: keep the FIRST "
        "occurrence of each byte-exact text ('A' != 'a'; 'é' and 'e' + combining accent differ "
        "in bytes), indices increasing"
    )
    assert mod.exact_dedup([]) == [], "exact_dedup([]) must be []"


@pytest.mark.parametrize(
    "text,k,expected",
    [
        ("A b c d", 3, {"a b c", "b c d"}),
        ("x y", 3, {"x y"}),
        ("", 3, set()),
        ("one two three", 3, {"one two three"}),
        ("a  B\na b", 2, {"a b", "b a"}),
        ("p q r s t u", 5, {"p q r s t", "q r s t u"}),
    ],
)
def test_shingles_known_answers(text, k, expected):
    got = mod.shingles(text, k)
    assert got == expected, (
        f"shingles({text!r}, k={k}): expected {expected}, got {got}\n  likely cause: words are "
        "text.lower().split(), k consecutive words joined by one space; fewer than k words -> one "
        "shingle of all of them; no words -> empty set"
    )


def test_jaccard_known_answers():
    assert mod.jaccard({1, 2, 3}, {2, 3, 4, 5}) == pytest.approx(2 / 5), (
        "jaccard: |{2,3}| / |{1..5}|"
    )
    assert mod.jaccard(set(), set()) == 0.0, "jaccard(set(), set()) must be 0.0"
    assert mod.jaccard({1}, {1}) == 1.0, "jaccard of equal sets is 1"


def test_minhash_signature_is_the_docstring_formula():
    """signature[i] = min over s of (a[i] * base_hash(s) + b[i]) mod (2**31 - 1), evaluated here
    with Python integers for a 3-shingle set, 16 hash functions, seed 5."""
    s = {"to be or", "be or not", "or not to"}
    a, b = mod.hash_coefficients(16, 5)
    P = (1 << 31) - 1
    expected = [min((int(a[i]) * mod.base_hash(x) + int(b[i])) % P for x in s) for i in range(16)]
    got = mod.minhash_signature(s, 16, 5)
    assert isinstance(got, np.ndarray) and got.shape == (16,), (
        f"minhash_signature(3 shingles, 16, 5): expected a (16,) numpy array, got {type(got)} "
        f"{getattr(got, 'shape', None)}"
    )
    assert got.dtype == np.uint64, f"minhash_signature: expected dtype uint64, got {got.dtype}"
    assert got.tolist() == expected, (
        f"minhash_signature(3 shingles, 16, seed 5): expected {expected[:4]}..., got "
        f"{got.tolist()[:4]}...\n  likely cause: signature[i] is the MIN over the shingles of "
        "(a[i] * base_hash(s) + b[i]) mod P, with (a, b) = hash_coefficients(num_perm, seed)"
    )
    empty = mod.minhash_signature(set(), 8, 0)
    assert empty.tolist() == [P] * 8, (
        f"minhash_signature(set()): expected P everywhere, got {empty}"
    )


def pair_with_jaccard(J: float, union: int, tag: str) -> tuple[set, set]:
    inter = round(J * union)
    rest = union - inter
    common = {f"shared {tag} {i}" for i in range(inter)}
    a = common | {f"left {tag} {i}" for i in range(rest // 2)}
    b = common | {f"right {tag} {i}" for i in range(rest - rest // 2)}
    return a, b


@pytest.mark.parametrize("J", [0.1, 0.25, 0.5, 0.8, 0.95])
def test_estimate_within_the_binomial_bound(J):
    n = 256
    a, b = pair_with_jaccard(J, 200, f"J{J}")
    true = len(a & b) / len(a | b)
    est = mod.estimate_jaccard(mod.minhash_signature(a, n, 1), mod.minhash_signature(b, n, 1))
    bound = 5 * math.sqrt(true * (1 - true) / n)
    assert abs(est - true) <= bound, (
        f"estimate_jaccard(minhash_signature(A, {n}), minhash_signature(B, {n})) for true Jaccard "
        f"{true:.3f}: got {est:.3f}, outside +-{bound:.3f} (5 binomial standard deviations)\n"
        "  likely cause: every position must use its OWN hash function (a[i], b[i]) and the MIN "
        "over the set; the estimate is the fraction of positions that agree"
    )


def test_identical_and_disjoint_sets():
    a, b = pair_with_jaccard(0.0, 100, "disjoint")
    sa, sb = mod.minhash_signature(a, 128, 2), mod.minhash_signature(b, 128, 2)
    assert mod.estimate_jaccard(sa, sa.copy()) == 1.0, "equal signatures must estimate 1.0"
    got = mod.estimate_jaccard(sa, sb)
    assert got <= 0.05, (
        f"estimate_jaccard for disjoint sets: expected about 0, got {got}\n  likely cause: the "
        "signature must depend on the shingles (min over the set of the hashed base hashes)"
    )
    assert not np.array_equal(sa, mod.minhash_signature(a, 128, 3)), (
        "minhash_signature: different seeds must give different hash functions"
    )


def brute_force_pairs(sig, bands, rows):
    pairs = set()
    for i in range(len(sig)):
        for k in range(i + 1, len(sig)):
            for j in range(bands):
                if np.array_equal(
                    sig[i, j * rows : (j + 1) * rows], sig[k, j * rows : (j + 1) * rows]
                ):
                    pairs.add((i, k))
                    break
    return pairs


def test_lsh_pairs_equal_brute_force_band_comparison():
    """Random small signatures (values 0..2, so bands often agree) with 4 bands of 3 rows, and a
    planted pair that agrees only on the last band."""
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 3, size=(9, 12)).astype(np.uint64)
    sig[7] = sig[2] + 5
    sig[7, 9:12] = sig[2, 9:12]
    expected = brute_force_pairs(sig, 4, 3)
    got = mod.lsh_candidate_pairs(sig, 4, 3)
    assert (2, 7) in expected
    assert got == expected, (
        f"lsh_candidate_pairs(9 signatures, bands=4, rows=3): expected {len(expected)} pairs, got "
        f"{len(got)}; missing {sorted(expected - got)[:5]}, extra {sorted(got - expected)[:5]}\n"
        "  likely cause: band j is columns [j*rows, (j+1)*rows); a pair needs ALL rows of ONE band "
        "equal; pairs are (i, k) with i < k"
    )
    for bands, rows in ((5, 3), (3, 3), (2, 5)):  # 15, 9 and 10 columns for 12
        with pytest.raises(ValueError):
            mod.lsh_candidate_pairs(sig, bands, rows)
            pytest.fail(
                f"lsh_candidate_pairs(12 columns, bands={bands}, rows={rows}) did not raise "
                "ValueError\n  likely cause: bands * rows must EQUAL num_perm: too few columns "
                "are as wrong as too many"
            )
    assert mod.lsh_candidate_pairs(sig, 2, 6) == brute_force_pairs(sig, 2, 6), (
        "lsh_candidate_pairs(12 columns, bands=2, rows=6) differs from the band-by-band comparison"
    )


def words_corpus(n_docs: int, n_words: int, seed: int) -> list[list[str]]:
    r = random.Random(seed)
    vocab = [f"w{i}" for i in range(5000)]
    return [[r.choice(vocab) for _ in range(n_words)] for _ in range(n_docs)]


def edit(words: list[str], n_changes: int, r: random.Random) -> list[str]:
    words = list(words)
    for pos in r.sample(range(len(words)), n_changes):
        words[pos] = f"new{r.randrange(10**9)}"
    return words


def test_lsh_finds_planted_near_duplicates():
    """60 documents of 120 random words and 40 near-copies with 2 words changed (Jaccard of the
    5-shingles about 0.85 or more): LSH with 32 bands x 4 rows must propose >= 99% of the pairs
    above 0.8 (the S-curve gives ~1 - 1e-6 at J = 0.85)."""
    r = random.Random(1)
    base = words_corpus(60, 120, 1)
    docs = [" ".join(w) for w in base] + [" ".join(edit(base[i], 2, r)) for i in range(40)]
    sets = [mod.shingles(d, 5) for d in docs]
    sig = np.stack([mod.minhash_signature(s, 128, 0) for s in sets])
    truth = {
        (i, k)
        for i in range(len(docs))
        for k in range(i + 1, len(docs))
        if len(sets[i] & sets[k]) / len(sets[i] | sets[k]) >= 0.8
    }
    assert len(truth) >= 35, "fixture: expected the planted pairs to be near-duplicates"
    got = mod.lsh_candidate_pairs(sig, 32, 4)
    recall = len(truth & got) / len(truth)
    assert recall >= 0.99, (
        f"lsh_candidate_pairs(32 bands x 4 rows) found {len(truth & got)} of {len(truth)} pairs "
        f"with Jaccard >= 0.8 (recall {recall:.2f} < 0.99)\n  likely cause: bucket each band by "
        "ALL its rows' values; a pair is a candidate if ANY band agrees"
    )
    assert len(got) < 200, (
        f"lsh_candidate_pairs: {len(got)} candidates for 100 documents is too many"
    )


def fixture_documents() -> list[str]:
    """Six random 200-word documents: D1 = D0 with 3 words changed, D2 = D1 with 3 more changed,
    D3 == D4, D5 unrelated (see the next check)."""
    r = random.Random(2)
    w = words_corpus(3, 200, 2)
    d0 = w[0]
    d1 = edit(d0, 3, r)
    d2 = edit(d1, 3, r)
    return [" ".join(x) for x in (d0, d1, d2, w[1], w[1], w[2])]


def test_near_dedup_keeps_first_and_follows_kept_documents_only():
    """Random 200-word documents. D1 is D0 with 3 words changed (J ~ 0.86), D2 is D1 with 3 more
    changed (J(D1, D2) ~ 0.86 but J(D0, D2) ~ 0.74 < 0.8), D3 an exact copy of D4's text placed
    before it, D5 unrelated. Threshold 0.8: D1 goes (near D0, kept); D2 stays (its only
    near-duplicate D1 was dropped, and D0 is too far); D4 goes (copy of kept D3)."""
    docs = fixture_documents()
    j = [
        mod.jaccard(mod.shingles(docs[a], 5), mod.shingles(docs[b], 5))
        for a, b in ((0, 1), (1, 2), (0, 2))
    ]
    assert j[0] >= 0.8 and j[1] >= 0.8 and j[2] < 0.8, f"fixture Jaccards {j}"
    got = mod.near_dedup(docs, threshold=0.8)
    assert got == [0, 2, 3, 5], (
        f"near_dedup(6 documents, threshold 0.8): expected [0, 2, 3, 5], got {got}\n  likely "
        "cause: a document is dropped only when a CONFIRMED pair (exact Jaccard of the shingle "
        "sets >= threshold) joins it to an earlier document that was KEPT; the first of each "
        "group is kept"
    )
    assert mod.near_dedup([]) == [], "near_dedup([]) must be []"
    assert mod.near_dedup(docs, threshold=1.01) == [0, 1, 2, 3, 4, 5], (
        "near_dedup with threshold > 1 must keep every document (nothing is confirmed)"
    )


def test_near_dedup_uses_k_num_perm_bands_and_rows():
    """k: a document and the same 60 distinct words reversed share every 1-shingle (Jaccard 1 at
    k = 1) and no 5-shingle: near_dedup(k=1) drops the second, the default k = 5 keeps both.
    num_perm=64, bands=16, rows=4 on the six-document fixture: the same answer as the defaults
    (16 x 4 still finds pairs at J ~ 0.86)."""
    words = [f"w{i}" for i in range(60)]
    pair = [" ".join(words), " ".join(words[::-1])]
    assert mod.near_dedup(pair, k=1) == [0], (
        f"near_dedup([doc, doc reversed], k=1) = {mod.near_dedup(pair, k=1)}, expected [0]\n"
        "  likely cause: shingle with the k argument (k=1: single words, Jaccard 1 here)"
    )
    assert mod.near_dedup(pair) == [0, 1], "near_dedup([doc, doc reversed]) with k = 5 keeps both"
    docs = fixture_documents()
    try:
        got = mod.near_dedup(docs, threshold=0.8, num_perm=64, bands=16, rows=4)
    except ValueError as error:
        raise AssertionError(
            f"near_dedup(num_perm=64, bands=16, rows=4) raised {error!r}\n  likely cause: sign "
            "with the num_perm argument and band with the bands and rows arguments (16 * 4 = 64)"
        ) from error
    assert got == [0, 2, 3, 5], (
        f"near_dedup(6 documents, num_perm=64, bands=16, rows=4) = {got}, expected [0, 2, 3, 5]"
        "\n  likely cause: pass num_perm, seed, bands and rows through, and confirm each "
        "candidate pair with the EXACT jaccard of its shingle sets (not the MinHash estimate)"
    )


def test_near_dedup_confirms_with_the_exact_jaccard_at_the_threshold():
    """D0 and D1 (3 of 200 words changed) have exact Jaccard j = 0.8846 (23/26) of their
    5-shingles; their 128-position MinHash estimate is 0.867. threshold = j: a near-duplicate
    (>= is inclusive), D1 dropped; threshold = j + 1e-9: both kept. Only the exact Jaccard of the
    shingle sets gives both answers."""
    d0, d1 = fixture_documents()[:2]
    j = mod.jaccard(mod.shingles(d0, 5), mod.shingles(d1, 5))
    at = mod.near_dedup([d0, d1], threshold=j)
    above = mod.near_dedup([d0, d1], threshold=j + 1e-9)
    assert (at, above) == ([0], [0, 1]), (
        f"near_dedup([D0, D1]) with threshold = their exact Jaccard {j:.6f}: {at}, expected [0]; "
        f"with threshold {j:.6f} + 1e-9: {above}, expected [0, 1]\n  likely cause: confirm a "
        "candidate pair with the EXACT jaccard of the shingle sets (not the MinHash estimate), "
        "and a pair AT the threshold counts (>=)"
    )
