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
    # eval mode switches off dropout and the like; no_grad skips building a graph
    was_training = model.training
    model.eval()
    out = {}
    for split in ("train", "val"):
        losses = [
            model(*dataset.get_batch(split, batch_size, generator))[1].item()
            for _ in range(batches)
        ]
        out[split] = sum(losses) / len(losses)
    model.train(was_training)
    return out


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
    # separate generators keep the training batches identical whether or not we evaluate
    g_train = torch.Generator().manual_seed(config.seed)
    g_eval = torch.Generator().manual_seed(config.seed + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history = []
    model.train()
    t0 = time.perf_counter()
    for step in range(config.steps + 1):
        if step % config.eval_every == 0 or step == config.steps:
            losses = estimate_loss(model, dataset, config.batch_size, config.eval_batches, g_eval)
            history.append({"step": step, **losses})
            ms = 1000 * (time.perf_counter() - t0) / max(step, 1)
            log(
                f"step {step} | train {losses['train']:.4f} | val {losses['val']:.4f} | {ms:.1f} ms/step"
            )
        if step == config.steps:
            break
        x, y = dataset.get_batch("train", config.batch_size, g_train)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return history
