"""Gradient clipping by the global norm: one scale factor for all gradients together.

Check: `python tracker.py check w09.clip`
"""

from collections.abc import Iterable

import torch


def clip_grad_norm(parameters: Iterable[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale every gradient in place so that their global L2 norm is at most max_norm.

    total = sqrt(sum over all gradients of sum(g ** 2)); every gradient is multiplied by
    min(1, max_norm / (total + 1e-6)), as torch.nn.utils.clip_grad_norm_ does. Parameters whose
    .grad is None are skipped. `parameters` may be a generator: iterate it once.
    Forbidden (the check makes them raise): torch.nn.utils.clip_grad_norm_, clip_grad_norm,
    clip_grads_with_norm_ and get_total_norm.

    Example: grads [3, 0] and [4] (total 5), max_norm 1 -> [0.6, 0], [0.8], returns 5.0;
    with max_norm 10 nothing changes and it still returns 5.0.

    Returns:
        the total norm BEFORE clipping, a 0-dim float32 tensor (0.0 if no parameter has a grad).
    """
    # TODO(w09.clip): cap the gradients' global norm at max_norm, in place; return the norm before
    raise NotImplementedError("w09.clip: write clip_grad_norm in exercises/week09_training/clip.py")
