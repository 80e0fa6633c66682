"""Checks for w07.rope: the cos/sin cache and rotating interleaved pairs of q and k.

Oracles: hand-computed angles; transformers' LlamaRotaryEmbedding and apply_rotary_pos_emb, which
pair x[i] with x[i + D/2], so the check moves features between the two layouts around the call;
properties (norms kept, scores depend only on the position difference, start_pos for decoding).
"""

import math

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from ._hf import from_half_features, hf_rope, to_half_features

mod = load("week07_architectures.rope")

PAIRING = (
    "pairs are neighbours (x[2i], x[2i+1]) (unflatten the last dim to (D/2, 2)); splitting the head "
    "into halves (x[i], x[i + D/2]) is transformers' rotate_half layout, not this one"
)


def test_rope_cache_known_answer():
    """head_dim=4, base=100: pair frequencies 100^(-0/4) = 1 and 100^(-2/4) = 0.1.

    Positions 0, 1, 2 give angles [0, 0], [1, 0.1], [2, 0.2].
    """
    cos, sin = mod.rope_cache(4, 3, base=100.0)
    angles = torch.tensor([[0.0, 0.0], [1.0, 0.1], [2.0, 0.2]])
    hint = "frequency of pair i is base^(-2i/D) = base^(-arange(0, D, 2)/D); angle = position * frequency"
    assert_close(cos, angles.cos(), what="rope_cache(4, 3, base=100)[0] (cos)", hint=hint)
    assert_close(sin, angles.sin(), what="rope_cache(4, 3, base=100)[1] (sin)", hint=hint)


