"""Shared helpers of week 14's checks (not a test file)."""

import torch


def off_grid(values: torch.Tensor, tol: float = 1e-3) -> torch.Tensor:
    """Mask of the entries of `values` (already divided by their scale) that are not integers."""
    return (values - values.round()).abs() > tol


def near_half(values: torch.Tensor, tol: float = 1e-3) -> torch.Tensor:
    """Mask of the entries whose fractional part is within tol of 0.5: rounding may go either way."""
    return ((values - values.floor()) - 0.5).abs() < tol


def assert_rounds(q: torch.Tensor, ratio: torch.Tensor, *, what: str, hint: str) -> None:
    """q must be round(ratio) wherever ratio is not a near-tie (either neighbour accepted there)."""
    expected = ratio.round()
    wrong = (q.double() != expected.double()) & ~near_half(ratio)
    if wrong.any():
        idx = tuple(wrong.nonzero()[0].tolist())
        raise AssertionError(
            f"{what}: {int(wrong.sum())} of {wrong.numel()} quantised values are not "
            f"round(w / scale); first at {idx}: w / scale = {ratio[idx].item():.4f}, expected "
            f"{expected[idx].item():.0f}, got {q[idx].item()}\n  likely cause: {hint}"
        )


def outlier_inputs(n: int, d: int, seed: int, correlated: bool = True) -> torch.Tensor:
    """(n, d) calibration activations with two outlier channels (x20), optionally mixed so the
    channels are correlated (a non-diagonal Hessian X^T X)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    x[:, [3, d - 5]] *= 20.0
    if correlated:
        x = x @ (torch.eye(d) + 0.3 * torch.randn(d, d, generator=g))
    return x


def output_error(x: torch.Tensor, w_hat: torch.Tensor, w: torch.Tensor) -> float:
    """Mean squared layer-output error on x: mean((x @ w_hat.T - x @ w.T)^2)."""
    return (x.double() @ w_hat.double().T - x.double() @ w.double().T).pow(2).mean().item()
