"""Helpers for week 07's checks: build tiny transformers models and copy our weights into them.

Not a check module (pytest collects test_*.py only). The copies go from our modules INTO transformers
modules, the opposite direction of the w07.load_llama exercise, so the checks of the other exercises
never depend on the learner's loader.
"""

import torch


def interleaved_to_half(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """Rows of a q/k projection, per head [a0, b0, a1, b1, ...] -> [a0, a1, ..., b0, b1, ...].

    Our RoPE rotates neighbour pairs (x[2i], x[2i+1]); transformers rotates (x[i], x[i + D/2]).
    """
    D = w.shape[0] // n_head
    return w.reshape(n_head, D // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def to_half_features(x: torch.Tensor) -> torch.Tensor:
    """(..., D) interleaved pairs -> half-split: [x0, x2, x4, ..., x1, x3, x5, ...]."""
    return torch.cat([x[..., 0::2], x[..., 1::2]], dim=-1)


def from_half_features(x: torch.Tensor) -> torch.Tensor:
    """Inverse of to_half_features."""
    half = x.shape[-1] // 2
    return torch.stack([x[..., :half], x[..., half:]], dim=-1).flatten(-2)


def hf_rope(head_dim: int, T: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' LLaMA cos/sin for positions 0..T-1: each (1, T, D), frequencies repeated twice."""
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config = LlamaConfig(
        hidden_size=head_dim,
        num_attention_heads=1,
        head_dim=head_dim,
        rope_parameters={"rope_type": "default", "rope_theta": base},
    )
    rotary = LlamaRotaryEmbedding(config)
    return rotary(torch.zeros(1, T, head_dim), torch.arange(T)[None])


def copy_attention(ours, hf_attention) -> None:
    """Our Attention (fused wqkv, interleaved RoPE rows) -> a transformers LlamaAttention."""
    H, KV, D = ours.n_head, ours.n_kv_head, ours.head_dim
    q, k, v = ours.wqkv.weight.detach().split([H * D, KV * D, KV * D], dim=0)
    with torch.no_grad():
        hf_attention.q_proj.weight.copy_(interleaved_to_half(q, H))
        hf_attention.k_proj.weight.copy_(interleaved_to_half(k, KV))
        hf_attention.v_proj.weight.copy_(v)
        hf_attention.o_proj.weight.copy_(ours.wo.weight)


def hf_llama_like(ours, cls_name: str = "LlamaForCausalLM"):
    """A transformers LlamaForCausalLM / MistralForCausalLM with the weights of our Llama, eager, eval."""
    import transformers

    c = ours.config
    config_cls = getattr(transformers, cls_name.replace("ForCausalLM", "Config"))
    kwargs = {"sliding_window": c.sliding_window} if cls_name.startswith("Mistral") else {}
    config = config_cls(
        vocab_size=c.vocab_size,
        hidden_size=c.dim,
        intermediate_size=c.hidden_dim,
        num_hidden_layers=c.n_layer,
        num_attention_heads=c.n_head,
        num_key_value_heads=c.n_kv_head,
        max_position_embeddings=c.max_seq_len,
        rms_norm_eps=c.norm_eps,
        rope_parameters={"rope_type": "default", "rope_theta": c.rope_base},
        tie_word_embeddings=c.tie_embeddings,
        bos_token_id=None,
        eos_token_id=None,
        attn_implementation="eager",
        **kwargs,
    )
    hf = getattr(transformers, cls_name)(config).eval()
    with torch.no_grad():
        hf.model.embed_tokens.weight.copy_(ours.tok_embeddings.weight)
        hf.model.norm.weight.copy_(ours.norm.weight)
        hf.lm_head.weight.copy_(ours.output.weight)
        for mine, theirs in zip(ours.layers, hf.model.layers):
            copy_attention(mine.attention, theirs.self_attn)
            theirs.input_layernorm.weight.copy_(mine.attention_norm.weight)
            theirs.post_attention_layernorm.weight.copy_(mine.ffn_norm.weight)
            theirs.mlp.gate_proj.weight.copy_(mine.feed_forward.w1.weight)
            theirs.mlp.up_proj.weight.copy_(mine.feed_forward.w3.weight)
            theirs.mlp.down_proj.weight.copy_(mine.feed_forward.w2.weight)
    return hf


def randomize_(module: torch.nn.Module, seed: int, std: float = 0.3) -> torch.nn.Module:
    """Fill every parameter with seeded normal noise (norm gains around 1), in place."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g) * std
            p.copy_(1.0 + noise if "norm" in name else noise)
    return module
