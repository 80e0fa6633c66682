"""Entropy, KL divergence and perplexity: how to read a loss in nats.

Check: `python tracker.py check w01.information`
"""

import math

import torch

from .softmax import log_softmax


def entropy(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Entropy H(p) = -sum_i p_i log p_i in nats of the distribution p = softmax(logits).

    Terms with p_i = 0 count as 0 (the limit of p log p), so one-hot-like logits give 0, not NaN.
    Example: logits of equal values over V classes give ln V: entropy(tensor([0., 0.])) = ln 2 =
    0.6931; entropy(tensor([0., -1000.])) = 0.

    Returns:
        `logits` with `dim` reduced away.
    """
    logp = log_softmax(logits, dim=dim)
    # p * logp is 0 * finite where p underflows, never 0 * -inf, because logp comes from log_softmax
    return -(logp.exp() * logp).sum(dim=dim)


def kl_divergence(p_logits: torch.Tensor, q_logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """KL(p || q) = sum_i p_i (log p_i - log q_i) in nats, with p = softmax(p_logits), q likewise.

    Not symmetric: KL(p || q) weights the log-ratio by p. Zero iff p == q, never negative.
    Example: p = [1/2, 1/2] (logits [0., 0.]), q = [1/4, 3/4] (logits [0., ln 3]) give
    0.5 ln(0.5 / 0.25) + 0.5 ln(0.5 / 0.75) = 0.1438; swapped, KL(q || p) = 0.1308.

    Returns:
        the inputs' shape with `dim` reduced away.
    """
    logp = log_softmax(p_logits, dim=dim)
    logq = log_softmax(q_logits, dim=dim)
    return (logp.exp() * (logp - logq)).sum(dim=dim)


def perplexity(mean_nll: float | torch.Tensor) -> float:
    """Perplexity from a mean negative log-likelihood in nats: exp(mean_nll), as a Python float.

    A model that is uniform over V tokens has mean NLL ln V and perplexity V: it is "as confused
    as a fair V-sided die". Example: perplexity(math.log(65)) is 65.0 up to float rounding.
    `mean_nll` may be a Python float or a 0-d tensor (a loss straight from cross_entropy).
    """
    return math.exp(float(mean_nll))
