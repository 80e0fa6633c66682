"""Checks for w14.pruning: unstructured magnitude pruning, 2:4 pruning, the sparsity report.

Oracles: hand-worked examples (the docstrings'), exact counts (k = round(sparsity * numel) zeros,
exactly 2 non-zeros in every group of 4), the ordering property (every kept |w| >= every removed
|w|), and counts by hand for the report.
"""

import pytest
import torch
from torch import nn

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week14_quantization.pruning")


def test_magnitude_known_answer():
    got = mod.magnitude_prune(torch.tensor([0.3, -0.1, 0.5, 0.05]), 0.5)
    assert_close(
        got,
        torch.tensor([0.3, 0.0, 0.5, 0.0]),
        what="magnitude_prune([0.3, -0.1, 0.5, 0.05], 0.5)",
        hint="remove the smallest |w| (magnitude: -0.1 is small, not the smallest value)",
    )


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_magnitude_counts_and_order(sparsity):
    w = torch.randn(7, 36, generator=generator(0)) * 2
    original = w.clone()
    got = mod.magnitude_prune(w, sparsity)
    assert torch.equal(w, original), "magnitude_prune modified its input: return a pruned copy"
    k = round(sparsity * w.numel())
    zeros = int((got == 0).sum())
    assert zeros == k, (
        f"magnitude_prune(w (7, 36), {sparsity}): {zeros} zeros, expected round({sparsity} * 252)"
        f" = {k}\n  likely cause: k from the sparsity (not the density), over the WHOLE tensor"
    )
    kept = got != 0
    assert torch.equal(got[kept], w[kept]), "magnitude_prune changed the values it kept"
    if 0 < k < w.numel():
        assert w[kept].abs().min() >= w[~kept].abs().max(), (
            f"magnitude_prune(w, {sparsity}): kept |w| {w[kept].abs().min().item():.4f} < removed "
            f"|w| {w[~kept].abs().max().item():.4f}\n  likely cause: sort by |w| (magnitude), not by w"
        )


def test_magnitude_ties_remove_exactly_k():
    w = torch.tensor([[1.0, 1.0, 1.0, 1.0, 2.0, 3.0]])
    got = mod.magnitude_prune(w, 0.5)
    assert int((got == 0).sum()) == 3, (
        f"magnitude_prune([1, 1, 1, 1, 2, 3], 0.5) -> {got.tolist()}: expected exactly 3 zeros\n"
        "  likely cause: a threshold `|w| <= kth value` removes every tie; drop k indices instead"
    )


@pytest.mark.parametrize("sparsity", [1.5, 1.0001, -0.1])
def test_magnitude_rejects_bad_sparsity(sparsity):
    """[0, 1] is the documented range, both ends included (0.0 and 1.0 are checked above)."""
    try:
        mod.magnitude_prune(torch.ones(4), sparsity)
    except ValueError:
        return
    pytest.fail(
        f"magnitude_prune(w, sparsity={sparsity}) did not raise ValueError\n  likely cause: "
        "refuse any sparsity outside [0, 1], below 0 as well as above 1"
    )


def test_2_4_known_answer():
    row = torch.tensor([[0.1, -0.9, 0.4, 0.2, 1.0, 2.0, -3.0, 0.5]])
    assert_close(
        mod.prune_2_4(row),
        torch.tensor([[0.0, -0.9, 0.4, 0.0, 0.0, 2.0, -3.0, 0.0]]),
        what="prune_2_4([[0.1, -0.9, 0.4, 0.2, 1.0, 2.0, -3.0, 0.5]])",
        hint="keep the 2 largest MAGNITUDES of each group of 4 consecutive entries of a row",
    )


@pytest.mark.parametrize("shape", [(7, 36), (1, 4), (5, 12)])
def test_2_4_exactly_two_per_group_and_the_largest(shape):
    w = torch.randn(*shape, generator=generator(1)) * 10
    got = mod.prune_2_4(w)
    groups_w = w.reshape(shape[0], -1, 4)
    groups = got.reshape(shape[0], -1, 4)
    nnz = (groups != 0).sum(-1)
    assert (nnz == 2).all(), (
        f"prune_2_4(w {shape}): non-zeros per group of 4 range {nnz.min().item()}..."
        f"{nnz.max().item()}, expected exactly 2\n  likely cause: groups must be 4 CONSECUTIVE "
        "entries of a row (reshape (out, in/4, 4)), not of a column or the whole tensor"
    )
    kept = groups != 0
    small_kept = torch.where(kept, groups_w.abs(), torch.inf).amin(-1)
    big_dropped = torch.where(kept, -torch.inf, groups_w.abs()).amax(-1)
    assert (small_kept >= big_dropped).all(), (
        f"prune_2_4(w {shape}): a dropped |w| exceeds a kept one in some group\n"
        "  likely cause: select by |w|, not w (a large negative weight matters), within groups of "
        "4 CONSECUTIVE entries of a row"
    )
    assert torch.equal(got[got != 0], w[got != 0]), "prune_2_4 changed the values it kept"


def test_2_4_ties_keep_the_earlier_position():
    """[1, 1, 1, 1] -> keep positions 0 and 1; [3, 1, 1, 0.5] -> 3 and the first 1; [-1, 1, 1, -1]
    -> positions 0 and 1 (equal magnitudes: the earlier wins)."""
    w = torch.tensor([[1.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 0.5, -1.0, 1.0, 1.0, -1.0]])
    expected = torch.tensor([[1.0, 1.0, 0.0, 0.0, 3.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0]])
    got = mod.prune_2_4(w)
    assert torch.equal(got, expected), (
        f"prune_2_4({w.tolist()}) = {got.tolist()}, expected {expected.tolist()}\n  likely cause: "
        "on a tie of magnitudes the earlier position is kept (torch.topk picks either; a stable "
        "descending sort of |w| keeps the earlier one)"
    )


def test_2_4_needs_multiple_of_four():
    with pytest.raises(ValueError):
        mod.prune_2_4(torch.ones(2, 6))


def test_sparsity_report_counts():
    """a: 3x4 with 6 zeros -> 0.5; b: 2x3 with 0 zeros -> 0.0; total 6 / 18 = 1/3 (weighted by
    size, not the mean 0.25 of the fractions); biases and non-Linear modules are ignored."""
    model = nn.Sequential()
    model.add_module("a", nn.Linear(4, 3))
    model.add_module("act", nn.ReLU())
    model.add_module("b", nn.Linear(3, 2))
    with torch.no_grad():
        model.a.weight.copy_(torch.tensor([[0, 1, 0, 2], [3, 0, 0, 4], [0, 5, 6, 0.0]]))
        model.b.weight.fill_(1.0)
        model.a.bias.zero_()
    report = mod.sparsity_report(model)
    expected = {"a": 0.5, "b": 0.0, "total": 1 / 3}
    assert set(report) == set(expected), (
        f"sparsity_report keys {sorted(report)}, expected {sorted(expected)}"
    )
    for key, value in expected.items():
        assert abs(report[key] - value) < 1e-9, (
            f"sparsity_report()[{key!r}] = {report[key]:.4f}, expected {value:.4f}\n  likely "
            "cause: count exact zeros of Linear WEIGHTS only; total = all zeros / all entries"
        )
