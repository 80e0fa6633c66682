"""Checkpoints: save a GPT (and its optimizer) to one file, and rebuild it from that file alone.

The file is a plain dict of tensors and numbers written with torch.save and read back with
`torch.load(..., weights_only=True)`, which refuses to run pickled code from an untrusted file.
Check: `python tracker.py check w05.checkpoint`
"""

from dataclasses import asdict
from pathlib import Path

import torch

from .model import GPT, GPTConfig


def save_checkpoint(
    path: str | Path,
    model: GPT,
    optimizer: torch.optim.Optimizer | None = None,
    step: int = 0,
) -> None:
    """Write {"model": state dict, "config": GPTConfig as a dict, "step", "optimizer"?} to `path`.

    Args:
        path: the file to write (its folder must exist).
        model: the GPT; its config is saved too, so load_checkpoint needs nothing else.
        optimizer: saved as its state dict when given (for resuming), else left out.
        step: the training step the checkpoint was taken at.

    Example: save_checkpoint(p, gpt, step=100) -> torch.load(p, weights_only=True) reads
    {"model": ..., "config": {"vocab_size": ..., ...}, "step": 100}; with an optimizer the dict
    also holds "optimizer": optimizer.state_dict().
    """
    # everything needed to rebuild: the architecture (config) and the numbers (state dict)
    ckpt = {"model": model.state_dict(), "config": asdict(model.config), "step": step}
    if optimizer is not None:
        ckpt["optimizer"] = optimizer.state_dict()
    torch.save(ckpt, path)


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> tuple[GPT, dict]:
    """Rebuild the GPT saved by save_checkpoint.

    Args:
        path: a file written by save_checkpoint.
        map_location: device to load the tensors onto.

    Returns:
        (model, ckpt): the model in eval mode with the saved weights, and the whole checkpoint dict
        (ckpt["step"], ckpt.get("optimizer") for resuming).

    Example: after save_checkpoint(p, gpt, opt, step=7), load_checkpoint(p) gives a model whose
    logits equal gpt.eval()'s on any input, and ckpt["step"] == 7.

    Raises:
        pickle.UnpicklingError (from torch.load with weights_only=True): the file holds pickled
            code rather than plain data; that code must never run.
    """
    # weights_only: the file may only hold tensors and plain containers, never code
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt
