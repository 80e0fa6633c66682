"""Checks for w01.information: entropy, KL divergence, perplexity.

Oracle: torch.distributions.Categorical (entropy, kl_divergence).
"""

import math

import pytest
import torch
from torch.distributions import Categorical, kl_divergence

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week01_tensors.information")


def test_entropy_of_uniform_is_ln_V():
    got = mod.entropy(torch.zeros(2, 65))
    assert_close(
        got,
        torch.full((2,), math.log(65)),
        what="entropy(zeros (2, 65))",
        hint="H = -sum p log p with p = softmax(logits); uniform over V gives ln V",
    )


@pytest.mark.parametrize("shape,dim", [((4, 7), -1), ((3, 5, 6), 1)])
def test_entropy_matches_categorical(shape, dim):
    logits = torch.randn(*shape, generator=generator(sum(shape))) * 2
    expected = Categorical(logits=logits.movedim(dim, -1)).entropy()
    assert_close(
        mod.entropy(logits, dim=dim),
        expected,
        what=f"entropy(logits {shape}, dim={dim})",
        hint="reduce along `dim`",
    )


def test_entropy_of_near_one_hot_is_zero_not_nan():
    logits = torch.tensor([[1000.0, 0.0, 0.0]])
    got = mod.entropy(logits)
    assert_close(
        got,
        torch.zeros(1),
        atol=1e-6,
        what="entropy([[1000, 0, 0]])",
        hint="0 * log 0 must count as 0: use log_softmax for log p, not log(softmax(x)), "
        "which gives 0 * -inf = NaN",
    )


def test_kl_matches_categorical_and_direction():
    g = generator(17)
    p, q = torch.randn(5, 8, generator=g) * 2, torch.randn(5, 8, generator=g) * 2
    expected = kl_divergence(Categorical(logits=p), Categorical(logits=q))
    assert_close(
        mod.kl_divergence(p, q),
        expected,
        what="kl_divergence(p_logits, q_logits)",
        hint="KL(p || q) = sum p (log p - log q): weight by p, the first argument. "
        "Swapping p and q gives KL(q || p), which differs",
    )


def test_kl_of_identical_is_zero_and_never_negative():
    g = generator(4)
    p = torch.randn(6, 10, generator=g)
    assert_close(mod.kl_divergence(p, p), torch.zeros(6), atol=1e-6, what="kl_divergence(p, p)")
    q = torch.randn(6, 10, generator=g)
    assert (mod.kl_divergence(p, q) >= -1e-6).all(), (
        "kl_divergence(p, q) returned a negative value; KL >= 0 always"
    )


def test_kl_ignores_a_constant_shift_of_logits():
    g = generator(5)
    p, q = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    assert_close(
        mod.kl_divergence(p + 7.0, q - 3.0),
        mod.kl_divergence(p, q),
        atol=1e-5,
        what="kl_divergence(p + 7, q - 3) vs kl_divergence(p, q)",
        hint="normalise both inputs with log_softmax before comparing them",
    )


def test_perplexity_of_a_float():
    """A uniform guess over 65 characters has mean NLL ln 65 and perplexity 65; certainty has 1."""
    value = mod.perplexity(math.log(65))
    assert isinstance(value, float), (
        f"perplexity(math.log(65)) returned {type(value).__name__}; the docstring promises a float"
    )
    assert math.isclose(value, 65.0, rel_tol=1e-12), (
        f"perplexity(ln 65) = {value}, expected 65: a uniform guess over 65 characters; "
        "likely cause: perplexity is exp(mean NLL), not 2 ** or exp of a sum"
    )
    assert mod.perplexity(0.0) == 1.0, "perplexity(0.0) should be 1.0: a certain model"


def test_perplexity_of_a_0d_loss_tensor():
    """The docstring allows a 0-d tensor (a loss); float32 rounding is allowed (rel 1e-6)."""
    value = mod.perplexity(torch.tensor(2.0))
    assert isinstance(value, float), (
        f"perplexity(torch.tensor(2.0)) returned {type(value).__name__}; the docstring promises "
        "a Python float for a 0-d tensor too (float(...) or .item())"
    )
    assert math.isclose(value, math.exp(2.0), rel_tol=1e-6), (
        f"perplexity(torch.tensor(2.0)) = {value}, expected e^2 = {math.exp(2):.6f}"
    )
