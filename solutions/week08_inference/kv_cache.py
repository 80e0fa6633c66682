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
        end = self.length + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache full: {end} positions > max_len {self.max_len}")
        # write in place: no torch.cat, so a decode step copies only its own T = 1 position
        self.keys[layer][:, :, self.length : end] = k
        self.values[layer][:, :, self.length : end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]


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
    B, T, C = x.shape
    H = attn.n_head
    q, k, v = attn.c_attn(x).split(C, dim=2)  # 3 x (B, T, C)
    q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
    k = k.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
    v = v.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
    start = cache.length
    k_all, v_all = cache.update(layer, k, v)  # (B, H, start + T, D)
    # subtle: is_causal=True would align the mask top-left (query i sees key i), which is wrong
    # once start > 0; the shifted mask lets query i see keys 0 .. start + i
    mask = None
    if T > 1:
        mask = torch.ones(T, start + T, dtype=torch.bool, device=x.device).tril(diagonal=start)
    y = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask)  # (B, H, T, D)
    y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
    return attn.c_proj(y)


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
    B, T = idx.shape
    start = cache.length
    pos = torch.arange(start, start + T, device=idx.device)  # (T,) absolute positions
    x = model.transformer.drop(model.transformer.wte(idx) + model.transformer.wpe(pos))
    for layer, block in enumerate(model.transformer.h):
        # the pre-LN block of week 05, with the attention branch reading and filling the cache
        x = x + cached_attention(block.attn, block.ln_1(x), cache, layer)
        x = x + block.mlp(block.ln_2(x))
    cache.length = start + T
    return model.lm_head(model.transformer.ln_f(x))  # (B, T, V)
