"""A QLoRA layer: the frozen base weight stored in NF4 (4 bits), dequantized on the fly, plus LoRA.

Dettmers et al., *QLoRA* (2023): the pretrained weight is quantized once and never trained; each
forward pass dequantizes it to float32 (the "compute dtype") for the matmul, and only the LoRA
factors A and B, kept in full precision, get gradients. Memory for the base drops from 32 bits per
weight to 4 + 32/64 = 4.5 (4.127 with double quantization, see nf4.py). The checks also compare
with peft and bitsandbytes' Linear4bit.
Check: `python tracker.py check w12.qlora`
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .inject import find_targets, set_module
from .nf4 import dequantize_nf4, quantize_nf4


class QLoRALinear(nn.Module):
    """y = x @ dequant(W_nf4)^T + bias + scaling * dropout(x) @ A^T @ B^T; only A and B train."""

    def __init__(
        self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0, blocksize: int = 64
    ):
        """Quantize base.weight to NF4 and keep no float copy of it.

        Sets:
            weight_packed: buffer (ceil(out * in / 2),) uint8 and weight_absmax: buffer
                (ceil(out * in / blocksize),) float32, from quantize_nf4(base.weight, blocksize).
            bias: a buffer holding a copy of base.bias (None if base has no bias): frozen.
            shape: (out_features, in_features); blocksize as given.
            lora_A (r, in) Kaiming-uniform (a = sqrt(5)) from the global torch RNG, lora_B
                (out, r) zeros, scaling = alpha / r, dropout = nn.Dropout(dropout): as LoRALinear.

        Example: QLoRALinear(nn.Linear(36, 20), r=3, alpha=6.0) holds 360 uint8 bytes of codes,
        ceil(720 / 64) = 12 absmax values (23 with blocksize=32), scaling 2.0, and only lora_A,
        lora_B as parameters.
        """
        super().__init__()
        packed, absmax = quantize_nf4(base.weight, blocksize)
        # buffers, not parameters: the optimizer never sees the base
        self.register_buffer("weight_packed", packed)
        self.register_buffer("weight_absmax", absmax)
        bias = None if base.bias is None else base.bias.detach().clone()
        self.register_buffer("bias", bias)
        self.shape = (base.out_features, base.in_features)
        self.blocksize = blocksize
        self.r = r
        self.alpha = alpha
        self.scaling = alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def dequantized_weight(self) -> torch.Tensor:
        """The base weight back in float32, (out_features, in_features): dequantize_nf4 of the buffers.

        Example: for Linear(36, 20) a (20, 36) float32 tensor equal to dequantize_nf4(
        *quantize_nf4(W, blocksize), (20, 36), blocksize), each entry within 0.152 x its block's
        absmax of W.
        """
        return dequantize_nf4(self.weight_packed, self.weight_absmax, self.shape, self.blocksize)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in) -> (..., out): F.linear(x, dequantized_weight(), bias) + the LoRA path.

        The LoRA path is scaling * (dropout(x) @ A^T) @ B^T as in LoRALinear (nn.Dropout: off in
        eval mode); the base path sees x itself. Example: a new layer (B = 0) returns exactly
        F.linear(x, dequantized_weight(), bias).
        """
        # dequantize per call: the float weight lives only for this matmul
        base = F.linear(x, self.dequantized_weight(), self.bias)
        return base + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling


def inject_qlora(
    model: nn.Module,
    targets: list[str],
    r: int,
    alpha: float,
    dropout: float = 0.0,
    blocksize: int = 64,
) -> list[str]:
    """inject_lora's twin: freeze every parameter, replace each target Linear by a QLoRALinear
    (in the model's train/eval mode)."""
    names = find_targets(model, targets)
    for p in model.parameters():
        p.requires_grad_(False)
    for name in names:
        layer = QLoRALinear(model.get_submodule(name), r, alpha, dropout, blocksize)
        set_module(model, name, layer.train(model.training))
    return names
