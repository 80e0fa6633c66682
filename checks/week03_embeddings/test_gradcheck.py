"""Checks for w03.gradcheck: central differences and the autograd-vs-numeric comparison.

Oracles: derivatives worked out by hand, and layers with a deliberately wrong backward.
"""

import math
from functools import partial

import pytest
import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week03_embeddings.gradcheck")

AUTOGRAD = ("torch.autograd.grad", "torch.Tensor.backward", "torch.autograd.backward")


numeric = partial(
    from_scratch,
    mod.numerical_gradient,
    forbid=AUTOGRAD,
    exercise="w03.gradcheck",
    instead="central differences, (f(x + eps) - f(x - eps)) / (2 eps), one entry at a time",
)


class WrongTanh(torch.autograd.Function):
    """tanh forward with the classic bug in backward: 1 - y instead of 1 - y^2."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y)


class DoubledSum(torch.autograd.Function):
    """sum(x) whose backward returns 2 instead of 1 per entry."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.sum()

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad * torch.ones(ctx.shape, dtype=torch.float64)


def test_square_known_answer():
    """d/dx sum(x^2) = 2x: at [1, -2] the gradient is [2, -4]."""
    got = numeric(lambda x: (x**2).sum(), torch.tensor([1.0, -2.0], dtype=torch.float64))
    assert_close(
        got,
        torch.tensor([2.0, -4.0], dtype=torch.float64),
        atol=1e-6,
        what="numerical_gradient(sum(x^2), [1, -2])",
        hint="central difference: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), divided by 2 eps, "
        "not eps",
    )


def test_matches_hand_derivative_on_a_matrix():
    """f = sum(sin(x) * x^3), df/dx = cos(x) x^3 + 3 x^2 sin(x), on a (3, 4) float64 input."""
    x = torch.randn(3, 4, generator=generator(0), dtype=torch.float64)
    expected = x.cos() * x**3 + 3 * x**2 * x.sin()
    got = numeric(lambda x: (x.sin() * x**3).sum(), x)
    assert_close(
        got,
        expected,
        atol=1e-6,
        what="numerical_gradient(sum(sin(x) x^3), x (3, 4))",
        hint="nudge every entry, in place of a copy, and restore it",
    )


def test_central_not_forward_difference():
    """exp at 0 with eps = 1e-3: central error is eps^2 / 6 = 1.7e-7; forward difference is off by eps / 2."""
    got = numeric(lambda x: x.exp().sum(), torch.zeros(1, dtype=torch.float64), eps=1e-3)
    assert abs(got.item() - 1.0) < 1e-6, (
        f"numerical_gradient(exp, 0, eps=1e-3) = {got.item():.8f}, expected 1 within 1e-6; likely cause: "
        "a forward difference (f(x + eps) - f(x)) / eps instead of the central one (f(x + eps) - f(x - eps)) / 2 eps"
    )


def test_input_is_left_unchanged():
    x = torch.randn(5, generator=generator(1), dtype=torch.float64)
    before = x.clone()
    numeric(lambda x: (x**3).sum(), x)
    assert torch.equal(x, before), (
        "numerical_gradient changed its input x: work on a clone and restore each entry"
    )


def test_check_gradients_known_answer():
    """DoubledSum: autograd says 2, finite differences say 1: |2 - 1| / max(1, 2, 1) = 0.5."""
    err = mod.check_gradients(
        DoubledSum.apply, torch.randn(3, dtype=torch.float64, generator=generator(2))
    )
    if abs(err) < 1e-6:
        cause = "autograd was compared with itself: n must come from numerical_gradient(f, x, eps)"
    elif abs(err - 1) < 1e-6:
        cause = "an absolute |a - n| alone; divide by max(1, |a|, |n|): a relative error"
    else:
        cause = "the error is max over entries of |a - n| / max(1, |a|, |n|)"
    assert abs(err - 0.5) < 1e-6, (
        f"check_gradients on a sum whose backward doubles (autograd 2, numerical 1): expected "
        f"|2 - 1| / max(1, 2, 1) = 0.5, got {err}\n  likely cause: {cause}"
    )


def test_passes_a_correct_layer():
    cell = torch.nn.GRUCell(4, 3).double()
    h = torch.randn(2, 3, dtype=torch.float64, generator=generator(3))
    x = torch.randn(2, 4, dtype=torch.float64, generator=generator(4))
    err = mod.check_gradients(lambda x: (cell(x, h) ** 2).sum(), x)
    assert err < 1e-6, (
        f"check_gradients on torch's GRUCell (float64): error {err:.2e}, expected < 1e-6"
    )


