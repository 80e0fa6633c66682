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
    # TODO(w14.int8_linear): return x @ W.T computed in integers, then rescaled
    raise NotImplementedError(
        "w14.int8_linear: write int8_matmul in exercises/week14_quantization/int8_linear.py"
    )


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
        # TODO(w14.int8_linear): return the int8 version of linear
        raise NotImplementedError(
            "w14.int8_linear: write Int8Linear.from_linear in exercises/week14_quantization/int8_linear.py"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in) float -> (..., out) float32: int8_matmul, plus the bias if there is one."""
        # TODO(w14.int8_linear): return the layer's output
        raise NotImplementedError(
            "w14.int8_linear: write Int8Linear.forward in exercises/week14_quantization/int8_linear.py"
        )
