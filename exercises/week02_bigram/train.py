"""A minimal training loop with evaluation: AdamW steps on train batches, mean loss on both splits.

Works for any model with the `model(idx, targets) -> (logits, loss)` interface and any loader with
`get_batch(split, batch_size, generator)`; it holds no batching logic of its own.
Check: `python tracker.py check w02.train_loop`
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .dataset import TokenDataset


@dataclass
class TrainConfig:
    steps: int = 2000  # optimizer steps
    batch_size: int = 32  # blocks per step
    lr: float = 1e-2  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    eval_every: int = 200  # steps between evaluations (step 0 and the last step always evaluate)
    eval_batches: int = 20  # batches averaged per split and evaluation
    seed: int = 0  # seeds the batch generators


@torch.no_grad()
def estimate_loss(
    model: nn.Module,
    dataset: TokenDataset,
    batch_size: int,
    batches: int,
    generator: torch.Generator,
) -> dict[str, float]:
    """Mean loss over `batches` batches of each split, in eval mode and without gradients.

    Each batch is `dataset.get_batch(split, batch_size, generator)`; a split's value is the mean
    of its batches' losses.

    Example: an untrained BigramLM over V=65 tokens (all-zero table) gives
    {"train": 4.1744, "val": 4.1744}, ln 65 on every batch.

    Returns:
        {"train": mean train loss, "val": mean val loss}, Python floats. The model is back in
        the mode it was in before the call.
    """
    # TODO(w02.train_loop): return each split's mean loss without training or leaving eval mode on
    raise NotImplementedError(
        "w02.train_loop: write estimate_loss in exercises/week02_bigram/train.py"
    )


def train(
    model: nn.Module,
    dataset: TokenDataset,
    config: TrainConfig,
    log: Callable[[str], None] = print,
) -> list[dict[str, float]]:
    """Train `model` with AdamW on train batches; evaluate both splits along the way.

    Evaluates at step 0 (before any update), every `config.eval_every` steps and after the last
    step, logging one line each: `step 200 | train 2.5012 | val 2.5230 | 0.4 ms/step`.

    Returns:
        The history: one {"step": int, "train": float, "val": float} per evaluation, in order;
        the last entry has step == config.steps.

    Example: steps=50, eval_every=20 evaluates at steps 0, 20, 40 and 50: four entries. The
    same config (its seed included) gives the same history.
    """
    # TODO(w02.train_loop): fit model to the train split with AdamW, returning its evaluations
    raise NotImplementedError("w02.train_loop: write train in exercises/week02_bigram/train.py")
