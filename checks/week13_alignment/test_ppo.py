"""Checks for w13.ppo: the clipped surrogate, the clipped value loss, entropy, approx-KL, the
per-token KL-penalised rewards and the PPO update loop.

Oracles: hand computations on tokens on both sides of 1 +- eps, torch.distributions.Categorical
(switched off while your entropy runs), and a tabular policy whose update can be followed exactly.
"""

import math

import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

from .support import SGD

mod = load("week13_alignment.ppo")

# ratios [1.5, 0.5, 1.1, 0.7] (one masked token with ratio 3), advantages [1, 1, -1, -1 | 5]
RATIOS = torch.tensor([[1.5, 0.5, 1.1], [0.7, 3.0, 1.0]])
ADV = torch.tensor([[1.0, 1.0, -1.0], [-1.0, 5.0, 0.0]])
MASK = torch.tensor([[1, 1, 1], [1, 0, 0]])


def _policy_inputs():
    old = torch.log(torch.tensor([[0.2, 0.4, 0.1], [0.5, 0.1, 0.3]]))
    logp = (old + RATIOS.log()).requires_grad_()
    return logp, old


def test_policy_loss_hand_computation_both_sides_of_the_clip():
    """eps = 0.2; per token max(-A r, -A clip(r, 0.8, 1.2)):
      A=+1, r=1.5: max(-1.5, -1.2) = -1.2   (clipped: no credit past 1 + eps)
      A=+1, r=0.5: max(-0.5, -0.8) = -0.5   (not clipped)
      A=-1, r=1.1: max( 1.1,  1.1) =  1.1   (inside the range)
      A=-1, r=0.7: max( 0.7,  0.8) =  0.8   (clipped: no credit below 1 - eps)
    masked mean = (-1.2 - 0.5 + 1.1 + 0.8) / 4 = 0.05; the clip is active on 2 of 4 -> 0.5.
    Gradient w.r.t. logp: -A r / 4 where not clipped, 0 where clipped -> [0, -0.125, 0.275, 0].
    """
    logp, old = _policy_inputs()
    loss, clip_fraction = mod.ppo_policy_loss(logp, old, ADV, MASK, clip_eps=0.2)
    hint = (
        "ratio = exp(logp - old_logp) (new over old, not the new policy twice); clamp the RATIO to "
        "[1 - eps, 1 + eps], never the advantage; take the max of -A*r and -A*clip(r) (the "
        "pessimistic side); masked mean"
    )
    assert_close(loss, torch.tensor(0.05), what="ppo_policy_loss on 4 hand tokens", hint=hint)
    assert_close(
        clip_fraction,
        torch.tensor(0.5),
        what="clip_fraction of ppo_policy_loss",
        hint="the clip is active where the clamped term is strictly larger (tokens 1 and 4)",
    )
    loss.backward()
    assert_close(
        logp.grad,
        torch.tensor([[0.0, -0.125, 0.275], [0.0, 0.0, 0.0]]),
        what="gradient of ppo_policy_loss w.r.t. logp",
        hint="clipped tokens get no gradient; the masked token none; " + hint,
    )


def test_policy_loss_is_minus_the_mean_advantage_at_ratio_one():
    g = generator(1)
    old = torch.randn(3, 5, generator=g)
    adv = torch.randn(3, 5, generator=g)
    mask = (torch.rand(3, 5, generator=g) < 0.7).long()
    mask[0, 0] = 1
    loss, cf = mod.ppo_policy_loss(old.clone(), old, adv, mask, 0.1)
    assert_close(
        loss,
        -(adv * mask).sum() / mask.sum(),
        what="ppo_policy_loss with logp == old_logp",
        hint="ratio 1 everywhere: the loss is minus the masked mean advantage",
    )
    assert_close(cf, torch.tensor(0.0), what="clip_fraction at ratio 1")


