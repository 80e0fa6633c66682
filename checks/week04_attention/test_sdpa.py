"""Checks for w04.sdpa: batched scaled dot-product attention with causal and padding masks."""

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
    attention.scaled_dot_product_attention,
    forbid=(SDPA,),
    exercise="w04.sdpa",
    instead="q @ k.transpose(-2, -1), the 1/sqrt(D) scale, masked_fill and softmax",
)


def likely_cause(q, k, v, mask, out) -> str:
    """Name the one mistake whose output matches `out`, else say which step to compare."""
    D, Tk = q.size(-1), k.size(-2)

    def attend(scale=D**-0.5, blocked="~mask", dim=-1):
        s = q @ k.transpose(-2, -1) * scale
        if mask is not None and blocked == "~mask":
            s = s.masked_fill(~mask, float("-inf"))
        elif mask is not None and blocked == "mask":
            s = s.masked_fill(mask, float("-inf"))
        return torch.softmax(s, dim=dim).nan_to_num() @ v

    variants = {
        "the scores are not scaled by 1/sqrt(D)": attend(scale=1.0),
        "the scores are divided by D instead of sqrt(D)": attend(scale=1 / D),
        "the scores are divided by sqrt(Tk), the number of keys, not sqrt(D)": attend(
            scale=Tk**-0.5
        ),
        "the mask is ignored": attend(blocked="none"),
        "the mask is inverted: True means allowed, so fill ~mask with -inf": attend(blocked="mask"),
        "softmax over the queries (dim -2) instead of the keys (dim -1)": attend(dim=-2),
    }
    if mask is not None:
        w = torch.softmax(q @ k.transpose(-2, -1) * D**-0.5, dim=-1) * mask
        variants[
            "the mask is applied after the softmax: rows no longer sum to 1; fill the "
            "scores with -inf before the softmax"
        ] = w @ v
    for cause, want in variants.items():
        if out.shape == want.shape and torch.allclose(out.nan_to_num(), want, atol=1e-5):
            return cause
    return "compare step by step: q @ k^T / sqrt(D), masked_fill(~mask, -inf), softmax(dim=-1), @ v"


def causal(T):
    return torch.ones(T, T, dtype=torch.bool).tril()


def qkv(B, H, T, D, seed, scale=1.0):
    g = generator(seed)
    return tuple(torch.randn(B, H, T, D, generator=g) * scale for _ in range(3))


@pytest.mark.parametrize("B,H,T,D", [(1, 1, 1, 4), (2, 3, 7, 5), (3, 2, 10, 16)])
@pytest.mark.parametrize("use_mask", [False, True])
def test_matches_torch_sdpa(B, H, T, D, use_mask):
    q, k, v = qkv(B, H, T, D, B * T + D)
    mask = causal(T) if use_mask else None
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    out, weights = run(q, k, v, mask)
    hint = likely_cause(q, k, v, mask, out)
    assert_close(
        out,
        expected,
        what=f"scaled_dot_product_attention(q {(B, H, T, D)}, mask={'causal' if use_mask else None})",
        hint=hint,
    )
    assert_close(
        weights.sum(-1),
        torch.ones(B, H, T),
        what="weights.sum(-1)",
        hint="softmax over the keys, the last dim",
    )


def test_missing_scale_is_caught():
    """With D = 64 and unit-variance q, k the raw scores have std 8; dividing by sqrt(64) brings them to 1."""
    q, k, v = qkv(2, 2, 6, 64, 3)
    out, weights = run(q, k, v)
    expected = torch.softmax(q @ k.transpose(-2, -1) / 8.0, dim=-1)
    assert_close(
        out,
        expected @ v,
        atol=1e-5,
        what="attention output for D=64",
        hint=likely_cause(q, k, v, None, out),
    )
    assert_close(
        weights,
        expected,
        atol=1e-5,
        what="attention weights for D=64",
        hint="the output is right but the weights are not: return the softmax weights (rows sum "
        "to 1) that multiplied v, scaled by 1/sqrt(D) = 1/8",
    )


def test_softmax_runs_over_keys_not_queries():
    q, k, v = qkv(1, 1, 5, 4, 4)
    k = k[..., :3, :]  # Tq = 5 queries, Tk = 3 keys: softmax over the wrong dim has the wrong rows
    v = v[..., :3, :]
    _, weights = run(q, k, v)
    assert_close(
        weights.sum(-1),
        torch.ones(1, 1, 5),
        what="weights.sum(-1) with 5 queries and 3 keys",
        hint="softmax over the last dim (keys), not dim -2 (queries)",
    )


def test_perturbing_future_tokens_never_changes_earlier_outputs():
    q, k, v = qkv(2, 2, 9, 8, 5)
    out, _ = run(q, k, v, causal(9))
    k2, v2 = k.clone(), v.clone()
    k2[..., 6:, :] += 5.0
    v2[..., 6:, :] -= 5.0
    out2, _ = run(q, k2, v2, causal(9))
    assert_close(
        out2[..., :6, :],
        out[..., :6, :],
        what="outputs 0..5 after changing keys/values 6..8",
        hint="blocked positions must be -inf before the softmax",
    )


def test_padding_positions_get_exactly_zero_weight():
    q, k, v = qkv(2, 1, 6, 4, 6, scale=10.0)  # large scores: a -1e4 fill would still leak
    lengths = torch.tensor([6, 3])
    keep = (torch.arange(6)[None] < lengths[:, None])[:, None, None, :]  # (B, 1, 1, T)
    _, weights = run(q, k, v, keep)
    leaked = weights[1, :, :, 3:]
    assert_close(
        weights.sum(-1),
        torch.ones(2, 1, 6),
        what="weights.sum(-1) with padded keys",
        hint="rows must sum to 1 over the allowed keys: mask the scores with -inf before the "
        "softmax, not the weights after it",
    )
    assert (leaked == 0).all(), (
        f"padding keys got weight up to {leaked.max().item():.3g}; fill blocked scores with -inf"
    )
