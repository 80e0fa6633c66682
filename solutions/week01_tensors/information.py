"""Entropy, KL divergence and perplexity: how to read a loss in nats; then joint and conditional
entropy and mutual information of two variables from their joint table.

Check: `python tracker.py check w01.information` (then w01.mutual_information)
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


def joint_entropy(joint: torch.Tensor) -> torch.Tensor:
    """H(X, Y) = -sum_xy p(x, y) log p(x, y) in nats of a joint table.

    Args:
        joint: a floating tensor (..., X, Y) of non-negative weights: probabilities or counts. Each
            (X, Y) table is normalised to sum 1 first, so counts and probabilities give the same
            answer. Rows index X, columns index Y. Cells with p = 0 count as 0 (0 log 0 = 0).

    Example: joint_entropy(tensor([[1/4, 1/4], [0, 1/2]])) = -(2 * 1/4 ln 1/4 + 1/2 ln 1/2) =
    1.0397; a (1, Y) table is a single distribution, so joint_entropy(tensor([[1., 3.]])) =
    H([1/4, 3/4]) = 0.5623.

    Returns:
        shape (...): one entropy per table.

    Raises:
        ValueError: a negative entry, or a table whose entries are all 0 (no distribution).
    """
    if (joint < 0).any():
        raise ValueError("joint_entropy: a probability table has no negative entries")
    total = joint.sum(dim=(-2, -1), keepdim=True)
    if (total == 0).any():
        raise ValueError("joint_entropy: a table of zeros is no distribution (its sum is 0)")
    p = joint / total
    return -torch.xlogy(p, p).sum(dim=(-2, -1))


def conditional_entropy(joint: torch.Tensor) -> torch.Tensor:
    """H(Y | X) in nats: how uncertain Y (the columns) stays once X (the row) is known.

    H(Y | X) = -sum_xy p(x, y) log p(y | x) = H(X, Y) - H(X). The same input rules as
    joint_entropy (any non-negative weights (..., X, Y), normalised per table; rows are X).
    It is 0 when each row has one non-zero cell (Y is a function of X) and H(Y) when X and Y are
    independent; never negative (a rounding error below 0 is returned as 0). Not symmetric:
    H(X | Y) is conditional_entropy(joint.transpose(-2, -1)).

    Example: for [[1/4, 1/4], [0, 1/2]], H(X, Y) = 1.0397 and H(X) = ln 2 = 0.6931, so
    H(Y | X) = 0.3466 (while H(X | Y) = 1.0397 - H([1/4, 3/4]) = 0.4774).

    Returns:
        shape (...).

    Raises:
        ValueError: as joint_entropy.
    """
    return (joint_entropy(joint) - joint_entropy(joint.sum(dim=-1, keepdim=True))).clamp(min=0.0)


def mutual_information(joint: torch.Tensor) -> torch.Tensor:
    """I(X; Y) in nats: how much knowing X tells about Y, from a joint table (..., X, Y).

    I(X; Y) = sum_xy p(x, y) log(p(x, y) / (p(x) p(y))) = H(Y) - H(Y | X) = H(X) - H(X | Y).
    Symmetric in X and Y, 0 for independent variables, at most min(H(X), H(Y)), never negative:
    a value that rounding pushes below 0 is returned as exactly 0. Input rules as joint_entropy.

    Example: [[1/2, 0], [0, 1/2]] (Y = X, a fair bit) gives ln 2 = 0.6931; [[1/4, 1/4], [1/4, 1/4]]
    gives 0; [[1/4, 1/4], [0, 1/2]] gives H([1/4, 3/4]) - 0.3466 = 0.2158.

    Returns:
        shape (...).

    Raises:
        ValueError: as joint_entropy.
    """
    h_y = joint_entropy(joint.sum(dim=-2, keepdim=True))
    return (h_y - conditional_entropy(joint)).clamp(min=0.0)
