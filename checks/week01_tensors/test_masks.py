"""Checks for w01.masks: causal mask, padding mask and the additive attention bias."""

import pytest
import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

masks = load("week01_tensors.masks")

OFF_BY_ONE = (
    "position t must see itself (diagonal True) and never t + 1 (above the diagonal False): "
    "check the diagonal offset of tril/triu"
)


def test_causal_mask_known_answer():
    expected = torch.tensor([[True, False, False], [True, True, False], [True, True, True]])
    assert_close(masks.causal_mask(3), expected, what="causal_mask(3)", hint=OFF_BY_ONE)


@pytest.mark.parametrize("T", [1, 2, 7, 16])
def test_causal_mask_never_lets_t_see_t_plus_1(T):
    mask = masks.causal_mask(T)
    i = torch.arange(T)
    expected = i[None, :] <= i[:, None]  # key j allowed for query i iff j <= i
    assert_close(mask, expected, what=f"causal_mask({T})", hint=OFF_BY_ONE)


def test_padding_mask_known_answer():
    out = masks.padding_mask(torch.tensor([2, 3]), 4)
    expected = torch.tensor([[True, True, False, False], [True, True, True, False]])
    assert_close(
        out,
        expected,
        what="padding_mask(lengths=[2, 3], T=4)",
        hint="a row of length L has real tokens at 0..L-1: compare position < length",
    )


def test_padding_mask_randomised():
    lengths = torch.randint(1, 12, (7,), generator=generator(5))
    out = masks.padding_mask(lengths, 11)
    expected = torch.stack([torch.tensor([t < L for t in range(11)]) for L in lengths.tolist()])
    assert_close(out, expected, what=f"padding_mask(lengths={lengths.tolist()}, T=11)")


def test_attention_bias_values_are_zero_or_minus_inf():
    bias = masks.attention_bias(torch.tensor([3, 5]), 5)
    assert tuple(bias.shape) == (2, 1, 5, 5), (
        f"attention_bias: expected shape (2, 1, 5, 5), got {tuple(bias.shape)}"
    )
    assert bias.dtype == torch.float32, (
        f"attention_bias: expected float32 by default, got {bias.dtype}"
    )
    ok = (bias == 0) | (bias == float("-inf"))
    assert ok.all(), (
        f"attention_bias: every entry must be 0 (allowed) or -inf (blocked); found {bias[~ok][0].item()}. "
        "A large negative number like -1e9 still leaks a little weight after softmax"
    )


@pytest.mark.parametrize("causal", [True, False])
def test_attention_bias_matches_sdpa_with_boolean_mask(causal):
    """Oracle: torch's SDPA with a boolean mask must give the same output as with our additive bias."""
    g = generator(21)
    B, H, T, D = 3, 2, 7, 5
    lengths = torch.tensor([7, 4, 1])
    q, k, v = (torch.randn(B, H, T, D, generator=g) for _ in range(3))
    allowed = (
        torch.arange(T)[None, None, None, :] < lengths[:, None, None, None]
    )  # keys (B, 1, 1, T)
    if causal:
        allowed = allowed & torch.ones(T, T, dtype=torch.bool).tril()
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    got = F.scaled_dot_product_attention(
        q, k, v, attn_mask=masks.attention_bias(lengths, T, causal=causal)
    )
    assert_close(
        got,
        expected,
        atol=1e-5,
        what=f"attention with attention_bias(lengths={lengths.tolist()}, T={T}, causal={causal})",
        hint="block keys at padding positions (columns j >= length) and, if causal, keys j > i; "
        "padded query rows are not blocked themselves",
    )


def test_attention_bias_respects_dtype():
    bias = masks.attention_bias(torch.tensor([2]), 3, dtype=torch.float64)
    assert bias.dtype == torch.float64, f"attention_bias(dtype=torch.float64) returned {bias.dtype}"
