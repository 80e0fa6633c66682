"""Cosine top-k from scratch: normalise, one matrix product, sort each row.

This is what a flat vector index does (FAISS `IndexFlatIP` on unit vectors): exact search, every
query against every document. The checks compare it with FAISS on the same vectors.
Check: `python tracker.py check w16.topk`
"""

import torch


def cosine_topk(
    queries: torch.Tensor, docs: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k documents most cosine-similar to each query, best first.

    Cosine similarity = dot product of the L2-normalised rows (a zero row is divided by 1e-12, so
    it scores 0 against everything). Equal scores are ordered by the lower document index first
    (a stable descending sort does this; `torch.topk` promises no order among ties). k larger than
    the number of documents N returns all N. From scratch: `torch.nn.functional.normalize`,
    `torch.nn.functional.cosine_similarity` and `torch.topk` (also as the method
    `Tensor.topk`) are off-limits in the checks.
    Example: queries [[1., 0.]], docs [[0., 1.], [2., 0.], [1., 1.]], k 2 -> scores
    [[1.0, 0.7071]], ids [[1, 2]].

    Args:
        queries: (Q, C) float.
        docs: (N, C) float.
        k: how many documents per query, >= 1.

    Returns:
        scores (Q, min(k, N)) float, ids (Q, min(k, N)) int64.
    """
    q = queries / queries.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    d = docs / docs.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    sims = q @ d.T  # (Q, N)
    # subtle: stable=True keeps equal scores in index order.
    ids = sims.argsort(dim=-1, descending=True, stable=True)[:, :k]
    return sims.gather(1, ids), ids
