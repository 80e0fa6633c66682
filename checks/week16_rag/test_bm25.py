"""Checks for w16.bm25: BM25 with the +1-smoothed IDF, k1 and b.

Oracles: a corpus scored by hand (derivations in the docstrings), and the `rank-bm25` package's
BM25Okapi. rank-bm25 uses a different IDF, ln((N - n + 0.5) / (n + 0.5)) floored at 0.25 x the mean
IDF; everything else (the tf part, |d|, avgdl, a repeated query token counting twice) is the same
definition. So (1) with its IDF table replaced by ln(1 + (N - n + 0.5) / (n + 0.5)), its scores must
equal yours; (2) for one-term queries whose term is in fewer than half the documents (both IDFs
positive, a common factor) the rankings must be identical without any change.
"""

import math
import random

import pytest
import torch

from roadmap.checking import assert_close
from roadmap.impl import load

mod = load("week16_rag.bm25")

# the hand corpus: N = 3, |d| = 3, 6, 2, avgdl = 11/3
HAND = [["the", "cat", "sat"], ["the", "dog", "sat", "on", "the", "cat"], ["dogs", "bark"]]
LENGTH = (
    "length normalisation is k1 * (1 - b + b * |d| / avgdl): a longer document gets a LARGER "
    "denominator (a lower score), |d| / avgdl not avgdl / |d|"
)


def test_idf_known_values():
    """N = 3: n = 1 -> ln(1 + 2.5 / 1.5) = ln(8/3) = 0.980829; n = 2 -> ln(1 + 1.5 / 2.5) =
    ln 1.6 = 0.470004; n = 0 (unknown word) -> ln(1 + 3.5 / 0.5) = ln 8 = 2.079442. All > 0."""
    bm = mod.BM25(HAND)
    got = [bm.idf("dog"), bm.idf("cat"), bm.idf("zebra")]
    expected = [math.log(8 / 3), math.log(1.6), math.log(8.0)]
    assert all(abs(g - e) < 1e-9 for g, e in zip(got, expected)), (
        f"idf('dog' in 1 doc, 'cat' in 2, 'zebra' in 0) of N=3: expected "
        f"{[round(e, 6) for e in expected]}, got {got}\n  likely cause: idf = ln(1 + (N - n + 0.5) "
        "/ (n + 0.5)): the +1 is inside the logarithm (rank-bm25's ln((N - n + 0.5)/(n + 0.5)) is "
        "a different definition)"
    )


def test_scores_by_hand():
    """k1 1.2, b 0.75, avgdl 11/3. Length factors k1 (1 - b + b |d| / avgdl): |d| 3 -> 1.036364,
    6 -> 1.772727, 2 -> 0.790909.
    ["cat"] (n 2, idf 0.470004): d0 0.470004 * 2.2 / 2.036364 = 0.507772; d1 0.470004 * 2.2 /
    2.772727 = 0.372921; d2 0.
    ["the", "dog"]: d0 = the (f 1, n 2) = 0.507772; d1 = the (f 2) 0.470004 * 2 * 2.2 / 3.772727 =
    0.548152 + dog (n 1) 0.980829 * 2.2 / 2.772727 = 0.778228 -> 1.326381.
    ["bark", "bark", "zebra"]: d2 = 2 x 0.980829 * 2.2 / 1.790909 = 2.409753 (the repeated query
    token counts twice; zebra is in no document)."""
    bm = mod.BM25(HAND, k1=1.2, b=0.75)
    cases = [
        (["cat"], [0.5077717780, 0.3729209124, 0.0]),
        (["the", "dog"], [0.5077717780, 1.3263805462, 0.0]),
        (["bark", "bark", "zebra"], [0.0, 0.0, 2.4097530886]),
    ]
    for query, expected in cases:
        got = bm.scores(query)
        assert len(got) == 3 and all(abs(g - e) < 1e-6 for g, e in zip(got, expected)), (
            f"BM25(hand corpus, k1=1.2, b=0.75).scores({query}): expected {expected}, got {got}\n"
            f"  likely cause: {LENGTH}; the tf part is f * (k1 + 1) / (f + length factor); each "
            "query token counts once per occurrence in the query"
        )