def test_value_loss_hand_computation():
    """eps 0.2, old values 0: V_clip = clamp(V, -0.2, 0.2):
      V 2.0,  R 1.0:  max((1.0)^2, (-0.8)^2) = 1.0
      V 0.1,  R 0.5:  max(0.16, 0.16) = 0.16
      V -1.0, R -0.5: max(0.25, (0.3)^2) = 0.25
      V -0.5, R -1.0: max(0.25, (0.8)^2) = 0.64   (the clipped error is the larger one)
    0.5 * mean = 0.5 * 2.05 / 4 = 0.25625 (a fifth, masked token is ignored).
    Gradient (V - R) / 4 where the unclipped error counts: [0.25, -0.1, -0.125, 0, 0]."""
    values = torch.tensor([[2.0, 0.1, -1.0, -0.5, 9.0]], requires_grad=True)
    old = torch.zeros(1, 5)
    returns = torch.tensor([[1.0, 0.5, -0.5, -1.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1, 0]])
    got = mod.ppo_value_loss(values, old, returns, mask, clip_eps=0.2)
    assert_close(
        got,
        torch.tensor(0.25625),
        what="ppo_value_loss on 4 hand tokens",
        hint="V_clip = old + clamp(V - old, -eps, eps); per token the MAX of the two squared "
        "errors; 0.5 * masked mean",
    )
    got.backward()
    assert_close(
        values.grad,
        torch.tensor([[0.25, -0.1, -0.125, 0.0, 0.0]]),
        what="gradient of ppo_value_loss w.r.t. values",
        hint="where the clipped error wins the gradient is 0 (V_clip does not move with V)",
    )


def _entropy(logits, mask):
    return from_scratch(
        mod.entropy,
        logits,
        mask,
        forbid=["torch.distributions.Categorical.entropy"],
        exercise="w13.ppo",
        instead="log_softmax, exp and a sum over the vocabulary",
    )


def test_entropy_uniform_onehot_and_categorical():
    V = 7
    assert_close(
        _entropy(torch.zeros(2, 3, V), torch.ones(2, 3)),
        torch.tensor(math.log(V)),
        what="entropy(zeros (2, 3, 7))",
        hint="uniform over V tokens has entropy ln V: -sum p log p over the last dim",
    )
    onehot = torch.full((1, 2, V), -1000.0)
    onehot[..., 3] = 1000.0
    assert_close(
        _entropy(onehot, torch.ones(1, 2)),
        torch.tensor(0.0),
        what="entropy of logits +-1000 (one-hot)",
        hint="use log_softmax: log(softmax) gives 0 * -inf = nan",
    )
    g = generator(2)
    logits = torch.randn(3, 5, V, generator=g) * 2
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]])
    per = torch.distributions.Categorical(logits=logits).entropy()
    assert_close(
        _entropy(logits, mask),
        (per * mask).sum() / mask.sum(),
        what="entropy(logits (3, 5, 7), mask)",
        hint="masked mean over tokens of each token's entropy",
    )


def test_approx_kl_known_values():
    got = mod.approx_kl(torch.full((2, 3), math.log(2)), torch.zeros(2, 3), torch.ones(2, 3))
    assert_close(
        got,
        torch.tensor(1 - math.log(2)),
        what="approx_kl with logp - old_logp = ln 2",
        hint="k3 estimator: (r - 1) - log r with r = exp(logp - old_logp)",
    )
    g = generator(3)
    a = torch.randn(4, 6, generator=g)
    got = mod.approx_kl(a, a.clone(), torch.ones(4, 6))
    assert_close(got, torch.tensor(0.0), what="approx_kl of a policy against itself")
    b = a + torch.randn(4, 6, generator=g)
    assert mod.approx_kl(b, a, torch.ones(4, 6)) >= 0, "approx_kl must be >= 0 for any inputs"


