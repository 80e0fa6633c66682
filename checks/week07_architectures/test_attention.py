"""Checks for w07.gqa: repeat_kv and grouped-query attention with RoPE.

Oracles: a hand example of the head order; transformers' repeat_kv and LlamaAttention (eager) with
copied weights (q/k rows moved to its half-split RoPE layout); torch.nn.MultiheadAttention for the
MHA case with RoPE switched off (cos = 1, sin = 0); GQA equals MHA whose K/V heads are duplicated.
"""

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from ._hf import copy_attention, hf_rope

mod = load("week07_architectures.attention")

ORDER = (
    "KV head h serves query heads h*g .. h*g+g-1: repeat each KV head next to itself "
    "([a, a, b, b], repeat_interleave), not the whole stack ([a, b, a, b], repeat/tile)"
)


def rope_tables(D: int, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin (T, D/2) written out here, so this check does not lean on your rope_cache."""
    inv_freq = 10000.0 ** (-torch.arange(0, D, 2, dtype=torch.float32) / D)
    angles = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def causal(T: int) -> torch.Tensor:
    return torch.ones(T, T, dtype=torch.bool).tril()


def test_repeat_kv_known_answer_keeps_groups_together():
    """Two KV heads filled with 0 and 1, n_rep=3 -> heads [0, 0, 0, 1, 1, 1]."""
    x = torch.stack([torch.zeros(4, 2), torch.ones(4, 2)]).unsqueeze(0)  # (1, 2, 4, 2)
    got = mod.repeat_kv(x, 3)
    assert tuple(got.shape) == (1, 6, 4, 2), (
        f"repeat_kv((1, 2, 4, 2), 3): got shape {tuple(got.shape)}"
    )
    heads = got[0, :, 0, 0].tolist()
    assert heads == [0, 0, 0, 1, 1, 1], (
        f"repeat_kv(heads [0, 1], n_rep=3): expected head values [0, 0, 0, 1, 1, 1], got {heads}; "
        f"likely cause: {ORDER}"
    )


@pytest.mark.parametrize("B,KV,T,D,n_rep", [(1, 1, 5, 4, 4), (2, 3, 7, 6, 2), (3, 2, 4, 8, 1)])
def test_repeat_kv_matches_transformers(B, KV, T, D, n_rep):
    x = torch.randn(B, KV, T, D, generator=generator(B + KV + T))
    got = mod.repeat_kv(x, n_rep)  # the learner's first: a stub is todo before transformers loads
    from transformers.models.llama.modeling_llama import repeat_kv

    assert_close(
        got,
        repeat_kv(x, n_rep),
        what=f"repeat_kv(x {(B, KV, T, D)}, {n_rep})",
        hint=ORDER,
    )


@pytest.mark.parametrize("dim,H,KV,B,T", [(24, 4, 4, 2, 7), (36, 6, 2, 1, 9), (40, 4, 1, 3, 5)])
def test_matches_transformers_llama_attention(dim, H, KV, B, T):
    """MHA (KV=H), GQA (KV=2) and MQA (KV=1) against LlamaAttention with the same weights."""
    torch.manual_seed(dim)
    ours = mod.Attention(dim, H, KV)
    x = torch.randn(B, T, dim, generator=generator(T))
    D = dim // H
    cos, sin = rope_tables(D, T)
    # the learner's first: a stub is todo before transformers loads
    got = ours(x, cos, sin, causal(T))
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaAttention

    config = LlamaConfig(
        hidden_size=dim, num_attention_heads=H, num_key_value_heads=KV, attn_implementation="eager"
    )
    oracle = LlamaAttention(config, layer_idx=0).eval()
    copy_attention(ours, oracle)
    additive = torch.zeros(T, T).masked_fill(~causal(T), float("-inf"))[None, None]
    expected, _ = oracle(x, position_embeddings=hf_rope(D, T), attention_mask=additive)
    assert_close(
        got,
        expected,
        what=f"Attention(dim={dim}, H={H}, KV={KV})(x {(B, T, dim)})",
        hint=likely_cause(got, oracle, x, D, T, additive),
    )


RECIPE = (
    "wqkv rows are [q (H*D), k (KV*D), v (KV*D)]; RoPE on q and k only; scores q k^T / sqrt(D); "
    "softmax over the keys (last dim); merge heads with y.transpose(1, 2).reshape(B, T, H*D); "
    + ORDER
)


def likely_cause(got, oracle, x, D, T, additive) -> str:
    """Name the one step that explains the wrong output, else the whole recipe."""
    if torch.isnan(got).any():
        return (
            "NaN: a query row with every key filled with -inf; the mask is True where attention "
            "is allowed: fill -inf where it is False (masked_fill(~mask, -inf))"
        )
    scaling = oracle.scaling
    oracle.scaling = 1.0  # the same attention without 1/sqrt(D)
    try:
        unscaled, _ = oracle(x, position_embeddings=hf_rope(D, T), attention_mask=additive)
    finally:
        oracle.scaling = scaling
    if torch.allclose(got, unscaled, atol=1e-4):
        return "the scores are not scaled: divide q @ k^T by sqrt(D) (1/sqrt(D), D = head_dim)"
    return RECIPE


def test_the_given_mask_is_applied_not_plain_causal():
    """A sliding-window mask (W = 2) instead of the causal one: the layer must use the mask it is
    given (Llama passes a sliding window), compared with LlamaAttention under the same mask."""
    dim, H, KV, T = 24, 4, 2, 7
    torch.manual_seed(11)
    ours = mod.Attention(dim, H, KV)
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    window = (j <= i) & (i - j < 2)
    x = torch.randn(2, T, dim, generator=generator(12))
    D = dim // H
    cos, sin = rope_tables(D, T)
    got = ours(x, cos, sin, window)  # the learner's first: a stub is todo before transformers loads
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaAttention

    config = LlamaConfig(
        hidden_size=dim, num_attention_heads=H, num_key_value_heads=KV, attn_implementation="eager"
    )
    oracle = LlamaAttention(config, layer_idx=0).eval()
    copy_attention(ours, oracle)
    additive = torch.zeros(T, T).masked_fill(~window, float("-inf"))[None, None]
    expected, _ = oracle(x, position_embeddings=hf_rope(D, T), attention_mask=additive)
    plain, _ = oracle(
        x,
        position_embeddings=hf_rope(D, T),
        attention_mask=torch.zeros(T, T).masked_fill(~causal(T), float("-inf"))[None, None],
    )
    hint = RECIPE
    if torch.allclose(got, plain, atol=1e-4):
        hint = "the given mask is ignored (plain causal attention): masked_fill(~mask, -inf) with the mask argument"
    assert_close(
        got, expected, what="Attention(24, H=4, KV=2) with a sliding-window mask (W=2)", hint=hint
    )


def test_mha_without_rope_matches_torch_multihead_attention():
    """KV = H and cos = 1, sin = 0 (no rotation) is plain multi-head attention."""
    dim, H, T = 30, 5, 6
    torch.manual_seed(1)
    ours = mod.Attention(dim, H, H)
    oracle = torch.nn.MultiheadAttention(dim, H, bias=False, batch_first=True)
    with torch.no_grad():
        oracle.in_proj_weight.copy_(ours.wqkv.weight)
        oracle.out_proj.weight.copy_(ours.wo.weight)
    x = torch.randn(2, T, dim, generator=generator(2))
    expected, _ = oracle(x, x, x, attn_mask=~causal(T), need_weights=False)
    ones, zeros = torch.ones(T, dim // H // 2), torch.zeros(T, dim // H // 2)
    assert_close(
        ours(x, ones, zeros, causal(T)),
        expected,
        what=f"Attention({dim}, H={H}, KV={H}), no rotation",
        hint="the mask is True where attention is allowed: fill scores with -inf where it is False",
    )


def test_gqa_equals_mha_with_duplicated_kv_heads():
    """GQA with KV heads [a, b] and H=4 is MHA whose K/V heads are [a, a, b, b]."""
    dim, H, KV, T = 32, 4, 2, 8
    D = dim // H
    torch.manual_seed(3)
    gqa = mod.Attention(dim, H, KV)
    mha = mod.Attention(dim, H, H)
    q, k, v = gqa.wqkv.weight.detach().split([H * D, KV * D, KV * D])
    dup = lambda w: w.view(KV, 1, D, dim).expand(KV, H // KV, D, dim).reshape(H * D, dim)  # noqa: E731
    with torch.no_grad():
        mha.wqkv.weight.copy_(torch.cat([q, dup(k), dup(v)]))
        mha.wo.weight.copy_(gqa.wo.weight)
    x = torch.randn(2, T, dim, generator=generator(4))
    cos, sin = rope_tables(D, T)
    assert_close(
        gqa(x, cos, sin, causal(T)),
        mha(x, cos, sin, causal(T)),
        what="Attention(H=4, KV=2) vs Attention(H=4, KV=4) with K/V heads [a, a, b, b]",
        hint=ORDER,
    )


def test_future_tokens_do_not_change_earlier_outputs():
    dim, H, KV, T = 24, 6, 3, 7
    torch.manual_seed(5)
    attn = mod.Attention(dim, H, KV)
    x = torch.randn(1, T, dim, generator=generator(6))
    y = x.clone()
    y[:, 4:] += 10.0
    cos, sin = rope_tables(dim // H, T)
    assert_close(
        attn(y, cos, sin, causal(T))[:, :4],
        attn(x, cos, sin, causal(T))[:, :4],
        what="Attention outputs 0..3 after changing tokens 4..6",
        hint="apply the mask to the scores before the softmax (masked_fill(~mask, -inf))",
    )
