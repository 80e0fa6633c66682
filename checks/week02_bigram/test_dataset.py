"""Checks for w02.dataset: the contiguous train/val split and TokenDataset.get_batch.

The trick: with ids = arange(N), every token's value is its position, so a batch shows exactly
where it was cut from. Shifted targets mean y == x + 1; a leak shows as a val position in a
train batch. Oracle for the offsets: counts per offset against the uniform expectation.
"""

import math

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week02_bigram.dataset")


def test_split_known_answer():
    train, val = mod.split_train_val(torch.arange(10), 0.2)
    assert_close(
        train,
        torch.arange(8),
        what="split_train_val(arange(10), 0.2)[0]",
        hint="train is the head ids[:n] and val the tail ids[n:], in order (not shuffled), "
        "n = N - int(N * val_fraction)",
    )
    assert_close(
        val,
        torch.tensor([8, 9]),
        what="split_train_val(arange(10), 0.2)[1]",
        hint="val is the last int(N * val_fraction) tokens, kept in order",
    )


@pytest.mark.parametrize("N,frac", [(101, 0.1), (57, 0.25), (20, 0.0)])
def test_split_is_contiguous_and_complete(N, frac):
    train, val = mod.split_train_val(torch.arange(N), frac)
    n_val = int(N * frac)
    assert len(val) == n_val, (
        f"split_train_val(arange({N}), {frac}): val has {len(val)}, expected {n_val}; likely "
        "cause: n = N - int(N * val_fraction) rounds the val share down, train gets the rest"
    )
    assert_close(
        torch.cat([train, val]),
        torch.arange(N),
        what=f"cat(split_train_val(arange({N}), {frac}))",
        hint="train is the head and val the tail of the stream, unshuffled: a shuffled split of "
        "overlapping text puts nearly the same windows on both sides",
    )


@pytest.mark.parametrize("B,T", [(1, 1), (5, 7), (16, 3)])
def test_batch_shapes_and_shift(B, T):
    ds = mod.TokenDataset(torch.arange(200), block_size=T)
    x, y = ds.get_batch("train", B, generator(B * 10 + T))
    assert x.shape == (B, T) and y.shape == (B, T), (
        f"get_batch('train', {B}) with block_size={T}: expected x, y of shape ({B}, {T}), "
        f"got {tuple(x.shape)} and {tuple(y.shape)}"
    )
    assert x.dtype == torch.long and y.dtype == torch.long, (
        f"expected int64, got {x.dtype}, {y.dtype}"
    )
    assert_close(
        x[:, 1:] - x[:, :1],
        torch.arange(1, T).expand(B, -1),
        what="x rows of get_batch over arange(200)",
        hint="each row is a contiguous slice part[i : i + T]",
    )
    assert_close(
        y,
        x + 1,
        what="y vs x + 1 for ids = arange(200)",
        hint="targets are the inputs shifted by one: y = part[i + 1 : i + T + 1]; y == x means "
        "the model is asked to copy the current token instead of predicting the next",
    )


def test_no_train_val_leak():
    N, T = 300, 8
    ds = mod.TokenDataset(torch.arange(N), block_size=T, val_fraction=0.2)
    n_train = N - int(N * 0.2)
    g = generator(1)
    for _ in range(20):
        x, y = ds.get_batch("train", 32, g)
        assert int(torch.cat([x, y]).max()) < n_train, (
            f"a train batch holds position {int(torch.cat([x, y]).max())}, but positions >= "
            f"{n_train} are val: train batches must come from the train part only (leak)"
        )
        x, y = ds.get_batch("val", 32, g)
        assert int(torch.cat([x, y]).min()) >= n_train, (
            f"a val batch holds position {int(torch.cat([x, y]).min())} < {n_train}, which is "
            "train text: val batches must come from the val part only (leak)"
        )


def test_same_seed_same_batch_other_seed_other_batch():
    ds = mod.TokenDataset(torch.arange(500), block_size=5)
    a = ds.get_batch("train", 8, generator(7))[0]
    b = ds.get_batch("train", 8, generator(7))[0]
    c = ds.get_batch("train", 8, generator(8))[0]
    assert torch.equal(a, b), (
        "two get_batch calls with generators seeded alike gave different batches: draw the "
        "offsets with torch.randint(..., generator=generator)"
    )
    assert not torch.equal(a, c), "different seeds gave the same batch: is the generator used?"


def test_offsets_are_uniform_within_5_sigma():
    """Every offset 0..K-1 (K = num_offsets, the last included) is equally likely.

    K = 24 offsets, n = 100 * 64 = 6400 draws: each count is Binomial(n, 1/K), mean 266.7,
    sd 16.0. We require every count within 5 sd of the mean. For a correct uniform sampler the
    false-alarm rate is at most K * 5.7e-7 = 1.4e-5 (two-sided normal tail at 5 sd, union bound);
    with the fixed seed the check is deterministic. An off-by-one that never draws the last
    offset leaves that count at 0, 16.7 sd low.
    """
    T, n_train = 6, 30
    ds = mod.TokenDataset(torch.arange(n_train + 10), block_size=T, val_fraction=0.25)
    K = ds.num_offsets("train")
    assert K == n_train - T == 24
    g = generator(2024)
    starts = torch.cat([ds.get_batch("train", 64, g)[0][:, 0] for _ in range(100)])
    counts = torch.bincount(starts, minlength=K)
    assert len(counts) == K, (
        f"offsets reached {len(counts) - 1}, beyond the last valid offset {K - 1}: y would run past the part"
    )
    n = len(starts)
    mean, sd = n / K, math.sqrt(n * (1 / K) * (1 - 1 / K))
    worst = int((counts - mean).abs().argmax())
    z = (counts[worst].item() - mean) / sd
    assert abs(z) < 5, (
        f"offset {worst} was drawn {counts[worst].item()} times in {n} draws; uniform over {K} "
        f"offsets expects {mean:.0f} +- {sd:.0f} (z = {z:.1f}). Likely cause: "
        + (
            "the last offset is never drawn: torch.randint(high) excludes high, so use "
            "high = len(part) - block_size"
            if worst == K - 1 and counts[worst] == 0
            else "offsets not drawn uniformly with torch.randint over 0..len(part) - block_size - 1"
        )
    )
