"""Bottleneck adapters (Houlsby et al. 2019) in every block of the week-05 GPT.

Houlsby et al., *Parameter-Efficient Transfer Learning for NLP* (2019). A small module
h -> h + up(gelu(down(h))) with a bottleneck m << C is inserted after each sublayer (attention and
MLP), on the sublayer's output, before it is added to the residual stream. `up` starts at zero, so
each adapter starts as the identity and the adapted model starts equal to the base model. Unlike
LoRA an adapter cannot be merged away: it costs two extra small matmuls per sublayer at inference.
(Houlsby also trains the LayerNorms; here only the adapters train, so the count stays clean.)
Check: `pytest checks/week12_peft/test_adapters.py`
"""

import torch
import torch.nn as nn

from solutions.week05_gpt.model import GPT, gelu


class BottleneckAdapter(nn.Module):
    """h + up(gelu(down(h))): (..., C) -> (..., C), with C -> m -> C Linear layers (with biases)."""

    def __init__(self, n_embd: int, bottleneck: int):
        """down: nn.Linear(n_embd, bottleneck), weight ~ N(0, 0.02), bias 0; up: nn.Linear(bottleneck,
        n_embd) with weight and bias zero, so a new adapter is exactly the identity."""
        # TODO(w12.adapters): down Linear(C, m) N(0, 0.02), bias 0; up Linear(m, C) all zeros
        raise NotImplementedError("w12.adapters: BottleneckAdapter.__init__")

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., C): h + up(gelu(down(h))), GELU being the week-05 tanh approximation."""
        # TODO(w12.adapters): h + up(gelu(down(h)))
        raise NotImplementedError("w12.adapters: BottleneckAdapter.forward")


class Adapted(nn.Module):
    """A sublayer followed by an adapter: forward(x) = adapter(sublayer(x))."""

    def __init__(self, sublayer: nn.Module, adapter: BottleneckAdapter):
        super().__init__()
        self.sublayer = sublayer
        self.adapter = adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C): the adapter reads the sublayer's output (after c_proj)."""
        # TODO(w12.adapters): the adapter applied to the sublayer's output
        raise NotImplementedError("w12.adapters: Adapted.forward")


def add_adapters(model: GPT, bottleneck: int) -> list[str]:
    """Freeze `model`, then wrap every block's attn and mlp in Adapted(..., BottleneckAdapter), in place.

    Order: freeze first, then for block 0, 1, ...: attn, then mlp (each adapter's down weight is drawn
    from the global torch RNG in that order). The block computes x = x + adapter(attn(ln_1(x))), then
    x = x + adapter(mlp(ln_2(x))).

    Returns:
        The names of the new adapter modules: ["transformer.h.0.attn.adapter",
        "transformer.h.0.mlp.adapter", "transformer.h.1.attn.adapter", ...].
    """
    # TODO(w12.adapters): freeze the model, wrap every block's attn and mlp, return the adapter names
    raise NotImplementedError("w12.adapters: add_adapters")
