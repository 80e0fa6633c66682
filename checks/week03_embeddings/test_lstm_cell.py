"""Checks for w03.lstm_cell: one LSTM step against torch.nn.LSTMCell with copied weights.

Oracles, in order: the all-zero-weights case derived by hand (lstm_cell's docstring); one constant
bias per gate with zero weights, worked out from the equations (and every other reading of the
gate rows tried, to name a swapped order); torch.nn.LSTMCell with copied weights, values and
gradients over several steps (computed before the guard switches torch's LSTMs off).
"""

import itertools
import math
from functools import partial

import pytest
import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

from .support import LSTM_LIBRARY, near

mod = load("week03_embeddings.lstm")

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
GATES = ("i", "f", "g", "o")

step = partial(
    from_scratch,
    forbid=LSTM_LIBRARY,
    exercise="w03.lstm_cell",
    instead="matrix products with the weights, torch.sigmoid and torch.tanh",
)


def by_hand(gate_inputs: dict[str, float], c: torch.Tensor, order=GATES, candidate=torch.tanh):
    """h', c' from the docstring's equations, each gate's pre-activation a constant."""
    i, f, g, o = (torch.tensor(gate_inputs[name]) for name in order)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * candidate(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def test_zero_weights_halve_the_cell_state():
    """All weights and biases 0: i = f = o = sigmoid(0) = 1/2 and g = tanh(0) = 0, so
    c' = f c + i g = c / 2 and h' = o tanh(c') = tanh(c / 2) / 2 (c = 2: c' = 1, h' = 0.3808)."""
    B, n_in, H = 2, 3, 4
    zeros = [
        torch.zeros(4 * H, n_in),
        torch.zeros(4 * H, H),
        torch.zeros(4 * H),
        torch.zeros(4 * H),
    ]
    c = torch.tensor([[2.0, -4.0, 0.5, 0.0], [1.0, 3.0, -1.0, 6.0]])
    h = torch.randn(B, H, generator=generator(3))
    got_h, got_c = step(mod.lstm_cell, torch.ones(B, n_in), (h, c), *zeros)
    causes = {
        "the forget gate must be sigmoid(...) (1/2 here): with tanh it is 0 and c is dropped": (
            torch.zeros_like(c)
        ),
        "c' = f * c + i * g: the forget gate f multiplies the old c (here c' = c / 2, not c)": c,
        "the candidate g uses tanh: at zero weights g = tanh(0) = 0, a sigmoid would give 1/2": (
            c / 2 + 1 / 4
        ),
    }
    cause = next((why for why, wrong in causes.items() if near(got_c, wrong)), "c' = f * c + i * g")
    assert_close(got_c, c / 2, what="lstm_cell with zero weights: c'", hint=cause)
    h_causes = {
        "h' = o * tanh(c'): the new cell state goes through tanh before the output gate": c / 4,
        "h' = o * tanh(c') uses the new c', not the old c": torch.tanh(c) / 2,
    }
    cause = next(
        (why for why, wrong in h_causes.items() if near(got_h, wrong)), "h' = o * tanh(c')"
    )
    assert_close(got_h, torch.tanh(c / 2) / 2, what="lstm_cell with zero weights: h'", hint=cause)


def test_each_gate_reads_its_own_rows():
    """Zero weights and one constant bias per gate (in the rows of bias_ih in the order i, f, g,
    o: 2, -1, 0.5, 1): i = sigmoid(2), f = sigmoid(-1), g = tanh(0.5), o = sigmoid(1), so with
    c = 1.5: c' = 0.2689 * 1.5 + 0.8808 * 0.4621 = 0.8104 and h' = 0.7311 * tanh(0.8104) = 0.4898."""
    B, n_in, H = 3, 2, 5
    values = {"i": 2.0, "f": -1.0, "g": 0.5, "o": 1.0}
    bias_ih = torch.cat([torch.full((H,), values[name]) for name in GATES])
    weights = [torch.zeros(4 * H, n_in), torch.zeros(4 * H, H), bias_ih, torch.zeros(4 * H)]
    c = torch.full((B, H), 1.5)
    got_h, got_c = step(mod.lstm_cell, torch.ones(B, n_in), (torch.ones(B, H), c), *weights)
    want_h, want_c = by_hand(values, c)
    cause = (
        "the rows of weight_ih, weight_hh and both biases are the gates i, f, g, o in that order"
    )
    for order in itertools.permutations(GATES):
        h_alt, c_alt = by_hand(values, c, order)
        if order != GATES and near(got_h, h_alt) and near(got_c, c_alt):
            cause = (
                f"gate order: the four row blocks are i, f, g, o (torch's order); your code "
                f"reads them as {', '.join(order)}"
            )
    h_alt, c_alt = by_hand(values, c, candidate=torch.sigmoid)
    if near(got_c, c_alt):
        cause = "the candidate g uses tanh (values in (-1, 1)), not sigmoid"
    assert_close(got_c, want_c, atol=1e-5, what="lstm_cell, one bias per gate: c'", hint=cause)
    assert_close(got_h, want_h, atol=1e-5, what="lstm_cell, one bias per gate: h'", hint=cause)


def torch_cell(n_in: int, H: int, seed: int) -> torch.nn.LSTMCell:
    """torch's cell with weights of std 1 (gates far from 1/2, so every mistake shows)."""
    g = generator(seed)
    ref = torch.nn.LSTMCell(n_in, H)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return ref


def copied(ref: torch.nn.LSTMCell):
    cell = mod.LSTMCell(ref.input_size, ref.hidden_size)
    cell.load_state_dict(ref.state_dict())  # the same names and layouts: a key-by-key copy
    return cell


def bias_cause(ref: torch.nn.LSTMCell, x, state, got_h) -> str:
    """Name a missing bias if the output is torch's with that bias at zero."""
    for name in ("bias_ih", "bias_hh"):
        saved = getattr(ref, name).detach().clone()
        with torch.no_grad():
            getattr(ref, name).zero_()
            without, _ = ref(x, state)
            getattr(ref, name).copy_(saved)
        if near(got_h, without):
            return f"{name} is missing: both biases are added to the gates"
    return "follow the equations of lstm_cell's docstring: gates i, f, g, o, c' and h'"


@pytest.mark.parametrize("B,n_in,H", [(1, 3, 2), (4, 5, 7), (3, 1, 9)])
@pytest.mark.parametrize("given_state", [True, False], ids=["given_state", "zero_state"])
def test_values_match_torch_lstmcell(B, n_in, H, given_state):
    ref = torch_cell(n_in, H, seed=B * 100 + n_in * 10 + H)
    cell = copied(ref)
    g = generator(H)
    x = torch.randn(B, n_in, generator=g)
    state = (
        (torch.randn(B, H, generator=g), torch.randn(B, H, generator=g)) if given_state else None
    )
    got_h, got_c = step(cell, x, state)
    with torch.no_grad():
        want_h, want_c = ref(x, state)
    what = f"LSTMCell({n_in}, {H}) on x ({B}, {n_in}), {'given' if given_state else 'no'} state"
    hint = bias_cause(ref, x, state, got_h)
    assert_close(got_c, want_c, atol=1e-5, what=f"{what}: c'", hint=hint)
    assert_close(got_h, want_h, atol=1e-5, what=f"{what}: h'", hint=hint)


def test_gradients_match_torch_over_several_steps():
    """Four steps from a given state, loss = a random mix of every h and the last c: the gradients
    w.r.t. x, h_0, c_0 and every weight must equal torch's (same function, same weights)."""
    B, n_in, H, T = 3, 5, 4, 4
    ref = torch_cell(n_in, H, seed=11)
    with torch.no_grad():
        ref.weight_hh /= math.sqrt(H)  # keeps the gates out of saturation: gradients are not tiny
    cell = copied(ref)
    g = generator(12)
    x = torch.randn(B, T, n_in, generator=g, requires_grad=True)
    h0 = torch.randn(B, H, generator=g, requires_grad=True)
    c0 = torch.randn(B, H, generator=g, requires_grad=True)
    mix = torch.randn(T + 1, B, H, generator=g)

    def loss(module, run):
        state, total = (h0, c0), 0.0
        for t in range(T):
            state = run(module, x[:, t], state)
            total = total + (state[0] * mix[t]).sum()
        return total + (state[1] * mix[T]).sum()

    ours = loss(cell, step)
    wrt = [x, h0, c0, *cell.parameters()]
    got = torch.autograd.grad(ours, wrt, allow_unused=True)
    got = [torch.zeros_like(t) if g is None else g for t, g in zip(wrt, got, strict=True)]
    theirs = loss(ref, lambda module, *args: module(*args))
    expected = torch.autograd.grad(theirs, [x, h0, c0, *ref.parameters()])
    for name, a, b in zip(["x", "h_0", "c_0", *NAMES], got, expected, strict=True):
        assert_close(
            a,
            b,
            atol=1e-5,
            what=f"gradient w.r.t. {name} after {T} LSTMCell steps",
            hint="build h' and c' from differentiable torch ops on the inputs and parameters "
            "(no .detach(), no .data, no in-place writes into the gates)",
        )