def test_kl_penalty_rewards_known_answer():
    """score 1, logp - ref = [0.5, -0.5, 0.1], mask [1, 1, 0], kl_coef 0.1 -> [-0.05, 1.05, 0];
    second row: score -2, diff [0.2, 0, 0.4], mask [1, 1, 1] -> [-0.02, 0, -2.04]."""
    logp = torch.tensor([[0.5, -0.5, 0.1], [0.2, 0.0, 0.4]]) - 3.0
    ref = torch.full((2, 3), -3.0)
    got = mod.kl_penalty_rewards(
        torch.tensor([1.0, -2.0]), logp, ref, torch.tensor([[1, 1, 0], [1, 1, 1]]), 0.1
    )
    assert_close(
        got,
        torch.tensor([[-0.05, 1.05, 0.0], [-0.02, 0.0, -2.04]]),
        what="kl_penalty_rewards(scores [1, -2], ..., kl_coef 0.1)",
        hint="-kl_coef * (logp - ref_logp) on each response token (a PENALTY for drifting), the "
        "score added on the LAST response token of each row (the right-most 1 of its mask), 0 "
        "on masked tokens",
        atol=1e-6,
    )


# ---- the update loop, on a tabular policy: logits table (N, T, V), values table (N, T) ----


def _tabular(N=10, T=3, V=4, seed=4):
    g = generator(seed)
    table = torch.nn.Parameter(torch.randn(N, T, V, generator=g) * 0.1)
    vtable = torch.nn.Parameter(torch.zeros(N, T))
    actions = torch.randint(0, V, (N, T), generator=g)
    calls = []

    def evaluate(rows):
        calls.append(rows.clone())
        logits = table[rows]
        logp = torch.log_softmax(logits, -1).gather(-1, actions[rows, :, None]).squeeze(-1)
        return logp, vtable[rows], logits

    with torch.no_grad():
        old_logp = torch.log_softmax(table, -1).gather(-1, actions[..., None]).squeeze(-1)
    adv = torch.randn(N, T, generator=g)
    batch = {
        "old_logp": old_logp,
        "old_values": torch.zeros(N, T),
        "advantages": adv,
        "returns": torch.randn(N, T, generator=g),
        "mask": torch.ones(N, T),
    }
    return table, vtable, evaluate, batch, calls


def test_update_visits_every_row_once_per_epoch():
    table, vtable, evaluate, batch, calls = _tabular()
    opt = SGD([table, vtable], lr=0.01)
    cfg = mod.PPOConfig(epochs=3, minibatch_size=4, target_kl=None)
    stats = mod.ppo_update(evaluate, batch, [table, vtable], opt, cfg, generator(5))
    assert stats["steps"] == 9, (
        f"ppo_update with N=10, minibatch 4, 3 epochs took {stats['steps']} steps, expected "
        "3 * ceil(10 / 4) = 9 (the last minibatch of an epoch has 2 rows)"
    )
    assert len(calls) == 9, (
        f"evaluate was called {len(calls)} times, expected one call per step (9)"
    )
    for epoch in range(3):
        rows = torch.cat(calls[3 * epoch : 3 * epoch + 3]).sort().values
        assert rows.tolist() == list(range(10)), (
            f"epoch {epoch} of ppo_update used rows {rows.tolist()}: each epoch must walk a fresh "
            "permutation of all N rows in consecutive minibatches"
        )
    assert stats["stopped_early"] == 0.0, "target_kl=None must never stop early"


def test_update_moves_the_policy_along_the_advantages():
    table, vtable, evaluate, batch, _ = _tabular(seed=6)
    opt = SGD([table, vtable], lr=0.5)
    cfg = mod.PPOConfig(epochs=2, minibatch_size=5, target_kl=None, max_grad_norm=1e9)
    mod.ppo_update(evaluate, batch, [table, vtable], opt, cfg, generator(7))
    with torch.no_grad():
        new_logp, _, _ = evaluate(torch.arange(10))
    change = new_logp - batch["old_logp"]
    agree = ((change > 0) == (batch["advantages"] > 0)).float().mean().item()
    assert agree > 0.9, (
        f"after ppo_update only {agree:.0%} of the tokens moved their log-prob in the direction of "
        "their advantage (up for A > 0, down for A < 0)\n  likely cause: the sign of the policy loss "
        "(minimise -A * ratio) or the ratio (exp(logp - old_logp))"
    )


