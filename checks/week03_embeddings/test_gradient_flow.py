"""Checks for w03.gradient_flow: measured gradient norms through depth and through time.

Oracles: linear networks whose gradients are worked out by hand (the docstrings' examples), then
the measured behaviour of real networks, with the reference's margins in each docstring (one fixed
seed; the claims held with the same margins for seeds 0-4): too small an init shrinks the
gradient geometrically, Xavier/Kaiming keep it within a band, too large a relu init makes it
explode, and a vanilla RNN loses it over time far faster than an LSTM with forget bias 1. The
networks are torch's (torch.nn.init, torch.nn.RNNCell, torch.nn.LSTMCell), so this exercise does
not depend on your other week-03 code.
"""

import math

import torch

from roadmap.checking import generator
from roadmap.impl import load

mod = load("week03_embeddings.gradient_flow")

WIDTH, DEPTH, BATCH = 256, 20, 32


def expect_list(got, want: list[float], what: str, causes: dict[str, list[float]]) -> None:
    """got equals want within 1e-4 relative; else name the mistake whose prediction it matches."""
    assert isinstance(got, list) and all(isinstance(v, float) for v in got), (
        f"{what}: expected a list of Python floats, got {type(got).__name__} "
        f"{got if not isinstance(got, list) else [type(v).__name__ for v in got]}; likely cause: "
        "return [norm.item() for ...]"
    )

    def same(a, b):
        return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-4) for x, y in zip(a, b))

    if same(got, want):
        return
    cause = next((why for why, wrong in causes.items() if same(got, wrong)), None)
    if cause is None and len(got) != len(want):
        cause = f"one norm per {'layer' if 'depth' in what else 'time step'}: {len(want)} values"
    raise AssertionError(
        f"{what}: expected {[round(v, 4) for v in want]}, got {[round(v, 4) for v in got]}; "
        f"likely cause: {cause or 'the Frobenius norm of dloss/dh over the whole batch'}"
    )


def scaled_identity(s: float, n: int, W: int) -> list[torch.Tensor]:
    return [s * torch.eye(W) for _ in range(n)]


def test_depth_norms_of_a_linear_network_by_hand():
    """Identity activation, W_l = s I, W = 8, B = 2, L = 3: dloss/dh_l = s^(3 - l) everywhere, so
    the norms are s^(3 - l) * sqrt(16): [1, 2, 4] for s = 0.5 and [16, 8, 4] for s = 2."""
    x = torch.randn(2, 8, generator=generator(0))
    for s, want in ((0.5, [1.0, 2.0, 4.0]), (2.0, [16.0, 8.0, 4.0])):
        got = mod.depth_gradient_norms(scaled_identity(s, 3, 8), x, lambda t: t)
        causes = {
            "the norms go layer 1 first, the last layer's last": want[::-1],
            "the norm is the square root of the sum of squares, not the sum of squares": [
                v * v for v in want
            ],
            "the loss is h_L.sum(), not its mean": [v / 16 for v in want],
            "one norm per layer output h_1..h_L; x = h_0 is not one of them": [
                want[0] * s,
                *want[:-1],
            ],
        }
        expect_list(got, want, f"depth_gradient_norms, linear, W_l = {s} I, L = 3", causes)


def test_depth_norms_leave_weights_and_grads_alone():
    weights = [torch.randn(6, 5, generator=generator(1)).requires_grad_(True)]
    weights.append(torch.randn(4, 6, generator=generator(2)).requires_grad_(True))
    before = [w.detach().clone() for w in weights]
    x = torch.randn(3, 5, generator=generator(3), requires_grad=True)
    got = mod.depth_gradient_norms(weights, x, torch.tanh)
    assert len(got) == 2 and math.isclose(got[-1], math.sqrt(3 * 4), rel_tol=1e-5), (
        f"depth_gradient_norms on a (5 -> 6 -> 4) tanh MLP, B = 3: expected 2 norms, the last "
        f"sqrt(B * 4) = 3.4641 (dloss/dh_L is all ones), got {got}"
    )
    touched = [
        name
        for name, t in (("W_1", weights[0]), ("W_2", weights[1]), ("x", x))
        if t.grad is not None
    ]
    assert not touched, (
        f"depth_gradient_norms left .grad set on {touched}; likely cause: loss.backward() "
        "accumulates into every leaf's .grad, torch.autograd.grad(loss, tensors) returns the "
        "gradients without touching .grad"
    )
    assert all(torch.equal(w, b) for w, b in zip(weights, before, strict=True)), (
        "depth_gradient_norms changed a weight"
    )


