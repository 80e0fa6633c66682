"""Perplexity over a whole split: every token predicted exactly once, token-weighted.

Check: `python tracker.py check w09.perplexity`
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@torch.no_grad()
def evaluate_perplexity(
    model: nn.Module, ids: torch.Tensor, block_size: int, batch_size: int = 8
) -> tuple[float, float]:
    """Mean negative log-likelihood (nats per token) and perplexity of the stream `ids`.

    Non-overlapping windows of block_size predictions: starts s = 0, T, 2T, ... while s < N - 1,
    x = ids[s : s + T], y = ids[s + 1 : s + T + 1]; the last window may be shorter. So every target
    ids[1], ..., ids[N - 1] is predicted exactly once, and the mean is the sum of all N - 1 token
    NLLs divided by N - 1 (not the mean of the windows' means: the last window is shorter).
    `model(x)` returns (logits (B, t, V), _). Full windows may be batched (batch_size at a time);
    the result must not depend on batch_size. The model runs in eval mode (no dropout) and its
    training mode is restored afterwards.

    Example: a model with uniform logits over V tokens -> (ln V, V).

    Args:
        ids: (N,) int64, N >= 2.

    Returns:
        (mean NLL, exp(mean NLL)) as floats.
    """
    # TODO(w09.perplexity): return the mean NLL per target token of ids, and its perplexity
    raise NotImplementedError(
        "w09.perplexity: write evaluate_perplexity in exercises/week09_training/perplexity.py"
    )
