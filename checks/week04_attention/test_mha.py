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


def hand_wired(mha, x, context=None, mask=None, **wrong) -> torch.Tensor:
    """The module's own weights wired by hand; `wrong` switches on one known mistake."""
    H = 1 if wrong.get("one_head") else mha.n_head
    kv = x if context is None or wrong.get("kv_from_x") else context
    q_in = kv if wrong.get("q_from_context") else x
    v_proj = mha.k_proj if wrong.get("v_from_k") else mha.v_proj
    B, _, C = x.shape
    D = C // H

    def split(t):
        return t.view(B, -1, H, D).transpose(1, 2)

    q, k, v = split(mha.q_proj(q_in)), split(mha.k_proj(kv)), split(v_proj(kv))
    s = q @ k.transpose(-2, -1) / (1.0 if wrong.get("no_scale") else D**0.5)
    if mask is not None and not wrong.get("no_mask"):
        s = s.masked_fill(~mask, float("-inf"))
    y = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, -1, C)
    return y if wrong.get("no_out_proj") else mha.out_proj(y)


CAUSES = {
    "kv_from_x": "keys and values come from x, not from `context`",
    "q_from_context": "the queries come from `context`; they must come from x",
    "v_from_k": "the values use k_proj; they must be v_proj(context)",
    "no_scale": "the scores are not scaled by 1/sqrt(D), D = C / H the head width",
    "no_mask": "the mask is not applied (pass it on to scaled_dot_product_attention)",
    "no_out_proj": "the heads are merged but out_proj is never applied",
    "one_head": "one head of width C instead of n_head heads of C / n_head",
}


def likely_cause(mha, x, out, context=None, mask=None) -> str:
    with torch.no_grad():
        for key, cause in CAUSES.items():
            try:
                want = hand_wired(mha, x, context, mask, **{key: True})
            except RuntimeError:
                continue
            if want.shape == out.shape and torch.allclose(out, want, atol=1e-5):
                return cause
    return "compare step by step: q, k, v projections, split_heads, attention per head, merge, out_proj"


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
    hint = likely_cause(mha, x, out.detach(), mask=allowed)
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


def test_context_gives_keys_and_values_and_the_mask_is_applied():
    """Cross-attention: queries from x (Tq = 4), keys and values from context (Tk = 6), with an
    arbitrary (not causal) mask that leaves every query at least one key. Oracle:
    nn.MultiheadAttention(x, context, context) with the same weights and mask."""
    torch.manual_seed(1)
    B, Tq, Tk, C, H = 2, 4, 6, 12, 3
    mha = attention.MultiHeadAttention(C, H)
    g = generator(2)
    x, ctx = torch.randn(B, Tq, C, generator=g), torch.randn(B, Tk, C, generator=g)
    allowed = torch.rand(Tq, Tk, generator=g) < 0.5
    allowed[:, 0] = True
    with forbid(
        SDPA,
        exercise="w04.mha",
        instead="your scaled_dot_product_attention (matrix products, 1/sqrt(D), softmax)",
    ):
        try:
            out, weights = mha(x, context=ctx, mask=allowed)
        except NotImplementedError:
            raise
        except RuntimeError as e:
            raise AssertionError(
                f"mha(x (2, 4, 12), context=(2, 6, 12), mask (4, 6)) failed: {e}; likely cause: "
                "the queries must come from x, keys and values from context (q_proj(x), "
                "k_proj(context), v_proj(context))"
            ) from None
    expected, exp_w = oracle_for(mha, C, H)(
        x, ctx, ctx, attn_mask=~allowed, average_attn_weights=False
    )
    assert tuple(out.shape) == (B, Tq, C), (
        f"mha(x (2, 4, 12), context=(2, 6, 12)) returned shape {tuple(out.shape)}, expected "
        "(2, 4, 12): one output per query of x"
    )
    assert_close(
        out,
        expected,
        what="MultiHeadAttention(12, 3)(x (2, 4, 12), context (2, 6, 12), random mask)",
        hint=likely_cause(mha, x, out.detach(), context=ctx, mask=allowed),
    )
    assert_close(weights, exp_w, what="the (B, H, Tq, Tk) weights with context and mask")
