"""Checks for w13.dpo: the DPO loss (with label smoothing), IPO, and one DPO step on a tiny GPT.

Oracles: ln 2 at initialisation, hand-computed values of -log sigmoid, the analytic gradient, and
an independent F.cross_entropy log-prob (support.logprob_oracle) for the step. The comparison with
trl's DPOTrainer on the same batch is in test_trl.py.
"""

import copy
import math

import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from .support import SGD, logprob_oracle, tiny_gpt

mod = load("week13_alignment.dpo")

FORMULA = (
    "h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected); loss = "
    "-log sigmoid(beta * h): each policy term minus ITS OWN reference term"
)


def _logps(seed, B=6):
    g = generator(seed)
    return [torch.randn(B, generator=g) * 5 - 20 for _ in range(4)]


def test_loss_is_ln2_when_the_policy_is_the_reference():
    pc, pr, _, _ = _logps(1)
    for beta, eps in ((0.1, 0.0), (2.0, 0.0), (0.5, 0.2)):
        loss, cr, rr = mod.dpo_loss(pc, pr, pc.clone(), pr.clone(), beta, eps)
        assert_close(
            loss,
            torch.tensor(math.log(2)),
            what=f"dpo_loss(policy == reference, beta {beta}, label_smoothing {eps})",
            hint="h = 0 at initialisation, -log sigmoid(0) = ln 2; " + FORMULA,
        )
        assert_close(cr, torch.zeros(6), what="chosen_rewards when policy == reference")
        assert_close(rr, torch.zeros(6), what="rejected_rewards when policy == reference")


def test_known_values_and_label_smoothing():
    """One pair with policy - reference = +1.5 on chosen and -0.5 on rejected: h = 2, beta 0.5:
    -log sigmoid(1) = 0.313262. label_smoothing 0.2: 0.8 * 0.313262 + 0.2 * -log sigmoid(-1) =
    0.250610 + 0.2 * 1.313262 = 0.513262. Rewards: 0.5 * 1.5 = 0.75 and 0.5 * -0.5 = -0.25."""
    args = (torch.tensor([-3.5]), torch.tensor([-7.5]), torch.tensor([-5.0]), torch.tensor([-7.0]))
    loss, cr, rr = mod.dpo_loss(*args, beta=0.5)
    assert_close(loss, torch.tensor(0.313262), what="dpo_loss(h = 2, beta 0.5)", hint=FORMULA)
    assert_close(
        cr, torch.tensor([0.75]), what="chosen_rewards", hint="beta * (policy_chosen - ref_chosen)"
    )
    assert_close(
        rr,
        torch.tensor([-0.25]),
        what="rejected_rewards",
        hint="beta * (policy_rejected - ref_rejected)",
    )
    loss, _, _ = mod.dpo_loss(*args, beta=0.5, label_smoothing=0.2)
    assert_close(
        loss,
        torch.tensor(0.513262),
        what="dpo_loss(h = 2, beta 0.5, label_smoothing 0.2)",
        hint="-(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)",
    )


def test_random_batch_and_swapped_references():
    pc, pr, rc, rr = _logps(2)
    beta = 0.3
    h = (pc - rc) - (pr - rr)
    loss, _, _ = mod.dpo_loss(pc, pr, rc, rr, beta)
    assert_close(
        loss,
        F.softplus(-beta * h).mean(),
        what="dpo_loss on 6 random pairs (distinct reference log-probs), beta 0.3",
        hint=FORMULA + "; mean over the pairs",
        atol=1e-5,
    )


def test_stable_for_huge_margins():
    big = torch.tensor([1e4, -1e4])
    zero = torch.zeros(2)
    loss, _, _ = mod.dpo_loss(big, zero, zero, zero, beta=1.0)
    assert_close(
        loss,
        torch.tensor(5e3),
        what="dpo_loss with beta * h = +1e4 and -1e4",
        hint="use F.logsigmoid: log(sigmoid(-1e4)) = log(0) = -inf",
        rtol=1e-4,
    )


def test_gradient_pushes_chosen_up_and_rejected_down():
    """d loss / d policy_chosen = -beta * sigmoid(-beta h) / B; the rejected one the opposite; the
    reference log-probs are constants."""
    pc, pr, rc, rr = (t.clone().requires_grad_() for t in _logps(3, B=5))
    beta = 0.2
    loss, _, _ = mod.dpo_loss(pc, pr, rc, rr, beta)
    loss.backward()
    h = ((pc - rc) - (pr - rr)).detach()
    expected = beta * torch.sigmoid(-beta * h) / 5
    assert_close(
        pc.grad, -expected, what="grad of dpo_loss w.r.t. policy_chosen_logps", hint=FORMULA
    )
    assert_close(
        pr.grad, expected, what="grad of dpo_loss w.r.t. policy_rejected_logps", hint=FORMULA
    )
    for name, t in (("ref_chosen_logps", rc), ("ref_rejected_logps", rr)):
        assert t.grad is None or not t.grad.any(), (
            f"dpo_loss sent a gradient into {name}: the reference is frozen, detach its log-probs"
        )


