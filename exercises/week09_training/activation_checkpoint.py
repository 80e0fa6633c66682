"""Activation checkpointing on the week-05 GPT: keep a block's input, recompute its inside in backward.

Training keeps every intermediate activation for the backward pass; memory grows with layers x
batch x sequence. A checkpointed block keeps only its input and runs its forward pass a second time
during backward (about 1/3 more compute) to get the activations back (Chen et al. 2016).
Check: `pytest checks/week09_training/test_activation_checkpoint.py`
"""

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from solutions.week05_gpt.model import GPT


def forward_checkpointed(
    model: GPT, idx: torch.Tensor, targets: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The week-05 GPT's forward pass with every block checkpointed.

    Same inputs, outputs and values as `model(idx, targets)` (embeddings wte + wpe, dropout, the
    blocks, ln_f, lm_head, mean cross-entropy ignoring -100), but each block runs as
    `torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)`: its activations are not
    stored, so during backward every block's forward runs once more (twice per training step).

    Args:
        model: a week-05 GPT (its modules are used directly; model.forward is not called).
        idx: (B, T) int64, T <= block_size.
        targets: (B, T) int64 or None.

    Returns:
        logits (B, T, V) and the scalar loss (None without targets).
    """
    # TODO(w09.activation_checkpointing): GPT.forward with every block run through torch.utils.checkpoint.checkpoint.
    raise NotImplementedError(
        "w09.activation_checkpointing: write forward_checkpointed in exercises/week09_training/activation_checkpoint.py"
    )
