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
