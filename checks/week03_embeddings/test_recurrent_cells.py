"""Checks for w03.recurrent_cells: RNNCell and GRUCell against torch's cells with copied weights.

Oracles: torch.nn.RNNCell and torch.nn.GRUCell (computed before the guard switches them off), a
hand-derived all-zero-weights case, and torch.autograd.gradcheck for the backward pass.
"""

from functools import partial

import pytest
import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week03_embeddings.rnn")

LIBRARY = (
    "torch.nn.RNNCell.forward",
    "torch.nn.GRUCell.forward",
    "torch.rnn_tanh_cell",
    "torch.gru_cell",
)


NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def copied(ours, theirs):
    with torch.no_grad():
        for name in NAMES:
            getattr(ours, name).copy_(getattr(theirs, name))


step = partial(
    from_scratch,
    forbid=LIBRARY,
    exercise="w03.recurrent_cells",
    instead="matrix products with the cell's weights, torch.tanh and torch.sigmoid",
)


@pytest.mark.parametrize("B,n_in,H", [(1, 3, 2), (4, 5, 7), (3, 1, 9)])
def test_rnn_cell_matches_torch(B, n_in, H):
    g = generator(B * 100 + n_in * 10 + H)
    ref = torch.nn.RNNCell(n_in, H)
    cell = mod.RNNCell(n_in, H)
    copied(cell, ref)
    x, h = torch.randn(B, n_in, generator=g), torch.randn(B, H, generator=g)
    assert_close(
        step(cell, x, h),
        ref(x, h),
        what=f"RNNCell({n_in}, {H}) on x ({B}, {n_in}), h ({B}, {H})",
        hint="tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh); weights are (out, in), so transpose",
    )


def test_gru_with_zero_weights_halves_the_state():
    """All weights 0: r = z = sigmoid(0) = 1/2, n = tanh(0) = 0, so h' = (1 - z) n + z h = h / 2."""
    cell = mod.GRUCell(3, 4)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
    h = torch.tensor([[1.0, -2.0, 0.5, 4.0]])
    got = step(cell, torch.ones(1, 3), h)
    assert_close(
        got,
        h / 2,
        what="GRUCell with zero weights, h = [1, -2, 0.5, 4]",
        hint="h' = (1 - z) * n + z * h",
    )


@pytest.mark.parametrize("B,n_in,H", [(1, 2, 3), (5, 4, 6), (2, 7, 1)])
def test_gru_cell_matches_torch(B, n_in, H):
    g = generator(B * 7 + n_in * 3 + H)
    ref = torch.nn.GRUCell(n_in, H)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(
                torch.randn(p.shape, generator=g)
            )  # larger than the default init: gates far from 1/2
    cell = mod.GRUCell(n_in, H)
    copied(cell, ref)
    x, h = torch.randn(B, n_in, generator=g), torch.randn(B, H, generator=g)
    assert_close(
        step(cell, x, h),
        ref(x, h),
        atol=1e-5,
        what=f"GRUCell({n_in}, {H}) on x ({B}, {n_in}), h ({B}, {H})",
        hint="chunk weight_ih / weight_hh rows in the order r, z, n; the reset gate multiplies "
        "(W_hn h + b_hn), bias included; h' = (1 - z) n + z h, not z n + (1 - z) h",
    )


def test_gru_cell_gradients_match_torch():
    """Same function, same weights: the gradients w.r.t. x, h and every weight must agree too."""
    g = generator(9)
    ref = torch.nn.GRUCell(3, 2)
    cell = mod.GRUCell(3, 2)
    copied(cell, ref)
    x = torch.randn(4, 3, generator=g, requires_grad=True)
    h = torch.randn(4, 2, generator=g, requires_grad=True)
    upstream = torch.randn(4, 2, generator=g)
    (ref(x, h) * upstream).sum().backward()
    expected = [x.grad.clone(), h.grad.clone()] + [getattr(ref, n).grad for n in NAMES]
    x.grad = h.grad = None
    (step(cell, x, h) * upstream).sum().backward()
    got = [x.grad, h.grad] + [getattr(cell, n).grad for n in NAMES]
    for name, a, b in zip(["x", "h", *NAMES], got, expected):
        assert_close(
            a,
            b,
            atol=1e-5,
            what=f"gradient of GRUCell output w.r.t. {name}",
            hint="build h' from differentiable torch ops on the parameters (no .data, no in-place "
            "writes into the gates)",
        )
