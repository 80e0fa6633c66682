"""Checks for w09.perplexity: every target predicted once, token-weighted mean, eval mode.

Oracles: a model with uniform logits (hand answer ln V and V); a bigram-table model, whose NLL at
each position depends only on the previous token, so the whole split's mean NLL is simply
cross_entropy(table[ids[:-1]], ids[1:]) whatever the windows; a model that behaves differently in
training mode (to see eval mode and its restoration).
"""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from roadmap.checking import generator
from roadmap.impl import load

mod = load("week09_training.perplexity")


class Bigram(nn.Module):
    """logits[b, t] = table[idx[b, t]]; in training mode every logit of token 0 gets +5."""

    def __init__(self, V: int, seed: int):
        super().__init__()
        self.table = nn.Parameter(torch.randn(V, V, generator=generator(seed)))

    def forward(self, idx, targets=None):
        logits = self.table[idx]
        if self.training:
            logits = logits.clone()
            logits[..., 0] += 5.0
        return logits, None


class Uniform(nn.Module):
    def __init__(self, V: int):
        super().__init__()
        self.V = V

    def forward(self, idx, targets=None):
        return torch.zeros(*idx.shape, self.V), None


def test_uniform_model_has_perplexity_v():
    ids = torch.randint(0, 11, (50,), generator=generator(0))
    nll, ppl = mod.evaluate_perplexity(Uniform(11), ids, block_size=8)
    assert abs(nll - math.log(11)) < 1e-6 and abs(ppl - 11) < 1e-4, (
        f"evaluate_perplexity(uniform logits over 11 tokens) = ({nll}, {ppl}), expected "
        f"(ln 11 = {math.log(11):.6f}, 11)\n  likely cause: perplexity is exp(mean NLL) in nats"
    )


@pytest.mark.parametrize("N, T, B", [(50, 8, 2), (97, 10, 3), (9, 16, 4), (41, 5, 1)])
def test_bigram_mean_over_every_target(N, T, B):
    """N - 1 targets; windows of T predictions, the last one shorter when T does not divide N - 1
    (N=50, T=8: 6 windows of 8 and one of 1). The answer does not depend on batch_size."""
    model = Bigram(13, seed=N)
    ids = torch.randint(0, 13, (N,), generator=generator(N + 1))
    with torch.no_grad():
        expected = F.cross_entropy(model.table[ids[:-1]], ids[1:]).item()
    model.eval()
    nll, ppl = mod.evaluate_perplexity(model, ids, block_size=T, batch_size=B)
    assert not model.training, (
        "evaluate_perplexity put a model that was in eval mode into training mode\n  likely "
        "cause: restore the mode it had (model.train(was_training)), not model.train()"
    )
    assert abs(nll - expected) < 1e-5, (
        f"evaluate_perplexity(bigram, N={N}, block_size={T}, batch_size={B}) mean NLL {nll:.6f}, "
        f"expected {expected:.6f} over all {N - 1} targets\n  likely cause: every target ids[1:] "
        "exactly once (windows start at 0, T, 2T, ... and the short last window counts), and "
        "the mean is sum of token NLLs / (N - 1), not the mean of the windows' means"
    )
    assert abs(ppl - math.exp(expected)) < 1e-4 * math.exp(expected), (
        f"evaluate_perplexity perplexity {ppl}, expected exp({expected:.5f}) = "
        f"{math.exp(expected):.5f}\n  likely cause: perplexity = exp(mean NLL)"
    )


def test_runs_in_eval_mode_and_restores_training_mode():
    model = Bigram(7, seed=3)
    ids = torch.randint(0, 7, (30,), generator=generator(4))
    with torch.no_grad():
        expected = F.cross_entropy(model.table[ids[:-1]], ids[1:]).item()
    model.train()
    nll, _ = mod.evaluate_perplexity(model, ids, block_size=6)
    assert abs(nll - expected) < 1e-5, (
        f"evaluate_perplexity on a model in training mode gave {nll:.5f}, its eval-mode NLL is "
        f"{expected:.5f}\n  likely cause: switch to model.eval() (no dropout) for the evaluation"
    )
    assert model.training, (
        "evaluate_perplexity left the model in eval mode\n  likely cause: restore the training "
        "mode it had (model.train(was_training))"
    )
