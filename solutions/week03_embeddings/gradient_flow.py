"""Measure vanishing and exploding gradients: through depth (an MLP) and through time (RNN, LSTM).

Backpropagation multiplies one Jacobian per layer, or per time step. When their typical gain is
below 1 the gradient shrinks geometrically on its way back, above 1 it grows: across 20 layers a
gain of 0.5 is a factor 0.5^19 = 2e-6. Glorot & Bengio (2010) and He et al. (2015) chose the
initial weight scale that keeps the gain near 1 (weight_init.py). Through time a vanilla RNN
multiplies by the same W_hh and tanh slope at every step; an LSTM's cell state passes back
through the forget gate alone (Hochreiter & Schmidhuber 1997), so with f near 1 it decays far
more slowly. The week's project plots both.
Check: `python tracker.py check w03.gradient_flow`
"""

from collections.abc import Callable
from typing import Any

import torch


def depth_gradient_norms(
    weights: list[torch.Tensor], x: torch.Tensor, activation: Callable[[torch.Tensor], torch.Tensor]
) -> list[float]:
    """The norm of the loss's gradient at the output of every layer of a deep MLP without biases.

    The network: h_0 = x, h_l = activation(h_{l-1} @ weights[l-1].T) for l = 1..L, and the loss
    is h_L.sum(), so dloss/dh_L is all ones.

    Args:
        weights: L tensors, weights[l-1] of shape (W_l, W_{l-1}); they need not require grad.
        x: (B, W_0), the input batch.
        activation: elementwise, e.g. torch.tanh or torch.relu.

    Returns:
        [||dloss/dh_1||, ..., ||dloss/dh_L||]: L floats, each the Frobenius norm over the whole
        batch (B, W_l), layer 1 first; the last is sqrt(B * W_L).

    Example: the identity activation and weights[l] = s * I (W x W): h_l = s^l x, so
    dloss/dh_l = s^(L - l) everywhere and its norm is s^(L - l) sqrt(B W). With s = 0.5, L = 3,
    B = 2, W = 8: [1.0, 2.0, 4.0]; with s = 2: [16.0, 8.0, 4.0].

    Changes no weight and leaves every .grad as it was.
    """
    # subtle: the weights may not require grad, so the graph starts at a leaf copy of x
    h = x.detach().requires_grad_(True)
    hidden = []
    for w in weights:
        h = activation(h @ w.T)  # (B, W_l)
        hidden.append(h)
    grads = torch.autograd.grad(h.sum(), hidden)  # into these tensors only, no .grad touched
    return [g.norm().item() for g in grads]


def time_gradient_norms(
    step: Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]], x: torch.Tensor, state: Any
) -> list[float]:
    """The norm of the loss's gradient at the hidden state of every time step of a recurrent net.

    Unroll: for t = 1..T, (h_t, state) = step(x[:, t - 1], state), starting from `state`; the loss
    is h_T.sum(), so dloss/dh_T is all ones.

    Args:
        step: (x_t (B, I), state) -> (h_t (B, H), next state). rnn_step(cell) and
            lstm_step(cell) below make one from a cell.
        x: (B, T, I).
        state: the initial state, in the form step takes (a tensor h, or a pair (h, c)).

    Returns:
        [||dloss/dh_1||, ..., ||dloss/dh_T||]: T floats, each the Frobenius norm over (B, H),
        earliest step first; the last is sqrt(B * H). Each counts every path from h_t to the
        loss (through later states, and through c for an LSTM).

    h_t is the tensor step returns first, and the state step returns carries that same tensor on
    (as rnn_step and lstm_step below do), so dloss/dh_t counts its effect on every later step.

    Example: a linear RNN with W_hh = s I, `def step(x, h): h = s * h + x; return h, h` (one
    tensor, returned as output and as next state): h_T depends on h_t through s^(T - t), so the
    norms are s^(T - t) sqrt(B H). With s = 0.5, T = 3, B = 2, H = 8: [1.0, 2.0, 4.0].

    x, state and the step's parameters need not require grad. Leaves every .grad as it was.
    """
    # subtle: a step with no parameters builds no graph unless the inputs are a leaf with grad
    x = x.detach().requires_grad_(True)
    hidden = []
    for t in range(x.shape[1]):
        h, state = step(x[:, t], state)
        hidden.append(h)
    grads = torch.autograd.grad(hidden[-1].sum(), hidden)
    return [g.norm().item() for g in grads]


def rnn_step(cell: torch.nn.Module) -> Callable:
    """A step for time_gradient_norms from a cell whose state is h: RNNCell, GRUCell (week 03's
    or torch's)."""

    def step(x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = cell(x, h)
        return h, h

    return step


def lstm_step(cell: torch.nn.Module) -> Callable:
    """A step for time_gradient_norms from an LSTM cell, whose state is (h, c) (lstm.LSTMCell or
    torch.nn.LSTMCell)."""

    def step(x: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        h, c = cell(x, state)
        return h, (h, c)

    return step
