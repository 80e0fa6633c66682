"""Checks for w04.numpy: the multi-head forward pass in pure NumPy equals torch's."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from roadmap.checking import assert_close, generator
from roadmap.impl import load

npa = load("week04_attention.numpy_attention")


def test_softmax_np_known_answer_and_overflow():
    """softmax([0, ln 3]) = [1, 3] / 4 = [0.25, 0.75]; adding 1000 must change nothing."""
    got = npa.softmax_np(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0 + np.log(3.0)]]))
    assert isinstance(got, np.ndarray), f"softmax_np should return an ndarray, got {type(got)}"
    assert np.allclose(got, [[0.25, 0.75], [0.25, 0.75]]), (
        f"softmax_np gave {got}; subtract the max first (overflow at 1000)"
    )


@pytest.mark.parametrize(
    "B,T,C,H,causal", [(1, 1, 4, 1, True), (2, 7, 12, 3, True), (3, 5, 10, 2, False)]
)
def test_equals_torch_multihead_attention(B, T, C, H, causal):
    torch.manual_seed(T)
    theirs = nn.MultiheadAttention(C, H, batch_first=True, dtype=torch.float64).eval()
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    W, b = theirs.in_proj_weight.detach().numpy(), theirs.in_proj_bias.detach().numpy()
    params = {
        "q_proj.weight": W[:C], "k_proj.weight": W[C : 2 * C], "v_proj.weight": W[2 * C :],
        "q_proj.bias": b[:C], "k_proj.bias": b[C : 2 * C], "v_proj.bias": b[2 * C :],
        "out_proj.weight": theirs.out_proj.weight.detach().numpy(), "out_proj.bias": theirs.out_proj.bias.detach().numpy(),
    }  # fmt: skip
    x = torch.randn(B, T, C, generator=generator(C), dtype=torch.float64)
    blocked = torch.ones(T, T, dtype=torch.bool).triu(1) if causal else None
    expected, exp_w = theirs(x, x, x, attn_mask=blocked, average_attn_weights=False)
    out, weights = npa.attention_np(x.numpy(), params, H, causal=causal)
    assert isinstance(out, np.ndarray) and isinstance(weights, np.ndarray), (
        "attention_np must return NumPy arrays"
    )
    hint = "x @ W.T + b per projection; reshape (B, T, H, D) and transpose to (B, H, T, D); -inf above the diagonal"
    assert_close(
        torch.from_numpy(out),
        expected,
        atol=1e-10,
        what=f"attention_np(x {(B, T, C)}, n_head={H}, causal={causal})",
        hint=hint,
    )
    assert_close(
        torch.from_numpy(weights), exp_w, atol=1e-10, what="attention_np weights (B, H, T, T)"
    )
