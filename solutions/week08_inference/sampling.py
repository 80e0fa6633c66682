"""Choosing the next token: greedy argmax, or sampling from processed logits with a seeded generator.

Check: `python tracker.py check w08.sampling`
"""

import torch

from .processors import apply_temperature, min_p_filter, top_k_filter, top_p_filter


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The most likely token of each row: (B, V) -> (B,) int64 (the first one on ties)."""
    return logits.argmax(dim=-1)


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
    if temperature == 0:
        return greedy(logits)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    if min_p is not None:
        logits = min_p_filter(logits, min_p)
    # filtered tokens are -inf, so their probability is exactly 0 and multinomial never draws them
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
