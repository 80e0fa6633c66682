"""RMSNorm: scale each vector by the reciprocal of its root mean square, then by a learned gain.

y = x / sqrt(mean(x^2) + eps) * weight. Unlike LayerNorm there is no mean subtraction and no bias:
it only fixes the vector's scale, which is cheaper and works as well (LLaMA, Mistral, Qwen, Phi-3).
Paper: Zhang & Sennrich 2019, Root Mean Square Layer Normalization, https://arxiv.org/abs/1910.07467
Check: `python tracker.py check w07.rmsnorm`
"""

import torch
from torch import nn


class RMSNorm(nn.Module):
    """Root-mean-square normalisation over the last dimension, with a gain initialised to ones."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise x (..., C) by its RMS over C; computed in float32, returned in x's dtype.

        Example: x=[3, 4], weight=[1, 1], eps=0 -> rms = sqrt((9 + 16) / 2) = 3.5355,
        y = [0.8485, 1.1314].

        Built from scratch: the check switches off F.rms_norm, torch.rms_norm and nn.RMSNorm
        while it runs.
        """
        # subtle: no mean subtraction: a constant vector [c, c, c] normalises to [1, 1, 1], not 0
        x32 = x.float()
        inv_rms = torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return self.weight * (x32 * inv_rms).to(x.dtype)