def test_rope_cache_matches_transformers():
    """transformers' cos is (1, T, D) with the D/2 frequencies repeated twice; ours is (T, D/2)."""
    D, T = 10, 13
    cos, sin = mod.rope_cache(
        D, T, base=500.0
    )  # the learner's first: transformers loads in seconds
    cos_hf, sin_hf = hf_rope(D, T, base=500.0)
    assert_close(cos, cos_hf[0, :, : D // 2], what=f"rope_cache({D}, {T}, base=500) cos")
    assert_close(sin, sin_hf[0, :, : D // 2], what=f"rope_cache({D}, {T}, base=500) sin")


def test_apply_rope_known_answer_rotates_neighbour_pairs():
    """D=4, base=100, start_pos=1: pair (x0, x1) turns by 1 rad, pair (x2, x3) by 0.1 rad.

    x = [1, 0, 0, 2] -> [cos 1, sin 1, -2 sin 0.1, 2 cos 0.1].
    Half-split pairing rotates (x0, x2) and (x1, x3) instead: [cos 1, -2 sin 0.1, sin 1, 2 cos 0.1].
    """
    cos, sin = mod.rope_cache(4, 4, base=100.0)
    x = torch.tensor([1.0, 0.0, 0.0, 2.0]).view(1, 1, 1, 4)
    got = mod.apply_rope(x, cos, sin, start_pos=1)
    c1, s1, c01, s01 = math.cos(1), math.sin(1), math.cos(0.1), math.sin(0.1)
    expected = torch.tensor([c1, s1, -2 * s01, 2 * c01]).view(1, 1, 1, 4)
    half_split = torch.tensor([c1, -2 * s01, s1, 2 * c01]).view(1, 1, 1, 4)
    # the likely cause comes from what the wrong answer looks like
    if torch.allclose(got, x):
        hint = (
            "apply_rope returned x unchanged (the angle of position 0): rotate each pair by the "
            "angle of its position start_pos + t"
        )
    elif torch.allclose(got, half_split, atol=1e-5):
        hint = PAIRING
    elif torch.allclose(got.norm(), expected.norm(), atol=1e-5):
        hint = "each pair (a, b) -> (a cos - b sin, a sin + b cos): check the signs and start_pos"
    else:
        hint = "a rotation keeps each pair's length: (a, b) -> (a cos - b sin, a sin + b cos)"
    assert_close(got, expected, what="apply_rope([1, 0, 0, 2], start_pos=1, base=100)", hint=hint)


@pytest.mark.parametrize("B,H,T,D", [(1, 1, 5, 2), (2, 3, 7, 10), (3, 2, 9, 16)])
def test_apply_rope_matches_transformers_after_layout_change(B, H, T, D):
    """ours(x) == from_half(transformers_rope(to_half(x))): same rotation, pairs stored differently."""
    g = generator(B * 100 + T * 10 + D)
    q = torch.randn(B, H, T, D, generator=g)
    k = torch.randn(B, H, T, D, generator=g)
    cos, sin = mod.rope_cache(D, T)  # the learner's first: transformers takes seconds to import
    ours = {"q": mod.apply_rope(q, cos, sin), "k": mod.apply_rope(k, cos, sin)}
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    cos_hf, sin_hf = hf_rope(D, T)
    q_hf, k_hf = apply_rotary_pos_emb(to_half_features(q), to_half_features(k), cos_hf, sin_hf)
    for name, x, want in (("q", q, q_hf), ("k", k, k_hf)):
        assert_close(
            ours[name],
            from_half_features(want),
            what=f"apply_rope({name} {tuple(x.shape)})",
            hint=PAIRING,
        )


def test_apply_rope_keeps_vector_lengths_and_position_zero():
    """A rotation keeps every pair's length, and position 0 (angle 0) is the identity."""
    x = torch.randn(2, 3, 6, 8, generator=generator(5))
    cos, sin = mod.rope_cache(8, 16)
    y = mod.apply_rope(x, cos, sin)
    assert_close(
        y.norm(dim=-1),
        x.norm(dim=-1),
        what="|apply_rope(x)| per head vector",
        hint="each pair (a, b) -> (a cos - b sin, a sin + b cos); check the signs",
    )
    assert_close(y[:, :, 0], x[:, :, 0], what="apply_rope(x) at position 0 (angle 0)")


def test_scores_depend_only_on_the_position_difference():
    """<rope(q, m), rope(k, n)> is a function of m - n: (5, 2) and (11, 8) give the same score."""
    D = 12
    cos, sin = mod.rope_cache(D, 32)
    q = torch.randn(1, 1, 1, D, generator=generator(1))
    k = torch.randn(1, 1, 1, D, generator=generator(2))

    def score(m: int, n: int) -> torch.Tensor:
        qm = mod.apply_rope(q, cos, sin, start_pos=m)
        kn = mod.apply_rope(k, cos, sin, start_pos=n)
        return (qm * kn).sum()

    assert_close(
        score(11, 8),
        score(5, 2),
        what="q.k at positions (11, 8) vs (5, 2)",
        hint="rotate q and k by the same rule; the angle must be position * frequency",
    )
    assert (score(5, 2) - score(5, 4)).abs() > 1e-4, (
        "q.k at (5, 2) equals q.k at (5, 4): the rotation ignores the position; "
        "likely cause: start_pos not used or cos/sin not sliced by position"
    )


def test_start_pos_matches_the_full_sequence():
    """Decoding: rotating x[t:] with start_pos=t equals the tail of rotating the whole sequence."""
    x = torch.randn(2, 2, 9, 6, generator=generator(7))
    cos, sin = mod.rope_cache(6, 20)
    full = mod.apply_rope(x, cos, sin)
    hint = (
        "use cos[start_pos : start_pos + T] (the token at index t sits at position start_pos + t)"
    )
    assert_close(
        mod.apply_rope(x[:, :, 4:], cos, sin, start_pos=4),
        full[:, :, 4:],
        what="apply_rope(x[:, :, 4:], start_pos=4)",
        hint=hint,
    )
    assert_close(
        mod.apply_rope(x[:, :, 8:9], cos, sin, start_pos=8),
        full[:, :, 8:9],
        what="apply_rope(one token, start_pos=8)",
        hint=hint,
    )


def test_bfloat16_input_stays_bfloat16():
    """The docstring promises x's dtype back: float32 tables must not promote a bf16 x."""
    x = torch.randn(1, 2, 5, 8, generator=generator(9)).to(torch.bfloat16)
    cos, sin = mod.rope_cache(8, 5)
    got = mod.apply_rope(x, cos, sin)
    assert got.dtype == torch.bfloat16, (
        f"apply_rope(x bf16) returned {got.dtype}; likely cause: the float32 cos/sin tables promote "
        "the product: cast the sliced tables to x.dtype first (same dtype as x)"
    )
    assert_close(
        got.float(),
        mod.apply_rope(x.float(), cos, sin),
        what="apply_rope(x bf16) vs float32",
        atol=3e-2,
        rtol=3e-2,
    )