def test_catches_a_wrong_backward():
    x = torch.randn(6, dtype=torch.float64, generator=generator(5))
    err = mod.check_gradients(
        lambda x: (WrongTanh.apply(x) * torch.arange(6.0, dtype=torch.float64)).sum(), x
    )
    assert err > 1e-2 and math.isfinite(err), (
        f"check_gradients on tanh with a wrong backward returned {err:.2e}; it should report an error > 1e-2"
    )


@pytest.mark.parametrize("eps", [1e-4, 1e-6])
def test_eps_is_used(eps):
    got = numeric(lambda x: x.exp().sum(), torch.ones(2, dtype=torch.float64), eps=eps)
    assert_close(
        got,
        torch.full((2,), math.e, dtype=torch.float64),
        atol=1e-6,
        what=f"numerical_gradient(exp, 1, eps={eps})",
    )


def test_each_entry_is_restored_after_its_nudge():
    """Every call of f sees x with at most one entry moved: the previous nudge is undone first."""
    x = torch.tensor([0.5, -1.0, 2.0, 3.0], dtype=torch.float64)
    seen = []

    def f(z):
        seen.append(z.detach().clone())
        return (z**2).sum()

    numeric(f, x, eps=1e-3)
    for z in seen:
        moved = (z != x).nonzero().flatten().tolist()
        assert len(moved) <= 1, (
            f"f was called with x = {z.tolist()}, where entries {moved} differ from the point "
            f"{x.tolist()}; likely cause: an entry is not restored after its nudge (set it back "
            "to its old value before moving on to the next one)"
        )


class OneWrongEntry(torch.autograd.Function):
    """sum(scale * x) whose backward is right except at entry 0, where it adds `extra`."""

    @staticmethod
    def forward(ctx, x, scale, extra):
        ctx.shape, ctx.scale, ctx.extra = x.shape, scale, extra
        return (scale * x).sum()

    @staticmethod
    def backward(ctx, grad):
        g = torch.full(ctx.shape, ctx.scale, dtype=torch.float64)
        g[0] += ctx.extra
        return grad * g, None, None


def test_check_gradients_reports_the_max_not_the_mean():
    """Entry 0: autograd 3, numeric 1 -> |3 - 1| / 3 = 2/3; the other three entries agree.
    The largest disagreement is 2/3 (the mean would be 1/6)."""
    x = torch.randn(4, dtype=torch.float64, generator=generator(6))
    err = mod.check_gradients(lambda z: OneWrongEntry.apply(z, 1.0, 2.0), x)
    assert abs(err - 2 / 3) < 1e-6, (
        f"check_gradients with one wrong entry (error 2/3) among 4: got {err:.6f}, expected "
        "0.666667; likely cause: report the max over entries, not the mean or the sum"
    )


def test_check_gradients_absolute_for_small_relative_for_large():
    """max(1, |a|, |n|) in the denominator: a small gradient 1e-3 reported as 2e-3 gives the
    absolute error 1e-3; a large one 1000 reported as 1001 gives the relative error 1/1001."""
    x = torch.randn(3, dtype=torch.float64, generator=generator(7))
    small = mod.check_gradients(lambda z: OneWrongEntry.apply(z, 1e-3, 1e-3), x)
    assert abs(small - 1e-3) < 1e-6, (
        f"autograd 2e-3 vs numeric 1e-3: check_gradients returned {small:.3g}, expected 1e-3; "
        "likely cause: a pure relative error; for gradients below 1 the docstring's "
        "max(1, |a|, |n|) makes it an absolute error"
    )
    large = mod.check_gradients(lambda z: OneWrongEntry.apply(z, 1000.0, 1.0), x)
    assert abs(large - 1 / 1001) < 1e-6, (
        f"autograd 1001 vs numeric 1000: check_gradients returned {large:.3g}, expected "
        f"{1 / 1001:.3g}; likely cause: a pure absolute error; divide by max(1, |a|, |n|) so "
        "large gradients get a relative error"
    )


def test_check_gradients_uses_its_eps():
    """f = sum(x^3) at 1: central difference 3 + eps^2, autograd 3. With eps = 0.1 the reported
    error is 0.01 / 3.01; with the default eps it would be ~0."""
    err = mod.check_gradients(lambda z: (z**3).sum(), torch.ones(2, dtype=torch.float64), eps=0.1)
    assert abs(err - 0.01 / 3.01) < 1e-6, (
        f"check_gradients(sum(x^3), 1, eps=0.1) = {err:.3g}, expected {0.01 / 3.01:.3g} (the "
        "central difference with eps = 0.1 is 3.01); likely cause: eps not passed on to "
        "numerical_gradient"
    )
