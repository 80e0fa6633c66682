"""A KV cache for the week-05 GPT: compute each position's keys and values once, reuse them forever.

Without a cache, generating token t+1 reruns the model on all t previous tokens: O(t) work per
token, O(n^2) for n tokens. But a causal model's keys and values at position j never change once
j is computed, so we store them per layer and feed the model only the new token: the *prefill*
runs the prompt once (T positions), each *decode* step runs one position against the stored keys.

The cache is preallocated to (B, H, block_size, D) per layer and per keys/values; `length` says how
many positions are filled. It reuses the model's own modules and weights: nothing is copied.
Check: `python tracker.py check w08.kv_cache`
"""

import torch
import torch.nn.functional as F

from solutions.week05_gpt.model import GPT, CausalSelfAttention


class KVCache:
    """Keys and values of every layer for positions 0..length-1 of a batch of sequences."""

    def __init__(
        self,
        n_layer: int,
        batch_size: int,
        n_head: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        shape = (batch_size, n_head, max_len, head_dim)  # (B, H, max_len, D)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layer)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layer)]
        self.max_len = max_len
        self.length = 0  # positions filled, the same in every layer between forward passes

    @classmethod
    def for_model(cls, model: GPT, batch_size: int) -> "KVCache":
        """An empty cache sized for `model`: n_layer layers, max_len = block_size."""
        c = model.config
        p = model.lm_head.weight
        return cls(
            c.n_layer,
            batch_size,
            c.n_head,
            c.block_size,
            c.n_embd // c.n_head,
            dtype=p.dtype,
            device=p.device,
        )

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new positions' keys and values of `layer`; return everything stored so far.

        The new positions are length .. length + T - 1. `length` itself is not advanced here:
        every layer of one forward pass writes at the same positions (forward_cached advances it).

        Args:
            layer: which block, 0 <= layer < n_layer.
            k: (B, H, T, D) keys of the T new positions.
            v: (B, H, T, D) values of the T new positions.

        Returns:
            keys (B, H, length + T, D) and values (B, H, length + T, D): views into the cache.

        Raises:
            ValueError: if length + T > max_len (a cache filled exactly to max_len is fine).

        Example: max_len=8, length=3, k and v of shape (1, 2, 2, 4) -> keys and values of shape
        (1, 2, 5, 4) whose positions 3 and 4 are k and v; at length=7 the same call raises.
        """
        # TODO(w08.kv_cache): store this layer's new keys and values; return all stored so far
        raise NotImplementedError(
            "w08.kv_cache: write KVCache.update in exercises/week08_inference/kv_cache.py"
        )


def cached_attention(
    attn: CausalSelfAttention, x: torch.Tensor, cache: KVCache, layer: int
) -> torch.Tensor:
    """Causal self-attention of T new positions against the cached ones plus themselves.

    New position i sits at absolute position cache.length + i, so it may attend to keys
    0 .. cache.length + i: all cached keys and the new keys up to itself.

    Args:
        attn: a week-05 CausalSelfAttention (its c_attn, c_proj and n_head are used).
        x: (B, T, C) the layer-normalised input of the new positions.
        cache: the cache; its `length` positions are already filled for this layer.
        layer: the block index, to pick the cache's layer.

    Returns:
        (B, T, C), as attn(x) would give for these positions given the whole sequence.

    Example: on an empty cache it equals attn(x); with 5 cached positions and T=1 it equals
    attn(the 6 positions' input)[:, 5:], and the layer's cache then holds positions 0..5.
    """
    # TODO(w08.kv_cache): return attn's output for the new positions, earlier keys read from cache
    raise NotImplementedError(
        "w08.kv_cache: write cached_attention in exercises/week08_inference/kv_cache.py"
    )


def forward_cached(model: GPT, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """Run `model` on the new tokens `idx`, continuing the sequence stored in `cache`.

    Prefill: an empty cache and the prompt (B, T). Decode: the cache and one token (B, 1).
    The new tokens take positions cache.length .. cache.length + T - 1 (for wpe and attention);
    afterwards cache.length has grown by T.

    Args:
        model: a week-05 GPT in eval mode.
        idx: (B, T) int64 new tokens; cache.length + T <= block_size.
        cache: a KVCache for this model and batch size.

    Returns:
        (B, T, V) logits, equal (up to float rounding) to model(full sequence)[0][:, -T:].

    Example: a prefill of (2, 5) tokens, then a decode of (2, 1): the second call's logits equal
    model(the 6 tokens)[0][:, -1:], and cache.length goes 0 -> 5 -> 6.

    Raises:
        ValueError (from KVCache.update): cache.length + T > the cache's max_len.
    """
    # TODO(w08.kv_cache): return the new tokens' logits as the full forward would, growing cache
    raise NotImplementedError(
        "w08.kv_cache: write forward_cached in exercises/week08_inference/kv_cache.py"
    )
