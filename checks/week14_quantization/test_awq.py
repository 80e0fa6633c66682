"""Checks for w14.awq: the activation-aware scale search.

Oracles: (1) alpha = 0 is in the grid and means rtn_quantize, so on the calibration data the
result is never worse than round-to-nearest; (2) with every input channel equally large, all s are
1 whatever alpha, so the result IS round-to-nearest; (3) the promised identity w_hat =
rtn_quantize(w * s) / s for the returned s; (4) with outlier channels the error is well below
round-to-nearest's (bound 0.7x; the reference reaches ~0.35x here) and alpha > 0.
"""

import pytest
import torch

from checks.week14_quantization.support import outlier_inputs, output_error
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week14_quantization.awq")
rtn = load("week14_quantization.gptq").rtn_quantize


def weight(seed: int) -> torch.Tensor:
    return torch.randn(24, 36, generator=generator(seed))


def test_beats_rtn_on_outlier_channels_and_returns_consistent_scales():
    w = weight(0)
    x = outlier_inputs(256, 36, seed=1, correlated=False)
    w_hat, s, alpha = mod.awq_quantize(w, x, bits=4)
    assert tuple(s.shape) == (36,) and (s > 0).all(), (
        f"awq_quantize: s must be (in,) = (36,) and positive, got {tuple(s.shape)}"
    )
    assert_close(
        w_hat,
        rtn(w * s, 4) / s,
        what="awq_quantize(w, x): w_hat vs rtn_quantize(w * s, 4) / s for the returned s",
        hint="scale the INPUT channels (columns, w * s with s of shape (in,)), quantise, divide back",
        atol=1e-5,
    )
    e_awq, e_rtn = output_error(x, w_hat, w), output_error(x, rtn(w, 4), w)
    assert e_awq < 0.7 * e_rtn, (
        f"awq_quantize: output error {e_awq:.4g} vs round-to-nearest {e_rtn:.4g}, expected < 0.7x"
        f" (alpha {alpha})\n  likely cause: s from mean |x| per input channel (over tokens, dim 0) "
        "raised to alpha; the error measured on x @ w_hat.T vs x @ w.T, with w_hat = "
        "rtn_quantize(w * s) / s (divide back by s)"
    )
    assert 0 < alpha < 1, f"awq_quantize picked alpha {alpha} on data with outlier channels"


def test_never_worse_than_rtn_and_uniform_channels_give_rtn():
    """Two Gaussian inputs: correlated outliers (error <= RTN's since alpha = 0 is tried) and
    equal channel magnitudes |x| = 1 everywhere (s = 1 for every alpha: exactly RTN)."""
    w = weight(2)
    x = outlier_inputs(128, 36, seed=3)
    w_hat, _, alpha = mod.awq_quantize(w, x, bits=3, n_grid=7)
    e_awq, e_rtn = output_error(x, w_hat, w), output_error(x, rtn(w, 3), w)
    assert e_awq <= e_rtn * (1 + 1e-6), (
        f"awq_quantize: error {e_awq:.4g} above round-to-nearest's {e_rtn:.4g} although alpha = 0 "
        "(plain RTN) is in the grid\n  likely cause: the grid starts at 1/n_grid, or the best "
        "alpha is not the one with the smallest error"
    )
    signs = torch.randint(0, 2, (64, 36), generator=generator(4)) * 2.0 - 1.0
    w_hat, s, alpha = mod.awq_quantize(w, signs, bits=4, n_grid=5)
    assert_close(
        w_hat,
        rtn(w, 4),
        what="awq_quantize(w, x = random +-1): every channel has mean |x| = 1",
        hint="s = mean|x|^alpha = 1 for every alpha: the result must be round-to-nearest",
        atol=1e-5,
    )
    assert alpha == 0.0, (
        f"awq_quantize: all alphas tie on equal channels; the first (0.0: the grid starts at "
        f"alpha = 0) must be kept, got {alpha}"
    )


def search_reference(w: torch.Tensor, x: torch.Tensor, bits: int, n_grid: int):
    """The docstring's search, step by step: (alpha, s, w_hat) of the first smallest error."""
    act = x.abs().mean(dim=0)
    best = None
    for k in range(n_grid):
        alpha = k / n_grid
        s = act.pow(alpha).clamp_min(1e-4)
        s = s / (s.max() * s.min()).sqrt()
        w_hat = rtn(w * s, bits) / s
        err = (x @ w_hat.T - x @ w.T).pow(2).mean().item()
        if best is None or err < best[0]:
            best = (err, alpha, s, w_hat)
    return best[1:]


@pytest.mark.parametrize("bits", [4, 3])
def test_the_search_returns_a_grid_point_and_its_scales(bits):
    """n_grid = 7 (not the default) on inputs with outlier channels and a dead channel (always 0,
    so mean|x| = 0 there: clamped to 1e-4): alpha must be a grid point k / 7, k = 0..6, and with s
    (normalised by sqrt(max(s) * min(s))) and w_hat exactly those of the docstring's search."""
    w = weight(5)
    x = outlier_inputs(200, 36, seed=6, correlated=False)
    x[:, 9] = 0.0
    w_hat, s, alpha = mod.awq_quantize(w, x, bits=bits, n_grid=7)
    exp_alpha, exp_s, exp_w_hat = search_reference(w, x, bits, 7)
    on_grid = any(abs(alpha - k / 7) < 1e-9 for k in range(7))
    assert on_grid and abs(alpha - exp_alpha) < 1e-9, (
        f"awq_quantize(bits={bits}, n_grid=7) returned alpha {alpha}, expected {exp_alpha} (grid "
        "points k / 7 for k = 0 .. 6)\n  likely cause: quantise with the bits argument; the grid "
        "is alpha = k / n_grid with the n_grid argument "
        "(0 included, 1 not); s = mean over tokens of |x| per input channel, raised to alpha and "
        "clamped to >= 1e-4 (input channel 9 is dead: mean|x| = 0, and 0 ** alpha = 0 would divide "
        "by zero for every alpha > 0)"
    )
    assert torch.isfinite(w_hat).all() and torch.isfinite(s).all(), (
        "awq_quantize with a dead input channel (all x = 0) returned NaN/inf\n  likely cause: "
        "0 ** alpha = 0 for alpha > 0: clamp s to >= 1e-4 before normalising and dividing"
    )
    assert_close(
        s,
        exp_s,
        what=f"awq_quantize(n_grid=7) s for alpha = {alpha}",
        hint="s = mean|x| ** alpha per input channel, clamped to >= 1e-4, then divided by "
        "sqrt(max(s) * min(s))",
        atol=1e-6,
        rtol=1e-5,
    )
    assert_close(
        w_hat,
        exp_w_hat,
        what="awq_quantize(n_grid=7) w_hat",
        hint="w_hat = rtn_quantize(w * s, bits) / s for the chosen s, with the bits argument",
        atol=1e-5,
    )
