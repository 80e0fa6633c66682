"""Load a transformers GPT2LMHeadModel into the week-05 GPT by hand: rename nothing, transpose four.

Our GPT uses GPT-2's module names, so the state dicts match key for key, with two differences:
HF keeps c_attn, c_proj and c_fc in `Conv1D` modules whose weight is stored (in, out), while
nn.Linear stores (out, in); and HF may carry attention buffers (`attn.bias`, `attn.masked_bias`,
older versions) that are not parameters. The fused q/k/v projection c_attn is fused in both.
To load your own week-05 model instead of the reference, change the import below.
Check: `python tracker.py check w07.load_gpt2`
"""

import torch

from solutions.week05_gpt.model import GPT, GPTConfig

# the weights HF stores transposed, as Conv1D (in, out)
CONV1D_WEIGHTS = (
    "attn.c_attn.weight",
    "attn.c_proj.weight",
    "mlp.c_fc.weight",
    "mlp.c_proj.weight",
)


def gpt_config_from_hf(hf_config) -> GPTConfig:
    """The GPTConfig with the same shapes as a transformers GPT2Config.

    Raises:
        ValueError: if the HF model differs in a way our GPT cannot express (an activation other
            than "gelu_new", an inner MLP size other than 4C, a LayerNorm epsilon other than 1e-5).

    Example: GPT2Config(n_positions=64, n_embd=48, n_layer=2, n_head=4, vocab_size=101) ->
        GPTConfig(block_size=64, vocab_size=101, n_layer=2, n_head=4, n_embd=48, dropout=0.0, bias=True).
    """
    # TODO(w07.load_gpt2): return the matching GPTConfig, refusing what our GPT cannot express
    raise NotImplementedError(
        "w07.load_gpt2: write gpt_config_from_hf in exercises/week07_architectures/load_gpt2.py"
    )


def convert_gpt2_state_dict(hf_state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A GPT2LMHeadModel state dict -> a state dict for our GPT.

    Same keys; every key ending in one of CONV1D_WEIGHTS is transposed ((C, 3C) -> (3C, C) for
    c_attn); attention buffers (keys ending in ".attn.bias" or ".attn.masked_bias") are dropped.
    Returns new contiguous tensors: the HF model's tensors are never modified or shared.

    Example: with n_embd=48, "transformer.h.0.attn.c_attn.weight" (48, 144) -> (144, 48),
    "transformer.h.0.ln_1.weight" (48,) is copied as it is, and an older transformers'
    "transformer.h.0.attn.bias" buffer is dropped.
    """
    # TODO(w07.load_gpt2): return a new state dict that our GPT loads, from the HF one
    raise NotImplementedError(
        "w07.load_gpt2: write convert_gpt2_state_dict in exercises/week07_architectures/load_gpt2.py"
    )


def gpt2_from_hf(hf_model) -> GPT:
    """Build our GPT with the weights of a transformers GPT2LMHeadModel, in eval mode."""
    model = GPT(gpt_config_from_hf(hf_model.config))
    # strict: a missing or extra key is an error, not a silently random weight
    model.load_state_dict(convert_gpt2_state_dict(hf_model.state_dict()), strict=True)
    return model.eval()
