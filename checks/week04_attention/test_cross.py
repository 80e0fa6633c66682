"""Checks for w04.cross: cross-attention to a padded context, against nn.MultiheadAttention."""

import torch
import torch.nn as nn

from roadmap.checking import assert_close, forbid, generator
from roadmap.impl import load

attention = load("week04_attention.attention")


def test_cross_attention_matches_torch_with_key_padding_mask():
    torch.manual_seed(0)
    B, Tq, Tk, C, H = 3, 4, 7, 12, 2
    mha = attention.MultiHeadAttention(C, H)
    g = generator(1)
    x, ctx = torch.randn(B, Tq, C, generator=g), torch.randn(B, Tk, C, generator=g)
    lengths = torch.tensor([7, 3, 1])
    with forbid(
        "torch.nn.functional.scaled_dot_product_attention",
        exercise="w04.cross",
        instead="your scaled_dot_product_attention (matrix products, 1/sqrt(D), softmax)",
    ):
        out, weights = attention.cross_attention(mha, x, ctx, lengths)
    theirs = nn.MultiheadAttention(C, H, batch_first=True).eval()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(
            torch.cat([mha.q_proj.weight, mha.k_proj.weight, mha.v_proj.weight])
        )
        theirs.in_proj_bias.copy_(torch.cat([mha.q_proj.bias, mha.k_proj.bias, mha.v_proj.bias]))
        theirs.out_proj.load_state_dict(mha.out_proj.state_dict())
    pad = torch.arange(Tk)[None] >= lengths[:, None]  # torch: True = ignore
    expected, _ = theirs(x, ctx, ctx, key_padding_mask=pad)
    variants = {
        "padded context keys are not masked (padding_mask(context_lengths, Tk) as (B, 1, 1, Tk))": (
            theirs(x, ctx, ctx)[0]
        ),
        "a causal mask was added: cross-attention lets every query read the whole real context": (
            theirs(x, ctx, ctx, key_padding_mask=pad, attn_mask=~torch.ones(Tq, Tk).tril().bool())[
                0
            ].nan_to_num()
        ),
        "keys and values come from x: pass context=context to mha": theirs(x, x, x)[0],
    }
    hint = next(
        (cause for cause, want in variants.items() if torch.allclose(out, want, atol=1e-5)),
        "queries from x, keys/values from context; mask only the padded context keys "
        "(B, 1, 1, Tk) from context_lengths, no causal mask",
    )
    assert_close(
        out,
        expected,
        what="cross_attention(mha, x (3, 4, 12), context (3, 7, 12), lengths [7, 3, 1])",
        hint=hint,
    )
    assert tuple(weights.shape) == (B, H, Tq, Tk), (
        f"weights should be (B, H, Tq, Tk) = {(B, H, Tq, Tk)}, got {tuple(weights.shape)}"
    )
    assert (weights[2, :, :, 1:] == 0).all(), (
        "a context of length 1: every query must put all its weight on key 0"
    )
