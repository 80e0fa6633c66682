"""Week 14: GPTQ-lite: quantise a weight column by column and push each column's rounding error
onto the columns not yet quantised, through the inverse Hessian of the layer's calibration loss.

For a linear layer y = x @ W.T and calibration inputs X (N, in), the output error of a quantised
W_hat is sum_r (w_r - w_hat_r) H (w_r - w_hat_r)^T with H = X^T X / N (in, in): the same H for every
row. Optimal Brain Surgeon says: after rounding column i, the best change of the remaining columns
is  W[:, i+1:] -= err_i * Hinv[i, i+1:] / Hinv[i, i]. GPTQ does this for the columns in order, with
the Cholesky factor of H^-1 giving the right rows of the shrinking inverse for free.

Reference: Frantar et al. 2023, "GPTQ: Accurate Post-Training Quantization for Generative
Pre-trained Transformers" (Algorithm 1, without lazy batching or act-order).
Check: `python tracker.py check w14.gptq`
"""

import torch


def rtn_quantize(w: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """Round-to-nearest baseline: symmetric, one scale per row = max|row| / qmax with
    qmax = 2**(bits-1) - 1; returns the dequantised (out, in) float32 weight."""
    qmax = 2 ** (bits - 1) - 1
    w = w.float()
    scale = w.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / qmax
    return (w / scale).round().clamp(-qmax, qmax) * scale


def gptq_quantize(
    w: torch.Tensor, x: torch.Tensor, bits: int = 4, damp: float = 0.01
) -> torch.Tensor:
    """GPTQ with per-row symmetric scales fixed from the ORIGINAL weight (as rtn_quantize).

    1. scale = max|w_row| / qmax per row (qmax = 2**(bits-1) - 1), computed once, before any update.
    2. H = x.T @ x / N (float64 is fine); add damp * mean(diag(H)) to the diagonal (dampening keeps
       H invertible when calibration inputs are correlated or a channel is always 0).
    3. U = upper Cholesky factor of H^-1 (H^-1 = U.T @ U).
    4. For i = 0 .. in-1: q = clamp(round(W[:, i] / scale), -qmax, qmax) * scale;
       err = (W[:, i] - q) / U[i, i]; W[:, i+1:] -= err[:, None] * U[i, i+1:][None, :];
       the result's column i is q.

    Args:
        w: (out, in) float weight (not modified).
        x: (N, in) float calibration inputs of this layer.
        bits: 2..8.
        damp: relative dampening of step 2 (the argument's value, whatever it is).

    Returns:
        (out, in) float32 dequantised weight. Every entry is k * scale_row for an integer k in
        [-qmax, qmax]. When H is diagonal the updates are zero and the result equals rtn_quantize;
        otherwise the calibration output error ||x @ w_hat.T - x @ w.T|| is typically well below
        round-to-nearest's.

    Example: x = diag(1, 2, ..., in) makes H diagonal: U[i, i+1:] = 0, no error reaches a later
    column, and the result is rtn_quantize(w, bits) exactly.
    """
    qmax = 2 ** (bits - 1) - 1
    W = w.detach().double().clone()
    X = x.detach().reshape(-1, x.shape[-1]).double()
    scale = W.abs().amax(dim=1).clamp_min(1e-12) / qmax  # (out,) fixed before any update
    H = X.T @ X / X.shape[0]  # (in, in)
    H += damp * H.diagonal().mean() * torch.eye(H.shape[0], dtype=H.dtype)
    # subtle: the upper factor of H^-1: row i holds the OBS update for column i given 0..i-1 done
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    Q = torch.zeros_like(W)
    for i in range(W.shape[1]):
        q = (W[:, i] / scale).round().clamp(-qmax, qmax) * scale
        Q[:, i] = q
        err = (W[:, i] - q) / U[i, i]
        W[:, i + 1 :] -= err[:, None] * U[i, i + 1 :][None, :]
    return Q.float()
