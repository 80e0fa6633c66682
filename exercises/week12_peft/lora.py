"""LoRA from scratch: a frozen nn.Linear plus a trainable low-rank update B A, scaled by alpha / r.

Hu et al., *LoRA: Low-Rank Adaptation of Large Language Models* (2021): instead of learning a full
(out, in) update of W, learn A (r, in) and B (out, r) with r << min(in, out), and compute
y = W x + b + (alpha / r) * B A dropout(x). B starts at zero, so the adapted model starts out equal to
the base model; A starts random so that B gets a gradient at the first step. After training, B A can
be merged into W (no extra cost at inference) and unmerged again (to switch adapters).
The initialisation is peft's (and nn.Linear's): A ~ Kaiming-uniform with a = sqrt(5), i.e.
U(-1/sqrt(in), 1/sqrt(in)); B = 0.
Check: `pytest checks/week12_peft/test_lora.py`
"""

import math

import torch
import torch.nn as nn


class LoRALinear(nn.Module):
    """y = base(x) + scaling * dropout(x) @ A^T @ B^T, with base frozen and only A, B trainable."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0):
        """Wrap `base` (kept as the same module object, not a copy) and freeze it.

        Sets the attributes the checks and the other exercises use:
            base: the wrapped nn.Linear; its weight and bias get requires_grad False.
            lora_A: nn.Parameter (r, in_features), Kaiming-uniform (a = sqrt(5)), from the global
                torch RNG.
            lora_B: nn.Parameter (out_features, r), zeros.
            r, alpha: as given; scaling: alpha / r (a float).
            dropout: nn.Dropout(dropout), applied to the input of the LoRA path only.
            merged: False (True while B A is added into base.weight).

        Args:
            base: the pretrained layer, (out_features, in_features) weight.
            r: the rank, >= 1.
            alpha: the LoRA alpha; the update is scaled by alpha / r.
            dropout: dropout probability on the LoRA path's input (0 disables it).
        """
        # TODO(w12.lora): store base and freeze it; create lora_A (r, in), lora_B (out, r), scaling, dropout, merged; call reset_parameters
        raise NotImplementedError("w12.lora: LoRALinear.__init__")

    def reset_parameters(self) -> None:
        """A ~ Kaiming-uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0 (in place)."""
        # TODO(w12.lora): A Kaiming-uniform with a = sqrt(5), B zeros
        raise NotImplementedError("w12.lora: LoRALinear.reset_parameters")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in) -> (..., out): base(x) + scaling * (dropout(x) @ A^T) @ B^T.

        While merged, base.weight already holds W + scaling * B A: return base(x) alone.
        """
        # TODO(w12.lora): base(x) plus the scaled LoRA path (skip it while merged)
        raise NotImplementedError("w12.lora: LoRALinear.forward")

    def delta_weight(self) -> torch.Tensor:
        """The update LoRA adds to base.weight: scaling * B @ A, (out_features, in_features)."""
        # TODO(w12.lora): scaling * B @ A
        raise NotImplementedError("w12.lora: LoRALinear.delta_weight")

    @torch.no_grad()
    def merge(self) -> None:
        """Add scaling * B A into base.weight in place and set merged; a second call does nothing."""
        # TODO(w12.lora): add delta_weight() into base.weight once, set merged
        raise NotImplementedError("w12.lora: LoRALinear.merge")

    @torch.no_grad()
    def unmerge(self) -> None:
        """Subtract scaling * B A from base.weight in place (the inverse of merge); clear merged.

        Does nothing when not merged. Uses the current A and B: change them only while unmerged.
        """
        # TODO(w12.lora): subtract delta_weight() from base.weight once, clear merged
        raise NotImplementedError("w12.lora: LoRALinear.unmerge")
