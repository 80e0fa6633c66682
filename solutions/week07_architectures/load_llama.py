"""Load a transformers LlamaForCausalLM or MistralForCausalLM into our Llama by hand.

Three things change on the way in:
- names: model.layers.{i}.self_attn.q_proj -> layers.{i}.attention.wqkv (and the others below);
- fused vs separate: HF keeps q_proj, k_proj, v_proj apart; our wqkv is the three stacked by rows;
- RoPE layout: HF rotates pairs (x[j], x[j + D/2]) ("rotate_half"), we rotate (x[2i], x[2i+1]).
  The two are the same model once the rows of q_proj and k_proj inside each head are reordered:
  HF's row j < D/2 is the first element of pair j, row D/2 + j the second, and we want them at
  rows 2j and 2j + 1. (Meta's original checkpoints are interleaved; transformers' conversion script
  applies the opposite permutation.) v and o need no change: RoPE never touches them.

| transformers                                       | ours                          |
|----------------------------------------------------|-------------------------------|
| model.embed_tokens.weight                          | tok_embeddings.weight         |
| model.layers.{i}.input_layernorm.weight            | layers.{i}.attention_norm.weight |
| model.layers.{i}.self_attn.{q,k,v}_proj.weight     | layers.{i}.attention.wqkv.weight |
| model.layers.{i}.self_attn.o_proj.weight           | layers.{i}.attention.wo.weight |
| model.layers.{i}.post_attention_layernorm.weight   | layers.{i}.ffn_norm.weight    |
| model.layers.{i}.mlp.gate_proj / up_proj / down_proj | layers.{i}.feed_forward.w1 / w3 / w2 |
| model.norm.weight                                  | norm.weight                   |
| lm_head.weight                                     | output.weight                 |

Check: `python tracker.py check w07.load_llama`
"""

import torch

from .llama import Llama, LlamaConfig


def half_to_interleaved(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """Reorder the rows of a q or k projection from HF's half-split RoPE layout to interleaved pairs.

    Args:
        w: (n_head * D, C) weight (or (n_head * D,) bias) whose rows are, per head,
            [a_0 .. a_{D/2-1}, b_0 .. b_{D/2-1}] with (a_j, b_j) rotated together.
        n_head: heads in w (query heads for q_proj, KV heads for k_proj).

    Returns:
        The same shape, rows per head [a_0, b_0, a_1, b_1, ...].

    Example: one head, D=4, rows [r0, r1, r2, r3] -> [r0, r2, r1, r3].
    """
    # view each head's rows as (2, D/2), swap to (D/2, 2): pair j's two rows become neighbours
    D = w.shape[0] // n_head
    return w.reshape(n_head, 2, D // 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def config_from_hf(hf_config) -> LlamaConfig:
    """Our LlamaConfig for a transformers LlamaConfig or MistralConfig.

    Raises:
        ValueError: for what our model does not have: attention or MLP biases, a head_dim other
            than hidden_size / num_attention_heads, a RoPE scaling type other than "default",
            an activation other than "silu".

    Example: LlamaConfig(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, ...) ->
        LlamaConfig(dim=64, n_head=4, n_kv_head=2, ..., sliding_window=None).
    """
    # refuse what would load without error but compute something else
    c = hf_config
    if getattr(c, "attention_bias", False) or getattr(c, "mlp_bias", False):
        raise ValueError("biased projections are not supported by our Llama")
    if getattr(c, "head_dim", None) not in (None, c.hidden_size // c.num_attention_heads):
        raise ValueError(f"head_dim={c.head_dim} differs from hidden_size / num_attention_heads")
    rope = c.rope_parameters
    if rope.get("rope_type", "default") != "default":
        raise ValueError(f"rope_type {rope['rope_type']!r}: only the default RoPE is supported")
    if c.hidden_act != "silu":
        raise ValueError(f"hidden_act {c.hidden_act!r}: SwiGLU uses silu")
    return LlamaConfig(
        vocab_size=c.vocab_size,
        dim=c.hidden_size,
        n_layer=c.num_hidden_layers,
        n_head=c.num_attention_heads,
        n_kv_head=c.num_key_value_heads,
        hidden_dim=c.intermediate_size,
        max_seq_len=c.max_position_embeddings,
        rope_base=rope["rope_theta"],
        norm_eps=c.rms_norm_eps,
        sliding_window=getattr(c, "sliding_window", None),
        tie_embeddings=c.tie_word_embeddings,
    )


def convert_llama_state_dict(
    hf_state_dict: dict[str, torch.Tensor], config: LlamaConfig
) -> dict[str, torch.Tensor]:
    """A LlamaForCausalLM / MistralForCausalLM state dict -> a state dict for our Llama.

    Renames per the table above, fuses q/k/v into wqkv = cat([q, k, v], dim=0) after reordering
    the q and k rows with half_to_interleaved, and takes output.weight from lm_head.weight (or from
    the embedding when the model ties them and lm_head.weight is absent). Returns new tensors.

    Example: dim=64, H=4, KV=2 (D=16): q_proj (64, 64), k_proj (32, 64) and v_proj (32, 64) of
    layer 0 become layers.0.attention.wqkv.weight (128, 64), rows [q; k; v]; model.norm.weight
    becomes norm.weight.
    """
    # build every target key explicitly, so a missing source key fails loudly with its name
    sd = hf_state_dict
    out = {
        "tok_embeddings.weight": sd["model.embed_tokens.weight"],
        "norm.weight": sd["model.norm.weight"],
        "output.weight": sd.get("lm_head.weight", sd["model.embed_tokens.weight"]),
    }
    for i in range(config.n_layer):
        hf, ours = f"model.layers.{i}.", f"layers.{i}."
        # subtle: RoPE layout lives in q and k rows only; v rows are never rotated
        q = half_to_interleaved(sd[hf + "self_attn.q_proj.weight"], config.n_head)
        k = half_to_interleaved(sd[hf + "self_attn.k_proj.weight"], config.n_kv_head)
        v = sd[hf + "self_attn.v_proj.weight"]
        out[ours + "attention.wqkv.weight"] = torch.cat([q, k, v], dim=0)
        out[ours + "attention.wo.weight"] = sd[hf + "self_attn.o_proj.weight"]
        out[ours + "attention_norm.weight"] = sd[hf + "input_layernorm.weight"]
        out[ours + "ffn_norm.weight"] = sd[hf + "post_attention_layernorm.weight"]
        out[ours + "feed_forward.w1.weight"] = sd[hf + "mlp.gate_proj.weight"]
        out[ours + "feed_forward.w3.weight"] = sd[hf + "mlp.up_proj.weight"]
        out[ours + "feed_forward.w2.weight"] = sd[hf + "mlp.down_proj.weight"]
    return {key: value.detach().clone().contiguous() for key, value in out.items()}


def llama_from_hf(hf_model) -> Llama:
    """Build our Llama with the weights of a transformers LlamaForCausalLM / MistralForCausalLM."""
    config = config_from_hf(hf_model.config)
    model = Llama(config)
    # strict: a missing or extra key is an error, not a silently random weight
    model.load_state_dict(convert_llama_state_dict(hf_model.state_dict(), config), strict=True)
    return model.eval()
