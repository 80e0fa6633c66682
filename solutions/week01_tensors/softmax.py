"""Numerically stable softmax and log-softmax, written from elementary operations.

softmax(x)_i = exp(x_i) / sum_j exp(x_j). exp overflows float32 past about 88, so subtract the
maximum first: the result is unchanged because the factor exp(-m) cancels.
Check: `python tracker.py check w01.softmax`
"""

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along `dim`, stable for large inputs (x + 1000 must not give NaN).

    Example: softmax(tensor([0., ln 2, ln 3])) = [1/6, 2/6, 3/6].
    """
    # shifting by the max keeps every exponent <= 0, so exp never overflows
    shifted = x - x.amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(softmax(x)) along `dim`, computed without ever taking log of a tiny probability.

    log_softmax(x) = x - logsumexp(x), and logsumexp(x) = m + log(sum(exp(x - m))) with m = max(x).
    Example: log_softmax(tensor([0., 0.])) = [-ln 2, -ln 2].
    """
    # subtle: log(softmax(x)) would give -inf where softmax underflows to 0; this form stays finite
    shifted = x - x.amax(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()
