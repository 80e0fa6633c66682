"""Checks for w04.mha: multi-head attention against nn.MultiheadAttention with copied weights."""

import pytest
import torch
import torch.nn as nn

from roadmap.checking import assert_close, forbid, generator
from roadmap.impl import load

attention = load("week04_attention.attention")
SDPA = "torch.nn.functional.scaled_dot_product_attention"


def oracle_for(mha, C: int, H: int) -> nn.MultiheadAttention:
    theirs = nn.MultiheadAttention(C, H, batch_first=True).eval()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(
            torch.cat([mha.q_proj.weight, mha.k_proj.weight, mha.v_proj.weight])
        )
        theirs.in_proj_bias.copy_(torch.cat([mha.q_proj.bias, mha.k_proj.bias, mha.v_proj.bias]))
        theirs.out_proj.weight.copy_(mha.out_proj.weight)
        theirs.out_proj.bias.copy_(mha.out_proj.bias)
    return theirs


@pytest.mark.parametrize("B,T,C,H", [(1, 1, 8, 1), (2, 7, 12, 3), (3, 10, 20, 5)])
def test_causal_self_attention_matches_torch(B, T, C, H):
    torch.manual_seed(T)
    mha = attention.MultiHeadAttention(C, H)
    x = torch.randn(B, T, C, generator=generator(C))
    allowed = torch.ones(T, T, dtype=torch.bool).tril()
    with forbid(
        SDPA,
        exercise="w04.mha",
        instead="your scaled_dot_product_attention (matrix products, 1/sqrt(D), softmax)",
    ):
        out, weights = mha(x, mask=allowed)
    expected, exp_w = oracle_for(mha, C, H)(x, x, x, attn_mask=~allowed, average_attn_weights=False)
    hint = "q, k, v projections, split_heads, attention per head, merge_heads, then out_proj"
    assert_close(
        out, expected, what=f"MultiHeadAttention({C}, {H})(x {(B, T, C)}, causal)", hint=hint
    )
    assert_close(
        weights,
        exp_w,
        what="the (B, H, T, T) attention weights",
        hint="return the per-head weights from your sdpa",
    )


def test_heads_are_independent_channel_groups():
    """Zeroing head 1's slice of the value projection changes only head 1's contribution."""
    torch.manual_seed(0)
    mha = attention.MultiHeadAttention(12, 3)
    x = torch.randn(2, 5, 12, generator=generator(1))
    with forbid(
        SDPA,
        exercise="w04.mha",
        instead="your scaled_dot_product_attention (matrix products, 1/sqrt(D), softmax)",
    ):
        _, w1 = mha(x)
        with torch.no_grad():
            mha.q_proj.weight[4:8] = 0  # head 1's queries -> uniform weights for head 1 only
            mha.q_proj.bias[4:8] = 0
        _, w2 = mha(x)
    assert_close(
        w2[:, [0, 2]],
        w1[:, [0, 2]],
        what="heads 0 and 2 after zeroing head 1's queries",
        hint="head h owns channels h*D..(h+1)*D-1: use split_heads",
    )
    assert_close(
        w2[:, 1],
        torch.full((2, 5, 5), 0.2),
        what="head 1 weights with zero queries",
        hint="zero queries give equal scores, so uniform weights 1/T",
    )
