"""Checks for w03.recurrent_lm: unrolling a cell over time as a language model.

Oracle: torch.nn.GRU (the whole sequence in one call) with the cell's weights copied in. The cell
used here is torch.nn.GRUCell, so this exercise does not depend on your cells.
"""

import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week03_embeddings.rnn")


def model_and_oracle(V=9, C=5, H=6, seed=0):
    torch.manual_seed(seed)
    model = mod.RecurrentLM(V, C, torch.nn.GRUCell(C, H))
    gru = torch.nn.GRU(C, H, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(gru, f"{name}_l0").copy_(getattr(model.cell, name))
    return model, gru


def test_logits_match_torch_gru():
    V, B, T = 9, 3, 7
    model, gru = model_and_oracle(V)
    idx = torch.randint(0, V, (B, T), generator=generator(1))
    targets = torch.randint(0, V, (B, T), generator=generator(2))
    with torch.no_grad():
        states, _ = gru(model.wte(idx))  # (B, T, H), zero initial state
        expected = model.lm_head(states)
    logits, loss = model(idx, targets)
    assert_close(
        logits,
        expected,
        atol=1e-5,
        what=f"RecurrentLM(GRUCell) logits for idx ({B}, {T})",
        hint="start from h = zeros(B, H); for t in range(T) (left to right): h = cell(x[:, t], h), "
        "carrying the previous step's h, and keep every h; "
        "stack them to (B, T, H) before lm_head: position t predicts from the state after reading "
        "token t, never from an earlier or a future state",
    )
    assert_close(
        loss,
        F.cross_entropy(expected.view(-1, V), targets.view(-1)),
        atol=1e-5,
        what="RecurrentLM loss",
        hint="the mean cross-entropy over all B*T positions (F.cross_entropy's default), not a sum",
    )
    assert model(idx)[1] is None, "model(idx) without targets should return (logits, None)"


def test_future_tokens_do_not_change_earlier_logits():
    V, T = 9, 8
    model, _ = model_and_oracle(V, seed=3)
    idx = torch.randint(0, V, (2, T), generator=generator(4))
    changed = idx.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % V
    with torch.no_grad():
        a, b = model(idx)[0], model(changed)[0]
    assert_close(
        a[:, :5],
        b[:, :5],
        what="logits at t < 5 after changing tokens 5..7",
        hint="the state at t may only have read idx[:, :t + 1]",
    )
    assert (a[:, 5:] - b[:, 5:]).abs().max() > 1e-4, (
        "changing tokens 5..7 should change the logits there"
    )


def test_batch_of_one_and_works_with_any_cell():
    class Doubler(torch.nn.Module):
        """A toy cell: h' = 2 h + sum(x): checks that the unroll feeds h back in."""

        hidden_size = 1

        def forward(self, x, h):
            return 2 * h + x.sum(-1, keepdim=True)

    model = mod.RecurrentLM(3, 1, Doubler())
    with torch.no_grad():
        model.wte.weight.copy_(torch.tensor([[1.0], [0.0], [0.0]]))
        model.lm_head.weight.fill_(1.0)
        model.lm_head.bias.zero_()
    logits, _ = model(torch.tensor([[0, 0, 0]]))
    # h1 = 1, h2 = 2 * 1 + 1 = 3, h3 = 2 * 3 + 1 = 7; each logit equals h
    assert_close(
        logits[0, :, 0],
        torch.tensor([1.0, 3.0, 7.0]),
        what="RecurrentLM with the cell h' = 2h + x on input [0, 0, 0] (x = 1 each)",
        hint="pass the previous step's h to the cell, starting from zeros",
    )
