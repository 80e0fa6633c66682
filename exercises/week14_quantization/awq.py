"""Week 14: AWQ-lite: scale up the input channels that carry large activations before rounding.

Multiplying input channel j of W by s_j and dividing the activation by s_j leaves the layer's
output unchanged (x @ W.T = (x / s) @ (W * s).T), but rounding W * s makes the relative error of the
scaled-up channels smaller: the channels that matter most (large |x|) get the finest grid. AWQ
searches s = mean|x|^alpha over a grid of alpha in [0, 1) on calibration data; alpha = 0 is plain
round-to-nearest, so the search can only help on the calibration set.

Reference: Lin et al. 2024, "AWQ: Activation-aware Weight Quantization for LLM Compression and
Acceleration" (section 3.2, the per-channel scaling search).
Check: `python tracker.py check w14.awq`
"""

import torch

from .gptq import rtn_quantize


def awq_quantize(
    w: torch.Tensor, x: torch.Tensor, bits: int = 4, n_grid: int = 20
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Search alpha in [0, 1/n_grid, ..., (n_grid-1)/n_grid] for the activation-aware scales.

    For each alpha: s = mean_over_tokens(|x|) ** alpha per input channel (clamped to >= 1e-4), then
    normalised by sqrt(max(s) * min(s)); w_hat = rtn_quantize(w * s, bits) / s; the error is the
    mean squared difference between x @ w_hat.T and x @ w.T. Keep the alpha with the smallest error
    (the first one on a tie). The grid is alpha = k / n_grid for k = 0 .. n_grid - 1 with the
    n_grid argument (0 included, 1 not): the returned alpha is always one of these points.

    Args:
        w: (out, in) float weight.
        x: (N, in) float calibration inputs.
        bits: bits of rtn_quantize.
        n_grid: grid points; alpha = 0 (all s = 1, plain round-to-nearest) is always one of them.

    Returns:
        w_hat: (out, in) float32, equal to rtn_quantize(w * s, bits) / s for the returned s.
        s: (in,) float32 positive scales of the best alpha.
        alpha: the best alpha (a float).
        On the calibration data the error of w_hat is <= that of rtn_quantize(w, bits).

    Example: inputs whose every channel has mean |x| = 1 (random +-1): s = 1 for every alpha, all
    alphas tie, so alpha = 0.0 is returned with w_hat = rtn_quantize(w, bits); a dead channel
    (always 0) has mean |x| = 0 and gets s = 1e-4 ** alpha before the normalisation.
    """
    # TODO(w14.awq): return the best w_hat, s and alpha of the activation-aware search
    raise NotImplementedError("w14.awq: write awq_quantize in exercises/week14_quantization/awq.py")
