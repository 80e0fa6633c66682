"""Checks for w02.neural_bigram: BigramLM's forward pass and that it can reach the count optimum.

Oracles: torch.nn.functional.cross_entropy on the same logits; the counted bigram table, which is
the best any bigram model can do on its training text.
"""

import math

import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week02_bigram.bigram")


def markov_text(V: int, N: int, seed: int) -> torch.Tensor:
    """N tokens from a random first-order Markov chain with peaked transition rows."""
    g = generator(seed)
    P = torch.softmax(3 * torch.randn(V, V, generator=g), -1)
    ids = [0]
    for _ in range(N - 1):
        ids.append(int(torch.multinomial(P[ids[-1]], 1, generator=g)))
    return torch.tensor(ids)


def test_untrained_model_is_uniform_loss_ln_V():
    V = 13
    model = mod.BigramLM(V)
    idx = torch.randint(0, V, (3, 7), generator=generator(0))
    logits, loss = model(idx, torch.roll(idx, -1, 1))
    assert logits.shape == (3, 7, V), (
        f"BigramLM(13)(idx (3, 7)): logits shape {tuple(logits.shape)}, expected (3, 7, 13)"
    )
    assert loss is not None and abs(loss.item() - math.log(V)) < 1e-5, (
        f"an untrained BigramLM({V}) has a zero table, so its loss should be ln {V} = {math.log(V):.4f}; "
        f"got {None if loss is None else round(loss.item(), 4)}; likely cause: the loss must be "
        "the mean cross-entropy over the B*T positions (not a sum), of the raw logits"
    )


def test_no_targets_no_loss():
    logits, loss = mod.BigramLM(5)(torch.tensor([[1, 2, 3]]))
    assert loss is None, "model(idx) without targets should return (logits, None)"
    assert logits.shape == (1, 3, 5), f"logits shape {tuple(logits.shape)}, expected (1, 3, 5)"


def test_logits_are_table_rows_and_loss_matches_torch():
    V, B, T = 9, 4, 11
    g = generator(5)
    model = mod.BigramLM(V)
    table = torch.randn(V, V, generator=g)
    with torch.no_grad():
        model.table.weight.copy_(table)
    idx = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    logits, loss = model(idx, targets)
    assert_close(
        logits,
        table[idx],
        what="BigramLM logits for idx (4, 11)",
        hint="logits[b, t] is row idx[b, t] of the table",
    )
    assert_close(
        loss,
        F.cross_entropy(table[idx].reshape(-1, V), targets.reshape(-1)),
        what="BigramLM loss for (4, 11) batches",
        hint="flatten logits to (B*T, V) and targets to (B*T,) before cross_entropy; torch reads a "
        "(B, T, V) tensor as (batch, classes, ...)",
    )


def test_trained_neural_bigram_approaches_the_count_optimum():
    """Full-batch AdamW on 1000 Markov tokens: the train NLL must end within 0.01 of the counted
    bigram's NLL on the same text, and cannot go below it (it is the maximum-likelihood bigram)."""
    V = 7
    ids = markov_text(V, 1000, seed=11)
    counts = torch.zeros(V, V).index_put_(
        (ids[:-1], ids[1:]), torch.ones(len(ids) - 1), accumulate=True
    )
    logp = (counts / counts.sum(-1, keepdim=True)).clamp_min(1e-30).log()
    optimum = F.nll_loss(logp[ids[:-1]], ids[1:]).item()
    model = mod.BigramLM(V)
    x, y = ids[None, :-1], ids[None, 1:]
    model(x, y)  # the learner's forward before torch.optim loads (a second on first import)
    opt = torch.optim.AdamW(model.parameters(), lr=0.5, weight_decay=0.0)
    for _ in range(80):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    final = model(x, y)[1].item()
    assert optimum - 1e-4 <= final < optimum + 0.01, (
        f"after 80 full-batch steps the neural bigram's NLL is {final:.4f}; the count optimum is "
        f"{optimum:.4f}. Likely cause: the loss does not depend on the table (detached or recomputed "
        "outside the graph), or logits and targets are misaligned"
    )
