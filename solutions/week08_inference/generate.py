"""Generation loops for the week-05 GPT: the uncached baseline and the KV-cached loop.

Block-size policy of the cached loop: *slide*. The model knows block_size positions. When the
cache is full and another token is needed, keep the last block_size // 2 tokens of the sequence,
prefill them into a fresh cache (positions restart at 0) and go on decoding. The uncached loop
instead re-crops to the last block_size tokens at every step. So the two agree token for token
while prompt + new tokens fit in block_size + 1; past that, the cached loop sees between
block_size // 2 and block_size tokens of context. Re-prefilling block_size tokens at every step
would match the uncached loop exactly, but then the cache would save nothing.
Check: `python tracker.py check w08.generate`
"""

from collections.abc import Iterator

import torch

from solutions.week05_gpt.model import GPT

from .kv_cache import KVCache, forward_cached
from .sampling import SamplingParams, sample_next


@torch.inference_mode()
def generate_uncached(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    params: SamplingParams | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The baseline: rerun the model on the (cropped) whole sequence for every new token.

    Args:
        model: a week-05 GPT in eval mode.
        idx: (B, T) int64 prompt.
        max_new_tokens: tokens to add.
        params, generator: passed to sample_next at every step (None = greedy).

    Returns:
        (B, T + max_new_tokens) int64.
    """
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size :])  # (B, T', V)
        nxt = sample_next(logits[:, -1], params, generator=generator)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
    return idx


@torch.inference_mode()
def iter_tokens_cached(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    params: SamplingParams | None = None,
    *,
    generator: torch.Generator | None = None,
) -> Iterator[torch.Tensor]:
    """Yield the new tokens one step at a time, (B,) int64 each, using a KV cache.

    Prefill the last block_size tokens of the prompt once, then decode one token per step.
    Each token is yielded before it is fed to the model, and the last one is never fed: a
    consumer that takes n tokens has caused the prefill and n - 1 one-position decode steps.
    Slide policy (module docstring): when the cache holds block_size positions and another token
    is needed, prefill the last block_size // 2 tokens of the sequence (prompt + generated, the
    newest token, not yet fed, included) into a fresh cache; its last logits give the next token.
    Every row of the batch has the same length, so all rows share one cache position.

    Args:
        model: a week-05 GPT in eval mode.
        idx: (B, T) int64 prompt, T >= 1.
        max_new_tokens: how many tokens to yield.
        params, generator: passed to sample_next at every step (None = greedy).

    Yields:
        (B,) int64: the next token of each row.

    Example: block_size=8, a 3-token prompt, greedy: the first 6 tokens equal the uncached
    loop's (prompt + new tokens fit in block_size + 1 = 9); taking 6 tokens costs one prefill of
    3 positions and 5 one-position decode steps.
    """
    block_size = model.config.block_size
    seq = idx
    cache = KVCache.for_model(model, idx.shape[0])
    logits = forward_cached(model, seq[:, -block_size:], cache)[:, -1]  # prefill: (B, V)
    for step in range(max_new_tokens):
        nxt = sample_next(logits, params, generator=generator)
        yield nxt
        if step == max_new_tokens - 1:
            break  # no forward pass for a token nobody asks for
        seq = torch.cat([seq, nxt[:, None]], dim=1)
        if cache.length == block_size:
            # slide: positions restart at 0 for the kept tokens, so their keys must be recomputed
            cache = KVCache.for_model(model, idx.shape[0])
            logits = forward_cached(model, seq[:, -(block_size // 2) :], cache)[:, -1]
        else:
            logits = forward_cached(model, nxt[:, None], cache)[:, -1]  # decode: one position


def generate_cached(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    params: SamplingParams | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The prompt followed by the tokens of iter_tokens_cached: (B, T + max_new_tokens) int64."""
    steps = iter_tokens_cached(model, idx, max_new_tokens, params, generator=generator)
    return torch.cat([idx, *(t[:, None] for t in steps)], dim=1)