def test_value_loss_weight_and_entropy_bonus():
    """One step (N = minibatch = 10, 1 epoch, SGD lr 1, no clipping): the value table moves by
    -vf_coef * d(0.5 * mean (V - R)^2)/dV = -vf_coef * (V - R) / 30; with zero advantages the
    policy moves only by the entropy bonus, so the entropy rises."""
    table, vtable, evaluate, batch, _ = _tabular(seed=8)
    with torch.no_grad():
        table.mul_(20)  # far from uniform, so the entropy can rise
    batch["advantages"] = torch.zeros(10, 3)
    opt = SGD([table, vtable], lr=1.0)
    cfg = mod.PPOConfig(
        epochs=1, minibatch_size=10, target_kl=None, vf_coef=2.0, ent_coef=0.5, max_grad_norm=1e9
    )
    before_ent = torch.distributions.Categorical(logits=table.detach()).entropy().mean()
    mod.ppo_update(evaluate, batch, [table, vtable], opt, cfg, generator(9))
    assert_close(
        vtable.detach(),
        2.0 * batch["returns"] / 30,
        what="values after one ppo_update step (V starts at 0, vf_coef 2, lr 1)",
        hint="loss = policy_loss + vf_coef * value_loss - ent_coef * entropy",
        atol=1e-5,
    )
    after_ent = torch.distributions.Categorical(logits=table.detach()).entropy().mean()
    assert after_ent > before_ent + 1e-4, (
        f"with zero advantages and ent_coef 0.5 the entropy went {before_ent:.5f} -> "
        f"{after_ent:.5f}; it must rise: the bonus is SUBTRACTED from the loss"
    )


def test_early_stop_on_approx_kl_before_the_step():
    table, vtable, evaluate, batch, calls = _tabular(seed=10)
    opt = SGD([table, vtable], lr=20.0)
    cfg = mod.PPOConfig(epochs=10, minibatch_size=5, target_kl=0.02, max_grad_norm=1e9)
    stats = mod.ppo_update(evaluate, batch, [table, vtable], opt, cfg, generator(11))
    assert stats["stopped_early"] == 1.0 and stats["steps"] < 20, (
        f"ppo_update with lr 20 and target_kl 0.02 took {stats['steps']} of 20 steps without "
        "stopping: compare approx_kl(logp, old_logp) of each minibatch with target_kl"
    )
    assert stats["steps"] == len(calls) - 1, (
        f"ppo_update stopped after {len(calls)} forward passes but took {stats['steps']} steps: "
        "the minibatch whose approx-KL exceeds target_kl must NOT be stepped on"
    )
    assert stats["approx_kl"] > 0.02, (
        f"stats['approx_kl'] = {stats['approx_kl']} must be the KL that triggered the stop"
    )
    # the KL is measured against old_logp (the rollout policy), never the previous minibatch
    table2, vtable2, evaluate2, batch2, _ = _tabular(seed=10)
    batch2["old_logp"] = batch2["old_logp"] - 1.0  # every row already far from the rollout policy
    before = table2.detach().clone()
    stats = mod.ppo_update(
        evaluate2, batch2, [table2, vtable2], SGD([table2, vtable2], lr=1.0), cfg
    )
    assert stats["steps"] == 0 and torch.equal(table2.detach(), before), (
        "ppo_update on a batch whose old_logp are 1 nat below the policy's (approx-KL 0.72 > "
        f"0.02) took {stats['steps']} steps; it must stop before the first one"
    )


def test_gradient_norm_is_clipped():
    table, vtable, evaluate, batch, _ = _tabular(seed=12)
    before = torch.cat([table.detach().flatten(), vtable.detach().flatten()])
    opt = SGD([table, vtable], lr=1.0)
    cfg = mod.PPOConfig(epochs=1, minibatch_size=10, target_kl=None, max_grad_norm=1e-3)
    mod.ppo_update(evaluate, batch, [table, vtable], opt, cfg)
    after = torch.cat([table.detach().flatten(), vtable.detach().flatten()])
    moved = (after - before).norm().item()
    assert 0 < moved <= 1e-3 * 1.001, (
        f"one SGD step (lr 1) with max_grad_norm 1e-3 moved the parameters by {moved:.3g}; "
        "clip the global gradient norm of `params` (clip_grad_norm_) after backward, before step"
    )