def mlp(std: float, seed: int) -> list[torch.Tensor]:
    g = generator(seed)
    return [torch.randn(WIDTH, WIDTH, generator=g) * std for _ in range(DEPTH)]


def ratios(norms: list[float]) -> list[float]:
    """norms[l] / norms[l + 1]: the factor the gradient gains passing back through layer l + 1."""
    return [a / b for a, b in zip(norms[:-1], norms[1:])]


def measure_depth(weights, activation):
    x = torch.randn(BATCH, WIDTH, generator=generator(100))
    norms = mod.depth_gradient_norms(weights, x, activation)
    assert len(norms) == DEPTH, f"depth_gradient_norms: {DEPTH} layers, got {len(norms)} norms"
    return norms


def test_too_small_init_vanishes_geometrically():
    """tanh, std 0.5 / sqrt(W): each layer multiplies the gradient by about 0.5 going back (the
    reference, seeds 0-4: every factor within 0.45-0.58, norms[0] / norms[-1] = 1.5e-6 to 2.3e-6
    over 20 layers). The check: every factor below 0.7 and norms[0] / norms[-1] below 1e-4."""
    norms = measure_depth(mlp(0.5 / math.sqrt(WIDTH), seed=1), torch.tanh)
    worst = max(ratios(norms))
    assert worst < 0.7 and norms[0] / norms[-1] < 1e-4, (
        f"tanh MLP, depth {DEPTH}, std 0.5/sqrt(W): expected the gradient to shrink by about 0.5 "
        f"per layer, got per-layer factors up to {worst:.3g} and norms[0] / norms[-1] = "
        f"{norms[0] / norms[-1]:.3g}; likely cause: the norms are not of dloss/dh_l at each layer"
    )


def test_xavier_for_tanh_and_kaiming_for_relu_stay_in_a_band():
    """Xavier (gain 1, torch's default) for tanh and Kaiming (fan_in) for relu keep every layer's
    gradient norm within a factor 10 of every other (the reference, seeds 0-4: max / min 3.1-4.5
    for tanh, 2.4-4.6 for relu)."""
    for name, init, activation in (
        ("tanh, Xavier normal", torch.nn.init.xavier_normal_, torch.tanh),
        ("relu, Kaiming normal", torch.nn.init.kaiming_normal_, torch.relu),
    ):
        torch.manual_seed(2)
        weights = [init(torch.empty(WIDTH, WIDTH)) for _ in range(DEPTH)]
        norms = measure_depth(weights, activation)
        spread = max(norms) / min(norms)
        assert spread < 10, (
            f"{name}, depth {DEPTH}: expected every layer's gradient norm within a factor 10 of "
            f"the others, got max / min = {spread:.3g} (norms {norms[0]:.3g} ... {norms[-1]:.3g})"
        )


def test_too_large_relu_init_explodes_geometrically():
    """relu, twice Kaiming's std: each layer multiplies the gradient by about 2 going back (the
    reference, seeds 0-4: factors 1.9-2.6, norms[0] / norms[-1] = 1.3e6 to 2e6). The check: every
    factor above 1.5 and norms[0] / norms[-1] above 1e4."""
    norms = measure_depth(mlp(2 * math.sqrt(2 / WIDTH), seed=3), torch.relu)
    smallest = min(ratios(norms))
    assert smallest > 1.5 and norms[0] / norms[-1] > 1e4, (
        f"relu MLP, depth {DEPTH}, std 2 sqrt(2/W): expected the gradient to grow by about 2 per "
        f"layer going back, got factors down to {smallest:.3g} and norms[0] / norms[-1] = "
        f"{norms[0] / norms[-1]:.3g}"
    )


def linear_rnn(s: float):
    def step(x, h):
        h = s * h + x
        return h, h

    return step


