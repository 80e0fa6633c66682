"""Checks for w01.cross_entropy: mean NLL from logits with ignore_index.

Oracle: torch.nn.functional.cross_entropy, computed before the guard switches it off.
"""

import math
from functools import partial

import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week01_tensors.cross_entropy")

LIBRARY = (
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.nll_loss",
    "torch.nn.CrossEntropyLoss",
)


ce = partial(
    from_scratch,
    mod.cross_entropy,
    forbid=LIBRARY,
    exercise="w01.cross_entropy",
    instead="log-softmax (amax, exp, sum, log) and indexing the target column",
)


def test_two_equal_classes_cost_ln2():
    """Uniform over 2 classes: p(target) = 1/2, so the loss is -ln(1/2) = ln 2."""
    got = ce(torch.zeros(1, 2), torch.tensor([1]))
    assert_close(
        got,
        torch.tensor(math.log(2)),
        what="cross_entropy([[0, 0]], [1])",
        hint="the loss is the mean over positions of -log softmax(logits)[target]",
    )


def test_uniform_logits_cost_ln_V():
    V = 65
    got = ce(torch.zeros(3, 4, V), torch.randint(0, V, (3, 4), generator=generator(0)))
    assert_close(
        got,
        torch.tensor(math.log(V)),
        what=f"cross_entropy(zeros (3, 4, {V}), targets)",
        hint="the loss is -log softmax(logits)[target], averaged over positions",
    )


def test_matches_torch_on_batch_time_vocab():
    g = generator(42)
    B, T, V = 3, 7, 11
    logits = torch.randn(B, T, V, generator=g) * 2
    targets = torch.randint(0, V, (B, T), generator=g)
    expected = F.cross_entropy(logits.view(-1, V), targets.view(-1))
    assert_close(
        ce(logits, targets),
        expected,
        what="cross_entropy(logits (3, 7, 11), targets (3, 7))",
        hint="flatten (B, T, V) to (B*T, V); pick log p at each target with gather or indexing",
    )


def test_ignore_index_drops_positions_from_the_mean():
    g = generator(7)
    B, T, V = 2, 9, 5
    logits = torch.randn(B, T, V, generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    targets[0, 5:] = -100
    targets[1, 2:] = -100
    expected = F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-100)
    assert_close(
        ce(logits, targets),
        expected,
        what="cross_entropy with 12 of 18 targets = -100",
        hint="divide by the number of kept positions, not by B*T: ignored positions count "
        "neither in the sum nor in the mean",
    )


def test_custom_ignore_index():
    g = generator(3)
    logits = torch.randn(10, 4, generator=g)
    targets = torch.tensor([0, 1, 2, 3, 0, 0, 1, 2, 3, 3])
    expected = F.cross_entropy(logits, targets, ignore_index=0)
    assert_close(
        ce(logits, targets, ignore_index=0),
        expected,
        what="cross_entropy(..., ignore_index=0)",
        hint="use the ignore_index argument, not a hard-coded -100",
    )


def test_survives_huge_logits():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    targets = torch.tensor([0, 2])
    expected = F.cross_entropy(logits, targets)
    assert_close(
        ce(logits, targets),
        expected,
        what="cross_entropy with logits of +-1000",
        hint="use a stable log_softmax (max trick), not log(softmax(x))",
    )


def test_gradient_matches_softmax_minus_onehot():
    """d loss / d logits = (softmax(logits) - onehot(target)) / N: the classic identity."""
    logits = torch.randn(5, 6, generator=generator(12), requires_grad=True)
    targets = torch.tensor([0, 5, 2, 2, 3])
    ce(logits, targets).backward()
    expected = (torch.softmax(logits.detach(), -1) - F.one_hot(targets, 6)) / 5
    assert_close(
        logits.grad,
        expected,
        what="gradient of cross_entropy w.r.t. logits",
        hint="keep the computation in torch ops so autograd can flow (no .item() or numpy)",
    )
