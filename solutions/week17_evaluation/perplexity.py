"""Perplexity of a long text with a sliding window: every token scored once, with as much context as
the window allows.

A model sees at most `max_length` tokens. Cutting the text into disjoint chunks scores the first
tokens of each chunk with almost no context; a sliding window moves by `stride` < max_length and
scores only the tokens that are new in each window, so every scored token keeps at least
max_length - stride tokens of context. Reference: the Hugging Face "Perplexity of fixed-length
models" guide.
Check: `python tracker.py check w17.perplexity`
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

LogitsFn = Callable[[torch.Tensor], torch.Tensor]  # (B, T) int64 -> (B, T, V) logits


def sliding_window_nll(
    logits_fn: LogitsFn, ids: torch.Tensor, max_length: int, stride: int
) -> tuple[float, int]:
    """Total negative log-likelihood (nats) of ids[1:] and the number of tokens scored.

    Windows start at 0, stride, 2 * stride, ...; the window starting at `begin` is
    ids[begin:end] with end = min(begin + max_length, N), and it is run through logits_fn as one
    (1, end - begin) batch. It scores only its new tokens: positions t in [prev_end, end) with
    t >= 1, where prev_end is the previous window's end (0 for the first window); token t is
    predicted by the logits at position t - 1 of the same window (stride < max_length makes the
    windows overlap, so every new token has context in its window). The loop stops after the
    window that reaches end == N. So every token but the first is scored exactly once, and a
    window that covers the whole text gives the full-context NLL.

    Example: N = 10, max_length = 6, stride = 4: windows [0, 6) scores 1..5, [4, 10) scores 6..9
    (6, 7, 8 and 9, each with tokens 4.. as context); 9 tokens in all.

    Args:
        logits_fn: the model, (B, T) int64 -> (B, T, V) logits, e.g. `lambda x: gpt(x)[0]` or
            `lambda x: hf_model(x).logits`.
        ids: (N,) int64 token ids of the whole text, N >= 2.
        max_length: the longest window the model accepts (its block size).
        stride: how far each window moves, 1 <= stride < max_length.

    Returns:
        (sum of -log p(ids[t] | window context) over scored t, number of scored tokens = N - 1).

    Raises:
        ValueError: unless 1 <= stride < max_length.
    """
    # each window scores only the targets it adds, so no token is counted twice
    if not 1 <= stride < max_length:
        raise ValueError(
            f"need 1 <= stride < max_length, got stride={stride}, max_length={max_length}"
        )
    N = ids.numel()
    total, count, prev_end = 0.0, 0, 0
    for begin in range(0, N, stride):
        end = min(begin + max_length, N)
        window = ids[begin:end]
        with torch.no_grad():
            logits = logits_fn(window[None])[0].float()  # (T, V)
        first = max(prev_end, 1)  # subtle: token 0 has no context and is never scored
        targets = window[first - begin :]
        logp = F.log_softmax(logits[first - begin - 1 : end - begin - 1], dim=-1)
        total -= logp.gather(-1, targets[:, None]).sum().item()
        count += targets.numel()
        prev_end = end
        if end == N:
            break
    return total, count


def perplexity(logits_fn: LogitsFn, ids: torch.Tensor, max_length: int, stride: int) -> float:
    """exp(mean NLL per scored token) of sliding_window_nll(logits_fn, ids, max_length, stride).

    Example: a total NLL of 9 ln 2 over 9 scored tokens -> exp(ln 2) = 2.0 (a model as unsure as
    a fair coin flip per token).

    Raises:
        ValueError: as sliding_window_nll.
    """
    total, count = sliding_window_nll(logits_fn, ids, max_length, stride)
    return math.exp(total / count)