def test_time_norms_of_a_linear_rnn_by_hand():
    """step(x, h) = s h + x, B = 2, H = 8, T = 3: dloss/dh_t = s^(3 - t) everywhere, so the norms
    are s^(3 - t) * 4: [1, 2, 4] for s = 0.5 and [16, 8, 4] for s = 2. Neither x nor the initial
    state requires grad here."""
    x = torch.randn(2, 3, 8, generator=generator(4))
    for s, want in ((0.5, [1.0, 2.0, 4.0]), (2.0, [16.0, 8.0, 4.0])):
        got = mod.time_gradient_norms(linear_rnn(s), x, torch.zeros(2, 8))
        every = [sum(s**k for k in range(3 - t)) * 4 for t in range(3)]
        causes = {
            "the norms go earliest step first": want[::-1],
            "the loss is the last state's sum h_T.sum(), not the sum of every state": every,
            "the norm is the square root of the sum of squares, not the sum of squares": [
                v * v for v in want
            ],
        }
        expect_list(
            got, want, f"time_gradient_norms, linear RNN h_t = {s} h_(t-1) + x_t, T = 3", causes
        )


def rnn_and_lstm(n_in: int, H: int, seed: int):
    """torch's default init for both; the LSTM's forget bias set to 1 (the forget rows of bias_ih
    to 1, of bias_hh to 0), so f starts near sigmoid(1) = 0.73."""
    torch.manual_seed(seed)
    rnn, lstm = torch.nn.RNNCell(n_in, H), torch.nn.LSTMCell(n_in, H)
    with torch.no_grad():
        lstm.bias_ih[H : 2 * H] = 1.0
        lstm.bias_hh[H : 2 * H] = 0.0
    return rnn, lstm


def test_rnn_forgets_far_faster_than_lstm_with_forget_bias_one():
    """T = 40, H = 64, I = 16, B = 32, torch's default init. The reference measures, relative to
    the last step's norm (seeds 0-4): 20 steps back the RNN keeps 9e-7 to 6e-6 and the LSTM 1.8e-3
    to 3.1e-3 (320 to 2000 times more); 39 steps back 5e-12 to 4e-10 and 6e-5 to 1.6e-4. The
    check: 20 steps back the LSTM keeps over 100 times the RNN's share, and 39 steps back the
    RNN's share is below 1e-7 while the LSTM's is above 1e-6."""
    B, T, n_in, H = 32, 40, 16, 64
    rnn, lstm = rnn_and_lstm(n_in, H, seed=5)
    x = torch.randn(B, T, n_in, generator=generator(6))
    h0 = torch.zeros(B, H)
    rnn_norms = mod.time_gradient_norms(mod.rnn_step(rnn), x, h0)
    lstm_norms = mod.time_gradient_norms(mod.lstm_step(lstm), x, (h0, h0))
    for name, norms in (("RNN", rnn_norms), ("LSTM", lstm_norms)):
        assert len(norms) == T and math.isclose(norms[-1], math.sqrt(B * H), rel_tol=1e-5), (
            f"time_gradient_norms ({name}, T = {T}): expected {T} norms, the last sqrt(B * H) = "
            f"{math.sqrt(B * H):.4g}; got {len(norms)}, the last {norms[-1]:.4g}"
        )
    rnn_share = [v / rnn_norms[-1] for v in rnn_norms]
    lstm_share = [v / lstm_norms[-1] for v in lstm_norms]
    back20 = T - 1 - 20
    assert lstm_share[back20] > 100 * rnn_share[back20], (
        f"20 steps back the LSTM keeps {lstm_share[back20]:.3g} of the last step's gradient norm "
        f"and the RNN {rnn_share[back20]:.3g}: expected the LSTM's over 100 times the RNN's; "
        "likely cause: each norm must count every path from h_t to the loss (through c too)"
    )
    assert rnn_share[0] < 1e-7 < 1e-6 < lstm_share[0], (
        f"39 steps back: expected the RNN's share below 1e-7 and the LSTM's above 1e-6, got "
        f"{rnn_share[0]:.3g} and {lstm_share[0]:.3g}"
    )


def test_time_norms_leave_grads_alone():
    rnn, _ = rnn_and_lstm(3, 4, seed=7)
    x = torch.randn(2, 5, 3, generator=generator(8))
    mod.time_gradient_norms(mod.rnn_step(rnn), x, torch.zeros(2, 4))
    touched = [name for name, p in rnn.named_parameters() if p.grad is not None]
    assert not touched, (
        f"time_gradient_norms left .grad set on the cell's {touched}; likely cause: "
        "loss.backward() accumulates into every parameter's .grad, torch.autograd.grad(loss, "
        "tensors) does not"
    )