def test_ipo_loss():
    """h = 0, beta 0.5 -> (0 - 1)^2 = 1; minimum 0 at h = 1 / (2 beta) = 1."""
    z = torch.zeros(3)
    assert_close(
        mod.ipo_loss(z, z, z, z, beta=0.5),
        torch.tensor(1.0),
        what="ipo_loss(h = 0, beta 0.5)",
        hint="(h - 1 / (2 beta))^2",
    )
    one = torch.ones(3)
    assert_close(
        mod.ipo_loss(one, z, z, z, beta=0.5),
        torch.tensor(0.0),
        what="ipo_loss(h = 1, beta 0.5): the target margin",
        hint="the minimum is at h = 1 / (2 beta)",
    )
    pc, pr, rc, rr = _logps(4)
    h = (pc - rc) - (pr - rr)
    assert_close(
        mod.ipo_loss(pc, pr, rc, rr, beta=0.1),
        ((h - 5.0) ** 2).mean(),
        what="ipo_loss on 6 random pairs, beta 0.1",
        hint=FORMULA.split(";")[0] + "; mean of (h - 1 / (2 beta))^2",
        rtol=1e-5,
    )


def _batch(V=11, seed=5):
    """3 pairs, shared prompts of 2-4 tokens, responses of 1-4 tokens, right padding with 0."""
    g = generator(seed)
    out = {}
    prompts = [torch.randint(1, V, (n,), generator=g) for n in (2, 4, 3)]
    for side, lengths in (("chosen", (3, 1, 4)), ("rejected", (2, 4, 1))):
        ids = torch.zeros(3, 9, dtype=torch.long)
        mask = torch.zeros(3, 9, dtype=torch.long)
        for b, (p, n) in enumerate(zip(prompts, lengths)):
            resp = torch.randint(1, V, (n,), generator=g)
            ids[b, : len(p) + n] = torch.cat([p, resp])
            mask[b, len(p) : len(p) + n] = 1
        out[f"{side}_ids"], out[f"{side}_mask"] = ids, mask
    return out


def _oracle_margin(policy, reference, batch, beta):
    with torch.no_grad():
        lp = {
            s: logprob_oracle(m(batch[f"{s}_ids"])[0], batch[f"{s}_ids"], batch[f"{s}_mask"])
            for s in ("chosen", "rejected")
            for m in [policy]
        }
        lr = {
            s: logprob_oracle(
                reference(batch[f"{s}_ids"])[0], batch[f"{s}_ids"], batch[f"{s}_mask"]
            )
            for s in ("chosen", "rejected")
        }
    h = (lp["chosen"] - lr["chosen"]) - (lp["rejected"] - lr["rejected"])
    return h, F.softplus(-beta * h).mean()


def test_dpo_step_starts_at_ln2_and_widens_the_margin():
    policy = tiny_gpt(0)
    reference = copy.deepcopy(policy)
    ref_state = {k: v.clone() for k, v in reference.state_dict().items()}
    batch = _batch()
    opt = SGD(policy.parameters(), lr=0.05)
    first = mod.dpo_step(policy, reference, batch, opt, beta=0.5)
    assert set(first) >= {"loss", "margin", "accuracy"}, f"dpo_step returned keys {sorted(first)}"
    assert abs(first["loss"] - math.log(2)) < 1e-5, (
        f"dpo_step on policy == reference returned loss {first['loss']}, expected ln 2 = 0.693147"
        "\n  likely cause: policy and reference log-probs must be computed the same way (summed "
        "sequence_logprobs with the batch's masks), so they are equal at the first step"
    )
    h, loss = _oracle_margin(policy, reference, batch, 0.5)
    second = mod.dpo_step(policy, reference, batch, opt, beta=0.5)
    assert abs(second["loss"] - loss.item()) < 1e-4, (
        f"second dpo_step returned loss {second['loss']:.6f}; the DPO loss of the policy before "
        f"that step (summed response log-probs, masks as given) is {loss.item():.6f}"
    )
    assert abs(second["margin"] - 0.5 * h.mean().item()) < 1e-4, (
        f"dpo_step margin {second['margin']:.6f}, expected mean(chosen_rewards - rejected_rewards) "
        f"= {0.5 * h.mean().item():.6f}"
    )
    assert abs(second["accuracy"] - (h > 0).double().mean().item()) < 1e-6, (
        f"dpo_step accuracy {second['accuracy']}, expected the fraction of pairs with h > 0"
    )
    assert h.mean() > 0, (
        f"after one dpo_step the mean margin h is {h.mean().item():.4g}: the step must raise chosen "
        "log-ratios over rejected ones (loss.backward() then optimizer.step())"
    )
    for k, v in reference.state_dict().items():
        assert torch.equal(v, ref_state[k]), f"dpo_step changed the reference model ({k})"


def test_dpo_step_keeps_the_batch_and_both_models_modes():
    """Side effects: dpo_step reads the batch without changing it and leaves each model in the
    train/eval mode it was given (checked in both modes)."""
    for mode in (True, False):
        policy = tiny_gpt(3).train(mode)
        reference = copy.deepcopy(policy).train(mode)
        batch = _batch(seed=6)
        before = {k: v.clone() for k, v in batch.items()}
        mod.dpo_step(policy, reference, batch, SGD(policy.parameters(), lr=0.05), beta=0.1)
        for key, value in before.items():
            assert torch.equal(batch[key], value), f"dpo_step modified batch[{key!r}]"
        for name, model in (("policy", policy), ("reference", reference)):
            wrong = [n or "(top)" for n, m in model.named_modules() if m.training != mode]
            assert not wrong, (
                f"after dpo_step the {name}, given in {'train' if mode else 'eval'} mode, has "
                f"modules {wrong[:3]} in the other mode: leave each model's mode as you found it "
                "(torch.no_grad already keeps the reference out of the graph)"
            )
