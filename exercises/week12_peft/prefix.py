"""Prefix tuning for the week-05 GPT: learned keys and values that every layer's attention sees first.

Li & Liang, *Prefix-Tuning: Optimizing Continuous Prompts for Generation* (2021). The model stays
frozen; each layer l gets P trainable key vectors and P value vectors (P "virtual tokens"), prepended
to the keys and values computed from the real tokens. Every query attends to all P prefix positions
and, causally, to the real tokens. This is what peft's PrefixTuningConfig does through transformers'
past_key_values: the prefix behaves like a cached past, so the real tokens take positions
P .. P + T - 1 (learned position embeddings wpe[P:P+T]).
Check: `python tracker.py check w12.prefix`
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions.week05_gpt.model import GPT, CausalSelfAttention


def attention_with_prefix(
    attn: CausalSelfAttention, x: torch.Tensor, prefix_k: torch.Tensor, prefix_v: torch.Tensor
) -> torch.Tensor:
    """The week-05 attention with P extra key/value positions in front; (B, T, C) -> (B, T, C).

    Args:
        attn: a week-05 CausalSelfAttention (c_attn, c_proj, n_head, n_embd).
        x: (B, T, C) the block's normalised input.
        prefix_k, prefix_v: (P, C) each, the same for every batch row; head h uses channels
            h*D .. (h+1)*D - 1, exactly like the keys c_attn produces. P may be 0.

    Returns:
        c_proj(attention over [prefix, x]) with the real query i seeing every prefix position and
        real positions 0..i: scores q k^T / sqrt(D), softmax over P + i + 1 keys.

    Example: P = 0 gives attn(x) exactly; with prefix_k, prefix_v the keys and values that c_attn
    makes for 3 earlier tokens, the result equals the layer's output for the last T positions of
    those 3 tokens followed by x (the prefix acts as a cache).
    """
    # TODO(w12.prefix): return the layer's attention with the prefix in front of keys/values
    raise NotImplementedError(
        "w12.prefix: write attention_with_prefix in exercises/week12_peft/prefix.py"
    )


class PrefixTuning(nn.Module):
    """A frozen week-05 GPT plus trainable per-layer key/value prefixes."""

    def __init__(self, model: GPT, n_prefix: int):
        """Freeze `model` and create prefix: nn.Parameter (n_layer, 2, n_prefix, C) ~ N(0, 0.02)."""
        super().__init__()
        self.model = model
        for p in model.parameters():
            p.requires_grad_(False)
        c = model.config
        # prefix[l, 0] are layer l's keys, prefix[l, 1] its values: (n_layer, 2, P, C)
        self.prefix = nn.Parameter(torch.randn(c.n_layer, 2, n_prefix, c.n_embd) * 0.02)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, V) of the frozen GPT with the prefixes, and the loss if targets are given.

        The real tokens take positions P .. P + T - 1 (wpe rows P.. P + T - 1; P + T <= block_size).
        Each block computes x = x + attention_with_prefix(attn, ln_1(x), prefix[l, 0], prefix[l, 1])
        then x = x + mlp(ln_2(x)); then ln_f and lm_head as in the week-05 GPT. The loss is the mean
        cross-entropy over positions whose target is not -100.

        Example: with P = 3 and prefix[l] set to the keys/values the GPT computes for tokens p at
        layer l, PrefixTuning(gpt, 3)(x)[0] equals gpt(p + x)[0][:, 3:].
        """
        # TODO(w12.prefix): return the frozen GPT's logits and loss with every layer's prefix
        raise NotImplementedError(
            "w12.prefix: write PrefixTuning.forward in exercises/week12_peft/prefix.py"
        )
