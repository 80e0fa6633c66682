"""Sampling: grow a sequence one token at a time from a language model's next-token distribution.

Check: `python tracker.py check w02.sample`
"""

import torch
from torch import nn


@torch.no_grad()
def sample(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    generator: torch.Generator,
    temperature: float = 1.0,
    block_size: int | None = None,
) -> torch.Tensor:
    """Append `max_new_tokens` sampled tokens to each row of `idx`.

    Each step runs the model on the sequence so far (its last `block_size` tokens if given),
    takes the logits at the last position, divides them by `temperature` and draws the next token
    from their softmax with `torch.multinomial(..., generator=generator)`.

    Args:
        model: `model(idx)` returns `(logits (B, T, V), loss)`.
        idx: (B, T0) int64 the prompt, T0 >= 1.
        max_new_tokens: how many tokens to add.
        generator: a seeded torch.Generator; the same seed gives the same text.
        temperature: > 0; below 1 sharpens the distribution, above 1 flattens it.
        block_size: the longest context the model accepts, or None for no limit.

    Returns:
        (B, T0 + max_new_tokens) int64; the first T0 columns are `idx`.

    Example: a model whose last-position logits put all the probability on (previous token + 1)
    % V turns the prompt [[0], [5]] with max_new_tokens=3, V=6 into [[0, 1, 2, 3], [5, 0, 1, 2]],
    whatever the seed.
    """
    # TODO(w02.sample): extend every row by max_new_tokens tokens drawn from the model
    raise NotImplementedError("w02.sample: write sample in exercises/week02_bigram/sample.py")
