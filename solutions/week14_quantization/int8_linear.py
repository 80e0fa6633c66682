"""Week 14: an int8 linear layer: int8 weights, int8 activations, int32 accumulation.

The LLM.int8() "vector-wise" recipe without its outlier split: each row of the activations (one
token) gets its own absmax scale, each row of the weight (one output channel) gets its own, the
product of the two int8 matrices is summed exactly in int32, and one multiply by the outer product
of the scales brings it back to float. Exact integer sums are what int8 hardware (and VNNI/AMX on
CPUs) does fast.

Reference: Dettmers et al. 2022, "LLM.int8(): 8-bit Matrix Multiplication for Transformers at Scale".
Check: `python tracker.py check w14.int8_linear`
"""

import torch
from torch import nn

from .quantize import absmax_quantize


def int8_matmul(x: torch.Tensor, q_w: torch.Tensor, w_scale: torch.Tensor) -> torch.Tensor:
    """y ~ x @ W.T with W ~ q_w * w_scale, computed in integers.

    1. Quantise each row of x (each token, over its last dimension) with absmax:
       x_scale = max|row| / 127 (1.0 for an all-zero row), q_x = clamp(round(x / x_scale), -127, 127).
    2. acc = q_x @ q_w.T with int32 operands and an int32 result (no float in between).
    3. y = acc * x_scale * w_scale.T.

    Args:
        x: (..., in) float activations (any leading dimensions, e.g. (B, T, in)).
        q_w: (out, in) int8 weight.
        w_scale: (out, 1) float32, one scale per output channel (absmax_quantize per_channel).

    Returns:
        (..., out) float32. So y / (x_scale * w_scale.T) is an integer matrix (up to float rounding):
        every product was exact before the rescale. An all-zero row of x gives a zero row of y.

    Example: x = [[1.0, -0.25]], q_w = [[2, 3]], w_scale = [[0.5]]: x_scale = 1/127, q_x = [127,
    -32], acc = 127 * 2 - 32 * 3 = 158, y = [[158 / 127 * 0.5]] = [[0.6220]].
    """
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1]).float()  # (N, in): one row per token
    amax = x2.abs().amax(dim=1, keepdim=True)
    x_scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))  # (N, 1)
    q_x = (x2 / x_scale).round().clamp(-127, 127).to(torch.int32)
    # subtle: int32 operands: int8 @ int8 would overflow, a float matmul would round the sums
    acc = q_x @ q_w.to(torch.int32).T  # (N, out) int32, exact
    y = acc.float() * x_scale * w_scale.reshape(1, -1)
    return y.reshape(*lead, q_w.shape[0])


class Int8Linear(nn.Module):
    """A drop-in nn.Linear replacement holding an int8 weight (out, in), its per-row scales
    (out, 1) float32 and the float bias (or None), all as buffers; forward = int8_matmul + bias."""

    def __init__(self, q_w: torch.Tensor, w_scale: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.register_buffer("q_w", q_w)
        self.register_buffer("w_scale", w_scale)
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone())

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> "Int8Linear":
        """Quantise `linear.weight` per output channel with absmax_quantize; keep the bias in float
        (None for a Linear built with bias=False).

        The original layer is left unchanged.
        Example: nn.Linear(36, 20) -> q_w (20, 36) int8, w_scale (20, 1) float32, bias (20,).
        """
        q_w, w_scale = absmax_quantize(linear.weight.detach(), per_channel=True)
        return cls(q_w, w_scale, linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in) float -> (..., out) float32: int8_matmul, plus the bias if there is one."""
        y = int8_matmul(x, self.q_w, self.w_scale)
        return y if self.bias is None else y + self.bias
