"""Checks for w03.skipgram_data: (center, context) pairs, the unigram^0.75 table, negative draws.

Oracles: pairs listed by hand and by a brute-force loop; probabilities by hand; draw frequencies
within 5 sd of the table.
"""

import math

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week03_embeddings.word2vec")


def test_pairs_known_answer():
    got = mod.skipgram_pairs(torch.tensor([7, 8, 9]), 1)
    expected = torch.tensor([[7, 8], [8, 7], [8, 9], [9, 8]])
    assert_close(
        got,
        expected,
        what="skipgram_pairs([7, 8, 9], window=1)",
        hint="one row (ids[center], ids[context]) of token ids, not positions, per neighbour "
        "within the window, never the center with itself; rows ordered by center position, then "
        "context position",
    )


@pytest.mark.parametrize("N,window", [(1, 2), (10, 3), (13, 1), (6, 10)])
def test_pairs_match_brute_force(N, window):
    ids = torch.randint(0, 50, (N,), generator=generator(N + window))
    expected = [
        [ids[i].item(), ids[j].item()]
        for i in range(N)
        for j in range(N)
        if i != j and abs(i - j) <= window
    ]
    got = mod.skipgram_pairs(ids, window)
    assert tuple(got.shape) == (len(expected), 2), (
        f"skipgram_pairs(ids of length {N}, window={window}): expected {len(expected)} pairs, got shape "
        f"{tuple(got.shape)}; likely cause: window off by one (distance <= window counts) or the center paired with itself"
    )
    assert got.tolist() == expected, (
        f"pairs differ from the brute-force list: first got {got[:4].tolist()}, expected {expected[:4]}"
    )
    assert got.dtype == torch.long, f"pairs should be int64, got {got.dtype}"


def test_unigram_known_answer_and_powers():
    """counts [1, 16] with power 3/4: weights [1, 8], so P = [1/9, 8/9]."""
    got = mod.unigram_distribution(torch.tensor([1, 16]))
    assert got.dtype == torch.float32, (
        f"unigram_distribution returned {got.dtype}; the docstring promises float32 probabilities"
    )
    assert_close(
        got,
        torch.tensor([1 / 9, 8 / 9]),
        what="unigram_distribution([1, 16])",
        hint="raise counts to the power, then divide by the sum",
    )
    counts = torch.tensor([3, 0, 5, 12, 1])
    assert_close(
        mod.unigram_distribution(counts, 1.0),
        counts / counts.sum(),
        what="unigram_distribution(counts, power=1)",
    )
    p = mod.unigram_distribution(counts)
    assert abs(p.sum().item() - 1) < 1e-6 and p[1] == 0, (
        f"probabilities {p.tolist()} should sum to 1 with 0 for an unseen word"
    )


def test_negatives_shape_and_determinism():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    a = mod.sample_negatives(probs, 7, 5, generator(0))
    b = mod.sample_negatives(probs, 7, 5, generator(0))
    assert a.shape == (7, 5) and a.dtype == torch.long, (
        f"sample_negatives(probs, 7, 5): got {tuple(a.shape)} {a.dtype}, expected (7, 5) int64"
    )
    assert torch.equal(a, b), (
        "same generator seed gave different negatives: pass generator= to torch.multinomial"
    )


def test_negative_frequencies_within_5_sigma():
    """n = 6000 * 4 draws; the count of word v is Binomial(n, p_v). Every |c_v - n p_v| must be < 5 sd:
    false-alarm rate at most 5 * 5.7e-7 for a correct sampler (fixed seed: deterministic)."""
    probs = mod.unigram_distribution(torch.tensor([50, 10, 1, 200, 30]))
    draws = mod.sample_negatives(probs, 6000, 4, generator(11))
    n = draws.numel()
    counts = torch.bincount(draws.view(-1), minlength=5).double()
    p = probs.double()
    z = (counts - n * p) / (n * p * (1 - p)).sqrt()
    assert z.abs().max() < 5, (
        f"negatives drawn {counts.long().tolist()} times in {n} draws; expected about {(n * p).round().long().tolist()} "
        f"(max |z| = {z.abs().max():.1f}). Likely cause: not drawn from `probs` itself "
        "(torch.multinomial(probs, num * k, replacement=True)): uniform draws, raw frequencies, "
        "or no replacement"
    )
    assert math.isfinite(z.abs().max().item())
