"""Checks for w04.single_head: softmax(q k^T / sqrt(D)) v for one head, no mask."""

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

attention = load("week04_attention.attention")
SDPA = "torch.nn.functional.scaled_dot_product_attention"


run = partial(
    from_scratch,
    attention.single_head_attention,
    forbid=(SDPA,),
    exercise="w04.single_head",
    instead="q @ k.transpose(-2, -1), the 1/sqrt(D) scale, masked_fill and softmax",
)


def test_known_answer():
    """q = [[1, 0]], k = [[1, 0], [0, 1]], v = [[1], [3]]: scores [1, 0] / sqrt(2) = [0.7071, 0],
    weights = softmax = [0.6698, 0.3302], out = 0.6698 * 1 + 0.3302 * 3 = 1.6605.
    Without the 1/sqrt(2) the weights would be [0.7311, 0.2689] and out 1.5379."""
    got = run(
        torch.tensor([[1.0, 0.0]]),
        torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
        torch.tensor([[1.0], [3.0]]),
    )
    w = 1 / (1 + math.exp(-1 / math.sqrt(2)))
    hint = "scale the scores by 1/sqrt(D) and take the softmax over the keys (dim=-1)"
    first = got.flatten()[0].item() if got.numel() else float("nan")
    if abs(first - 1.5379) < 1e-3:
        hint = "this is the answer without scaling: divide the scores by sqrt(D) = sqrt(2)"
    elif abs(first - 4.0) < 1e-3:
        hint = (
            "both weights are 1: the softmax ran over the one query (dim 0), not the keys (dim=-1)"
        )
    assert_close(
        got,
        torch.tensor([[w + 3 * (1 - w)]]),
        what="single_head_attention(q=[[1, 0]], k=[[1, 0], [0, 1]], v=[[1], [3]])",
        hint=hint,
    )


def likely_cause(q, k, v, out) -> str:
    """Name the one mistake whose output matches `out`, else say which step to compare."""
    D, Dv = q.size(-1), v.size(-1)
    s = q @ k.T
    variants = {
        "the scores are not scaled by 1/sqrt(D)": torch.softmax(s, -1) @ v,
        "the scores are divided by D instead of sqrt(D)": torch.softmax(s / D, -1) @ v,
        "scaled by sqrt of the value width; D is the width of q and k": torch.softmax(
            s / Dv**0.5, -1
        )
        @ v,
        "softmax over the queries (dim 0) instead of the keys (dim -1)": torch.softmax(
            s / D**0.5, 0
        )
        @ v,
    }
    for cause, want in variants.items():
        if out.shape == want.shape and torch.allclose(out, want, atol=1e-5):
            return cause
    return "compare step by step: q @ k.T / sqrt(D), softmax over the keys (dim=-1), @ v"


@pytest.mark.parametrize("Tq,Tk,D,Dv", [(1, 1, 4, 4), (7, 5, 12, 3), (4, 9, 8, 16)])
def test_matches_torch_sdpa(Tq, Tk, D, Dv):
    g = generator(Tq * 100 + Tk)
    q, k, v = (
        torch.randn(Tq, D, generator=g),
        torch.randn(Tk, D, generator=g),
        torch.randn(Tk, Dv, generator=g),
    )
    expected = F.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    assert_close(
        run(q, k, v),
        expected,
        what=f"single_head_attention(q {(Tq, D)}, k {(Tk, D)}, v {(Tk, Dv)})",
        hint=likely_cause(q, k, v, run(q, k, v)),
    )
