"""Activation checkpointing on the week-05 GPT: keep a block's input, recompute its inside in backward.

Training keeps every intermediate activation for the backward pass; memory grows with layers x
batch x sequence. A checkpointed block keeps only its input and runs its forward pass a second time
during backward (about 1/3 more compute) to get the activations back (Chen et al. 2016).
Check: `python tracker.py check w09.activation_checkpointing`
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
    This holds with dropout too, in training mode: under the same seed the logits, the loss and the
    gradients equal the plain model's (checkpoint restores the RNG state before it recomputes a
    block, so the recomputation draws the same dropout masks). The model's train/eval mode is left
    as it was.
    Example: a 2-layer GPT, forward then backward: 4 block calls (each block twice); the logits
    equal model(idx)[0].

    Args:
        model: a week-05 GPT (its modules are used directly; model.forward is not called).
        idx: (B, T) int64, T <= block_size.
        targets: (B, T) int64 or None.

    Returns:
        logits (B, T, V) and the scalar loss (None without targets).
    """
    B, T = idx.shape
    tr = model.transformer
    pos = torch.arange(T, dtype=torch.long, device=idx.device)  # (T,)
    x = tr.drop(tr.wte(idx) + tr.wpe(pos))  # (B, T, C)
    for block in tr.h:
        # only x is saved; the block's inside is recomputed when backward reaches it
        x = checkpoint(block, x, use_reentrant=False)
    logits = model.lm_head(tr.ln_f(x))  # (B, T, V)
    if targets is None:
        return logits, None
    loss = F.cross_entropy(
        logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100
    )
    return logits, loss
