"""Checks for w13.rlhf: the rollout and one RLHF step, then the toy task end to end.

The task (toy_rlhf.ToyRLHFConfig): a 1-layer GPT over 8 tokens, prompt token 0, 8-token responses,
reward = the fraction of response tokens that are 1 or 2 (0.25 for the initial, almost uniform
policy; 1.0 at best). Stated bounds: with kl_coef 0.05 the mean reward of one of updates 8-10
reaches 0.55 while the sampled KL to the reference stays below 8 nats per response; with kl_coef
2.0 the policy stays near the reference (KL < 1 nat, reward < 0.45). Measured on the reference
over seeds 0-4: best reward of updates 8-10 0.76-0.82, KL at most 5.2; with kl_coef 2.0 KL at
most 0.6, reward at most 0.31; drawing the samples from the global RNG instead of the generator
gives 0.75-0.81. The two runs take 1-3 s.
"""

import copy

import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from .support import Adam, tiny_gpt

mod = load("week13_alignment.toy_rlhf")


def _policy(seed=0, V=9):
    gpt = tiny_gpt(seed, vocab_size=V, block_size=12)
    policy = mod.ActorCritic(gpt)
    with torch.no_grad():
        policy.value_head.weight.normal_(0, 0.5, generator=generator(seed + 3))
    return policy


def test_rollout_records_logprobs_and_values_of_the_response():
    policy = _policy()
    reference = tiny_gpt(7, vocab_size=9, block_size=12)
    prompts = torch.tensor([[3, 1, 4], [1, 5, 8]])
    r = mod.rollout(policy, reference, prompts, 5, generator(1))
    seq = r["sequences"]
    assert tuple(seq.shape) == (2, 8) and torch.equal(seq[:, :3], prompts), (
        f"rollout(prompts (2, 3), n_new 5): sequences must be (2, 8) starting with the prompts, "
        f"got {tuple(seq.shape)}"
    )
    with torch.no_grad():
        logits, values = policy(seq)
        ref_logits, _ = reference(seq)
    pos = torch.arange(2, 7)  # position P - 1 + j predicts response token j
    expected_logp = torch.log_softmax(logits[:, pos], -1).gather(-1, seq[:, 3:, None])[..., 0]
    expected_ref = torch.log_softmax(ref_logits[:, pos], -1).gather(-1, seq[:, 3:, None])[..., 0]
    hint = (
        "response token j sits at position P + j and is predicted by the logits at P + j - 1; "
        "its value is V at P + j - 1 (the state before it was chosen)"
    )
    assert_close(r["old_logp"], expected_logp, what="rollout old_logp (2, 5)", hint=hint, atol=1e-5)
    assert_close(
        r["ref_logp"],
        expected_ref,
        what="rollout ref_logp (2, 5)",
        hint="the reference's log-probs of the same tokens; " + hint,
        atol=1e-5,
    )
    assert_close(
        r["old_values"], values[:, pos], what="rollout old_values (2, 5)", hint=hint, atol=1e-5
    )
    assert_close(r["mask"], torch.ones(2, 5), what="rollout mask")
    again = mod.rollout(policy, reference, prompts, 5, generator(1))
    assert torch.equal(again["sequences"], seq), "rollout with the same generator seed must repeat"
    for key in ("old_logp", "ref_logp", "old_values"):
        assert not r[key].requires_grad, f"rollout's {key} must carry no gradient (torch.no_grad)"


def test_rlhf_step_scores_the_response_tokens_only():
    policy = _policy(1)
    reference = copy.deepcopy(policy.gpt).requires_grad_(False)
    seen = []

    def reward_fn(responses):
        seen.append(responses.clone())
        return (responses == 2).float().mean(-1)

    cfg = mod.ToyRLHFConfig(vocab_size=9, n_new=4)
    prompts = torch.tensor([[5, 6]] * 6)
    opt = Adam(policy.parameters(), lr=1e-3)
    stats = mod.rlhf_step(policy, reference, opt, prompts, reward_fn, cfg, generator(2))
    assert len(seen) == 1 and tuple(seen[0].shape) == (6, 4), (
        "rlhf_step must call reward_fn once on the (B, n_new) response tokens, without the prompt; "
        f"got shapes {[tuple(s.shape) for s in seen]}"
    )
    assert abs(stats["reward"] - (seen[0] == 2).float().mean().item()) < 1e-6, (
        f"stats['reward'] = {stats['reward']}: expected the mean score of the batch"
    )
    assert abs(stats["kl"]) < 1e-5, (
        f"stats['kl'] = {stats['kl']} on the first step, where the policy IS the reference: "
        "expected 0 (sum over the response of old_logp - ref_logp, mean over responses)"
    )
    assert stats["steps"] > 0, "rlhf_step took no PPO step"


