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
    # TODO(w07.load_llama): return w with each head's rows in interleaved pair order
    raise NotImplementedError(
        "w07.load_llama: write half_to_interleaved in exercises/week07_architectures/load_llama.py"
    )


def config_from_hf(hf_config) -> LlamaConfig:
    """Our LlamaConfig for a transformers LlamaConfig or MistralConfig.

    Raises:
        ValueError: for what our model does not have: attention or MLP biases, a head_dim other
            than hidden_size / num_attention_heads, a RoPE scaling type other than "default",
            an activation other than "silu".

    Example: LlamaConfig(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, ...) ->
        LlamaConfig(dim=64, n_head=4, n_kv_head=2, ..., sliding_window=None).
    """
    # TODO(w07.load_llama): return the matching LlamaConfig, refusing what our Llama lacks
    raise NotImplementedError(
        "w07.load_llama: write config_from_hf in exercises/week07_architectures/load_llama.py"
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
    # TODO(w07.load_llama): return a new state dict that our Llama loads, from the HF one
    raise NotImplementedError(
        "w07.load_llama: write convert_llama_state_dict in exercises/week07_architectures/load_llama.py"
    )


def llama_from_hf(hf_model) -> Llama:
    """Build our Llama with the weights of a transformers LlamaForCausalLM / MistralForCausalLM."""
    config = config_from_hf(hf_model.config)
    model = Llama(config)
    # strict: a missing or extra key is an error, not a silently random weight
    model.load_state_dict(convert_llama_state_dict(hf_model.state_dict(), config), strict=True)
    return model.eval()
