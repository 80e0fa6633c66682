"""An LSTM step, an LSTM cell and a one-layer LSTM unrolled over time, in torch's layout.

The LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000) carries two
states: a cell state c, updated additively (c' = f * c + i * g), and an output h = o * tanh(c).
Going back in time, the gradient reaches the previous c multiplied by the forget gate f alone, not
by a weight matrix and a tanh slope as in a vanilla RNN; with f near 1 it survives many steps
(gradient_flow.py measures it). Parameter names and layouts match torch.nn.LSTMCell and
torch.nn.LSTM (one layer, batch_first=True), so weights copy over key by key.
Check: `python tracker.py check w03.lstm_cell` (then w03.lstm_layer)
"""

import math

import torch
from torch import nn


def lstm_cell(
    x: torch.Tensor,
    state: tuple[torch.Tensor, torch.Tensor],
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor,
    bias_hh: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step in torch's convention (the fused op torch.lstm_cell takes the same arguments).

        i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)       input gate
        f  = sigmoid(W_if x + b_if + W_hf h + b_hf)       forget gate
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)          candidate values
        o  = sigmoid(W_io x + b_io + W_ho h + b_ho)       output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    Args:
        x: (B, I), the input at this step.
        state: (h, c), each (B, H).
        weight_ih: (4H, I), W_ii, W_if, W_ig, W_io stacked in that order (gate order i, f, g, o).
        weight_hh: (4H, H), stacked the same way.
        bias_ih, bias_hh: (4H,), stacked the same way.

    Returns:
        (h', c'), each (B, H).

    Example: with every weight and bias 0, i = f = o = sigmoid(0) = 1/2 and g = tanh(0) = 0, so
    c' = c / 2 and h' = tanh(c / 2) / 2; for c = 2: c' = 1, h' = tanh(1) / 2 = 0.3808.

    Built from scratch: the check switches off torch.nn.LSTMCell, torch.nn.LSTM and torch's fused
    LSTM ops (torch.lstm_cell, torch.lstm) while it runs.
    """
    # TODO(w03.lstm_cell): return the LSTM's next (h, c) for one step, gates in torch's order
    raise NotImplementedError(
        "w03.lstm_cell: write lstm_cell in exercises/week03_embeddings/lstm.py"
    )


class LSTMCell(nn.Module):
    """One LSTM step as a module, torch.nn.LSTMCell's parameters and call.

    Parameters weight_ih (4H, I), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,), rows in gate
    order i, f, g, o, initialised like torch's: uniform on [-1/sqrt(H), 1/sqrt(H)].

    Args:
        input_size: I.
        hidden_size: H.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        H, bound = hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(4 * H, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(4 * H, H).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(4 * H).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(4 * H).uniform_(-bound, bound))

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, I), state (h, c) each (B, H) or None for zeros -> (h', c') each (B, H)."""
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        return lstm_cell(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTM(nn.Module):
    """A one-layer LSTM over a whole sequence, torch.nn.LSTM(I, H, batch_first=True)'s interface.

    Batch first: inputs and outputs are (B, T, .). The states h_0, c_0, h_n, c_n keep torch's
    leading layer axis of size 1, (1, B, H), even with batch_first. Parameters weight_ih_l0
    (4H, I), weight_hh_l0 (4H, H), bias_ih_l0 (4H,), bias_hh_l0 (4H,), gate order i, f, g, o, so
    torch.nn.LSTM's state_dict loads as it is.

    Args:
        input_size: I.
        hidden_size: H.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        H, bound = hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * H, input_size).uniform_(-bound, bound))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * H, H).uniform_(-bound, bound))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * H).uniform_(-bound, bound))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * H).uniform_(-bound, bound))

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run lstm_cell over x left to right, from `state` or from zeros.

        Args:
            x: (B, T, I).
            state: (h_0, c_0), each (1, B, H), or None for zeros.

        Returns:
            (output, (h_n, c_n)): output (B, T, H) holds h after each step, output[:, t] after
            reading x[:, t]; h_n and c_n, each (1, B, H), are the states after the last step
            (so h_n[0] equals output[:, -1]).

        Example: with every weight and bias 0 and c_0 = 2 everywhere, c halves at every step
        (c_t = 2 / 2^t) and output[:, t] = tanh(c_{t+1}) / 2: for T = 2, tanh(1) / 2 = 0.3808
        then tanh(0.5) / 2 = 0.2311; c_n = 0.5.

        Built from scratch, as lstm_cell is (torch's LSTM modules and fused ops are switched off).
        """
        # TODO(w03.lstm_layer): return each step's h and the final (h, c), both carried through time
        raise NotImplementedError(
            "w03.lstm_layer: write LSTM.forward in exercises/week03_embeddings/lstm.py"
        )
