"""Checks for w13.reward: the Bradley-Terry loss, pairwise accuracy and the reward head.

Oracles: hand-computed values of -log sigmoid, its derivative 1 - sigmoid, softplus (a different
formula of the same function), and the GPT's own final hidden state captured with a forward hook.
The comparison with transformers' GPT2ForSequenceClassification under trl's RewardTrainer is in
test_trl.py.
"""

import math

import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from .support import tiny_gpt

mod = load("week13_alignment.reward")


def test_bt_loss_known_answers():
    """Margins 0 -> ln 2; margins [2, -1] -> mean(softplus(-2), softplus(1)) =
    mean(0.126928, 1.313262) = 0.720095."""
    got = mod.bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0]))
    assert_close(
        got,
        torch.tensor(math.log(2)),
        what="bradley_terry_loss([0.], [0.])",
        hint="-log sigmoid(0) = ln 2: equal rewards mean a coin flip",
    )
    got = mod.bradley_terry_loss(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0]))
    assert_close(
        got,
        torch.tensor(0.720095),
        what="bradley_terry_loss([2., 0.], [0., 1.])",
        hint="per pair -log sigmoid(r_chosen - r_rejected) (chosen minus rejected, in that "
        "order), then the MEAN over pairs",
    )


def test_bt_loss_matches_softplus_on_random_pairs():
    g = generator(1)
    rc, rr = torch.randn(7, generator=g) * 3, torch.randn(7, generator=g) * 3
    expected = F.softplus(rr - rc).mean()
    assert_close(
        mod.bradley_terry_loss(rc, rr),
        expected,
        what="bradley_terry_loss(r_chosen (7,), r_rejected (7,))",
        hint="-log sigmoid(d) = softplus(-d) with d = r_chosen - r_rejected, mean (not sum) over "
        "the 7 pairs",
    )


def test_bt_loss_is_stable_for_huge_margins():
    """Margins +1000 and -1000: losses 0 and 1000, mean 500."""
    got = mod.bradley_terry_loss(torch.tensor([1000.0, -500.0]), torch.tensor([0.0, 500.0]))
    assert_close(
        got,
        torch.tensor(500.0),
        what="bradley_terry_loss([1000., -500.], [0., 500.])",
        hint="log(sigmoid(-1000)) is log(0) = -inf in float32: use F.logsigmoid (or softplus)",
        rtol=1e-4,
    )


def test_bt_loss_gradient_pushes_chosen_up_and_rejected_down():
    """d loss / d r_chosen = -(1 - sigmoid(d)) / B and d loss / d r_rejected = +(1 - sigmoid(d)) / B."""
    g = generator(2)
    rc = (torch.randn(5, generator=g)).requires_grad_()
    rr = (torch.randn(5, generator=g)).requires_grad_()
    mod.bradley_terry_loss(rc, rr).backward()
    expected = (1 - torch.sigmoid(rc - rr)).detach() / 5
    assert rc.grad is not None and rr.grad is not None, (
        "bradley_terry_loss: no gradient reached the rewards; keep the computation in torch"
    )
    assert_close(
        rc.grad,
        -expected,
        what="grad of bradley_terry_loss w.r.t. r_chosen",
        hint="the loss must fall as r_chosen rises: -log sigmoid(r_chosen - r_rejected)",
    )
    assert_close(rr.grad, expected, what="grad of bradley_terry_loss w.r.t. r_rejected")


def test_pairwise_accuracy_counts_ties_as_wrong():
    got = mod.pairwise_accuracy(torch.tensor([2.0, 0.0, 1.0]), torch.tensor([1.0, 1.0, 1.0]))
    assert isinstance(got, float), f"pairwise_accuracy must return a Python float, got {type(got)}"
    assert abs(got - 1 / 3) < 1e-6, (
        f"pairwise_accuracy([2, 0, 1], [1, 1, 1]) = {got}, expected 1/3: only the first pair has "
        "r_chosen strictly above r_rejected (a tie counts as wrong)"
    )
    got = mod.pairwise_accuracy(torch.tensor([0.5, 3.0]), torch.tensor([0.0, -1.0]))
    assert abs(got - 1.0) < 1e-6, f"pairwise_accuracy([0.5, 3], [0, -1]) = {got}, expected 1.0"


def _reward_model(seed=0):
    gpt = tiny_gpt(seed, vocab_size=13, block_size=12)
    rm = mod.RewardModel(gpt).eval()
    with torch.no_grad():
        rm.head.weight.copy_(torch.randn(rm.head.weight.shape, generator=generator(seed + 5)))
    return rm


def _last_hidden(gpt, ids):
    """The output of ln_f for an unpadded (1, T) sequence, captured with a hook."""
    seen = {}
    handle = gpt.transformer.ln_f.register_forward_hook(lambda m, i, o: seen.update(h=o))
    with torch.no_grad():
        gpt(ids)
    handle.remove()
    return seen["h"][0, -1]


def test_reward_is_read_at_the_last_real_token():
    rm = _reward_model()
    g = generator(3)
    lengths = [5, 9, 1, 12]
    ids = torch.randint(0, 13, (4, 12), generator=g)
    mask = torch.zeros(4, 12, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    with torch.no_grad():
        got = rm(ids, mask)
    expected = torch.stack(
        [
            rm.head.weight[0] @ _last_hidden(rm.gpt, ids[b : b + 1, :n])
            for b, n in enumerate(lengths)
        ]
    )
    assert_close(
        got,
        expected,
        what="RewardModel(idx (4, 12), attention_mask with 5, 9, 1, 12 real tokens)",
        hint="read the final hidden state (after ln_f) at the LAST position whose mask is 1 (the "
        "right-most real token), not at position T - 1 (padding) or 0, and apply the head",
        atol=1e-4,
    )


def test_reward_ignores_what_the_padding_holds():
    rm = _reward_model(1)
    ids = torch.randint(0, 13, (3, 10), generator=generator(4))
    mask = torch.tensor([[1] * 6 + [0] * 4, [1] * 10, [1] * 3 + [0] * 7])
    other = torch.where(mask.bool(), ids, (ids + 5) % 13)
    with torch.no_grad():
        a, b = rm(ids, mask), rm(other, mask)
    assert_close(
        b,
        a,
        what="RewardModel on the same rows with different pad tokens",
        hint="the reward must not depend on the tokens after the last real one",
        atol=1e-5,
    )
    assert tuple(a.shape) == (3,), f"RewardModel must return (B,) rewards, got {tuple(a.shape)}"
