"""Checks for w13.grpo: group-relative advantages and the policy loss, per token or per sequence.

Oracles: hand-computed groups, the Bessel-corrected std written out in the check, the two loss
averages worked by hand on rows of different lengths, and a token-by-token loop for random data.
"""

import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week13_alignment.grpo")

GROUPS = "group i is rewards[i * G : (i + 1) * G] (consecutive samples), not every G-th one"


def test_known_answer():
    """[1, 0 | 0, 1 | 5, 5], G = 2: means 0.5, 0.5, 5; sample stds sqrt(0.5) = 0.70711, 0.70711, 0;
    (1 - 0.5) / (0.70711 + 1e-4) = 0.70700; the equal group gives 0."""
    got = mod.group_relative_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0, 5.0, 5.0]), 2)
    assert_close(
        got,
        torch.tensor([0.70700, -0.70700, -0.70700, 0.70700, 0.0, 0.0]),
        what="group_relative_advantages([1, 0, 0, 1, 5, 5], group_size 2)",
        hint="(r - group mean) / (group std + eps) with the SAMPLE std (divide by G - 1); "
        + GROUPS,
        atol=1e-5,
    )


def test_random_groups_against_the_formula():
    g = generator(1)
    G, n = 5, 4
    r = torch.randn(G * n, generator=g) * 3 + 1
    rows = r.view(n, G)
    mean = rows.mean(1, keepdim=True)
    std = ((rows - mean) ** 2).sum(1, keepdim=True).div(G - 1).sqrt()
    expected = ((rows - mean) / (std + 1e-4)).flatten()
    got = mod.group_relative_advantages(r, G)
    assert_close(
        got,
        expected,
        what="group_relative_advantages(20 rewards, group_size 5)",
        hint="Bessel-corrected std (G - 1), eps added to the std (not inside the sqrt); " + GROUPS,
        atol=1e-5,
    )
    for i in range(n):
        s = got[i * G : (i + 1) * G].sum().item()
        assert abs(s) < 1e-4, f"advantages of group {i} sum to {s}, expected 0; " + GROUPS


def test_eps_and_equal_groups():
    got = mod.group_relative_advantages(torch.tensor([3.0, 3.0, 3.0, 0.0, 0.0, 2.0]), 3, eps=0.5)
    std = (4 / 3 * 2 / 2) ** 0.5  # [0, 0, 2]: mean 2/3, squares 4/9 + 4/9 + 16/9 = 24/9, / 2
    std = (24 / 9 / 2) ** 0.5
    expected = torch.tensor([0.0, 0.0, 0.0, -2 / 3, -2 / 3, 4 / 3]) / (std + 0.5)
    assert_close(
        got,
        expected,
        what="group_relative_advantages([3, 3, 3, 0, 0, 2], 3, eps=0.5)",
        hint="divide by (std + eps); equal rewards give 0, never nan",
        atol=1e-5,
    )


def test_advantages_leave_the_rewards_unchanged():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 5.0, 5.0])
    mod.group_relative_advantages(rewards, 2)
    assert rewards.tolist() == [1.0, 0.0, 0.0, 1.0, 5.0, 5.0], (
        f"group_relative_advantages changed its input rewards to {rewards.tolist()}: a view of the "
        "rewards was modified in place"
    )


# ---- the policy loss: one advantage per row, averaged per token or per sequence ----

TOKEN = (
    "loss_type 'token' is the mean over ALL response tokens of the batch (every token weighs the "
    "same)"
)
SEQUENCE = (
    "loss_type 'sequence' is the mean over the rows of each row's mean over its own response "
    "tokens (every answer weighs the same; a row without tokens counts as 0)"
)


def _grpo_oracle(logp, old, adv, mask, eps):
    """Per-token clipped terms by hand, then both averages (a row without tokens counts 0)."""
    rows = []
    for b in range(logp.size(0)):
        terms = []
        for t in range(logp.size(1)):
            if mask[b, t]:
                r = torch.exp(logp[b, t] - old[b, t])
                a = adv[b]
                terms.append(torch.maximum(-a * r, -a * r.clamp(1 - eps, 1 + eps)))
        rows.append(terms)
    flat = [x for terms in rows for x in terms]
    token = sum(flat) / len(flat) if flat else torch.tensor(0.0)
    sequence = sum((sum(terms) / len(terms) if terms else 0.0) for terms in rows) / len(rows)
    return token, sequence


