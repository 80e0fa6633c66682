"""Checks for w08.kv_cache: the cache's update, cached attention and the cached forward pass.

Oracle: the week-05 GPT's own forward pass on the whole sequence (no cache): the logits of the new
positions must be the same whichever way the sequence was fed in.
"""

import torch

from checks.week08_inference.support import tiny_gpt
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week08_inference.kv_cache")

POSITIONS = (
    "the new tokens sit at positions cache.length .. cache.length + T - 1: use them for wpe "
    "(not 0 .. T - 1) and read cache.length BEFORE the layers write, advance it once at the end"
)
MASK = (
    "with cached keys, query i (absolute position start + i) may see keys 0 .. start + i: "
    "is_causal=True aligns the mask top-left and is wrong once start > 0; build the mask with "
    "tril(diagonal=start)"
)


def full_logits(model, idx):
    with torch.no_grad():
        return model(idx)[0]


def test_update_writes_new_positions_and_returns_everything_so_far():
    """Write 3 positions, advance length by hand, write 1 more: the result holds all 4 in order."""
    cache = mod.KVCache(n_layer=2, batch_size=2, n_head=3, max_len=8, head_dim=5)
    g = generator(0)
    k1, v1 = torch.randn(2, 3, 3, 5, generator=g), torch.randn(2, 3, 3, 5, generator=g)
    k_all, v_all = cache.update(1, k1, v1)
    assert_close(
        k_all,
        k1,
        what="KVCache.update(layer=1, k (2, 3, 3, 5), v) on an empty cache",
        hint="return keys[:, :, :length + T]; write k into self.keys and v into self.values",
    )
    assert cache.length == 0, (
        f"KVCache.update advanced length to {cache.length}; leave it: every layer of one forward pass writes at the same positions"
    )
    cache.length = 3
    k2, v2 = torch.randn(2, 3, 1, 5, generator=g), torch.randn(2, 3, 1, 5, generator=g)
    k_all, v_all = cache.update(1, k2, v2)
    assert_close(
        k_all,
        torch.cat([k1, k2], dim=2),
        what="KVCache.update after 3 positions, keys",
        hint="write at positions length .. length + T - 1 along dim 2 (time), return everything up to there",
    )
    assert_close(
        v_all,
        torch.cat([v1, v2], dim=2),
        what="KVCache.update after 3 positions, values",
        hint="store values in self.values, not in self.keys",
    )
    assert cache.keys[0].abs().sum() == 0, "KVCache.update(layer=1, ...) wrote into layer 0"


def test_prefill_equals_the_full_forward():
    model = tiny_gpt(seed=1)
    idx = torch.randint(0, 23, (3, 7), generator=generator(1))
    cache = mod.KVCache.for_model(model, 3)
    with torch.no_grad():
        got = mod.forward_cached(model, idx, cache)
    assert_close(
        got,
        full_logits(model, idx),
        atol=1e-5,
        what="forward_cached(model, idx (3, 7), empty cache)",
        hint="the prefill is the ordinary causal forward pass: embeddings + positions 0..T-1, blocks, ln_f, lm_head; "
        + POSITIONS,
    )
    assert cache.length == 7, (
        f"after a prefill of 7 tokens cache.length should be 7, got {cache.length}"
    )


def test_decoding_one_token_at_a_time_equals_the_full_forward():
    """Prefill 4 tokens, then feed tokens 4..10 one by one: each step's logits = full[:, t]."""
    model = tiny_gpt(seed=2)
    idx = torch.randint(0, 23, (2, 11), generator=generator(2))
    full = full_logits(model, idx)
    cache = mod.KVCache.for_model(model, 2)
    with torch.no_grad():
        mod.forward_cached(model, idx[:, :4], cache)
        for t in range(4, 11):
            got = mod.forward_cached(model, idx[:, t : t + 1], cache)
            assert_close(
                got[:, 0],
                full[:, t],
                atol=1e-5,
                what=f"forward_cached(one token at position {t}) after {t} cached positions",
                hint=POSITIONS,
            )
    assert cache.length == 11, f"cache.length should be 11 after 4 + 7 tokens, got {cache.length}"


def test_a_chunk_after_cached_positions_uses_the_shifted_causal_mask():
    """Prefill 5 tokens, then a chunk of 4 (T > 1 with start > 0): the chunk's logits = full[:, 5:9]."""
    model = tiny_gpt(seed=3)
    idx = torch.randint(0, 23, (1, 9), generator=generator(3))
    cache = mod.KVCache.for_model(model, 1)
    with torch.no_grad():
        mod.forward_cached(model, idx[:, :5], cache)
        got = mod.forward_cached(model, idx[:, 5:], cache)
    assert_close(
        got,
        full_logits(model, idx)[:, 5:],
        atol=1e-5,
        what="forward_cached(chunk of 4 after 5 cached positions)",
        hint=MASK,
    )


def test_cached_attention_matches_the_blocks_attention():
    """One layer alone: cached_attention on an empty cache equals block.attn(x)."""
    model = tiny_gpt(seed=4)
    attn = model.transformer.h[0].attn
    x = torch.randn(2, 6, 36, generator=generator(4))
    cache = mod.KVCache.for_model(model, 2)
    with torch.no_grad():
        got = mod.cached_attention(attn, x, cache, 0)
        expected = attn(x)
    assert_close(
        got,
        expected,
        atol=1e-5,
        what="cached_attention(attn, x (2, 6, 36), empty cache, layer 0)",
        hint="split c_attn's output into q, k, v of (B, H, T, D), store k and v with cache.update, attend causally, merge heads, c_proj",
    )


def test_batch_rows_are_independent():
    model = tiny_gpt(seed=5)
    idx = torch.randint(0, 23, (3, 6), generator=generator(5))
    with torch.no_grad():
        cache = mod.KVCache.for_model(model, 3)
        mod.forward_cached(model, idx[:, :5], cache)
        batched = mod.forward_cached(model, idx[:, 5:], cache)
        for b in range(3):
            one = mod.KVCache.for_model(model, 1)
            mod.forward_cached(model, idx[b : b + 1, :5], one)
            alone = mod.forward_cached(model, idx[b : b + 1, 5:], one)
            assert_close(
                batched[b],
                alone[0],
                atol=1e-5,
                what=f"forward_cached, row {b} of a batch of 3 vs alone",
                hint="keep the batch dimension B in the cache: (B, H, T, D)",
            )


def test_a_full_cache_is_accepted_and_one_more_position_refused():
    """max_len 6: a prefill of 6 positions fits exactly (length + T <= max_len); a 7th raises
    ValueError (documented in update), instead of silently writing nothing."""
    cache = mod.KVCache(n_layer=1, batch_size=1, n_head=2, max_len=6, head_dim=3)
    k = torch.randn(1, 2, 6, 3, generator=generator(6))
    try:
        k_all, _ = cache.update(0, k, k)
    except ValueError as error:
        raise AssertionError(
            f"KVCache(max_len=6).update with 6 positions raised {error}; likely cause: a cache "
            "may be filled exactly: refuse only length + T > max_len"
        ) from error
    assert_close(k_all, k, what="KVCache(max_len=6).update(6 positions)")
    cache.length = 6
    one = torch.randn(1, 2, 1, 3, generator=generator(7))
    try:
        cache.update(0, one, one)
    except ValueError:
        return
    raise AssertionError(
        "KVCache(max_len=6) full, update with one more position did not raise ValueError; likely "
        "cause: check length + T > max_len before writing (a slice past the end writes nothing)"
    )
