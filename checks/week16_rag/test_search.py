"""Checks for w16.topk: cosine top-k from scratch.

Oracles: FAISS `IndexFlatIP` (exact inner-product search) on L2-normalised copies of the same
vectors, and hand-derived ties. `torch.nn.functional.normalize`,
`torch.nn.functional.cosine_similarity` and `torch.topk` are off-limits while cosine_topk runs.
"""

import faiss
import numpy as np
import pytest
import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week16_rag.search")

FORBID = [
    "torch.nn.functional.normalize",
    "torch.nn.functional.cosine_similarity",
    "torch.topk",
    "torch.Tensor.topk",
]


def topk(queries, docs, k):
    return from_scratch(
        mod.cosine_topk,
        queries,
        docs,
        k,
        forbid=FORBID,
        exercise="w16.topk",
        instead="norms, one matrix product and a stable descending argsort",
    )


def faiss_flat(queries: torch.Tensor, docs: torch.Tensor, k: int):
    d = docs.numpy().astype(np.float32).copy()
    q = queries.numpy().astype(np.float32).copy()
    faiss.normalize_L2(d)
    faiss.normalize_L2(q)
    index = faiss.IndexFlatIP(d.shape[1])
    index.add(d)
    return index.search(q, k)


def test_docstring_example():
    """q [1, 0]; docs [0, 1] (cos 0), [2, 0] (cos 1), [1, 1] (cos 1/sqrt 2 = 0.7071); k 2."""
    scores, ids = topk(
        torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]]), 2
    )
    assert ids.tolist() == [[1, 2]], (
        f"cosine_topk(docstring example): expected ids [[1, 2]], got {ids.tolist()}\n  likely "
        "cause: normalise the documents too (a raw dot product ranks long vectors first); best "
        "first (descending)"
    )
    assert_close(
        scores,
        torch.tensor([[1.0, 0.5**0.5]]),
        what="cosine_topk(docstring example) scores",
        hint="the scores are cosines: normalise queries and documents, then take dot products",
    )


@pytest.mark.parametrize("Q, N, C, k", [(1, 50, 36, 5), (7, 203, 36, 10), (4, 9, 5, 9)])
def test_equals_faiss_flat_search(Q, N, C, k):
    """Random queries and documents with row norms between 0.01 and 100: ids and scores equal
    FAISS IndexFlatIP on normalised copies (scores to 1e-5)."""
    g = generator(Q * 1000 + N)
    docs = (
        torch.randn(N, C, generator=g)
        * torch.logspace(-2, 2, N)[torch.randperm(N, generator=g)][:, None]
    )
    queries = torch.randn(Q, C, generator=g) * 30
    scores, ids = topk(queries, docs, k)
    exp_scores, exp_ids = faiss_flat(queries, docs, k)
    what = f"cosine_topk(queries ({Q}, {C}), docs ({N}, {C}), k={k})"
    assert_close(
        scores,
        torch.from_numpy(exp_scores),
        what=what + " scores vs FAISS IndexFlatIP",
        hint="normalise queries and documents to length 1 before the matrix product; sort descending",
    )
    assert ids.dtype == torch.int64, f"{what}: ids dtype {ids.dtype}, expected int64"
    assert ids.tolist() == exp_ids.tolist(), (
        f"{what}: ids differ from FAISS IndexFlatIP: expected {exp_ids.tolist()[0]}, got "
        f"{ids.tolist()[0]} (first query)\n  likely cause: normalise before the inner product; "
        "best first (descending)"
    )


def test_ties_go_to_the_lower_index():
    """q [1, 0]; docs [1,0] [0,1] [1,0] [2,0] [5,0]: after normalising, docs 0, 2, 3, 4 all score
    exactly 1 and doc 1 scores 0 -> ids [0, 2, 3, 4, 1] (ties by lower index)."""
    docs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [5.0, 0.0]])
    _, ids = topk(torch.tensor([[1.0, 0.0], [3.0, 0.0]]), docs, 5)
    assert ids.tolist() == [[0, 2, 3, 4, 1]] * 2, (
        f"cosine_topk(5 docs, 4 of them tied at 1.0): expected ids [0, 2, 3, 4, 1] per query, got "
        f"{ids.tolist()}\n  likely cause: ties must keep the document order: argsort(descending="
        "True, stable=True); torch.topk promises no order among ties"
    )


def test_k_larger_than_n_returns_everything_and_zero_rows_are_safe():
    """k 10 > N 3 returns 3 columns; a zero query scores 0 against every document (no NaN)."""
    docs = torch.randn(3, 6, generator=generator(9))
    scores, ids = topk(torch.cat([torch.zeros(1, 6), torch.ones(1, 6)]), docs, 10)
    assert tuple(ids.shape) == (2, 3), (
        f"cosine_topk(2 queries, 3 docs, k=10): ids shape {tuple(ids.shape)}, expected (2, 3)"
    )
    assert not torch.isnan(scores).any(), (
        f"cosine_topk(a zero query): got NaN scores {scores.tolist()}\n  likely cause: clamp "
        "the norm below at 1e-12 before dividing"
    )
    assert_close(
        scores[0],
        torch.zeros(3),
        what="cosine_topk(zero query) scores",
        hint="a zero vector has cosine 0 with everything",
    )
    assert sorted(ids[1].tolist()) == [0, 1, 2], (
        f"cosine_topk(k > N): ids {ids[1].tolist()} are not a permutation of 0..2"
    )
