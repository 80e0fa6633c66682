"""Recurrent cells and an unrolled recurrent language model.

A recurrent cell updates a hidden state h from the current input x; unrolled over a sequence, the
state carries everything seen so far. The vanilla RNN squashes both through one tanh; the GRU
(Cho et al. 2014) adds an update gate z that can copy h forward unchanged and a reset gate r that
can ignore it, which keeps gradients alive over long spans. Parameter names and layouts match
torch.nn.RNNCell and torch.nn.GRUCell, so weights copy over key by key.
Check: `python tracker.py check w03.recurrent_cells` (then w03.recurrent_lm)
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class RNNCell(nn.Module):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh).

    Args:
        input_size: I.
        hidden_size: H.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        bound = 1 / math.sqrt(hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: x (B, I), h (B, H) -> h' (B, H), by the formula of the class docstring.

        Example: with every weight and bias 0, h' = tanh(0) = 0 whatever x and h.

        Built from scratch: the check switches off torch.nn.RNNCell, torch.nn.GRUCell and torch's
        fused cells (torch.rnn_tanh_cell, torch.gru_cell) while it runs.
        """
        # TODO(w03.recurrent_cells): return the vanilla RNN's next hidden state
        raise NotImplementedError(
            "w03.recurrent_cells: write RNNCell.forward in exercises/week03_embeddings/rnn.py"
        )


class GRUCell(nn.Module):
    """The gated recurrent unit, in torch.nn.GRUCell's convention.

        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate state
        h' = (1 - z) * n + z * h

    weight_ih is (3H, I) holding W_ir, W_iz, W_in stacked in that order; weight_hh, bias_ih and
    bias_hh are stacked the same way.

    Args:
        input_size: I.
        hidden_size: H.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        H, bound = hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(3 * H, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(3 * H, H).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(3 * H).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(3 * H).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: x (B, I), h (B, H) -> h' (B, H), by the equations of the class docstring.

        Example: with every weight and bias 0, r = z = 1/2 and n = 0, so h' = h / 2.

        Built from scratch, as RNNCell is (torch's RNN and GRU cells are switched off).
        """
        # TODO(w03.recurrent_cells): return the next hidden state by the class docstring's equations
        raise NotImplementedError(
            "w03.recurrent_cells: write GRUCell.forward in exercises/week03_embeddings/rnn.py"
        )


class RecurrentLM(nn.Module):
    """Embedding -> a recurrent cell unrolled over time -> a linear head to V logits.

    Args:
        vocab_size: V.
        n_embd: C, the embedding width (the cell's input size).
        cell: a cell with `hidden_size` and `forward(x (B, C), h (B, H)) -> (B, H)`, e.g.
            RNNCell(n_embd, H) or GRUCell(n_embd, H).
    """

    def __init__(self, vocab_size: int, n_embd: int, cell: nn.Module) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.cell = cell
        self.lm_head = nn.Linear(cell.hidden_size, vocab_size)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Run the cell over idx left to right from a zero state; predict the next token at each step.

        Args:
            idx: (B, T) int64.
            targets: (B, T) int64 next-token ids, or None.

        Returns:
            (logits, loss): logits (B, T, V); loss the mean cross-entropy, or None. The logits
            at t are lm_head of the state after reading idx[:, t], so they depend on idx[:, :t + 1]
            only.

        Example: with an RNNCell whose weights and biases are all 0 every state is 0, so the
        logits at every position equal lm_head.bias.
        """
        # TODO(w03.recurrent_lm): return next-token logits from every state, and the loss on targets
        raise NotImplementedError(
            "w03.recurrent_lm: write RecurrentLM.forward in exercises/week03_embeddings/rnn.py"
        )
