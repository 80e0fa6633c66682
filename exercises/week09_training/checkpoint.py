"""Atomic checkpoints and exact resume: a run killed at any moment continues as if never stopped.

Exact resume needs everything that decides the next step: the weights, the optimizer's moments and
step counts, the step number (the schedule is a function of it), the data position (here the data
generator's state) and every random number generator (dropout, sampling). A checkpoint written in
place and cut off by a crash would destroy the last good one: write a temporary file in the same
folder, flush it to disk, then os.replace it over the old one (atomic on POSIX).
Check: `python tracker.py check w09.resume`
"""

import os
import random
from pathlib import Path

import numpy as np
import torch


def rng_state(generator: torch.Generator | None = None) -> dict:
    """Every RNG state a training step can touch.

    Keys: "torch" (torch.get_rng_state()), "numpy" (np.random.get_state()), "python"
    (random.getstate()), "cuda" (torch.cuda.get_rng_state_all(), only if CUDA is available) and
    "generator" (generator.get_state(), only if a generator is given).
    Example: s = rng_state(g); a = torch.rand(3); set_rng_state(s, g); torch.rand(3) equals a
    again, and so do the next draws of numpy, random and g.
    """
    # TODO(w09.resume): return every RNG state a training step can touch
    raise NotImplementedError(
        "w09.resume: write rng_state in exercises/week09_training/checkpoint.py"
    )


def set_rng_state(state: dict, generator: torch.Generator | None = None) -> None:
    """Restore what rng_state saved (the "generator" entry into `generator`, if both exist)."""
    # TODO(w09.resume): put back every RNG state that rng_state saved
    raise NotImplementedError(
        "w09.resume: write set_rng_state in exercises/week09_training/checkpoint.py"
    )


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    generator: torch.Generator | None = None,
    extra: dict | None = None,
) -> None:
    """Atomically write {"model", "optimizer", "step", "rng", "extra"} to `path` with torch.save.

    "model" and "optimizer" are state_dicts, "rng" is rng_state(generator), "extra" is `extra` or
    {}. Atomic: torch.save into a temporary file in the same folder (e.g. path + ".tmp"), flush and
    os.fsync it, then os.replace it over `path`. If anything fails before the replace, the old file
    at `path` is untouched; after a successful save no temporary file is left.
    Example: save_checkpoint(p, model, opt, 30, g) then load_checkpoint(p, model2, opt2, g2)
    returns (30, {}), and model2, opt2, g2 and the global RNGs continue as the originals would.
    """
    # TODO(w09.resume): save so that a crash at any moment leaves the last checkpoint intact
    raise NotImplementedError(
        "w09.resume: write save_checkpoint in exercises/week09_training/checkpoint.py"
    )


def load_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator | None = None,
) -> tuple[int, dict]:
    """Restore model, optimizer and every RNG state (and `generator`'s) from `path`.

    Returns:
        (step, extra) as they were saved.
    """
    # TODO(w09.resume): restore everything save_checkpoint wrote; return (step, extra)
    raise NotImplementedError(
        "w09.resume: write load_checkpoint in exercises/week09_training/checkpoint.py"
    )
