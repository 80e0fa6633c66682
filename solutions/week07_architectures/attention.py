"""Grouped-query attention (GQA) with RoPE: fewer key/value heads than query heads.

H query heads share n_kv_head key/value heads in groups of H / n_kv_head (query heads 0..g-1 use
KV head 0, the next g use KV head 1, ...). n_kv_head = H is ordinary multi-head attention (MHA),
n_kv_head = 1 is multi-query attention (MQA). The KV cache shrinks by the same factor H / n_kv_head.
q, k and v come from one fused projection `wqkv` whose output rows are [q (H*D), k (KV*D), v (KV*D)],
the layout of Phi-3's qkv_proj.
Papers: Ainslie et al. 2023, GQA, https://arxiv.org/abs/2305.13245; Shazeer 2019, MQA,
https://arxiv.org/abs/1911.02150
Check: `python tracker.py check w07.gqa`
"""

import math

import torch
from torch import nn

from .rope import apply_rope


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Repeat each KV head n_rep times in place, so KV head h serves query heads h*n_rep .. h*n_rep+n_rep-1.

    Args:
        x: (B, KV, T, D) keys or values.
        n_rep: H / KV, the number of query heads per KV head.

    Returns:
        (B, KV * n_rep, T, D).

    Example: KV heads [a, b], n_rep=2 -> [a, a, b, b] (not [a, b, a, b]).
    """
    # subtle: each head repeated next to itself (repeat_interleave), matching the query grouping
    B, KV, T, D = x.shape
    return x[:, :, None].expand(B, KV, n_rep, T, D).reshape(B, KV * n_rep, T, D)


class Attention(nn.Module):
    """Causal self-attention with H query heads, n_kv_head key/value heads and rotary positions."""

    def __init__(self, dim: int, n_head: int, n_kv_head: int) -> None:
        super().__init__()
        assert dim % n_head == 0, "dim must be divisible by n_head"
        assert n_head % n_kv_head == 0, "n_head must be a multiple of n_kv_head"
        self.n_head = n_head
        self.n_kv_head = n_kv_head
        self.head_dim = dim // n_head
        self.wqkv = nn.Linear(dim, (n_head + 2 * n_kv_head) * self.head_dim, bias=False)
        self.wo = nn.Linear(n_head * self.head_dim, dim, bias=False)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Attend over x with RoPE on q and k and the given mask.

        Args:
            x: (B, T, C).
            cos, sin: (max_len, D/2) rope tables (rope_cache), positions 0 .. T-1 are used.
            mask: (T, T) bool, True where query i may attend to key j (causal or sliding window).

        Returns:
            (B, T, C): wo of the merged heads of softmax(q k^T / sqrt(D)) v, blocked scores at
            -inf, with q and k rotated by apply_rope (positions 0 .. T-1) and KV head g serving
            query heads g * H/KV .. (g + 1) * H/KV - 1.

        Example: Attention(32, n_head=4, n_kv_head=2) on x (2, 7, 32) with a causal mask gives
        (2, 7, 32), and out[:, t] depends on x[:, :t + 1] only; with n_kv_head = n_head it is
        ordinary multi-head attention with RoPE.
        """
        # project once, split heads, rotate q and k, share each KV head across its query group
        B, T, _ = x.shape
        H, KV, D = self.n_head, self.n_kv_head, self.head_dim
        q, k, v = self.wqkv(x).split([H * D, KV * D, KV * D], dim=-1)
        q = q.view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, KV, D).transpose(1, 2)  # (B, KV, T, D)
        v = v.view(B, T, KV, D).transpose(1, 2)  # (B, KV, T, D)
        # positions enter through q and k only; v carries content
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k, v = repeat_kv(k, H // KV), repeat_kv(v, H // KV)  # (B, H, T, D)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(D)  # (B, H, T, T)
        scores = scores.masked_fill(~mask, float("-inf"))
        y = scores.softmax(dim=-1) @ v  # (B, H, T, D)
        return self.wo(y.transpose(1, 2).reshape(B, T, H * D))