def test_loss_types_known_answer():
    """ratio 1 everywhere, advantages [2, -1], rows of 1 and 3 response tokens: per-token losses
    -A = [[-2], [1, 1, 1]]; 'token': (-2 + 1 + 1 + 1) / 4 = 0.25; 'sequence': (-2 + 1) / 2 = -0.5.
    The default is 'token'."""
    old = torch.log(torch.tensor([[0.2, 0.3, 0.1], [0.5, 0.25, 0.4]]))
    adv, mask = torch.tensor([2.0, -1.0]), torch.tensor([[1, 0, 0], [1, 1, 1]])
    for loss_type, expected, rule, other in (
        ("token", 0.25, TOKEN, -0.5),
        ("sequence", -0.5, SEQUENCE, 0.25),
    ):
        got = float(mod.grpo_policy_loss(old.clone(), old, adv, mask, loss_type=loss_type))
        swapped = " (that is the other loss_type's answer)" if abs(got - other) < 1e-6 else ""
        assert abs(got - expected) < 1e-6, (
            f"grpo_policy_loss(ratio 1, advantages [2, -1], rows of 1 and 3 tokens, "
            f"loss_type={loss_type!r}): expected {expected}, got {got:.6f}{swapped}; {rule}"
        )
    got = float(mod.grpo_policy_loss(old.clone(), old, adv, mask))
    assert abs(got - 0.25) < 1e-6, (
        f"grpo_policy_loss without loss_type returned {got:.6f}, expected 0.25: the default is "
        "'token'"
    )


def test_loss_clips_and_averages_like_the_oracle():
    """B = 3 rows, T = 5 (B != T, so a row's advantage must go to its own tokens), ratios spread
    over [0.4, 2.2] with eps 0.3 (not the default), rows of 5, 2 and 0 response tokens."""
    g = generator(2)
    old = torch.randn(3, 5, generator=g) - 2
    ratios = 0.4 + 1.8 * torch.rand(3, 5, generator=g)
    adv = torch.tensor([1.5, -0.7, 2.0])
    mask = torch.tensor([[1, 1, 1, 1, 1], [0, 1, 0, 1, 0], [0, 0, 0, 0, 0]])
    token, sequence = _grpo_oracle(old + ratios.log(), old, adv, mask, 0.3)
    for loss_type, expected, rule in (("token", token, TOKEN), ("sequence", sequence, SEQUENCE)):
        logp = (old + ratios.log()).requires_grad_()
        adv_in, old_in = adv.clone().requires_grad_(), old.clone().requires_grad_()
        got = mod.grpo_policy_loss(logp, old_in, adv_in, mask, clip_eps=0.3, loss_type=loss_type)
        assert_close(
            got,
            expected,
            what=f"grpo_policy_loss(3 rows of 5, 2, 0 tokens, eps 0.3, loss_type={loss_type!r})",
            hint=rule + "; per token PPO's max(-A r, -A clamp(r, 1 - eps, 1 + eps)) with the "
            "clip_eps given and each row's own advantage",
            atol=1e-5,
        )
        got.backward()
        for name, t in (("old_logp", old_in), ("advantages", adv_in)):
            assert t.grad is None or not t.grad.any(), (
                f"grpo_policy_loss sent a gradient into {name}: only logp is trained (detach it)"
            )
        assert logp.grad is not None and logp.grad[2].abs().sum() == 0, (
            "grpo_policy_loss: the gradient must reach logp, and not the row without tokens"
        )


def test_an_empty_mask_gives_zero_either_way():
    logp = torch.randn(2, 4, generator=generator(3))
    for loss_type in ("token", "sequence"):
        got = float(
            mod.grpo_policy_loss(logp + 0.3, logp, torch.tensor([1.0, -2.0]), torch.zeros(2, 4),
                                 loss_type=loss_type)
        )  # fmt: skip
        assert got == 0.0, (
            f"grpo_policy_loss(all-zero mask, loss_type={loss_type!r}) = {got}, expected 0 "
            "(masked_mean's convention: no tokens, no loss; never NaN)"
        )


def test_an_unknown_loss_type_raises_value_error():
    logp = torch.zeros(2, 3)
    for loss_type in ("seq", "bnpo", "Token"):
        try:
            mod.grpo_policy_loss(logp, logp, torch.ones(2), torch.ones(2, 3), loss_type=loss_type)
        except ValueError:
            continue
        raise AssertionError(
            f"grpo_policy_loss(loss_type={loss_type!r}) did not raise ValueError: only 'token' "
            "and 'sequence' are loss types"
        )
