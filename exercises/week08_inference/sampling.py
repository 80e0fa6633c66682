"""Choosing the next token: greedy argmax, or sampling from processed logits with a seeded generator.

Check: `python tracker.py check w08.sampling`
"""

import torch

from .processors import apply_temperature, min_p_filter, top_k_filter, top_p_filter


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The most likely token of each row: (B, V) -> (B,) int64 (the first one on ties)."""
    # TODO(w08.sampling): return the argmax over the vocabulary.
    raise NotImplementedError(
        "w08.sampling: write greedy in exercises/week08_inference/sampling.py"
    )


def sample_next(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample one token per row after temperature, top-k, top-p and min-p, in that order.

    temperature == 0 means greedy (the limit of temperature -> 0). A filter left at None is off.
    Same generator seed and same logits -> same tokens.

    Args:
        logits: (B, V) next-token logits.
        temperature: >= 0.
        top_k, top_p, min_p: optional filters (see processors.py).
        generator: a seeded torch.Generator for reproducible draws.

    Returns:
        (B,) int64 sampled token ids.
    """
    # TODO(w08.sampling): temperature 0 -> greedy; else temperature, top_k, top_p, min_p, softmax,
    #   torch.multinomial with generator.
    raise NotImplementedError(
        "w08.sampling: write sample_next in exercises/week08_inference/sampling.py"
    )
