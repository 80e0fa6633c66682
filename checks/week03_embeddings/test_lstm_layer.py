"""Checks for w03.lstm_layer: a one-layer LSTM over time against torch.nn.LSTM(batch_first=True).

Oracles: the all-zero-weights example derived by hand (LSTM.forward's docstring), and torch.nn.LSTM
with its state_dict loaded key by key, values and gradients, with and without an initial state
(computed before the guard switches torch's LSTMs off). LSTM.forward uses your lstm_cell, so
w03.lstm_cell comes first.
"""

from functools import partial

import pytest
import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

from .support import LSTM_LIBRARY, near

mod = load("week03_embeddings.lstm")

NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")

run = partial(
    from_scratch,
    forbid=LSTM_LIBRARY,
    exercise="w03.lstm_layer",
    instead="a loop over time that calls your lstm_cell",
)


def assert_shapes(output, h_n, c_n, B: int, T: int, H: int) -> None:
    assert tuple(output.shape) == (B, T, H), (
        f"LSTM output: expected shape (B, T, H) = {(B, T, H)}, got {tuple(output.shape)}; "
        "likely cause: the layer is batch_first, so stack the steps' h along dim 1"
    )
    for name, s in (("h_n", h_n), ("c_n", c_n)):
        assert tuple(s.shape) == (1, B, H), (
            f"LSTM {name}: expected shape (1, B, H) = {(1, B, H)}, got {tuple(s.shape)}; "
            "likely cause: torch keeps a layer axis of size 1 in front of the final states, "
            "even with batch_first"
        )


def test_zero_weights_example_from_a_given_state():
    """All weights and biases 0, c_0 = 2: c halves at every step (1, 0.5, 0.25) and output[:, t]
    = tanh(c_{t+1}) / 2: 0.3808, 0.2311, 0.1244; c_n = 0.25 and h_n = output[:, -1]."""
    B, T, n_in, H = 2, 3, 4, 5
    layer = mod.LSTM(n_in, H)
    with torch.no_grad():
        for p in layer.parameters():
            p.zero_()
    x = torch.randn(B, T, n_in, generator=generator(1))
    h0, c0 = torch.randn(1, B, H, generator=generator(2)), torch.full((1, B, H), 2.0)
    output, (h_n, c_n) = run(layer, x, (h0, c0))
    assert_shapes(output, h_n, c_n, B, T, H)
    c = torch.tensor([1.0, 0.5, 0.25])
    want = (torch.tanh(c) / 2)[None, :, None].expand(B, T, H)
    causes = {
        "the initial state (h_0, c_0) is ignored: start from it when it is given": torch.zeros_like(
            want
        ),
        "c is not carried from step to step: each step must start from the previous step's c": (
            torch.full_like(want, torch.tanh(torch.tensor(1.0)).item() / 2)
        ),
        "output[:, t] is h after reading x[:, t], not the state before it": torch.cat(
            [h0[0][:, None], want[:, :-1]], dim=1
        ),
    }
    cause = next((why for why, wrong in causes.items() if near(output, wrong)), "")
    assert_close(
        output, want, atol=1e-5, what="LSTM with zero weights, c_0 = 2: output", hint=cause
    )
    swapped = "h_n and c_n are swapped: the states come back as (h_n, c_n)"
    assert_close(
        c_n,
        torch.full((1, B, H), 0.25),
        atol=1e-5,
        what="LSTM with zero weights, c_0 = 2: c_n",
        hint=swapped if near(c_n, output[:, -1][None]) else "c_n is c after the last step",
    )
    assert_close(
        h_n[0], output[:, -1], what="LSTM: h_n[0] against output[:, -1]", hint="h_n is the last h"
    )


def torch_lstm(n_in: int, H: int, seed: int) -> torch.nn.LSTM:
    g = generator(seed)
    ref = torch.nn.LSTM(n_in, H, batch_first=True)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / H**0.5)  # gates well spread, not saturated
    return ref


