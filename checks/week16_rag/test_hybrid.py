"""Checks for w16.hybrid: reciprocal rank fusion of rankings, and of score lists via their ranks.

Oracles: fused scores computed by hand (derivations in the docstrings) and RRF's defining
properties (only ranks matter: any monotone change of a score list changes nothing).
"""

import random

from roadmap.impl import load

mod = load("week16_rag.hybrid")

RANKS = "RRF adds 1 / (k + rank) with rank counted from 1 (the best document has rank 1, not 0)"


def test_rrf_docstring_example():
    """[[7, 3], [3, 9]], k 1: 7 -> 1/(1+1) = 1/2; 3 -> 1/(1+2) + 1/(1+1) = 5/6; 9 -> 1/3."""
    got = mod.rrf([[7, 3], [3, 9]], k=1)
    expected = [(3, 1 / 3 + 1 / 2), (7, 1 / 2), (9, 1 / 3)]
    assert [d for d, _ in got] == [3, 7, 9] and all(
        abs(s - e) < 1e-12 for (_, s), (_, e) in zip(got, expected)
    ), (
        f"rrf([[7, 3], [3, 9]], k=1): expected {expected}, got {got}\n  likely cause: {RANKS}; "
        "sum over every ranking; use the k you were given; sort by fused score, highest first"
    )


def test_rrf_default_k_is_60_and_ties_go_to_the_lower_id():
    """[[5, 2, 8], [2, 5, 8]]: 5 and 2 both get 1/61 + 1/62 (a tie: lower id 2 first), 8 gets
    2/63."""
    got = mod.rrf([[5, 2, 8], [2, 5, 8]])
    assert [d for d, _ in got] == [2, 5, 8], (
        f"rrf([[5, 2, 8], [2, 5, 8]]): expected order [2, 5, 8], got {[d for d, _ in got]}\n  "
        "likely cause: equal fused scores are ordered by the lower document id"
    )
    assert abs(got[0][1] - (1 / 61 + 1 / 62)) < 1e-12 and abs(got[2][1] - 2 / 63) < 1e-12, (
        f"rrf(..., default k): scores {got}, expected 1/61 + 1/62 = {1 / 61 + 1 / 62:.6f} and "
        f"2/63 = {2 / 63:.6f}\n  likely cause: the default k is 60; {RANKS}"
    )


def test_rrf_document_missing_from_a_ranking():
    """[[1, 2, 3], [4]], k 10: 1 -> 1/11 and 4 -> 1/11 (tie: 1 first), 2 -> 1/12, 3 -> 1/13;
    a ranking that lacks a document adds nothing for it."""
    got = mod.rrf([[1, 2, 3], [4]], k=10)
    expected = [(1, 1 / 11), (4, 1 / 11), (2, 1 / 12), (3, 1 / 13)]
    assert [d for d, _ in got] == [1, 4, 2, 3] and all(
        abs(s - e) < 1e-12 for (_, s), (_, e) in zip(got, expected)
    ), (
        f"rrf([[1, 2, 3], [4]], k=10): expected {expected}, got {got}\n  likely cause: {RANKS}; "
        "use the k you were given"
    )


def test_ranking_from_scores():
    """[0.2, 0.9, 0.2, 0.5] -> [1, 3, 0, 2]: highest first, the tied 0.2s by lower index."""
    got = mod.ranking_from_scores([0.2, 0.9, 0.2, 0.5])
    assert list(got) == [1, 3, 0, 2], (
        f"ranking_from_scores([0.2, 0.9, 0.2, 0.5]): expected [1, 3, 0, 2], got {got}\n  likely "
        "cause: sort indices by score descending (best first), ties by lower index"
    )


def test_hybrid_rank_docstring_example():
    """bm25 [3, 0, 1] -> ranking [0, 2, 1]; cosine [0.1, 0.9, 0.8] -> [1, 2, 0]. Doc 2: 2/62 =
    0.032258; docs 0 and 1: 1/61 + 1/63 = 0.032266 each (tie: 0 first) -> [0, 1, 2]. Fusing the
    raw scores instead of ranks (1 / (60 + score)) would put doc 1 (0 + 0.9) or 2 first."""
    got = mod.hybrid_rank([[3.0, 0.0, 1.0], [0.1, 0.9, 0.8]])
    assert list(got) == [0, 1, 2], (
        f"hybrid_rank(bm25 [3, 0, 1], cosine [0.1, 0.9, 0.8]): expected [0, 1, 2], got {got}\n"
        "  likely cause: turn each score list into a ranking first (ranking_from_scores) and fuse "
        "the ranks; never the scores themselves"
    )


def test_hybrid_rank_only_ranks_matter():
    """Any increasing transform of a score list (x -> 1000 x + 5, x -> x^3) leaves the result
    unchanged, and the result is a permutation of all N documents; checked on 5 random cases."""
    rng = random.Random(0)
    for case in range(5):
        n = rng.randint(5, 17)
        a = [rng.uniform(0, 20) for _ in range(n)]
        b = [rng.uniform(-1, 1) for _ in range(n)]
        base = list(mod.hybrid_rank([a, b]))
        assert sorted(base) == list(range(n)), (
            f"hybrid_rank({n} documents) returned {base}: not all documents"
        )
        moved = list(mod.hybrid_rank([[1000 * x + 5 for x in a], [x**3 for x in b]]))
        assert moved == base, (
            f"hybrid_rank: rescaling the scores monotonically changed the result (case {case}):\n"
            f"  {base}\n  {moved}\n  likely cause: RRF must use only the ranks, not the scores"
        )
        # the best document of both lists must come first
        a[3], b[3] = 100.0, 2.0
        top = mod.hybrid_rank([a, b])[0]
        assert top == 3, (
            f"hybrid_rank: document 3 is first in both rankings but came {list(mod.hybrid_rank([a, b])).index(3) + 1}th (first: {top})\n  likely cause: rank 1 is the highest score (descending)"
        )


def test_hybrid_rank_passes_k_on_to_rrf():
    """Scores [4, 3, 2, 1] and [1, 3, 4, 2] induce rankings [0, 1, 2, 3] and [2, 1, 3, 0]: doc 0
    has ranks (1, 4), doc 1 (2, 2), doc 2 (3, 1), doc 3 (4, 3). k = 1: 2 -> 1/4 + 1/2 = 0.75,
    0 -> 1/2 + 1/5 = 0.7, 1 -> 2/3, 3 -> 1/5 + 1/4 = 0.45: [2, 0, 1, 3]. k = 60: 2 -> 1/63 + 1/61
    = 0.032266, 1 -> 2/62 = 0.032258, 0 -> 1/61 + 1/64 = 0.032018, 3 -> 1/64 + 1/63 = 0.031498:
    [2, 1, 0, 3]. A small k rewards a first place, a large k steady ranks."""
    lists = [[4.0, 3.0, 2.0, 1.0], [1.0, 3.0, 4.0, 2.0]]
    for k, expected in ((1, [2, 0, 1, 3]), (60, [2, 1, 0, 3])):
        got = list(mod.hybrid_rank(lists, k=k))
        assert got == expected, (
            f"hybrid_rank([[4, 3, 2, 1], [1, 3, 4, 2]], k={k}): expected {expected}, got {got}\n"
            "  likely cause: pass the k given to hybrid_rank on to rrf (not the default 60)"
        )
