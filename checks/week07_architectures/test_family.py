"""Checks for w07.family: exact parameter counts and KV-cache bytes for LLaMA/Mistral/Phi-3/Qwen2.

Oracles: transformers' `model.num_parameters()` of each family's model built on the 'meta' device
(shapes only, no memory, so the real 7B configs take milliseconds); the bytes actually held by
transformers' KV cache after a forward pass of a tiny model; hand arithmetic.
"""

import dataclasses

import pytest
import torch

from roadmap.impl import load

mod = load("week07_architectures.family")

HF_CLASSES = {
    "llama": ("LlamaConfig", "LlamaForCausalLM"),
    "mistral": ("MistralConfig", "MistralForCausalLM"),
    "phi3": ("Phi3Config", "Phi3ForCausalLM"),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
}


def hf_model(cfg, device: str = "meta"):
    """The transformers model with cfg's shapes (qkv_bias comes with the qwen2 family).

    A check computes the learner's answer first, so an untouched stub is todo before transformers
    loads (seconds)."""
    import transformers

    config_name, model_name = HF_CLASSES[cfg.family]
    config = getattr(transformers, config_name)(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.n_layer,
        num_attention_heads=cfg.n_head,
        num_key_value_heads=cfg.n_kv_head,
        head_dim=cfg.head_dim,
        tie_word_embeddings=cfg.tie_embeddings,
        max_position_embeddings=cfg.max_context,
        pad_token_id=None,
        bos_token_id=None,
        eos_token_id=None,
    )
    with torch.device(device):
        return getattr(transformers, model_name)(config)


TINY = (
    mod.ArchConfig("tiny-llama", "llama", 97, 24, 40, 2, 6, 2, 4),
    mod.ArchConfig("tiny-mistral", "mistral", 101, 30, 52, 3, 5, 1, 6, sliding_window=8),
    mod.ArchConfig("tiny-phi3", "phi3", 89, 32, 44, 2, 4, 4, 8),
    mod.ArchConfig(
        "tiny-qwen2-tied", "qwen2", 103, 28, 36, 2, 7, 1, 4, tie_embeddings=True, qkv_bias=True
    ),
    mod.ArchConfig("tiny-qwen2", "qwen2", 64, 24, 30, 1, 4, 2, 6, qkv_bias=True),
)


def test_parameter_count_known_answer():
    """V=10, C=4, I=8, L=1, H=2, KV=1, D=2, untied, no bias:
    per layer 2*4 (norms) + 4*4 (q) + 2*4*2 (k, v) + 4*4 (o) + 3*4*8 (SwiGLU) = 152;
    total 10*4 (embedding) + 152 + 4 (final norm) + 10*4 (head) = 236.
    """
    cfg = mod.ArchConfig("hand", "llama", 10, 4, 8, 1, 2, 1, 2)
    got = mod.count_parameters(cfg)
    assert got == 236, (
        f"count_parameters({cfg}): expected 236, got {got}; likely cause: k and v are C x (KV*D), "
        "not C x C; the SwiGLU has three C x I matrices; two norm gains per layer plus the final norm"
    )


@pytest.mark.parametrize("cfg", [*mod.FAMILIES, *TINY], ids=lambda c: c.name)
def test_parameter_count_equals_transformers(cfg):
    got = mod.count_parameters(cfg)
    expected = hf_model(cfg).num_parameters()
    assert got == expected, (
        f"count_parameters({cfg.name}): transformers' {HF_CLASSES[cfg.family][1]}.num_parameters() "
        f"is {expected:,}, got {got:,} (off by {got - expected:+,}); likely cause: "
        + "; ".join(
            ["tied embeddings are counted once"] * cfg.tie_embeddings
            + ["q/k/v biases (H*D + 2*KV*D per layer) when qkv_bias"] * cfg.qkv_bias
            + ["k and v have KV*D outputs, q and o H*D; norms C per layer x2 plus the final norm"]
        )
    )


def test_kv_bytes_per_token_known_answers():
    """bf16 (2 bytes): Llama-2-7B 2 * 32 layers * 32 KV heads * 128 * 2 = 524288 (512 KiB);
    Mistral-7B has 8 KV heads: 131072 (128 KiB), a quarter."""
    by_name = {c.name: c for c in mod.FAMILIES}
    for name, expected in (("Llama-2-7B", 524288), ("Mistral-7B-v0.1", 131072)):
        got = mod.kv_cache_bytes_per_token(by_name[name])
        assert got == expected, (
            f"kv_cache_bytes_per_token({name}): expected {expected:,}, got {got:,}; likely cause: "
            "2 (K and V) * n_layer * n_kv_head (not n_head) * head_dim * bytes_per_value"
        )
    fp32 = mod.kv_cache_bytes_per_token(by_name["Llama-2-7B"], bytes_per_value=4)
    assert fp32 == 2 * 524288, (
        f"kv_cache_bytes_per_token(Llama-2-7B, 4 bytes): expected {2 * 524288:,}, got {fp32:,}"
    )


@pytest.mark.parametrize("cfg", TINY[:3], ids=lambda c: c.name)
def test_kv_bytes_per_token_equal_what_transformers_caches(cfg):
    """Run a tiny bf16 model on 5 tokens and weigh the tensors in its DynamicCache."""
    got = mod.kv_cache_bytes_per_token(cfg, bytes_per_value=2)
    model = hf_model(dataclasses.replace(cfg, sliding_window=None), device="cpu").to(torch.bfloat16)
    with torch.no_grad():
        cache = model(torch.zeros(1, 5, dtype=torch.long), use_cache=True).past_key_values
    held = sum(layer.keys.nbytes + layer.values.nbytes for layer in cache.layers)
    assert got * 5 == held, (
        f"kv_cache_bytes_per_token({cfg.name}) * 5 tokens = {got * 5:,}, but transformers holds "
        f"{held:,} bytes of K and V; likely cause: only the KV heads are cached, not the query heads"
    )


def test_sliding_window_caps_the_cache():
    mistral = next(c for c in mod.FAMILIES if c.name == "Mistral-7B-v0.1")
    per_token = mod.kv_cache_bytes_per_token(mistral)
    for context, kept in ((1000, 1000), (4096, 4096), (32768, 4096)):
        got = mod.kv_cache_bytes(mistral, context)
        assert got == kept * per_token, (
            f"kv_cache_bytes(Mistral-7B, context={context}): expected {kept} tokens x {per_token:,} = "
            f"{kept * per_token:,}, got {got:,}; likely cause: keep min(context, sliding_window) tokens"
        )
    llama = next(c for c in mod.FAMILIES if c.name == "Llama-2-7B")
    assert mod.kv_cache_bytes(llama, 3000) == 3000 * mod.kv_cache_bytes_per_token(llama), (
        "kv_cache_bytes(Llama-2-7B, 3000): without a window every token is kept"
    )


@pytest.mark.parametrize(
    "H,KV,window,expected",
    [
        (32, 32, None, "MHA"),
        (32, 8, None, "GQA (4 q/kv)"),
        (8, 1, None, "MQA"),
        (32, 8, 4096, "GQA (4 q/kv), sliding window 4096"),
    ],
)
def test_attention_kind(H, KV, window, expected):
    cfg = mod.ArchConfig("x", "llama", 10, 64, 8, 1, H, KV, 2, sliding_window=window)
    got = mod.attention_kind(cfg)
    assert got == expected, (
        f"attention_kind(H={H}, KV={KV}, window={window}): expected {expected!r}, got {got!r}"
    )
