"""Checks for w01.shapes: split/merge heads, broadcasting positions, gathering the last token."""

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

shapes = load("week01_tensors.shapes")


def test_split_heads_known_answer():
    """x = arange(12) as (1, 1, 12) with H = 3: head h holds channels 4h..4h+3.

    So out[0, 1, 0] = [4, 5, 6, 7] and out[0, 2, 0] = [8, 9, 10, 11].
    """
    x = torch.arange(12.0).view(1, 1, 12)
    out = shapes.split_heads(x, 3)
    expected = torch.arange(12.0).view(1, 3, 1, 4)
    assert_close(
        out,
        expected,
        what="split_heads(arange(12).view(1, 1, 12), n_head=3)",
        hint="head h holds the contiguous channels h*D .. (h+1)*D - 1: view as (B, T, H, D), "
        "then transpose(1, 2)",
    )


@pytest.mark.parametrize("B,T,C,H", [(1, 1, 4, 1), (2, 7, 12, 3), (3, 5, 30, 5), (4, 9, 20, 4)])
def test_split_heads_puts_channel_slices_in_heads(B, T, C, H):
    x = torch.randn(B, T, C, generator=generator(B * 100 + T))
    out = shapes.split_heads(x, H)
    D = C // H
    expected = torch.stack([x[:, :, h * D : (h + 1) * D] for h in range(H)], dim=1)  # (B, H, T, D)
    assert_close(
        out,
        expected,
        atol=0,
        rtol=0,
        what=f"split_heads(x of (B={B}, T={T}, C={C}), n_head={H})",
        hint="view as (B, T, H, D) and then transpose(1, 2); a direct view(B, H, T, D) mixes time "
        "steps and heads",
    )


@pytest.mark.parametrize("B,T,C,H", [(1, 3, 6, 2), (2, 7, 12, 3), (5, 4, 30, 6)])
def test_merge_heads_inverts_split_heads(B, T, C, H):
    x = torch.randn(B, T, C, generator=generator(7 * C + H))
    back = shapes.merge_heads(shapes.split_heads(x, H))
    assert_close(
        back,
        x,
        atol=0,
        rtol=0,
        what=f"merge_heads(split_heads(x, {H})) for x (B={B}, T={T}, C={C})",
        hint="transpose(1, 2) back to (B, T, H, D) before flattening H and D; .view needs "
        ".contiguous() after a transpose (or use .reshape)",
    )


def test_merge_heads_on_a_transposed_layout():
    """A (B, H, T, D) tensor made by permute is non-contiguous; merge_heads must still work."""
    y = torch.randn(2, 6, 3, 4, generator=generator(3)).permute(0, 2, 1, 3)  # (B=2, H=3, T=6, D=4)
    out = shapes.merge_heads(y)
    expected = torch.cat([y[:, h] for h in range(3)], dim=-1)  # (B, T, H*D)
    assert_close(
        out,
        expected,
        atol=0,
        rtol=0,
        what="merge_heads(y) for a permuted (2, 3, 6, 4) y",
        hint="a .view after a transpose fails on non-contiguous memory; use .reshape",
    )


@pytest.mark.parametrize("B,T,T_max,C", [(1, 1, 4, 3), (3, 5, 8, 7), (2, 8, 8, 16)])
def test_add_positions_broadcasts_over_batch(B, T, T_max, C):
    g = generator(T_max * 10 + C)
    tok, pos = torch.randn(B, T, C, generator=g), torch.randn(T_max, C, generator=g)
    out = shapes.add_positions(tok, pos)
    expected = torch.stack([torch.stack([tok[b, t] + pos[t] for t in range(T)]) for b in range(B)])
    assert_close(
        out,
        expected,
        what=f"add_positions(tok (B={B}, T={T}, C={C}), pos ({T_max}, {C}))",
        hint="use the first T rows of pos: pos[:T] broadcasts against (B, T, C)",
    )


def test_gather_last_known_answer():
    """x[b, t] = 10*b + t as (2, 4, 1); lengths [2, 4] pick t = 1 and t = 3: values 1 and 13."""
    x = (10 * torch.arange(2)[:, None] + torch.arange(4)[None, :]).float()[:, :, None]
    out = shapes.gather_last(x, torch.tensor([2, 4]))
    assert_close(
        out,
        torch.tensor([[1.0], [13.0]]),
        what="gather_last(x, lengths=[2, 4])",
        hint="the last real token of a row of length L sits at index L - 1, not L",
    )


def test_gather_last_randomised():
    g = generator(11)
    B, T, C = 6, 9, 5
    x = torch.randn(B, T, C, generator=g)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    out = shapes.gather_last(x, lengths)
    expected = torch.stack([x[b, lengths[b] - 1] for b in range(B)])
    assert_close(
        out,
        expected,
        atol=0,
        rtol=0,
        what=f"gather_last(x (6, 9, 5), lengths={lengths.tolist()})",
        hint="index with torch.arange(B) and lengths - 1 together; x[:, lengths - 1] takes "
        "every length for every row",
    )
