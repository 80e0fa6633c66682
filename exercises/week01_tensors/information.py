"""Entropy, KL divergence and perplexity: how to read a loss in nats.

Check: `python tracker.py check w01.information`
"""

import math

import torch

from .softmax import log_softmax


def entropy(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Entropy H(p) = -sum_i p_i log p_i in nats of the distribution p = softmax(logits).

    Terms with p_i = 0 count as 0 (the limit of p log p), so one-hot-like logits give 0, not NaN.
    Example: logits of equal values over V classes give ln V.

    Returns:
        `logits` with `dim` reduced away.
    """
    # TODO(w01.information): get log p with log_softmax, then sum -p * log p along dim.
    raise NotImplementedError(
        "w01.information: write entropy in exercises/week01_tensors/information.py"
    )


def kl_divergence(p_logits: torch.Tensor, q_logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """KL(p || q) = sum_i p_i (log p_i - log q_i) in nats, with p = softmax(p_logits), q likewise.

    Not symmetric: KL(p || q) weights the log-ratio by p. Zero iff p == q, never negative.

    Returns:
        the inputs' shape with `dim` reduced away.
    """
    # TODO(w01.information): log_softmax both inputs, then sum p * (log p - log q) along dim.
    raise NotImplementedError(
        "w01.information: write kl_divergence in exercises/week01_tensors/information.py"
    )


def perplexity(mean_nll: float | torch.Tensor) -> float:
    """Perplexity from a mean negative log-likelihood in nats: exp(mean_nll), as a Python float.

    A model that is uniform over V tokens has mean NLL ln V and perplexity V: it is "as confused
    as a fair V-sided die". Example: perplexity(math.log(65)) is 65.0 up to float rounding.
    `mean_nll` may be a Python float or a 0-d tensor (a loss straight from cross_entropy).
    """
    # TODO(w01.information): return e to the power mean_nll as a Python float.
    raise NotImplementedError(
        "w01.information: write perplexity in exercises/week01_tensors/information.py"
    )
