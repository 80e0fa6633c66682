"""LoRA from scratch: a frozen nn.Linear plus a trainable low-rank update B A, scaled by alpha / r.

Hu et al., *LoRA: Low-Rank Adaptation of Large Language Models* (2021): instead of learning a full
(out, in) update of W, learn A (r, in) and B (out, r) with r << min(in, out), and compute
y = W x + b + (alpha / r) * B A dropout(x). B starts at zero, so the adapted model starts out equal to
the base model; A starts random so that B gets a gradient at the first step. After training, B A can
be merged into W (no extra cost at inference) and unmerged again (to switch adapters).
The initialisation is peft's (and nn.Linear's): A ~ Kaiming-uniform with a = sqrt(5), i.e.
U(-1/sqrt(in), 1/sqrt(in)); B = 0.
Check: `python tracker.py check w12.lora`
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

        Example: LoRALinear(nn.Linear(36, 20), r=4, alpha=16.0) has lora_A (4, 36), lora_B
        (20, 4) of zeros, scaling 4.0, merged False, and base.weight.requires_grad False.
        """
        super().__init__()
        # freeze the pretrained weights: only the low-rank factors learn
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.r = r
        self.alpha = alpha
        self.scaling = alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.empty(base.out_features, r))
        self.dropout = nn.Dropout(dropout)
        self.merged = False
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """A ~ Kaiming-uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0 (in place).

        Example: in_features 400 -> every |A| <= 0.05, std about 0.05 / sqrt(3) = 0.0289; B all 0.
        """
        # subtle: B = 0 makes B A = 0, so training starts exactly at the pretrained model
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in) -> (..., out): base(x) + scaling * (dropout(x) @ A^T) @ B^T.

        `dropout` is the layer's nn.Dropout module: the identity in eval mode (so the layer then
        equals the formula without it), and in train mode it zeroes inputs with probability p and
        scales the kept ones by 1 / (1 - p). While merged, base.weight already holds
        W + scaling * B A: return base(x) alone.
        Example: r=1, alpha=2 (scaling 2), A = [[1, 2]], B = [[3], [4]], base weight 0, no bias,
        x = [1, 1] -> 2 * (1 + 2) * [3, 4] = [18, 24].
        """
        # two thin matmuls (in -> r -> out) instead of one (in -> out) update
        result = self.base(x)
        if self.merged:
            return result
        return result + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling

    def delta_weight(self) -> torch.Tensor:
        """The update LoRA adds to base.weight: scaling * B @ A, (out_features, in_features).

        Example: r=1, alpha=2 (scaling 2), A = [[1, 2]], B = [[3], [4]] -> [[6, 12], [8, 16]].
        """
        return (self.lora_B @ self.lora_A) * self.scaling

    @torch.no_grad()
    def merge(self) -> None:
        """Add scaling * B A into base.weight in place and set merged; a second call does nothing.

        Example: base.weight [[0, 0], [0, 0]] and delta_weight() [[6, 12], [8, 16]] -> base.weight
        [[6, 12], [8, 16]], merged True; merge() again leaves both unchanged.
        """
        if self.merged:
            return
        self.base.weight += self.delta_weight()
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Subtract scaling * B A from base.weight in place (the inverse of merge); clear merged.

        Does nothing when not merged. Uses the current A and B: change them only while unmerged.
        Example: after the merge example, unmerge() gives base.weight [[0, 0], [0, 0]] and merged
        False; a second unmerge() does nothing.
        """
        if not self.merged:
            return
        self.base.weight -= self.delta_weight()
        self.merged = False
