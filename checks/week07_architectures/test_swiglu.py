"""Checks for w07.swiglu: w2(silu(w1 x) * w3 x), no biases.

Oracles: a one-unit hand example; transformers' LlamaMLP (gate_proj = w1, up_proj = w3,
down_proj = w2) with copied weights.
"""

import math

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week07_architectures.swiglu")

ROLES = (
    "silu goes on the gate w1 only; multiply silu(w1 x) elementwise by the linear 'up' branch "
    "w3 x; w2 projects the product back to C"
)


def test_known_answer():
    """C=1, hidden=1, all weights 1, x=2: silu(2) * 2 = 2 * sigmoid(2) * 2 = 4 / (1 + e^-2)."""
    ffn = mod.SwiGLU(1, 1)
    with torch.no_grad():
        for p in ffn.parameters():
            p.fill_(1.0)
    got = ffn(torch.tensor([[2.0]]))
    shapes = {name: tuple(p.shape) for name, p in mod.SwiGLU(6, 10).named_parameters()}
    expected = {"w1.weight": (10, 6), "w3.weight": (10, 6), "w2.weight": (6, 10)}
    assert shapes == expected, f"SwiGLU(6, 10) parameters: expected {expected}, got {shapes}"
    assert_close(
        got, torch.tensor([[4.0 / (1.0 + math.exp(-2.0))]]), what="SwiGLU(1, 1)(2)", hint=ROLES
    )


@pytest.mark.parametrize("B,T,C,hidden", [(1, 1, 8, 12), (2, 7, 20, 54), (3, 5, 34, 88)])
def test_matches_transformers_llama_mlp(B, T, C, hidden):
    g = generator(C * hidden)
    ours = mod.SwiGLU(C, hidden)
    with torch.no_grad():
        for p in ours.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.randn(B, T, C, generator=g)
    got = ours(x)  # the learner's first: a stub is todo before transformers loads (seconds)
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaMLP

    oracle = LlamaMLP(
        LlamaConfig(
            hidden_size=C, intermediate_size=hidden, num_attention_heads=1, hidden_act="silu"
        )
    )
    with torch.no_grad():
        oracle.gate_proj.weight.copy_(ours.w1.weight)
        oracle.up_proj.weight.copy_(ours.w3.weight)
        oracle.down_proj.weight.copy_(ours.w2.weight)
    assert_close(got, oracle(x), what=f"SwiGLU({C}, {hidden})(x {(B, T, C)})", hint=ROLES)
