"""Checks for w01.softmax: stable softmax and log-softmax from scratch.

Oracle: torch.softmax / torch.log_softmax, computed before the from-scratch guard switches them off.
"""

import math
from functools import partial

import pytest
import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week01_tensors.softmax")

LIBRARY = (
    "torch.softmax",
    "torch.log_softmax",
    "torch.logsumexp",
    "torch.nn.functional.softmax",
    "torch.nn.functional.log_softmax",
    "torch.Tensor.softmax",
    "torch.Tensor.log_softmax",
    "torch.Tensor.logsumexp",
    "torch.special.softmax",
    "torch.special.log_softmax",
    "torch.special.logsumexp",
)


run = partial(
    from_scratch, forbid=LIBRARY, exercise="w01.softmax", instead="exp, amax and sum along `dim`"
)


def test_softmax_known_answer():
    """softmax([0, ln 2, ln 3]) = [1, 2, 3] / (1 + 2 + 3)."""
    x = torch.tensor([0.0, math.log(2), math.log(3)])
    assert_close(
        run(mod.softmax, x),
        torch.tensor([1 / 6, 2 / 6, 3 / 6]),
        what="softmax([0, ln 2, ln 3])",
    )


def test_log_softmax_known_answer():
    x = torch.tensor([0.0, 0.0])
    assert_close(
        run(mod.log_softmax, x), torch.full((2,), -math.log(2)), what="log_softmax([0, 0])"
    )


@pytest.mark.parametrize(
    "shape,dim", [((5,), -1), ((3, 7), -1), ((2, 7, 5), 1), ((4, 3, 6), 0), ((1, 1, 9), 2)]
)
def test_softmax_matches_torch_along_dim(shape, dim):
    x = torch.randn(*shape, generator=generator(sum(shape))) * 3
    expected = torch.softmax(x, dim=dim)
    got = run(mod.softmax, x, dim=dim)
    assert_close(
        got,
        expected,
        what=f"softmax(x {shape}, dim={dim})",
        hint="reduce (max and sum) along `dim` with keepdim=True so the result broadcasts back",
    )


@pytest.mark.parametrize("shape,dim", [((5,), -1), ((2, 7, 5), 1), ((4, 3, 6), 0)])
def test_log_softmax_matches_torch_along_dim(shape, dim):
    x = torch.randn(*shape, generator=generator(3 * sum(shape))) * 3
    expected = torch.log_softmax(x, dim=dim)
    got = run(mod.log_softmax, x, dim=dim)
    assert_close(
        got,
        expected,
        what=f"log_softmax(x {shape}, dim={dim})",
        hint="reduce along `dim` with keepdim=True",
    )


def test_softmax_rows_sum_to_one():
    x = torch.randn(6, 11, generator=generator(8)) * 10
    sums = run(mod.softmax, x, dim=-1).sum(dim=-1)
    assert_close(
        sums,
        torch.ones(6),
        atol=1e-5,
        what="softmax(x (6, 11)).sum(-1)",
        hint="divide by the sum along the same dim you exponentiated",
    )


def test_softmax_survives_huge_logits():
    """logits + 1000 overflow exp in float32 (exp(89) is inf); the max trick keeps it finite."""
    x = torch.randn(4, 9, generator=generator(1))
    expected = torch.softmax(x, dim=-1)
    got = run(mod.softmax, x + 1000, dim=-1)
    assert_close(
        got,
        expected,
        what="softmax(x + 1000)",
        hint="exp(1000) is inf in float32: subtract the max along dim before exp (softmax is "
        "unchanged by a constant shift)",
    )


def test_log_softmax_survives_huge_and_spread_logits():
    """[0, -1000] has softmax [1, 0]; log(softmax) would give -inf, the right answer is -1000."""
    x = torch.tensor([[1000.0, 0.0], [0.0, -1000.0]])
    got = run(mod.log_softmax, x, dim=-1)
    assert_close(
        got,
        torch.log_softmax(x, dim=-1),
        what="log_softmax([[1000, 0], [0, -1000]])",
        hint="compute x - max - log(sum(exp(x - max))); log(softmax(x)) underflows to -inf",
    )


def test_each_row_is_shifted_by_its_own_max():
    """Rows of very different scale: a global max would send the small row's exp to 0 (NaN)."""
    x = torch.tensor([[1000.0, 1001.0, 1002.0], [0.0, 1.0, 2.0], [-1000.0, -999.0, -998.0]])
    expected = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), dim=-1).expand(3, 3)
    assert_close(
        run(mod.softmax, x, dim=-1),
        expected,
        what="softmax of rows around 1000, 0 and -1000",
        hint="subtract each row's own max (amax along dim, keepdim=True), not the max of the "
        "whole tensor",
    )
    assert_close(
        run(mod.log_softmax, x, dim=-1),
        expected.log(),
        what="log_softmax of rows around 1000, 0 and -1000",
        hint="subtract each row's own max (amax along dim, keepdim=True), not the max of the "
        "whole tensor",
    )


def test_softmax_is_shift_invariant():
    x = torch.randn(3, 5, generator=generator(9))
    a = run(mod.softmax, x)
    b = run(mod.softmax, x - 50.0)
    assert_close(a, b, what="softmax(x) vs softmax(x - 50)")
