"""Numerically stable softmax and log-softmax, written from elementary operations.

softmax(x)_i = exp(x_i) / sum_j exp(x_j). exp overflows float32 past about 88 (exp(89.) is inf),
so the formula computed as written gives NaN on large scores; the stable form gives the same
numbers for every input.
Check: `python tracker.py check w01.softmax`
"""

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along `dim`, stable for large inputs (x + 1000 must not give NaN).

    Example: softmax(tensor([0., ln 2, ln 3])) = [1/6, 2/6, 3/6];
    softmax(tensor([1000., 1000.])) = [0.5, 0.5].

    Built from scratch: the check switches off torch's softmax, log_softmax and logsumexp (every
    spelling: torch., F., Tensor. and torch.special.) while it runs.
    """
    # TODO(w01.softmax): return probabilities along dim that stay finite for inputs of any size
    raise NotImplementedError("w01.softmax: write softmax in exercises/week01_tensors/softmax.py")


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(softmax(x)) along `dim`, computed without ever taking log of a tiny probability.

    log_softmax(x) = x - logsumexp(x), with logsumexp(x) = log(sum_j exp(x_j)), which overflows
    too when computed as written.
    Example: log_softmax(tensor([0., 0.])) = [-ln 2, -ln 2]; log_softmax(tensor([0., -200.])) =
    [0., -200.] (softmax's 0 for the second entry would give -inf).

    Built from scratch, as softmax is (the library's softmax, log_softmax and logsumexp are off).
    """
    # TODO(w01.softmax): return log-probabilities along dim, exact where a probability underflows
    raise NotImplementedError(
        "w01.softmax: write log_softmax in exercises/week01_tensors/softmax.py"
    )
