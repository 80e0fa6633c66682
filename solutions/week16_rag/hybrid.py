"""Hybrid ranking: reciprocal rank fusion (Cormack, Clarke & Buettcher 2009) of several rankings.

BM25 scores (unbounded) and cosine similarities (in [-1, 1]) cannot be added; their ranks can.
RRF gives a document 1 / (k + rank) from every ranking that contains it (rank 1 = best, k = 60 in
the paper) and sorts by the sum: a document near the top of either list rises.
Check: `python tracker.py check w16.hybrid`
"""


def rrf(rankings: list[list[int]], k: int = 60) -> list[tuple[int, float]]:
    """Fuse rankings (document ids, best first) by reciprocal rank fusion.

    score(d) = sum over the rankings that contain d of 1 / (k + rank of d there), rank counted
    from 1. A ranking that lacks d adds nothing. Sorted by score descending; equal scores by the
    lower document id first.
    Example: rrf([[7, 3], [3, 9]], k=1) -> [(3, 1/3 + 1/2), (7, 1/2), (9, 1/3)].

    Returns:
        [(document id, fused score), ...] for every document in any ranking.
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def ranking_from_scores(scores: list[float]) -> list[int]:
    """Document indices sorted by score, highest first; equal scores by lower index first.

    Example: [0.2, 0.9, 0.2, 0.5] -> [1, 3, 0, 2].
    """
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def hybrid_rank(score_lists: list[list[float]], k: int = 60) -> list[int]:
    """Rank documents 0..N-1 by RRF of the rankings that each score list induces.

    Every list holds one score per document (higher = better), e.g. BM25 scores and cosine
    similarities; each becomes a full ranking (`ranking_from_scores`), never summed as scores.
    Example: bm25 [3.0, 0.0, 1.0], cosine [0.1, 0.9, 0.8], k 60 -> rankings [0, 2, 1] and
    [1, 2, 0] -> 2 gets 2/62, 0 and 1 get 1/61 + 1/63 each -> [0, 1, 2] (0 and 1 tie, 2 is last
    because 2/62 < 1/61 + 1/63).

    Args:
        score_lists: one list of N scores per ranker.
        k: the RRF constant, passed on to rrf (a small k rewards first places more).

    Returns:
        All N document indices, best first.
    """
    return [doc for doc, _ in rrf([ranking_from_scores(s) for s in score_lists], k)]
