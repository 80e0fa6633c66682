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
        # TODO(w12.qlora): keep the base only as NF4 buffers, plus LoRA factors as in LoRALinear
        raise NotImplementedError(
            "w12.qlora: write QLoRALinear.__init__ in exercises/week12_peft/qlora.py"
        )

    def dequantized_weight(self) -> torch.Tensor:
        """The base weight back in float32, (out_features, in_features): dequantize_nf4 of the buffers.

        Example: for Linear(36, 20) a (20, 36) float32 tensor equal to dequantize_nf4(
        *quantize_nf4(W, blocksize), (20, 36), blocksize), each entry within 0.152 x its block's
        absmax of W.
        """
        # TODO(w12.qlora): return the base weight as float32, shape (out, in)
        raise NotImplementedError(
            "w12.qlora: write QLoRALinear.dequantized_weight in exercises/week12_peft/qlora.py"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in) -> (..., out): F.linear(x, dequantized_weight(), bias) + the LoRA path.

        The LoRA path is scaling * (dropout(x) @ A^T) @ B^T as in LoRALinear (nn.Dropout: off in
        eval mode); the base path sees x itself. Example: a new layer (B = 0) returns exactly
        F.linear(x, dequantized_weight(), bias).
        """
        # TODO(w12.qlora): return the 4-bit base's output plus the scaled low-rank update
        raise NotImplementedError(
            "w12.qlora: write QLoRALinear.forward in exercises/week12_peft/qlora.py"
        )


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
