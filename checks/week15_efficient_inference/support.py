"""Shared pieces of the week-15 checks (not a check file itself): a tiny GPT, random requests, a
greedy one-at-a-time oracle and a mode that records the largest tensor an operation creates.

`tiny_gpt` has weights larger than GPT-2's init, so greedy decoding wanders over many tokens instead
of repeating one (a repeating model would let a wrong cache or a wrong mask pass).
"""

import random

import torch
from torch.overrides import TorchFunctionMode

from checks.week08_inference.support import tiny_gpt as week08_tiny_gpt
from solutions.week05_gpt.model import GPT


def tiny_gpt(seed: int = 0, vocab_size: int = 23, block_size: int = 48) -> GPT:
    """Week 08's tiny GPT (2 layers, 3 heads, C=36, N(0, 0.5) weights, eval mode), block 48."""
    return week08_tiny_gpt(seed, vocab_size=vocab_size, block_size=block_size)


def random_requests(
    n: int, seed: int, vocab_size: int = 23, max_prompt: int = 20, max_new: int = 20
) -> tuple[list[list[int]], list[int]]:
    """n prompts of 1..max_prompt tokens and n output lengths of 1..max_new, from a seeded stream."""
    rng = random.Random(seed)
    prompts = [
        [rng.randrange(vocab_size) for _ in range(rng.randint(1, max_prompt))] for _ in range(n)
    ]
    return prompts, [rng.randint(1, max_new) for _ in range(n)]


@torch.no_grad()
def greedy_one_at_a_time(
    model: GPT, prompt: list[int], max_new_tokens: int, eos: int | None = None
) -> list[int]:
    """The oracle: rerun the whole sequence through model.forward for every token, argmax, stop
    after max_new_tokens or after producing `eos` (kept)."""
    idx = torch.tensor([prompt])
    out: list[int] = []
    for _ in range(max_new_tokens):
        tok = int(model(idx)[0][0, -1].argmax())
        out.append(tok)
        if tok == eos:
            break
        idx = torch.cat([idx, torch.tensor([[tok]])], dim=1)
    return out


class LargestTensor(TorchFunctionMode):
    """Records the largest number of elements of any tensor a torch function, a Tensor method or an
    operator (@, *, indexing) returns while active. (A TorchDispatchMode would see more but imports
    torch._dynamo: seconds of check time.)"""

    def __init__(self):
        super().__init__()
        self.numel = 0
        self.shape: tuple[int, ...] = ()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.numel() > self.numel:
                self.numel, self.shape = t.numel(), tuple(t.shape)
        return out
