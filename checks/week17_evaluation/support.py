"""Shared pieces of the week-17 checks (not a check file itself): tiny models and fixtures.

`tiny_gpt` builds a week-05 GPT with N(0, 0.5) weights, so its log-likelihoods differ clearly from
position to position (a wrong offset cannot hide in a near-uniform model). `counting_logits_fn` is
a fake model whose answer depends only on how much context it saw: the known-answer oracle of the
sliding window.
"""

import json
import math

import torch

from course.data import fixture_path
from solutions.week05_gpt.model import GPT, GPTConfig


def tiny_gpt(seed: int = 0, vocab_size: int = 29, block_size: int = 16) -> GPT:
    """A (2 layers, 3 heads, C=36) GPT in eval mode with N(0, 0.5) weights."""
    torch.manual_seed(seed)
    config = GPTConfig(block_size=block_size, vocab_size=vocab_size, n_layer=2, n_head=3, n_embd=36)
    model = GPT(config).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


def counting_logits_fn(vocab_size: int = 3, calls: list | None = None):
    """A fake model: at window position j the logit of token 0 is j + 1 (the context length it
    has seen), every other logit 0. So log p(token 0 | c tokens of context) = c - log(e^c + V - 1).
    Every input shape is appended to `calls`."""

    def fn(x: torch.Tensor) -> torch.Tensor:
        if calls is not None:
            calls.append(tuple(x.shape))
        B, T = x.shape
        logits = torch.zeros(B, T, vocab_size, dtype=torch.float64)
        logits[:, :, 0] = torch.arange(1, T + 1, dtype=torch.float64)
        return logits

    return fn


def nll_of_zero(c: int, vocab_size: int = 3) -> float:
    """-log p(token 0) after c tokens of context under counting_logits_fn: log(e^c + V - 1) - c."""
    return math.log(math.exp(c) + vocab_size - 1) - c


def arc_tiny() -> list[dict]:
    """The 20 questions of data/fixtures/week17/arc_tiny.jsonl (query, choices, gold)."""
    path = fixture_path("week17", "arc_tiny.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
