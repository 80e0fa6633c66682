"""Checks for w05.train: one training step and the held-out loss estimate.

The model here is a bigram table (not your GPT), so these checks depend on the loop alone.
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

loop = load("week05_gpt.loop")
V = 13


class Bigram(nn.Module):
    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.table = nn.Embedding(V, V)
        self.drop = nn.Dropout(dropout)

    def forward(self, idx, targets=None):
        logits = self.drop(self.table(idx))
        loss = (
            None if targets is None else F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
        )
        return logits, loss


def batch(seed: int):
    g = generator(seed)
    return torch.randint(0, V, (4, 7), generator=g), torch.randint(0, V, (4, 7), generator=g)


def test_train_step_equals_a_hand_written_step_twice():
    """Oracle: zero_grad, loss.backward, clip_grad_norm_, SGD step, written here. Two steps in a
    row catch gradients that are never zeroed (they would add up)."""
    torch.manual_seed(0)
    ours = Bigram()
    theirs = copy.deepcopy(ours)
    opt_ours = torch.optim.SGD(ours.parameters(), lr=0.5)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.5)
    for seed in (1, 2):
        x, y = batch(seed)
        got = loop.train_step(ours, opt_ours, x, y, grad_clip=0.05)
        opt_theirs.zero_grad()
        _, loss = theirs(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.05)
        opt_theirs.step()
        assert isinstance(got, float), (
            f"train_step should return loss.item() (a float), got {type(got)}"
        )
        assert abs(got - loss.item()) < 1e-6, (
            f"train_step returned {got}, the batch loss before the step is {loss.item()}"
        )
        assert_close(
            ours.table.weight,
            theirs.table.weight,
            atol=1e-6,
            what=f"weights after train_step number {seed}",
            hint="zero the gradients every step, backward, clip_grad_norm_(params, grad_clip), then step",
        )


def test_train_step_without_clipping():
    torch.manual_seed(0)
    ours = Bigram()
    theirs = copy.deepcopy(ours)
    x, y = batch(3)
    loop.train_step(ours, torch.optim.SGD(ours.parameters(), lr=1.0), x, y, grad_clip=0.0)
    _, loss = theirs(x, y)
    loss.backward()
    expected = theirs.table.weight - theirs.table.weight.grad
    assert_close(
        ours.table.weight,
        expected,
        atol=1e-6,
        what="train_step(grad_clip=0)",
        hint="grad_clip=0 means no clipping",
    )


def test_estimate_loss_averages_batches_in_eval_mode(monkeypatch):
    """Oracle: per split, the mean eval-mode loss of the very batches it drew with get_batch."""
    torch.manual_seed(0)
    model = Bigram(dropout=0.5)
    data = torch.randint(0, V, (200,), generator=generator(4))
    splits = {"train": data[:150], "val": data[150:]}
    drawn: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    real_get_batch = loop.get_batch

    def spy(d, *args, **kwargs):
        x, y = real_get_batch(d, *args, **kwargs)
        drawn.append((d, x, y))
        return x, y

    monkeypatch.setattr(loop, "get_batch", spy)
    got = loop.estimate_loss(
        model, splits, block_size=8, batch_size=3, eval_iters=5, generator=generator(5)
    )
    assert model.training, "estimate_loss must put the model back in train mode"
    assert set(got) == {"train", "val"}, (
        f"estimate_loss returned keys {sorted(got)}, expected the split names"
    )
    model.eval()
    for name, d in splits.items():
        mine = [(x, y) for src, x, y in drawn if src is d]
        assert len(mine) == 5, (
            f"estimate_loss(eval_iters=5) drew {len(mine)} batches of {name!r} with get_batch; "
            "expected eval_iters=5 per split"
        )
        with torch.no_grad():
            expected = sum(model(x, y)[1].item() for x, y in mine) / 5
        assert abs(got[name] - expected) < 1e-5, (
            f"estimate_loss[{name!r}] = {got[name]:.5f}; the mean loss of its 5 {name!r} batches "
            f"with dropout off is {expected:.5f}. Likely cause: dropout still on while measuring "
            "(call model.eval() first), or not the mean of the per-batch losses"
        )
