"""Bottleneck adapters (Houlsby et al. 2019) in every block of the week-05 GPT.

Houlsby et al., *Parameter-Efficient Transfer Learning for NLP* (2019). A small module
h -> h + up(gelu(down(h))) with a bottleneck m << C is inserted after each sublayer (attention and
MLP), on the sublayer's output, before it is added to the residual stream. `up` starts at zero, so
each adapter starts as the identity and the adapted model starts equal to the base model. Unlike
LoRA an adapter cannot be merged away: it costs two extra small matmuls per sublayer at inference.
(Houlsby also trains the LayerNorms; here only the adapters train, so the count stays clean.)
Check: `python tracker.py check w12.adapters`
"""

import torch
import torch.nn as nn

from solutions.week05_gpt.model import GPT, gelu


class BottleneckAdapter(nn.Module):
    """h + up(gelu(down(h))): (..., C) -> (..., C), with C -> m -> C Linear layers (with biases)."""

    def __init__(self, n_embd: int, bottleneck: int):
        """down: nn.Linear(n_embd, bottleneck), weight ~ N(0, 0.02), bias 0; up: nn.Linear(bottleneck,
        n_embd) with weight and bias zero, so a new adapter is exactly the identity.

        Example: BottleneckAdapter(36, 5): down.weight (5, 36) with std about 0.02, up.weight
        (36, 5) zeros; adapter(h) == h for any h.
        """
        super().__init__()
        self.down = nn.Linear(n_embd, bottleneck)
        self.up = nn.Linear(bottleneck, n_embd)
        nn.init.normal_(self.down.weight, std=0.02)
        nn.init.zeros_(self.down.bias)
        # subtle: up = 0 makes the adapter the identity at step 0; up gets a gradient at once
        # (down's output is not zero), down only once up has moved
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., C): h + up(gelu(down(h))), GELU being the week-05 tanh approximation.

        Example: C = 1, m = 1, down weight 1 bias 0, up weight 2 bias 0.5: h = 1 -> 1 + 2 *
        gelu(1) + 0.5 = 1 + 2 * 0.8412 + 0.5 = 3.1824.
        """
        return h + self.up(gelu(self.down(h)))


class Adapted(nn.Module):
    """A sublayer followed by an adapter: forward(x) = adapter(sublayer(x))."""

    def __init__(self, sublayer: nn.Module, adapter: BottleneckAdapter):
        super().__init__()
        self.sublayer = sublayer
        self.adapter = adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C): the adapter reads the sublayer's output (after c_proj).

        Example: with a new adapter (the identity) Adapted(mlp, adapter)(x) == mlp(x).
        """
        return self.adapter(self.sublayer(x))


def add_adapters(model: GPT, bottleneck: int) -> list[str]:
    """Freeze `model`, then wrap every block's attn and mlp in Adapted(..., BottleneckAdapter), in place.

    Order: freeze first, then for block 0, 1, ...: attn, then mlp (each adapter's down weight is drawn
    from the global torch RNG in that order). The block computes x = x + adapter(attn(ln_1(x))), then
    x = x + adapter(mlp(ln_2(x))).

    Returns:
        The names of the new adapter modules: ["transformer.h.0.attn.adapter",
        "transformer.h.0.mlp.adapter", "transformer.h.1.attn.adapter", ...].
    """
    for p in model.parameters():
        p.requires_grad_(False)
    names = []
    C = model.config.n_embd
    for i, block in enumerate(model.transformer.h):
        block.attn = Adapted(block.attn, BottleneckAdapter(C, bottleneck))
        block.mlp = Adapted(block.mlp, BottleneckAdapter(C, bottleneck))
        names += [f"transformer.h.{i}.attn.adapter", f"transformer.h.{i}.mlp.adapter"]
    return names
