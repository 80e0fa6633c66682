"""SwiGLU feed-forward: a gated MLP, silu(x W1) * (x W3), projected back with W2.

The gate branch w1 goes through SiLU (x * sigmoid(x)) and multiplies the linear "up" branch w3
elementwise. Three matrices instead of two, so LLaMA shrinks the hidden size to about 8/3 * C to
keep the parameter count of a 4C GELU MLP. Names follow Meta's LLaMA code; transformers calls them
gate_proj (w1), up_proj (w3) and down_proj (w2).
Paper: Shazeer 2020, GLU Variants Improve Transformer, https://arxiv.org/abs/2002.05202
Check: `python tracker.py check w07.swiglu`
"""

import torch
import torch.nn.functional as F
from torch import nn


class SwiGLU(nn.Module):
    """w2(silu(w1(x)) * w3(x)), all three projections without bias."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)  # gate (transformers: gate_proj)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)  # up (transformers: up_proj)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)  # down (transformers: down_proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., C).

        Example: C=1, hidden=1, all weights 1, x=2 -> silu(2) * 2 = 2 * sigmoid(2) * 2 = 3.5232.
        """
        # TODO(w07.swiglu): return the gated feed-forward of the module docstring
        raise NotImplementedError(
            "w07.swiglu: write SwiGLU.forward in exercises/week07_architectures/swiglu.py"
        )
