"""Gradient accumulation: the gradients of a big batch from several small forward/backward passes.

Check: `python tracker.py check w09.accumulation`
"""

import torch
import torch.nn as nn


def accumulate_gradients(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, micro_batches: int
) -> float:
    """Leave in every .grad the gradient of the batch's mean loss, computed in micro-batches.

    First set every parameter's .grad to None; then cut x and y (B, T) along the batch into
    `micro_batches` equal chunks, in order (x.chunk(micro_batches)), and for each chunk run
    `_, loss = model(xc, yc)` (a mean-reduced loss) and backward `loss / micro_batches`, so the
    accumulated gradient equals that of `model(x, y)` on the whole batch. Targets hold no -100.

    Example: B = 6, micro_batches = 3: rows 0-1, 2-3 and 4-5 each backward loss_i / 3, so .grad
    holds the gradient of (loss_0 + loss_1 + loss_2) / 3, the 6-row batch's mean loss, and that
    mean is returned. micro_batches = 1 is one ordinary forward/backward.

    Raises:
        ValueError: if B is not divisible by micro_batches.

    Returns:
        the whole batch's mean loss: the mean of the chunks' losses, a float.
    """
    B = x.size(0)
    if B % micro_batches:
        raise ValueError(f"batch size {B} is not divisible by micro_batches={micro_batches}")
    for p in model.parameters():
        p.grad = None
    total = 0.0
    for xc, yc in zip(x.chunk(micro_batches), y.chunk(micro_batches)):
        _, loss = model(xc, yc)
        # subtle: backward adds into .grad; dividing makes the sum of k chunk means one mean
        (loss / micro_batches).backward()
        total += loss.item()
    return total / micro_batches
