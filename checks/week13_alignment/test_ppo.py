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


CLIP_FRACTION = (
    "clip_fraction is the share of the mask's tokens where the clipped term is the one taken: "
    "-A * clamp(ratio) STRICTLY larger than -A * ratio (ratio * A > clamp(ratio) * A)"
)


def assert_clip_fraction(got, expected: float, abs_ratio_answer: float, what: str) -> None:
    """The clip fraction, with a message that names its definition (and the common other one)."""
    got = float(got)
    other = (
        f"; {abs_ratio_answer:g} is what |ratio - 1| > eps gives (CleanRL's definition, which "
        "also counts tokens outside the range whose unclipped term is taken)"
        if abs(got - abs_ratio_answer) < 1e-6
        else ""
    )
    assert abs(got - expected) < 1e-6, (
        f"clip_fraction of ppo_policy_loss on {what}: {CLIP_FRACTION}; expected {expected:g}, "
        f"got {got:g}{other}"
    )


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
    assert_clip_fraction(clip_fraction, 0.5, abs_ratio_answer=0.75, what="4 hand tokens, eps 0.2")
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


def test_policy_loss_both_sides_of_each_clip_edge_with_eps_0_3():
    """eps = 0.3, range [0.7, 1.3]; tokens 0.001 inside and outside each edge, per token
    max(-A r, -A clip(r)):
      A=+1, r=1.299: -1.299 (inside)          A=+1, r=1.301: -1.3 (clipped)
      A=-1, r=0.701:  0.701 (inside)          A=-1, r=0.699:  0.7 (clipped)
      A=-1, r=1.301:  1.301 (not clipped: a bad move is never clipped away)
      A=+1, r=0.699: -0.699 (not clipped)     A= 0, r=2.0:    0 (a tie: not clipped)
    mean = -0.596 / 7 = -0.0851429; clipped on 2 of 7 (|ratio - 1| > eps would count 5 of 7).
    Gradient: -A r / 7 where not clipped, 0 where clipped; the 8th token (mask 0) gets none."""
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0], [-1.0, 1.0, 0.0, 5.0]])
    ratios = torch.tensor([[1.299, 1.301, 0.701, 0.699], [1.301, 0.699, 2.0, 3.0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    old = torch.log(torch.tensor([[0.3, 0.2, 0.5, 0.1], [0.25, 0.4, 0.2, 0.1]]))
    logp = (old + ratios.log()).requires_grad_()
    loss, clip_fraction = mod.ppo_policy_loss(logp, old, adv, mask, clip_eps=0.3)
    assert_close(
        loss,
        torch.tensor(-0.596 / 7),
        what="ppo_policy_loss(eps 0.3) on tokens 0.001 either side of 1 - eps and 1 + eps",
        hint="clamp to [1 - clip_eps, 1 + clip_eps] with the clip_eps given (0.3 here, not the "
        "default 0.2); max of -A*r and -A*clip(r) per token; masked mean over the 7 tokens",
        atol=1e-5,
    )
    assert_clip_fraction(clip_fraction, 2 / 7, abs_ratio_answer=5 / 7, what="7 tokens, eps 0.3")
    loss.backward()
    assert_close(
        logp.grad,
        torch.tensor([[-1.299, 0.0, 0.701, 0.0], [1.301, -0.699, 0.0, 0.0]]) / 7,
        what="gradient of ppo_policy_loss(eps 0.3) w.r.t. logp",
        hint="a clipped token gets no gradient; just inside the range the token is not clipped",
        atol=1e-5,
    )


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
    second row: score -2, diff [0.2, 0, 0.4], mask [1, 1, 1] -> [-0.02, 0, -2.04];
    third row, left-padded: score 0.5, diff [0.3, 0.2, -0.1], mask [0, 1, 1] -> [0, -0.02, 0.51]
    (the right-most 1 is position 2, although the mask holds two 1s)."""
    logp = torch.tensor([[0.5, -0.5, 0.1], [0.2, 0.0, 0.4], [0.3, 0.2, -0.1]]) - 3.0
    ref = torch.full((3, 3), -3.0)
    scores, mask = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([[1, 1, 0], [1, 1, 1], [0, 1, 1]])
    inputs = [t.clone() for t in (scores, logp, ref, mask)]
    got = mod.kl_penalty_rewards(scores, logp, ref, mask, 0.1)
    assert_close(
        got,
        torch.tensor([[-0.05, 1.05, 0.0], [-0.02, 0.0, -2.04], [0.0, -0.02, 0.51]]),
        what="kl_penalty_rewards(scores [1, -2, 0.5], ..., kl_coef 0.1), row 3 left-padded",
        hint="-kl_coef * (logp - ref_logp) on each response token (a PENALTY for drifting), the "
        "score added on the LAST response token of each row (the right-most 1 of its mask, not "
        "the count of 1s minus one), 0 on masked tokens",
        atol=1e-6,
    )
    for name, before, after in zip(
        ("scores", "logp", "ref_logp", "mask"), inputs, (scores, logp, ref, mask)
    ):
        assert torch.equal(before, after), f"kl_penalty_rewards modified its input {name} in place"


def test_an_empty_mask_gives_zero_and_one_token_gives_that_token():
    """Every masked mean of the file is masked_mean's: 0 for an empty mask (not NaN, as a plain
    sum / count would give), exactly the token's own value for a one-token mask."""
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    half = torch.tensor([[1, 1, 0], [0, 0, 0]])
    assert float(mod.masked_mean(x, half)) == 1.5 and float(mod.masked_mean(x, 0 * half)) == 0.0
    assert mod.masked_mean(x, half, dim=-1).tolist() == [1.5, 0.0]
    logp, old = _policy_inputs()
    logits = torch.randn(2, 3, 5, generator=generator(13)) * 3
    values = torch.tensor([[2.0, 0.1, -1.0], [-0.5, 9.0, 0.3]])
    returns = torch.tensor([[1.0, 0.5, -0.5], [-1.0, 0.0, 0.2]])
    empty, one = torch.zeros(2, 3), torch.tensor([[1, 0, 0], [0, 0, 0]])
    p_one = torch.softmax(logits[0, 0], -1)
    calls = {
        "ppo_policy_loss": (
            lambda m: mod.ppo_policy_loss(logp, old, ADV, m, 0.2)[0],
            -1.2,  # A = 1, ratio 1.5: clipped, -A * 1.2
        ),
        "clip_fraction": (lambda m: mod.ppo_policy_loss(logp, old, ADV, m, 0.2)[1], 1.0),
        "ppo_value_loss": (
            lambda m: mod.ppo_value_loss(values, torch.zeros(2, 3), returns, m, 0.2),
            0.5,  # V 2, R 1, old 0: V_clip 0.2, 0.5 * max(1.0, 0.64)
        ),
        "entropy": (lambda m: _entropy(logits, m), float(-(p_one * p_one.log()).sum())),
        "approx_kl": (
            lambda m: mod.approx_kl(logp.detach(), old, m),
            float(RATIOS[0, 0] - 1 - RATIOS[0, 0].log()),  # r 1.5: 0.5 - ln 1.5
        ),
    }
    for name, (call, one_token) in calls.items():
        got = float(call(empty).detach())
        assert got == 0.0, (
            f"{name} with an all-zero mask returned {got}, expected 0: a masked mean of no tokens "
            "is 0 here (masked_mean divides by the count clamped to at least 1), never NaN"
        )
        got = float(call(one).detach())
        assert abs(got - one_token) < 1e-5, (
            f"{name} with a mask of one token returned {got:.6f}, expected that token's own "
            f"value {one_token:.6f}: the masked mean divides by the number of masked tokens (1)"
        )


# ---- the update loop, on a tabular policy: logits table (N, T, V), values table (N, T) ----


def _tabular(N=10, T=3, V=4, seed=4):
    """A logits table (N, T, V) and a values table (N, T) as the policy; evaluate(rows) reads them.
    The rows of every call are kept in `calls`, its outputs (detached) in `evaluate.outputs`."""
    g = generator(seed)
    table = torch.nn.Parameter(torch.randn(N, T, V, generator=g) * 0.1)
    vtable = torch.nn.Parameter(torch.zeros(N, T))
    actions = torch.randint(0, V, (N, T), generator=g)
    calls, outputs = [], []

    def evaluate(rows):
        calls.append(rows.clone())
        logits = table[rows]
        logp = torch.log_softmax(logits, -1).gather(-1, actions[rows, :, None]).squeeze(-1)
        outputs.append((rows.clone(), logp.detach(), vtable[rows].detach(), logits.detach()))
        return logp, vtable[rows], logits

    evaluate.outputs, evaluate.actions = outputs, actions

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


def test_update_leaves_the_batch_unchanged():
    table, vtable, evaluate, batch, _ = _tabular(seed=20)
    before = {k: v.clone() for k, v in batch.items()}
    cfg = mod.PPOConfig(epochs=3, minibatch_size=4, target_kl=None)
    mod.ppo_update(
        evaluate, batch, [table, vtable], SGD([table, vtable], lr=1.0), cfg, generator(21)
    )
    assert set(batch) == set(before), f"ppo_update changed the batch's keys: {sorted(batch)}"
    for key, value in before.items():
        assert torch.equal(batch[key], value), (
            f"ppo_update modified batch[{key!r}]; the batch is read, never written (old_logp stays "
            "the rollout policy's for every epoch: the ratio and the KL are measured against it)"
        )


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


def test_update_reports_means_over_the_steps_taken():
    """Epochs of minibatches 4, 4, 2 (N = 10) until the approx-KL passes 0.01 (after 3 of the 9
    planned steps, at the first minibatch of epoch 2, for the reference): the statistics are
    the means, over the steps taken, of each step's policy loss, value loss (no vf_coef), clip
    fraction and entropy (no ent_coef); the minibatch that stopped the update is not a step."""
    table, vtable, evaluate, batch, calls = _tabular(seed=14)
    cfg = mod.PPOConfig(
        epochs=3, minibatch_size=4, target_kl=0.01, clip_eps=0.1, vf_coef=3.0, ent_coef=0.5
    )
    stats = mod.ppo_update(
        evaluate, batch, [table, vtable], SGD([table, vtable], lr=5.0), cfg, generator(15)
    )
    steps = stats["steps"]
    assert stats["stopped_early"] == 1.0 and 1 < steps < 9 and steps == len(calls) - 1, (
        f"ppo_update (lr 5, target_kl 0.01) took {steps} steps in {len(calls)} forward passes; "
        "expected an early stop after 2 to 8 steps, the stopping minibatch not stepped on"
    )
    per_step = {"policy_loss": [], "value_loss": [], "clip_fraction": [], "entropy": []}
    for rows, logp, values, logits in evaluate.outputs[:steps]:
        m = batch["mask"][rows]
        loss, cf = mod.ppo_policy_loss(
            logp, batch["old_logp"][rows], batch["advantages"][rows], m, 0.1
        )
        vl = mod.ppo_value_loss(values, batch["old_values"][rows], batch["returns"][rows], m, 0.2)
        for key, value in zip(per_step, (loss, vl, cf, mod.entropy(logits, m))):
            per_step[key].append(float(value))
    for key, values in per_step.items():
        expected = sum(values) / steps
        assert abs(stats[key] - expected) < 1e-5, (
            f"ppo_update's stats[{key!r}] = {stats[key]:.6f}; the mean of that quantity over the "
            f"{steps} steps taken is {expected:.6f} (per step {[round(v, 4) for v in values]})\n"
            "  likely cause: a sum instead of a mean, a division by the planned number of steps or "
            "of forward passes, the stopping minibatch counted, or the weighted term (vf_coef, "
            "ent_coef) reported instead of the plain one"
        )


def test_update_takes_no_step_and_reports_nan_when_the_first_kl_is_too_far():
    """Both sides of "nan if none": 0 steps -> every mean is nan (not 0, which would look like a
    perfect policy); the stats of at least one step are finite (tested above)."""
    table, vtable, evaluate, batch, _ = _tabular(seed=10)
    batch["old_logp"] = batch["old_logp"] - 1.0
    cfg = mod.PPOConfig(epochs=2, minibatch_size=5, target_kl=0.02)
    stats = mod.ppo_update(evaluate, batch, [table, vtable], SGD([table, vtable], lr=1.0), cfg)
    assert stats["steps"] == 0, f"ppo_update took {stats['steps']} steps, expected 0"
    for key in ("policy_loss", "value_loss", "clip_fraction", "entropy"):
        assert math.isnan(stats[key]), (
            f"ppo_update with no step taken reported stats[{key!r}] = {stats[key]}, expected nan "
            "(the mean over zero steps)"
        )


def test_a_minibatch_whose_kl_equals_target_kl_is_stepped_on():
    """The edge of the rule "stop when kl > target_kl": target_kl set to exactly the first
    minibatch's approx-KL (old_logp 0.05 nat below the policy, so it is positive) must not stop
    before that step; a value just below it must."""
    for offset, must_step in ((0.0, True), (-1e-6, False)):
        table, vtable, evaluate, batch, calls = _tabular(seed=16)
        batch["old_logp"] = batch["old_logp"] - 0.05
        with torch.no_grad():
            rows = torch.randperm(10, generator=generator(17))[:5]
            logp, _, _ = evaluate(rows)
            first_kl = float(mod.approx_kl(logp, batch["old_logp"][rows], batch["mask"][rows]))
        calls.clear()
        cfg = mod.PPOConfig(epochs=1, minibatch_size=5, target_kl=first_kl + offset)
        opt = SGD([table, vtable], lr=0.1)
        stats = mod.ppo_update(evaluate, batch, [table, vtable], opt, cfg, generator(17))
        assert torch.equal(calls[0], rows), "ppo_update's first minibatch is not randperm's first 5"
        took = stats["steps"] >= 1
        assert took == must_step, (
            f"ppo_update with target_kl {'equal to' if must_step else 'just below'} the first "
            f"minibatch's approx-KL ({first_kl:.6f}) took {stats['steps']} steps: the update stops "
            "when kl > target_kl, strictly (a kl equal to target_kl is stepped on)"
        )


def test_update_passes_each_setting_to_its_loss():
    """One step (N = minibatch = 10, SGD lr 1, no norm clip) with every loss setting away from its
    default: clip_eps 1.0 (ratios e^0.5 = 1.65 are inside [0, 2]: nothing clipped; at 0.2 the
    A > 0 tokens would be), value_clip_eps 5.0 with values 0 and old values -2 (nothing clipped; at
    clip_eps's 1.0 or the default 0.2 V_clip would be -1 or -1.8), vf_coef 0.7, ent_coef 0.3. The tables must move by minus the gradient of
    policy_loss + 0.7 * value_loss - 0.3 * entropy, written out here."""
    table, vtable, evaluate, batch, _ = _tabular(seed=18)
    batch["old_logp"] = batch["old_logp"] - 0.5
    batch["old_values"] = torch.full((10, 3), -2.0)
    cfg = mod.PPOConfig(
        clip_eps=1.0, value_clip_eps=5.0, vf_coef=0.7, ent_coef=0.3, epochs=1, minibatch_size=10,
        target_kl=None, max_grad_norm=1e9,
    )  # fmt: skip
    t0, v0 = table.detach().clone().requires_grad_(), vtable.detach().clone().requires_grad_()
    opt = SGD([table, vtable], lr=1.0)
    mod.ppo_update(
        evaluate, {k: v.clone() for k, v in batch.items()}, [table, vtable], opt, cfg, generator(19)
    )
    # the oracle: the same three losses written out with the settings above, on the old tables
    logp = torch.log_softmax(t0, -1).gather(-1, evaluate.actions[..., None]).squeeze(-1)
    ratio = torch.exp(logp - batch["old_logp"])
    adv = batch["advantages"]
    policy = torch.maximum(-adv * ratio, -adv * ratio.clamp(0.0, 2.0)).mean()
    v_clip = batch["old_values"] + (v0 - batch["old_values"]).clamp(-5.0, 5.0)
    value = (
        0.5 * torch.maximum((v0 - batch["returns"]) ** 2, (v_clip - batch["returns"]) ** 2).mean()
    )
    p = torch.softmax(t0, -1)
    ent = -(p * torch.log_softmax(t0, -1)).sum(-1).mean()
    (policy + 0.7 * value - 0.3 * ent).backward()
    assert_close(
        vtable.detach(),
        (v0 - v0.grad).detach(),
        what="the values table after one ppo_update step (value_clip_eps 5.0, vf_coef 0.7)",
        hint="the value loss takes config.value_clip_eps (not clip_eps, not the default 0.2) and "
        "is weighted by config.vf_coef",
        atol=1e-5,
    )
    assert_close(
        table.detach(),
        (t0 - t0.grad).detach(),
        what="the logits table after one ppo_update step (clip_eps 1.0, ent_coef 0.3)",
        hint="the policy loss takes config.clip_eps (not the default 0.2); the entropy bonus is "
        "weighted by config.ent_coef and subtracted",
        atol=1e-5,
    )