def copied(ref: torch.nn.LSTM):
    layer = mod.LSTM(ref.input_size, ref.hidden_size)
    layer.load_state_dict(ref.state_dict())  # torch's names and layouts: a key-by-key copy
    return layer


@pytest.mark.parametrize("B,T,n_in,H", [(1, 1, 2, 3), (3, 7, 5, 6), (4, 9, 1, 11)])
@pytest.mark.parametrize("given_state", [True, False], ids=["given_state", "zero_state"])
def test_values_match_torch_lstm(B, T, n_in, H, given_state):
    ref = torch_lstm(n_in, H, seed=B * 1000 + T * 100 + n_in * 10 + H)
    layer = copied(ref)
    g = generator(T)
    x = torch.randn(B, T, n_in, generator=g)
    state = None
    if given_state:
        state = (torch.randn(1, B, H, generator=g), torch.randn(1, B, H, generator=g))
    output, (h_n, c_n) = run(layer, x, state)
    assert_shapes(output, h_n, c_n, B, T, H)
    with torch.no_grad():
        want, (want_h, want_c) = ref(x, state)
    what = f"LSTM({n_in}, {H}) on x ({B}, {T}, {n_in}), {'given' if given_state else 'no'} state"
    hint = (
        "run lstm_cell on x[:, t] for t = 0..T-1 in order, feeding each step's (h, c) to the next"
    )
    if near(output, ref(x.flip(1), state)[0].flip(1).detach()):
        hint = "time runs left to right: step t reads x[:, t], starting at t = 0"
    assert_close(output, want, atol=1e-5, what=f"{what}: output", hint=hint)
    assert_close(h_n, want_h, atol=1e-5, what=f"{what}: h_n", hint="h_n is h after the last step")
    assert_close(c_n, want_c, atol=1e-5, what=f"{what}: c_n", hint="c_n is c after the last step")


@pytest.mark.parametrize("given_state", [True, False], ids=["given_state", "zero_state"])
def test_gradients_match_torch_lstm(given_state):
    """loss = a random mix of output, h_n and c_n: the gradients w.r.t. x, h_0, c_0 and every
    parameter must equal torch's (same function, same weights)."""
    B, T, n_in, H = 3, 6, 4, 5
    ref = torch_lstm(n_in, H, seed=21)
    layer = copied(ref)
    g = generator(22)
    x = torch.randn(B, T, n_in, generator=g, requires_grad=True)
    h0 = torch.randn(1, B, H, generator=g, requires_grad=True)
    c0 = torch.randn(1, B, H, generator=g, requires_grad=True)
    mixes = [torch.randn(B, T, H, generator=g), torch.randn(1, B, H, generator=g)]
    mixes.append(torch.randn(1, B, H, generator=g))
    inputs = [x, h0, c0] if given_state else [x]
    state = (h0, c0) if given_state else None

    def loss(output, h_n, c_n):
        return sum((t * m).sum() for t, m in zip((output, h_n, c_n), mixes, strict=True))

    output, (h_n, c_n) = run(layer, x, state)
    wrt = [*inputs, *layer.parameters()]
    got = torch.autograd.grad(loss(output, h_n, c_n), wrt, allow_unused=True)
    got = [torch.zeros_like(t) if g is None else g for t, g in zip(wrt, got, strict=True)]
    want_out, (want_h, want_c) = ref(x, state)
    expected = torch.autograd.grad(loss(want_out, want_h, want_c), [*inputs, *ref.parameters()])
    names = ["x", "h_0", "c_0"][: len(inputs)] + list(NAMES)
    for name, a, b in zip(names, got, expected, strict=True):
        assert_close(
            a,
            b,
            atol=1e-5,
            what=f"gradient w.r.t. {name} of an LSTM over T = {T} steps",
            hint="keep every step in the graph: no .detach() of h or c between steps, no .data, "
            "no in-place writes into the stacked outputs",
        )
