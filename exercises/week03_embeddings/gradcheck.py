"""A finite-difference gradient checker, for layers whose backward you did not get from autograd.

df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), with error O(eps^2). Run it in float64:
in float32 the rounding error of f swamps the difference for any useful eps.
Check: `python tracker.py check w03.gradcheck`
"""

from collections.abc import Callable

import torch


def numerical_gradient(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Central-difference estimate of d f(x) / d x for a scalar-valued f, without autograd.

    Args:
        f: maps a tensor shaped like x to a scalar tensor.
        x: the point, preferably float64; it is left unchanged.
        eps: the step.

    Returns:
        A tensor shaped like x: entry i is (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    Example: f = lambda x: (x ** 2).sum(), x = [1., -2.] -> [2., -4.].

    Built without autograd: the check switches off torch.autograd.grad, torch.autograd.backward
    and Tensor.backward while it runs.
    """
    # TODO(w03.gradcheck): return the central-difference gradient of f at x, leaving x unchanged
    raise NotImplementedError(
        "w03.gradcheck: write numerical_gradient in exercises/week03_embeddings/gradcheck.py"
    )


def check_gradients(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6
) -> float:
    """Largest disagreement between autograd's gradient and the numerical one.

    Returns:
        max over entries of |a - n| / max(1, |a|, |n|), with a from autograd and n from
        numerical_gradient: a relative error for large gradients, an absolute one for small.
        Below 1e-6 in float64 means the backward pass is right.

    Example: f = lambda x: (x ** 2).sum() at x = [1., -2.] (float64) -> below 1e-6 (both give
    [2., -4.]); a layer whose backward returns twice the true gradient [2., -4.] scores 0.5.
    """
    # TODO(w03.gradcheck): return how far autograd's gradient of f at x is from the numerical one
    raise NotImplementedError(
        "w03.gradcheck: write check_gradients in exercises/week03_embeddings/gradcheck.py"
    )
