"""Checks for w05.layernorm: LayerNorm from scratch, and why not BatchNorm for text."""

import math
from functools import partial

import pytest
import torch
import torch.nn as nn

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

model = load("week05_gpt.model")

NO_LIBRARY = ("torch.nn.functional.layer_norm", "torch.layer_norm")
VARIANCE = (
    "use the biased variance (divide by C: .var(unbiased=False) or mean of squares), over dim -1"
)


run = partial(
    from_scratch,
    forbid=NO_LIBRARY,
    exercise="w05.layernorm",
    instead="the mean and biased variance over the last dim: (x - mean) / sqrt(var + eps)",
)


def test_known_answer():
    """x = [1, 2, 3]: mean 2, biased variance ((-1)^2 + 0 + 1^2) / 3 = 2/3, so
    out = [-1, 0, 1] / sqrt(2/3 + 1e-5) = [-1.22473, 0, 1.22473] (weight 1, bias 0)."""
    ln = model.LayerNorm(3, bias=True)
    got = run(ln, torch.tensor([[1.0, 2.0, 3.0]]))
    s = 1 / math.sqrt(2 / 3 + 1e-5)
    assert_close(got, torch.tensor([[-s, 0.0, s]]), what="LayerNorm(3)([[1, 2, 3]])", hint=VARIANCE)


@pytest.mark.parametrize("shape", [(1, 1, 5), (2, 7, 48), (3, 4, 2, 13)])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_layernorm_with_copied_weights(shape, bias):
    g = generator(sum(shape))
    C = shape[-1]
    x = torch.randn(*shape, generator=g) * 3 + 1.5
    ours = model.LayerNorm(C, bias=bias)
    oracle = nn.LayerNorm(C, eps=1e-5, bias=bias)
    with torch.no_grad():
        ours.weight.copy_(torch.randn(C, generator=g))
        oracle.weight.copy_(ours.weight)
        if bias:
            ours.bias.copy_(torch.randn(C, generator=g))
            oracle.bias.copy_(ours.bias)
    assert_close(
        run(ours, x),
        oracle(x),
        atol=1e-5,
        what=f"LayerNorm({C}, bias={bias}) on x {shape}",
        hint=VARIANCE + "; eps inside the square root; then * weight (+ bias if not None)",
    )


def test_gradients_flow_to_weight_and_bias():
    ln = model.LayerNorm(6)
    run(ln, torch.randn(2, 3, 6, generator=generator(1))).pow(2).sum().backward()
    assert ln.weight.grad is not None and ln.bias.grad is not None, (
        "LayerNorm: weight or bias got no gradient; use the nn.Parameters in forward"
    )


def test_layernorm_ignores_padding_and_batch_mates_unlike_batchnorm():
    """Why not BatchNorm for text: BatchNorm normalises each channel with statistics over the batch
    and all positions, so one sentence's output changes when padding or other sentences are added.
    LayerNorm normalises each position over its own channels, so it cannot.
    """
    g = generator(7)
    C = 10
    sentence = torch.randn(1, 5, C, generator=g)
    padded_batch = torch.cat(
        [torch.cat([sentence, torch.zeros(1, 3, C)], dim=1), torch.randn(1, 8, C, generator=g) * 4]
    )  # (2, 8, C): our sentence padded with 3 zero positions, plus a loud second sentence
    ln = model.LayerNorm(C)
    alone = run(ln, sentence)[0]
    in_batch = run(ln, padded_batch)[0, :5]
    assert_close(
        in_batch,
        alone,
        what="LayerNorm on a sentence alone vs the same sentence inside a padded batch",
        hint="normalise over the last dim (channels) only, never over batch or time",
    )
    bn = nn.BatchNorm1d(C).train()  # (B, C, T) layout
    bn_alone = bn(sentence.transpose(1, 2)).transpose(1, 2)[0]
    bn_in_batch = bn(padded_batch.transpose(1, 2)).transpose(1, 2)[0, :5]
    assert (bn_alone - bn_in_batch).abs().max() > 0.1, (
        "the demonstration: BatchNorm gives the same sentence different outputs in different batches"
    )


def test_eps_inside_the_root_on_near_constant_rows():
    """Near-constant rows, where eps dominates: x = 5 + 1e-3 * [-1, 0, 1] has biased variance
    (2/3) 1e-6, much smaller than eps = 1e-5. Inside the root: 1e-3 / sqrt(0.667e-6 + 1e-5) =
    0.30619 for the last entry. Outside (sqrt(var) + eps): 1e-3 / (8.165e-4 + 1e-5) = 1.2100."""
    ln = model.LayerNorm(3)
    got = run(ln, torch.tensor([[5.0 - 1e-3, 5.0, 5.0 + 1e-3]], dtype=torch.float64))
    s = 1e-3 / math.sqrt(2e-6 / 3 + 1e-5)
    assert_close(
        got,
        torch.tensor([[-s, 0.0, s]], dtype=torch.float64),
        atol=1e-4,
        what="LayerNorm(3)([[5 - 1e-3, 5, 5 + 1e-3]]) (variance far below eps)",
        hint="eps inside the square root: (x - mean) / sqrt(var + eps), not / (sqrt(var) + eps)",
    )


@pytest.mark.parametrize("eps", [1e-2, 0.5])
def test_uses_the_configured_eps(eps):
    """LayerNorm(C, eps=...) must use its own eps: compared with nn.LayerNorm(C, eps=eps) on rows of
    small variance, where eps = 1e-2 or 0.5 changes every output."""
    x = torch.randn(2, 3, 7, generator=generator(11)) * 0.2
    ours = model.LayerNorm(7, eps=eps)
    assert_close(
        run(ours, x),
        nn.LayerNorm(7, eps=eps)(x),
        atol=1e-5,
        what=f"LayerNorm(7, eps={eps}) on x (2, 3, 7) with std 0.2",
        hint="use self.eps (the configured eps), not a hard-coded 1e-5",
    )
