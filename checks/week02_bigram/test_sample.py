"""Checks for w02.sample: autoregressive sampling from the last position's distribution.

Oracles: a deterministic chain (logits of +-100) whose sample is known in advance, and the
empirical frequencies of many draws against softmax(logits / temperature) within 5 sd.
"""

import math

import pytest
import torch

from roadmap.checking import generator
from roadmap.impl import load

mod = load("week02_bigram.sample")


class TableModel(torch.nn.Module):
    """A bigram with a fixed table: logits for the next token depend on the current token."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = table

    def forward(self, idx, targets=None):
        return self.table[idx], None


class LastPositionModel(torch.nn.Module):
    """Predicts token 0 at every position but the last, where it predicts token 1; records T."""

    def __init__(self):
        super().__init__()
        self.seen_T: list[int] = []

    def forward(self, idx, targets=None):
        B, T = idx.shape
        self.seen_T.append(T)
        logits = torch.full((B, T, 3), -100.0)
        logits[:, :, 0] = 100.0
        logits[:, -1, :] = torch.tensor([-100.0, 100.0, -100.0])
        return logits, None


def test_deterministic_chain_follows_the_table():
    """Token a is always followed by (a + 2) % 5 (logit +100 vs -100): start 0 -> 0 2 4 1 3 0 2."""
    table = torch.full((5, 5), -100.0)
    for a in range(5):
        table[a, (a + 2) % 5] = 100.0
    out = mod.sample(TableModel(table), torch.tensor([[0], [3]]), 6, generator(0))
    expected = torch.tensor([[0, 2, 4, 1, 3, 0, 2], [3, 0, 2, 4, 1, 3, 0]])
    assert out.shape == (2, 7), (
        f"sample(idx (2, 1), max_new_tokens=6): shape {tuple(out.shape)}, expected (2, 7)"
    )
    assert torch.equal(out, expected), (
        f"sample on a deterministic chain: expected {expected.tolist()}, got {out.tolist()}; each "
        "new token is drawn (torch.multinomial) from the softmax of the logits at the LAST position, "
        "and is appended before the next step"
    )


def test_uses_only_the_last_position_and_crops_to_block_size():
    model = LastPositionModel()
    out = mod.sample(model, torch.tensor([[2, 2, 2, 2]]), 5, generator(1), block_size=3)
    assert out[0, 4:].tolist() == [1] * 5, (
        f"sample appended {out[0, 4:].tolist()}, expected [1, 1, 1, 1, 1]: use logits[:, -1, :], "
        "the prediction after the last token, not logits[:, 0, :]"
    )
    assert out[0, :4].tolist() == [2, 2, 2, 2], "the prompt must stay at the start of the output"
    assert max(model.seen_T) <= 3, (
        f"the model saw contexts of length {max(model.seen_T)} with block_size=3: crop to idx[:, -block_size:]"
    )


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_frequencies_match_softmax_within_5_sigma(temperature):
    """n = 4000 rows each draw one token after token 0; count c_v ~ Binomial(n, p_v).

    Each |c_v - n p_v| must be < 5 sd. For a correct sampler the false-alarm rate is at most
    4 * 5.7e-7 per temperature (two-sided normal tail, union bound over 4 tokens); the seed is
    fixed, so the check is deterministic.
    """
    logits = torch.tensor([1.0, 0.0, -1.0, 2.0])
    table = logits.expand(4, 4).clone()
    n = 4000
    out = mod.sample(
        TableModel(table),
        torch.zeros(n, 1, dtype=torch.long),
        1,
        generator(7),
        temperature=temperature,
    )
    counts = torch.bincount(out[:, 1], minlength=4).double()
    p = torch.softmax(logits.double() / temperature, -1)
    z = (counts - n * p) / (n * p * (1 - p)).sqrt()
    if z.abs().max() >= 5:
        times = torch.softmax(logits.double() * temperature, -1)
        z_times = (counts - n * times) / (n * times * (1 - times)).sqrt()
        if counts.max() == n:
            cause = "every row took the most likely token: argmax instead of torch.multinomial"
        elif z_times.abs().max() < 5:
            cause = "the logits multiplied by the temperature; divide them by it"
        else:
            cause = "not a draw from softmax(logits[:, -1, :] / temperature) over the vocabulary"
        raise AssertionError(
            f"sample(temperature={temperature}) drew next-token counts {counts.long().tolist()} "
            f"from {n} rows; expected about {(n * p).round().long().tolist()} = n * "
            f"softmax(logits / T) (max |z| = {z.abs().max():.1f}). Likely cause: {cause}"
        )
    assert math.isfinite(float(z.abs().max()))


def test_same_seed_same_sample():
    table = torch.randn(6, 6, generator=generator(2))
    a = mod.sample(TableModel(table), torch.tensor([[1]]), 30, generator(4))
    b = mod.sample(TableModel(table), torch.tensor([[1]]), 30, generator(4))
    assert torch.equal(a, b), (
        "same generator seed gave different samples: pass generator= to torch.multinomial"
    )


class RecordingModel(torch.nn.Module):
    """Records every context it is given; always predicts (last token + 1) % 7."""

    def __init__(self):
        super().__init__()
        self.contexts: list[torch.Tensor] = []

    def forward(self, idx, targets=None):
        self.contexts.append(idx.clone())
        logits = torch.full((*idx.shape, 7), -100.0)
        logits.scatter_(-1, ((idx + 1) % 7)[..., None], 100.0)
        return logits, None


@pytest.mark.parametrize("T0,block_size", [(5, 3), (2, 4), (4, 4)])
def test_context_is_exactly_the_last_block_size_tokens(T0, block_size):
    """Each step's context is seq[:, -block_size:] of the sequence so far: the LAST block_size
    tokens, all of them (a prompt of length T0 == block_size is passed whole, not cut)."""
    model = RecordingModel()
    prompt = torch.arange(T0)[None, :] % 7
    out = mod.sample(model, prompt, 4, generator(3), block_size=block_size)
    assert len(model.contexts) == 4, f"4 new tokens took {len(model.contexts)} model calls"
    for i, ctx in enumerate(model.contexts):
        want = out[:, : T0 + i][:, -block_size:]
        assert torch.equal(ctx, want), (
            f"step {i} (sequence so far {out[0, : T0 + i].tolist()}, block_size={block_size}): the "
            f"model saw {ctx[0].tolist()}, expected the last block_size tokens {want[0].tolist()}; "
            "likely cause: crop with idx[:, -block_size:], keeping exactly the last block_size "
            "tokens (not the first ones, not one fewer)"
        )
