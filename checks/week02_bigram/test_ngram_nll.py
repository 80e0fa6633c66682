"""Checks for w02.ngram_nll: add-k smoothing, mean NLL and the count optimum.

Oracles: hand-derived probabilities, torch.nn.functional.nll_loss on the same table, and Gibbs'
inequality: on its own training text no other bigram table beats the counted (k = 0) one.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week02_bigram.ngram")


def counts_of(ids: torch.Tensor, V: int) -> torch.Tensor:
    c = torch.zeros(V, V, dtype=torch.long)
    c.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1, dtype=torch.long), accumulate=True)
    return c


def test_add_one_known_answer():
    """counts [[0, 2], [1, 1]], k=1: row 0 -> (0+1, 2+1) / (2 + 2) = [1/4, 3/4]; row 1 -> [2/4, 2/4]."""
    got = mod.smoothed_log_probs(torch.tensor([[0, 2], [1, 1]]), 1.0)
    assert got.dtype == torch.float32, (
        f"smoothed_log_probs returned {got.dtype}; the docstring promises a float32 tensor "
        "(counts.to(torch.float32) before the arithmetic)"
    )
    assert_close(
        got.exp(),
        torch.tensor([[0.25, 0.75], [0.5, 0.5]]),
        what="smoothed_log_probs([[0, 2], [1, 1]], k=1).exp()",
        hint="P = (count + k) / (row total + k * V) along the last axis: k is added to every one "
        "of the V cells of the row",
    )


@pytest.mark.parametrize("n,V,k", [(2, 7, 0.5), (3, 5, 0.01), (2, 3, 3.0)])
def test_rows_sum_to_one(n, V, k):
    ids = torch.randint(0, V, (80,), generator=generator(n * V))
    counts = torch.zeros((V,) * n, dtype=torch.long)
    for t in range(len(ids) - n + 1):
        counts[tuple(ids[t : t + n].tolist())] += 1
    p = mod.smoothed_log_probs(counts, k).exp()
    assert_close(
        p.sum(-1),
        torch.ones((V,) * (n - 1)),
        atol=1e-5,
        what=f"smoothed_log_probs(counts of shape {(V,) * n}, k={k}).exp().sum(-1)",
        hint="normalise along the LAST axis (the predicted token), over all V choices",
    )


def test_k_zero_is_the_counted_frequencies():
    counts = torch.tensor([[1, 3, 0], [2, 2, 4], [0, 0, 5]])
    got = mod.smoothed_log_probs(counts, 0.0).exp()
    assert_close(
        got, counts / counts.sum(-1, keepdim=True), what="smoothed_log_probs(counts, k=0).exp()"
    )


def test_huge_k_is_uniform():
    got = mod.ngram_nll(
        mod.smoothed_log_probs(torch.tensor([[9, 0, 1], [0, 0, 4], [2, 2, 2]]), 1e9),
        torch.tensor([0, 1, 2, 2, 0]),
    )
    assert abs(got - math.log(3)) < 1e-4, (
        f"with k = 1e9 every row is uniform, so the NLL should be ln 3 = {math.log(3):.4f}, got "
        f"{got:.4f}; likely cause: not the mean negative log-likelihood per scored token (a sum "
        "over positions, or the sign dropped)"
    )


def test_nll_known_answer():
    """ids 0 1 0 1 1 under [[1/4, 3/4], [1/2, 1/2]]: pairs 01 10 01 11 score 3/4, 1/2, 3/4, 1/2.

    NLL = -(2 ln 3/4 + 2 ln 1/2) / 4 = 0.4904 (four scored positions, the first token has no context).
    """
    logp = torch.tensor([[0.25, 0.75], [0.5, 0.5]]).log()
    got = mod.ngram_nll(logp, torch.tensor([0, 1, 0, 1, 1]))
    expected = -(2 * math.log(0.75) + 2 * math.log(0.5)) / 4
    assert isinstance(got, float), (
        f"ngram_nll should return a Python float, got {type(got).__name__}"
    )
    assert abs(got - expected) < 1e-6, (
        f"ngram_nll(table, [0, 1, 0, 1, 1]): expected {expected:.6f}, got {got:.6f}; average -log P over "
        "the N - 1 scored pairs, looking up P[previous, next]"
    )


@pytest.mark.parametrize("V,N", [(5, 97), (11, 400)])
def test_bigram_nll_matches_torch_nll_loss(V, N):
    g = generator(V + N)
    ids = torch.randint(0, V, (N,), generator=g)
    logp = torch.log_softmax(torch.randn(V, V, generator=g), -1)
    expected = F.nll_loss(logp[ids[:-1]], ids[1:]).item()
    got = mod.ngram_nll(logp, ids)
    assert abs(got - expected) < 1e-5, (
        f"ngram_nll(random bigram table, ids of length {N}): expected {expected:.6f} "
        f"(torch nll_loss of rows ids[:-1] at columns ids[1:]), got {got:.6f}; likely cause: "
        "rows and columns swapped (P[next, previous])"
    )


def test_trigram_nll_matches_a_loop():
    V, N = 4, 60
    g = generator(3)
    ids = torch.randint(0, V, (N,), generator=g)
    logp = torch.log_softmax(torch.randn(V, V, V, generator=g), -1)
    expected = -sum(logp[ids[t - 2], ids[t - 1], ids[t]].item() for t in range(2, N)) / (N - 2)
    got = mod.ngram_nll(logp, ids)
    assert abs(got - expected) < 1e-5, (
        f"ngram_nll(trigram table, ids of length {N}): expected {expected:.6f}, got {got:.6f}; "
        "score positions 2..N-1, each given the two tokens before it"
    )


def test_counted_table_is_the_optimum_on_its_own_text():
    """Gibbs' inequality: the k = 0 table minimises the training NLL over all bigram tables."""
    V = 6
    g = generator(9)
    ids = torch.randint(0, V, (500,), generator=g)
    best = mod.ngram_nll(mod.smoothed_log_probs(counts_of(ids, V), 0.0), ids)
    mle = (counts_of(ids, V) / counts_of(ids, V).sum(-1, keepdim=True)).log()
    expected = F.nll_loss(mle[ids[:-1]], ids[1:]).item()
    assert abs(best - expected) < 1e-5, f"k=0 NLL: expected {expected:.5f}, got {best:.5f}"
    for k in (0.1, 1.0):
        smoothed = mod.ngram_nll(mod.smoothed_log_probs(counts_of(ids, V), k), ids)
        assert smoothed > best, (
            f"on its own training text the k={k} table scored {smoothed:.5f} <= the counted table's "
            f"{best:.5f}; smoothing must cost a little on the training text"
        )
