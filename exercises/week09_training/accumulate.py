"""Gradient accumulation: the gradients of a big batch from several small forward/backward passes.

Check: `pytest checks/week09_training/test_accumulate.py`
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

    Raises:
        ValueError: if B is not divisible by micro_batches.

    Returns:
        the whole batch's mean loss: the mean of the chunks' losses, a float.
    """
    # TODO(w09.accumulation): clear the grads, then forward/backward each chunk with its loss divided by micro_batches.
    raise NotImplementedError(
        "w09.accumulation: write accumulate_gradients in exercises/week09_training/accumulate.py"
    )
