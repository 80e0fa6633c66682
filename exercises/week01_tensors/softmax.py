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
    # TODO(w01.softmax): subtract the max along dim, exponentiate, divide by the sum along dim.
    raise NotImplementedError("w01.softmax: write softmax in exercises/week01_tensors/softmax.py")


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(softmax(x)) along `dim`, computed without ever taking log of a tiny probability.

    log_softmax(x) = x - logsumexp(x), and logsumexp(x) = m + log(sum(exp(x - m))) with m = max(x).
    Example: log_softmax(tensor([0., 0.])) = [-ln 2, -ln 2].
    """
    # TODO(w01.softmax): compute x - logsumexp(x) with the max trick; do not take log(softmax(x)).
    raise NotImplementedError(
        "w01.softmax: write log_softmax in exercises/week01_tensors/softmax.py"
    )
