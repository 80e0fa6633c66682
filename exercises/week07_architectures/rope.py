"""Rotary position embeddings (RoPE): rotate pairs of features by an angle that grows with position.

Each head vector of size D is read as D/2 pairs (x[2i], x[2i+1]), the interleaved layout of the
RoFormer paper and Meta's original LLaMA code. Pair i at position t is rotated by the angle
t * theta_i with theta_i = base^(-2i/D), so the dot product of a rotated query at position m and a
rotated key at position n depends only on m - n. (transformers' LLaMA pairs x[i] with x[i + D/2]
instead, "rotate_half"; load_llama.py converts between the two layouts.)
Paper: Su et al. 2021, RoFormer, https://arxiv.org/abs/2104.09864
Check: `python tracker.py check w07.rope`
"""

import torch


def rope_cache(
    head_dim: int, max_len: int, base: float = 10000.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosines and sines of every (position, pair) angle, computed once per model.

    Args:
        head_dim: D, the size of one head (even).
        max_len: the number of positions to cover, 0 .. max_len - 1.
        base: theta base; pair i turns at frequency base^(-2i/D) radians per position.

    Returns:
        (cos, sin), each (max_len, D/2) float32: cos[t, i] = cos(t * base^(-2i/D)).

    Example: head_dim=2 -> one pair with frequency 1, so cos[t, 0] = cos(t), sin[t, 0] = sin(t).
    """
    # TODO(w07.rope): return the cos and sin of every (position, pair) angle
    raise NotImplementedError(
        "w07.rope: write rope_cache in exercises/week07_architectures/rope.py"
    )


def apply_rope(
    x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, start_pos: int = 0
) -> torch.Tensor:
    """Rotate each interleaved pair (x[2i], x[2i+1]) of `x` by its position's angle.

    Args:
        x: (B, H, T, D) queries or keys; the token at index t sits at position start_pos + t.
        cos, sin: (max_len, D/2) from rope_cache, with max_len >= start_pos + T.
        start_pos: the position of x's first token; with a KV cache, the number of tokens already
            cached (decoding token 7 alone uses start_pos=7, not 0).

    Returns:
        (B, H, T, D), same dtype as x: (a, b) -> (a cos - b sin, a sin + b cos) per pair.

    Example: D=2, start_pos=1, x=[1, 0] -> [cos 1, sin 1] (turned by one radian).
    """
    # TODO(w07.rope): return x with every pair turned by its position's angle
    raise NotImplementedError(
        "w07.rope: write apply_rope in exercises/week07_architectures/rope.py"
    )