def test_b_zero_ignores_length_and_k1_saturates():
    """b = 0: the length factor is k1 whatever |d|, so "cat" (f 1) scores the same in d0 and d1.
    Large k1 (1000): the tf part ~ f, so d1's "the" (f 2) ~ 2x d0's (f 1) when b = 0."""
    bm = mod.BM25(HAND, k1=1.2, b=0.0)
    s = bm.scores(["cat"])
    assert abs(s[0] - s[1]) < 1e-9, (
        f"BM25(b=0).scores(['cat']) = {s}: d0 and d1 must tie\n  likely cause: use self.b, not a fixed 0.75"
    )
    bm = mod.BM25(HAND, k1=1000.0, b=0.0)
    s = bm.scores(["the"])
    assert abs(s[1] / s[0] - 2.0) < 0.01, (
        f"BM25(k1=1000, b=0).scores(['the']): ratio d1/d0 = {s[1] / s[0]:.4f}, expected ~2\n  likely cause: use self.k1 in both places: f * (k1 + 1) / (f + k1 * ...)"
    )


def random_corpus(seed: int, n_docs: int = 25):
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(30)]
    weights = [1.0 / (i + 1) for i in range(30)]  # Zipf-like: some words in most documents
    return [rng.choices(vocab, weights, k=rng.randint(3, 20)) for _ in range(n_docs)], vocab, rng


def test_equals_rank_bm25_with_the_same_idf():
    """rank-bm25's BM25Okapi with its idf table set to ln(1 + (N - n + 0.5) / (n + 0.5)) computes
    exactly this file's definition: scores agree to 1e-9 on 25 random documents and 20 queries of
    1-5 tokens (repeats and unknown words included)."""
    BM25Okapi = pytest.importorskip("rank_bm25").BM25Okapi
    corpus, vocab, rng = random_corpus(0)
    for k1, b in [(1.5, 0.75), (0.9, 0.3)]:
        ref = BM25Okapi(corpus, k1=k1, b=b)
        df = {}
        for doc in ref.doc_freqs:
            for t in doc:
                df[t] = df.get(t, 0) + 1
        ref.idf = {t: math.log(1 + (ref.corpus_size - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        bm = mod.BM25(corpus, k1=k1, b=b)
        for _ in range(10):
            query = rng.choices(vocab + ["unseen"], k=rng.randint(1, 5))
            assert_close(
                torch.tensor(bm.scores(query), dtype=torch.float64),
                torch.from_numpy(ref.get_scores(query)),
                what=f"BM25(25 random docs, k1={k1}, b={b}).scores({query}) vs rank-bm25 with the +1 IDF",
                hint=LENGTH + "; the idf has +1 inside the log",
                atol=1e-9,
                rtol=1e-9,
            )


def test_single_term_rankings_equal_rank_bm25_unchanged():
    """One-term queries on terms in fewer than half the documents: both IDFs are positive factors
    common to all documents, so the rankings (ties by lower index) are identical."""
    BM25Okapi = pytest.importorskip("rank_bm25").BM25Okapi
    corpus, vocab, _ = random_corpus(1)
    ref = BM25Okapi(corpus)
    bm = mod.BM25(corpus)
    checked = 0
    for term in vocab:
        n = sum(term in doc for doc in corpus)
        if not 0 < n < len(corpus) / 2:
            continue
        s_ref = ref.get_scores([term])
        expected = sorted(range(len(corpus)), key=lambda i: (-s_ref[i], i))[:10]
        got = bm.topk([term], 10)
        assert got == expected, (
            f"BM25(25 random docs).topk([{term!r}], 10): expected {expected} (rank-bm25's order), "
            f"got {got}\n  likely cause: {LENGTH}; more occurrences must score higher"
        )
        checked += 1
    assert checked >= 10, f"only {checked} terms checked"
