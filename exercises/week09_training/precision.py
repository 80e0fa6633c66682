"""Mixed precision: the forward pass under autocast (bf16 on CPU, fp16 + GradScaler on CUDA).

Autocast runs matmuls in the low-precision dtype and keeps precision-sensitive ops (softmax,
cross-entropy, reductions) in float32; the parameters, their gradients and the optimizer state stay
float32. fp16's small range lets small gradients underflow to 0, so fp16 training multiplies the loss
by a large scale before backward (GradScaler) and divides the gradients back before they are used.
bf16 has float32's range and needs no scaler.
Check: `python tracker.py check w09.mixed_precision`
"""

import torch
import torch.nn as nn


def amp_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    dtype: torch.dtype = torch.bfloat16,
    scaler: torch.amp.GradScaler | None = None,
    grad_clip: float = 0.0,
) -> float:
    """One training step with the forward pass under autocast; returns the (unscaled) loss.

    1. `_, loss = model(x, y)` inside torch.autocast(device_type=x.device.type, dtype=dtype,
       enabled=dtype != torch.float32); nothing else runs under autocast.
    2. backward: loss.backward(), or with a scaler scaler.scale(loss).backward() followed by
       scaler.unscale_(optimizer) (before clipping: the clip must see the true gradients).
    3. if grad_clip > 0: torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip).
    4. optimizer.step(), or scaler.step(optimizer) then scaler.update() (it skips the step when a
       gradient is inf/NaN and lowers the scale).
    5. optimizer.zero_grad(set_to_none=True).
    Never cast the model (`model.to(torch.bfloat16)`): parameters stay float32.
    With dtype=torch.float32 and no scaler this is exactly a plain float32 step.
    Example: dtype=torch.bfloat16 on CPU: the first block's mlp.c_fc returns bfloat16 during the
    forward, every parameter is still float32 afterwards, and the returned loss is within ~0.05
    of the float32 loss; with a GradScaler whose gradients overflow, the weights stay as they were
    and the scale halves.

    Returns:
        loss.item(): the loss itself, not the scaled loss.
    """
    # TODO(w09.mixed_precision): take one training step with a low-precision forward pass
    raise NotImplementedError(
        "w09.mixed_precision: write amp_train_step in exercises/week09_training/precision.py"
    )
