"""Attention in torch: one head, scaled dot-product with masks, multi-head, cross-attention.

attention(Q, K, V) = softmax(Q K^T / sqrt(D)) V  (Vaswani et al. 2017, "Attention Is All You Need").
Masks are boolean and True where attention is allowed (week 01's convention); split_heads and
merge_heads come from week 01's reference.
Check: `python tracker.py check w04.single_head` (then w04.sdpa, w04.mha, w04.cross)
"""

import math

import torch
import torch.nn as nn

from solutions.week01_tensors.masks import padding_mask
from solutions.week01_tensors.shapes import merge_heads, split_heads


def single_head_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """One head, no mask: softmax(q k^T / sqrt(D)) v.

    Args:
        q: (Tq, D) queries; k: (Tk, D) keys; v: (Tk, Dv) values.

    Returns:
        (Tq, Dv): row i is an average of the rows of v, weighted by how well q[i] matches each key.

    Example: q = [[1, 0]], k = [[1, 0], [0, 1]], v = [[1.], [3.]]: scores [1, 0] / sqrt(2),
        weights softmax([0.7071, 0]) = [0.6698, 0.3302], out = [[0.6698 + 3 * 0.3302]] = [[1.6605]].

    Built from scratch: the check switches off F.scaled_dot_product_attention while it runs.
    """
    # scores (Tq, Tk): similarity of every query with every key, scaled so their variance is ~1
    scores = q @ k.T / math.sqrt(q.size(-1))
    weights = torch.softmax(scores, dim=-1)  # subtle: normalise over keys, the last dim
    return weights @ v


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched attention with an optional boolean mask; returns the output and the weights.

    Args:
        q: (..., Tq, D), e.g. (B, H, Tq, D).
        k: (..., Tk, D).
        v: (..., Tk, Dv).
        mask: bool, broadcastable to (..., Tq, Tk), True where query i may attend to key j.
            Every query row must allow at least one key.

    Returns:
        out (..., Tq, Dv) and weights (..., Tq, Tk): rows sum to 1, exactly 0 where masked.

    Example: single_head_attention's q, k, v with mask [[True, False]] -> weights [[1, 0]],
    out [[1.]]; with mask None, weights [[0.6698, 0.3302]] and out [[1.6605]] as there.

    Built from scratch: the check switches off F.scaled_dot_product_attention while it runs.
    """
    # blocked scores become -inf before the softmax, so their weight is exactly 0
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """H heads of size D = C / H side by side, then an output projection that mixes them.

    With `context` it is cross-attention: queries from x, keys and values from context.
    Parameter names follow nn.MultiheadAttention's split layout (q_proj, k_proj, v_proj, out_proj).
    """

    def __init__(self, n_embd: int, n_head: int, bias: bool = True):
        super().__init__()
        assert n_embd % n_head == 0, f"n_embd={n_embd} is not divisible by n_head={n_head}"
        self.n_head = n_head
        self.q_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.k_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.v_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.out_proj = nn.Linear(n_embd, n_embd, bias=bias)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Multi-head attention from x to itself, or to `context`.

        Args:
            x: (B, Tq, C) the sequence asking the questions.
            context: (B, Tk, C) the sequence answering them; None means x (self-attention).
            mask: bool, broadcastable to (B, H, Tq, Tk), True where allowed.

        Returns:
            out (B, Tq, C) and the weights (B, H, Tq, Tk) of every head; out equals
            nn.MultiheadAttention's with the same q/k/v/out projection weights.

        Example: MultiHeadAttention(12, 3) on x (2, 5, 12) with a causal (5, 5) mask gives out
        (2, 5, 12) and weights (2, 3, 5, 5) that are 0 above the diagonal; with context
        (2, 7, 12) the weights are (2, 3, 5, 7).

        The check switches off F.scaled_dot_product_attention: use your own.
        """
        # project, split C into H heads of D, attend per head, merge, then mix the heads
        kv = x if context is None else context
        q = split_heads(self.q_proj(x), self.n_head)  # (B, H, Tq, D)
        k = split_heads(self.k_proj(kv), self.n_head)  # (B, H, Tk, D)
        v = split_heads(self.v_proj(kv), self.n_head)  # (B, H, Tk, D)
        y, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, Tq, D)
        return self.out_proj(merge_heads(y)), weights


def cross_attention(
    mha: MultiHeadAttention,
    x: torch.Tensor,
    context: torch.Tensor,
    context_lengths: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-attention from x to a right-padded batch of context sequences.

    Args:
        mha: the attention module.
        x: (B, Tq, C) queries, e.g. the decoder's positions.
        context: (B, Tk, C), e.g. the encoder's output; row b is real up to context_lengths[b].
        context_lengths: (B,) int64, each >= 1.

    Returns:
        out (B, Tq, C) and weights (B, H, Tq, Tk), zero on padded context positions.

    Example: context_lengths [7, 3, 1] with Tk=7: row 1's weights are 0 on keys 3..6 and row 2
    puts weight 1 on key 0, for every head and query; no key is blocked for being "later".
    """
    # only the keys are masked, and not causally: every query may read the whole real context
    keep = padding_mask(context_lengths, context.size(1))[:, None, None, :]  # (B, 1, 1, Tk)
    return mha(x, context=context, mask=keep)
