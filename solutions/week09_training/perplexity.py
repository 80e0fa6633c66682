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
    was_training = model.training
    model.eval()
    N, T = len(ids), block_size
    starts = list(range(0, N - 1, T))
    total, count = 0.0, 0
    full = [s for s in starts if s + T + 1 <= N]
    for i in range(0, len(full), batch_size):
        chunk = full[i : i + batch_size]
        x = torch.stack([ids[s : s + T] for s in chunk])  # (b, T)
        y = torch.stack([ids[s + 1 : s + T + 1] for s in chunk])
        logits, _ = model(x)
        total += F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="sum").item()
        count += y.numel()
    for s in starts[len(full) :]:  # the short last window, on its own
        x, y = ids[s : N - 1][None], ids[s + 1 : N][None]
        logits, _ = model(x)
        total += F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    # subtle: sum over tokens, divide by tokens: a short window weighs by its length
    nll = total / count
    return nll, math.exp(nll)
