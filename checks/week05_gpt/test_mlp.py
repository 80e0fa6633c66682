"""Checks for w05.mlp: the tanh-approximate GELU and the position-wise feed-forward network."""

from functools import partial

import pytest
import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, forbid, from_scratch, generator
from roadmap.impl import load

model = load("week05_gpt.model")

TANH = "GPT-2 uses the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"


gelu = partial(
    from_scratch,
    model.gelu,
    forbid=("torch.nn.functional.gelu",),
    exercise="w05.mlp",
    instead="the tanh formula 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))",
)


def test_gelu_known_answers():
    """gelu(0) = 0. gelu(1) = 0.5 (1 + tanh(sqrt(2/pi) 1.044715)) = 0.5 (1 + tanh(0.833562))
    = 0.5 (1 + 0.682384) = 0.841192. gelu(-1) = -1 + gelu(1) = -0.158808 (gelu(x) - gelu(-x) = x)."""
    got = gelu(torch.tensor([0.0, 1.0, -1.0]))
    assert_close(
        got, torch.tensor([0.0, 0.841192, -0.158808]), atol=1e-5, what="gelu([0, 1, -1])", hint=TANH
    )


def test_gelu_matches_torch_tanh_gelu_including_large_inputs():
    x = torch.cat([torch.randn(997, generator=generator(3)) * 4, torch.tensor([-30.0, 30.0, 1e3])])
    assert_close(
        gelu(x),
        F.gelu(x, approximate="tanh"),
        atol=1e-5,
        what="gelu(x) for x ~ N(0, 16) and +-30, 1000",
        hint=TANH,
    )


@pytest.mark.parametrize("B,T,C", [(1, 1, 8), (2, 7, 24), (3, 5, 36)])
def test_mlp_matches_the_formula(B, T, C):
    g = generator(B * T * C)
    cfg = model.GPTConfig(n_embd=C, n_head=1, bias=True)
    torch.manual_seed(0)
    mlp = model.MLP(cfg).eval()
    x = torch.randn(B, T, C, generator=g)
    with forbid(
        "torch.nn.functional.gelu",
        exercise="w05.mlp",
        instead="the tanh formula 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))",
    ):
        got = mlp(x)
    h = F.gelu(x @ mlp.c_fc.weight.T + mlp.c_fc.bias, approximate="tanh")  # (B, T, 4C)
    expected = h @ mlp.c_proj.weight.T + mlp.c_proj.bias
    assert_close(
        got,
        expected,
        atol=1e-5,
        what=f"MLP(n_embd={C})(x {(B, T, C)})",
        hint="c_proj(gelu(c_fc(x))): expand to 4C, the activation in between, project back",
    )


def test_mlp_treats_positions_independently():
    cfg = model.GPTConfig(n_embd=16, n_head=1)
    mlp = model.MLP(cfg).eval()
    x = torch.randn(2, 9, 16, generator=generator(4))
    perm = torch.randperm(9, generator=generator(5))
    with forbid(
        "torch.nn.functional.gelu",
        exercise="w05.mlp",
        instead="the tanh formula 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))",
    ):
        a, b = mlp(x)[:, perm], mlp(x[:, perm])
    assert_close(b, a, what="MLP on permuted positions", hint="the MLP must not mix positions")
