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
    # nudge one entry at a time on a copy, so the caller's tensor is never modified
    x = x.detach().clone()
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + eps
            plus = float(f(x))
            flat[i] = old - eps
            minus = float(f(x))
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * eps)
    return grad


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
    # autograd on a fresh leaf, the same point for both estimates
    leaf = x.detach().clone().requires_grad_(True)
    (analytic,) = torch.autograd.grad(f(leaf), leaf)
    numeric = numerical_gradient(f, x, eps)
    scale = torch.maximum(analytic.abs(), numeric.abs()).clamp_min(1.0)
    return ((analytic - numeric).abs() / scale).max().item()
