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
        # TODO(w12.adapters): build the two layers so that a new adapter is the identity
        raise NotImplementedError(
            "w12.adapters: write BottleneckAdapter.__init__ in exercises/week12_peft/adapters.py"
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., C): h + up(gelu(down(h))), GELU being the week-05 tanh approximation.

        Example: C = 1, m = 1, down weight 1 bias 0, up weight 2 bias 0.5: h = 1 -> 1 + 2 *
        gelu(1) + 0.5 = 1 + 2 * 0.8412 + 0.5 = 3.1824.
        """
        # TODO(w12.adapters): return h plus the bottleneck's output
        raise NotImplementedError(
            "w12.adapters: write BottleneckAdapter.forward in exercises/week12_peft/adapters.py"
        )


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
        # TODO(w12.adapters): return the adapter applied to what the sublayer computes
        raise NotImplementedError(
            "w12.adapters: write Adapted.forward in exercises/week12_peft/adapters.py"
        )


def add_adapters(model: GPT, bottleneck: int) -> list[str]:
    """Freeze `model`, then wrap every block's attn and mlp in Adapted(..., BottleneckAdapter), in place.

    Order: freeze first, then for block 0, 1, ...: attn, then mlp (each adapter's down weight is drawn
    from the global torch RNG in that order). The block computes x = x + adapter(attn(ln_1(x))), then
    x = x + adapter(mlp(ln_2(x))).

    Returns:
        The names of the new adapter modules: ["transformer.h.0.attn.adapter",
        "transformer.h.0.mlp.adapter", "transformer.h.1.attn.adapter", ...].
    """
    # TODO(w12.adapters): freeze the model, adapt every attn and mlp, return the adapter names
    raise NotImplementedError(
        "w12.adapters: write add_adapters in exercises/week12_peft/adapters.py"
    )
