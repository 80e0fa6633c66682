"""The training loop's two moving parts: one optimisation step, and a loss estimate on held-out data.

The command around them (progress bar, logging, schedule, checkpoints) is course/week05_gpt/train.py.
Check: `python tracker.py check w05.train`
"""

import torch
import torch.nn as nn


def get_batch(
    data: torch.Tensor, block_size: int, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample `batch_size` windows of a token stream; targets are the inputs shifted by one.

    Args:
        data: (N,) int64 token ids, N > block_size.
        block_size: T, the window length.
        batch_size: B.
        generator: a seeded CPU generator, so the batches are reproducible.

    Returns:
        x, y: (B, T) int64 each, with y[b, t] == x[b, t + 1] for t < T - 1.

    Example: data=[10, 11, 12, 13, 14], block_size=3 and offset 1 -> x=[11, 12, 13], y=[12, 13, 14].
    """
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)  # (B,)
    offsets = ix[:, None] + torch.arange(block_size)  # (B, T)
    return data[offsets], data[offsets + 1]


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    grad_clip: float = 1.0,
) -> float:
    """One optimisation step on the batch (x, y); return the loss before the step.

    Args:
        model: returns (logits, loss) from `model(x, y)`, like GPT.
        optimizer: updates model's parameters.
        x: (B, T) int64 inputs; y: (B, T) int64 targets.
        grad_clip: clip the global gradient norm to this value; 0 turns clipping off.

    Returns:
        The batch loss as a Python float.

    Example: with SGD(lr=0.1), grad_clip=1.0 and a gradient of global norm 5, every gradient is
    scaled by 1/5 before the step; the model is in train mode afterwards.
    """
    # TODO(w05.train): take one (optionally clipped) optimizer step on (x, y); return the loss
    raise NotImplementedError("w05.train: write train_step in exercises/week05_gpt/loop.py")


@torch.no_grad()
def estimate_loss(
    model: nn.Module,
    splits: dict[str, torch.Tensor],
    block_size: int,
    batch_size: int,
    eval_iters: int,
    generator: torch.Generator,
) -> dict[str, float]:
    """Mean loss over `eval_iters` random batches of each split, in eval mode (no dropout).

    Args:
        model: returns (logits, loss) from `model(x, y)`.
        splits: name -> (N,) int64 token stream, e.g. {"train": ..., "val": ...}.
        block_size, batch_size: the batch shape (B, T).
        eval_iters: batches per split; more batches, less noise.
        generator: draws the batches with get_batch.

    Returns:
        name -> mean loss. The model is back in train mode afterwards.

    Example: an untrained GPT over V=65 gives about {"train": 4.17, "val": 4.17} (ln 65); the
    same generator seed gives the same numbers.
    """
    # TODO(w05.train): return each split's mean loss with dropout off, leaving train mode on
    raise NotImplementedError("w05.train: write estimate_loss in exercises/week05_gpt/loop.py")
