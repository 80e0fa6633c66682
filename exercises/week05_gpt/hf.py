"""Interop with transformers: export a GPT to a `GPT2LMHeadModel` directory and load one back.

Our names are GPT-2's, so the state dicts match key for key. The one difference: HF's GPT-2 keeps
c_attn, c_proj and c_fc in `Conv1D` modules whose weight is (in, out); nn.Linear's is (out, in).
Check: `python tracker.py check w05.hf`
"""

from pathlib import Path

import torch

from .model import GPT, GPTConfig

# weights stored transposed in HF's Conv1D
TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def to_hf_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our GPT state dict -> a GPT2LMHeadModel state dict.

    Same keys; the four Conv1D weights per block are transposed: c_attn.weight (3C, C) -> (C, 3C).
    Returns new tensors (contiguous), never views of the input.

    Example: with C=64, "transformer.h.0.attn.c_attn.weight" (192, 64) -> (64, 192), and
    "transformer.h.0.ln_1.weight" (64,) is copied as it is.
    """
    # TODO(w05.hf): return a new state dict that GPT2LMHeadModel loads as it is
    raise NotImplementedError("w05.hf: write to_hf_state_dict in exercises/week05_gpt/hf.py")


def from_hf_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A GPT2LMHeadModel state dict -> ours: the inverse of to_hf_state_dict.

    Keys our GPT does not have (HF's non-persistent attention buffers in older versions,
    `.attn.bias`, `.attn.masked_bias`) are dropped.

    Example: from_hf_state_dict(to_hf_state_dict(sd)) equals sd key for key, and an HF dict's
    "transformer.h.0.attn.masked_bias" is not in the result.
    """
    # TODO(w05.hf): return a new state dict that our GPT loads, from a GPT2LMHeadModel's
    raise NotImplementedError("w05.hf: write from_hf_state_dict in exercises/week05_gpt/hf.py")


def hf_config(config: GPTConfig):
    """The transformers GPT2Config that describes the same architecture as `config`."""
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=config.vocab_size,
        n_positions=config.block_size,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        activation_function="gelu_new",  # the tanh approximation, as ours
        resid_pdrop=config.dropout,
        embd_pdrop=config.dropout,
        attn_pdrop=config.dropout,
        layer_norm_epsilon=1e-5,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=None,
    )


def export_hf(model: GPT, out_dir: str | Path) -> Path:
    """Save `model` as a transformers GPT2LMHeadModel directory (config.json + weights).

    Load it with `GPT2LMHeadModel.from_pretrained(out_dir)`. GPT-2 has biases everywhere, so
    `config.bias` must be True.
    """
    from transformers import GPT2LMHeadModel

    assert model.config.bias, "GPT2LMHeadModel always has biases: export a model with bias=True"
    hf = GPT2LMHeadModel(hf_config(model.config))
    hf.load_state_dict(to_hf_state_dict(model.state_dict()), strict=False)
    hf.save_pretrained(out_dir)
    return Path(out_dir)


def import_hf(model_dir: str | Path) -> GPT:
    """Load a transformers GPT-2 directory (ours or any GPT2LMHeadModel) into our GPT, in eval mode."""
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel.from_pretrained(model_dir)
    c = hf.config
    config = GPTConfig(
        block_size=c.n_positions,
        vocab_size=c.vocab_size,
        n_layer=c.n_layer,
        n_head=c.n_head,
        n_embd=c.n_embd,
        dropout=0.0,
        bias=True,
    )
    model = GPT(config)
    model.load_state_dict(from_hf_state_dict(hf.state_dict()))
    return model.eval()