def _gae_oracle(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float):
    """(B, n) rewards and values, each row one episode that ends at its last token (no bootstrap):
    A_t = sum_{k >= t} (gamma lam)^(k - t) delta_k, delta_t = r_t + gamma V_{t+1} - V_t, V_n = 0
    (the closed form, summed forwards: a different road from the backward recursion)."""
    B, n = rewards.shape
    next_values = torch.cat([values[:, 1:], torch.zeros(B, 1)], dim=1)
    delta = rewards + gamma * next_values - values
    adv = torch.zeros_like(delta)
    for t in range(n):
        for k in range(t, n):
            adv[:, t] += (gamma * lam) ** (k - t) * delta[:, k]
    return adv


NO_STEP = {
    "steps": 0,
    "stopped_early": 0.0,
    "approx_kl": 0.0,
    "policy_loss": 0.0,
    "value_loss": 0.0,
    "clip_fraction": 0.0,
    "entropy": 0.0,
}


def test_rlhf_step_hands_ppo_update_the_documented_batch(monkeypatch):
    """rlhf_step with gamma 0.8, lam 0.6, kl_coef 0.3 (none of them a default), a reference that
    differs from the policy, and ppo_update (the name imported in toy_rlhf.py) replaced by a spy
    that takes no step. Written out here: the rollout's log-probs and values, the KL-penalised
    rewards, their GAE advantages (whitened) and returns; evaluate(rows) at the rollout's
    positions; stats["kl"] in nats per response (sum over tokens, mean over responses)."""
    policy = _policy(2)
    reference = tiny_gpt(9, vocab_size=9, block_size=12)
    seen, spied = [], {}

    def reward_fn(responses):
        seen.append(responses.clone())
        return (responses % 3 == 0).float().mean(-1) * 2 - 0.5

    def spy(evaluate, batch, params, optimizer, config, generator=None):
        spied.update(evaluate=evaluate, params=params, optimizer=optimizer, config=config)
        spied.update(generator=generator, batch={k: v.clone() for k, v in batch.items()})
        return dict(NO_STEP)

    monkeypatch.setattr(mod, "ppo_update", spy)
    cfg = mod.ToyRLHFConfig(vocab_size=9, n_new=4, gamma=0.8, lam=0.6, kl_coef=0.3)
    prompts = torch.tensor([[5, 6], [1, 2], [7, 7], [3, 8], [2, 2], [4, 1]])
    opt, gen = Adam(policy.parameters(), lr=1e-3), generator(4)
    stats = mod.rlhf_step(policy, reference, opt, prompts, reward_fn, cfg, gen)
    assert spied, "rlhf_step did not call ppo_update (the function imported in toy_rlhf.py)"
    assert spied["optimizer"] is opt and spied["config"] is cfg.ppo and spied["generator"] is gen, (
        "rlhf_step must hand ppo_update the optimizer it was given, config.ppo and its generator"
    )
    assert [id(p) for p in spied["params"]] == [id(p) for p in policy.parameters()], (
        "rlhf_step must hand ppo_update list(policy.parameters()) (for the gradient-norm clip)"
    )

    # the oracle, from the sampled responses and the untouched models
    P, n = 2, 4
    seq = torch.cat([prompts, seen[0]], dim=1)  # (6, 6)
    pos = torch.arange(P - 1, P - 1 + n)  # logits at P - 1 + j score response token j
    with torch.no_grad():
        logits, values = policy(seq)
        ref_logits, _ = reference(seq)
    old_logp = torch.log_softmax(logits[:, pos], -1).gather(-1, seq[:, P:, None])[..., 0]
    ref_logp = torch.log_softmax(ref_logits[:, pos], -1).gather(-1, seq[:, P:, None])[..., 0]
    old_values = values[:, pos]
    scores = (seen[0] % 3 == 0).float().mean(-1) * 2 - 0.5
    rewards = -0.3 * (old_logp - ref_logp)
    rewards[:, -1] += scores
    adv = _gae_oracle(rewards, old_values, gamma=0.8, lam=0.6)
    whitened = (adv - adv.mean()) / (adv.std(unbiased=False) + 1e-8)

    batch = spied["batch"]
    keys = {"old_logp", "old_values", "advantages", "returns", "mask"}
    assert set(batch) >= keys, f"ppo_update's batch has keys {sorted(batch)}, needs {sorted(keys)}"
    positions = "response token j: log-prob from the logits at P + j - 1, value at P + j - 1"
    assert_close(
        batch["old_logp"], old_logp, what="batch['old_logp'] (6, 4)", hint=positions, atol=1e-5
    )
    assert_close(
        batch["old_values"],
        old_values,
        what="batch['old_values'] (6, 4)",
        hint=positions,
        atol=1e-5,
    )
    assert_close(batch["mask"], torch.ones(6, 4), what="batch['mask']")
    assert_close(
        batch["returns"],
        adv + old_values,
        what="batch['returns'] with gamma 0.8, lam 0.6, kl_coef 0.3",
        hint="rewards = kl_penalty_rewards(scores, old_logp, ref_logp, mask, config.kl_coef); GAE "
        "with config.gamma and config.lam (not gae's defaults 0.99 and 0.95) on the time-major "
        "(n_new, B) transposes, done at each response's last token, last_value 0; returns = the "
        "advantages before whitening + old_values",
        atol=1e-4,
    )
    assert_close(
        batch["advantages"],
        whitened,
        what="batch['advantages'] (6, 4)",
        hint="the GAE advantages whitened over the batch (ppo.whiten(adv, mask)), back in (B, n_new)",
        atol=1e-4,
    )

    rows = torch.tensor([4, 1, 3])
    logp, vals, lg = spied["evaluate"](rows)
    assert logp.requires_grad, "evaluate(rows) must run the policy with gradient (for PPO's step)"
    where = "evaluate(rows) must give the positions rollout records: " + positions
    assert_close(
        logp, old_logp[rows], what="evaluate(rows [4, 1, 3]) logp (3, 4)", hint=where, atol=1e-5
    )
    assert_close(vals, old_values[rows], what="evaluate(rows) values (3, 4)", hint=where, atol=1e-5)
    assert_close(
        lg,
        logits[rows][:, pos],
        what="evaluate(rows) logits (3, 4, 9)",
        hint=where + "; the logits are those of the same positions (the entropy bonus reads them)",
        atol=1e-5,
    )
    per_response = (old_logp - ref_logp).sum(-1).mean().item()
    assert abs(stats["kl"] - per_response) < 1e-4, (
        f"stats['kl'] = {stats['kl']:.5f}, expected {per_response:.5f}: the sampled KL in nats "
        f"per RESPONSE, sum over its tokens of old_logp - ref_logp, mean over responses (per token "
        f"it would be {per_response / n:.5f})"
    )
    assert abs(stats["reward"] - scores.mean().item()) < 1e-6, "stats['reward'] is the mean score"


