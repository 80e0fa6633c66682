"""The learning-rate schedule of GPT-2/3 style pre-training: linear warmup, cosine decay, a floor.

Check: `python tracker.py check w09.schedule`
"""

import math


def lr_at(step: int, max_lr: float, min_lr: float, warmup_steps: int, max_steps: int) -> float:
    """The learning rate for optimizer step `step` (counted from 0).

    - warmup, step < warmup_steps: max_lr * (step + 1) / warmup_steps, so step 0 already moves
      (lr > 0) and the last warmup step, warmup_steps - 1, reaches max_lr;
    - cosine, warmup_steps <= step <= max_steps: with p = (step - warmup_steps) / (max_steps -
      warmup_steps), min_lr + 0.5 * (1 + cos(pi * p)) * (max_lr - min_lr); the cosine starts after
      the warmup (p = 0 at step warmup_steps, lr = max_lr) and ends at max_steps (lr = min_lr);
    - floor, step > max_steps: min_lr.

    Worked example, max_lr=6e-4, min_lr=6e-5, warmup_steps=10, max_steps=110:
        step 0 -> 6e-5, step 4 -> 3e-4, step 9 -> 6e-4, step 10 -> 6e-4,
        step 60 (p = 0.5) -> 3.3e-4, step 85 (p = 0.75) -> 6e-5 + 0.1464466 * 5.4e-4 = 1.390812e-4,
        step 110 -> 6e-5, step 1000 -> 6e-5.
    Requires warmup_steps < max_steps (warmup_steps may be 0: no warmup).
    Convention: the warmup here is (step + 1) / warmup_steps (nanoGPT's); Stanford CS336's
    reference uses step / warmup_steps, which gives lr = 0 at step 0 and reaches max_lr only at
    step warmup_steps. The checks hold this file's convention.
    """
    # three pieces; each boundary step belongs to the piece that makes the curve continuous
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step > max_steps:
        return min_lr
    progress = (step - warmup_steps) / (max_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)
