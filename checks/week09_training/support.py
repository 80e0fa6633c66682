"""Shared pieces of the week-09 checks (not a check file itself): tiny models and batches."""

import torch

from roadmap.checking import learner_first
from solutions.week05_gpt.model import GPT, GPTConfig


def tiny_gpt(
    seed: int = 0,
    vocab_size: int = 23,
    block_size: int = 16,
    n_layer: int = 2,
    n_head: int = 3,
    n_embd: int = 36,
    bias: bool = True,
    dropout: float = 0.0,
) -> GPT:
    """A small week-05 GPT (2 layers, 3 heads, C=36 by default) with seeded GPT-2 init."""
    torch.manual_seed(seed)
    config = GPTConfig(
        block_size=block_size,
        vocab_size=vocab_size,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        bias=bias,
        dropout=dropout,
    )
    return GPT(config)


def batch(seed: int, B: int, T: int, vocab_size: int = 23) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (B, T) int64 inputs and targets."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab_size, (B, T), generator=g)
    y = torch.randint(0, vocab_size, (B, T), generator=g)
    return x, y


def grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """name -> a copy of .grad (None entries left out)."""
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def learner_optimizer(cls: type, params, **hyper) -> torch.optim.Optimizer:
    """cls(params, **hyper), after the learner's step had its say: torch.optim.Optimizer's
    constructor imports torch._dynamo (seconds), so an untouched stub is todo before it runs."""
    learner_first(cls.step, object.__new__(cls))  # an unbuilt optimizer
    return cls(params, **hyper)