def test_rollout_and_rlhf_step_keep_the_models_modes_and_the_reference():
    """Side effects: both functions leave policy and reference in the train/eval mode they were
    given (every submodule), rlhf_step never changes the reference's weights, and the prompts are
    not modified."""
    cfg = mod.ToyRLHFConfig(vocab_size=9, n_new=3)
    for mode in (True, False):
        policy, reference = _policy(3), tiny_gpt(5, vocab_size=9, block_size=12)
        policy.train(mode)
        reference.train(mode)
        prompts = torch.tensor([[3, 1], [4, 1], [5, 8], [2, 6]])
        mod.rollout(policy, reference, prompts, 3, generator(5))
        ref_state = {k: v.clone() for k, v in reference.state_dict().items()}
        mod.rlhf_step(
            policy, reference, Adam(policy.parameters(), lr=1e-2), prompts,
            lambda r: (r == 2).float().mean(-1), cfg, generator(6),
        )  # fmt: skip
        for name, model in (("policy", policy), ("reference", reference)):
            wrong = [n or "(top)" for n, m in model.named_modules() if m.training != mode]
            assert not wrong, (
                f"after rollout and rlhf_step the {name}, given in {'train' if mode else 'eval'} "
                f"mode, has modules {wrong[:3]} in the other mode: leave each model's mode as you "
                "found it (torch.no_grad turns off gradients, not dropout)"
            )
        for k, v in reference.state_dict().items():
            assert torch.equal(v, ref_state[k]), f"rlhf_step changed the reference's {k}"
        assert prompts.tolist() == [[3, 1], [4, 1], [5, 8], [2, 6]], "the prompts were modified"


def test_reward_rises_while_the_kl_stays_bounded():
    torch.manual_seed(0)
    history = mod.train_toy_rlhf(mod.ToyRLHFConfig(seed=0), updates=10, make_optimizer=Adam)
    rewards = [round(h["reward"], 3) for h in history]
    kls = [round(h["kl"], 2) for h in history]
    assert rewards[0] < 0.4, f"the first update's mean reward is {rewards[0]}, expected near 0.25"
    assert max(rewards[7:]) >= 0.55, (
        f"toy RLHF, kl_coef 0.05, seed 0: rewards per update {rewards}; one of updates 8-10 should "
        "reach 0.55\n  likely cause: the sign of the KL penalty or of the policy loss, advantages "
        "from the wrong positions (GAE over (n_new, B), time first), or log-probs sliced one off"
    )
    assert max(kls) < 8.0, (
        f"toy RLHF, kl_coef 0.05: KL per update {kls}; it must stay below 8 nats per response "
        "(the penalty is -kl_coef * (logp - ref_logp) per token)"
    )


def test_a_large_kl_coefficient_keeps_the_policy_near_the_reference():
    history = mod.train_toy_rlhf(
        mod.ToyRLHFConfig(seed=1, kl_coef=2.0), updates=8, make_optimizer=Adam
    )
    kls = [round(h["kl"], 2) for h in history]
    rewards = [round(h["reward"], 3) for h in history]
    assert max(kls) < 1.0 and max(rewards[-3:]) < 0.45, (
        f"toy RLHF with kl_coef 2.0: KL per update {kls}, rewards {rewards}; a strong penalty must "
        "keep the policy near the reference (KL < 1 nat, reward < 0.45)\n  likely cause: the KL "
        "penalty is missing, has the wrong sign, or uses the policy twice instead of the reference"
    )
