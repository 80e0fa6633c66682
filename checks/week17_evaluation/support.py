"""Shared pieces of the week-17 checks (not a check file itself): tiny models and fixtures.

`tiny_gpt` builds a week-05 GPT with N(0, 0.5) weights, so its log-likelihoods differ clearly from
position to position (a wrong offset cannot hide in a near-uniform model). `counting_logits_fn` is
a fake model whose answer depends only on how much context it saw: the known-answer oracle of the
sliding window.
"""

import json
import math

import torch

from checks.week08_inference.support import tiny_gpt as week08_tiny_gpt
from course.data import fixture_path
from solutions.week05_gpt.model import GPT


def tiny_gpt(seed: int = 0, vocab_size: int = 29, block_size: int = 16) -> GPT:
    """A (2 layers, 3 heads, C=36) GPT in eval mode with N(0, 0.5) weights (LayerNorm weights 1)."""
    keep = ("ln_1.weight", "ln_2.weight", "ln_f.weight")
    return week08_tiny_gpt(seed, vocab_size, block_size, 2, 36, 3, keep=keep)


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
