"""A toy RLHF loop: PPO teaches a tiny week-05 GPT a programmatic reward ("use the target tokens")
while a per-token KL penalty holds it near a frozen copy of itself (Ziegler et al. 2019; Ouyang et
al. 2022; the recipe of trl's former PPOTrainer, written out).

One update: sample responses (rollout), score them, turn scores and KL into per-token rewards, GAE,
whiten the advantages, a few PPO epochs. Given: the actor-critic model, the reward, the outer loop.
Check: `python tracker.py check w13.rlhf`
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week08_inference.sampling import SamplingParams, sample_next

from .gae import gae
from .logprobs import token_logprobs
from .ppo import PPOConfig, kl_penalty_rewards, ppo_update, whiten
from .reward import gpt_hidden_states


@dataclass
class ToyRLHFConfig:
    vocab_size: int = 8  # tokens 0..7; every prompt is the single token 0
    targets: tuple[int, ...] = (1, 2)  # the "vowels": the reward is the fraction of these
    n_new: int = 8  # response length (no EOS: every response has exactly n_new tokens)
    batch_size: int = 64  # responses sampled per update
    n_layer: int = 1  # the tiny policy
    n_head: int = 2
    n_embd: int = 32
    lr: float = 3e-3  # Adam learning rate
    kl_coef: float = 0.05  # beta of the per-token KL penalty to the reference
    gamma: float = 1.0  # no discount inside a short response
    lam: float = 0.95  # GAE lambda
    seed: int = 0
    ppo: PPOConfig = field(default_factory=lambda: PPOConfig(minibatch_size=16, target_kl=0.1))


class ActorCritic(nn.Module):
    """A week-05 GPT (the policy) with a scalar value head on its final hidden states (given)."""

    def __init__(self, gpt: GPT):
        super().__init__()
        self.gpt = gpt
        self.value_head = nn.Linear(gpt.config.n_embd, 1)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)

    def forward(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) int64 -> logits (B, T, V) and values (B, T): V of the state "tokens 0..t seen"."""
        h = gpt_hidden_states(self.gpt, idx)  # (B, T, C)
        return self.gpt.lm_head(h), self.value_head(h).squeeze(-1)


def target_fraction_reward(responses: torch.Tensor, targets: tuple[int, ...]) -> torch.Tensor:
    """The programmatic reward (given): the fraction of each response's tokens that are targets.

    Example: responses [[1, 3, 2, 2]], targets (1, 2) -> [0.75].
    """
    hits = torch.isin(responses, torch.tensor(targets, device=responses.device))
    return hits.float().mean(dim=-1)


def rollout(
    policy: ActorCritic,
    reference: GPT,
    prompts: torch.Tensor,
    n_new: int,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Sample one response per prompt and record what PPO needs, all without gradient.

    Sampling: n_new times, the policy's logits at the last position -> week-08 `sample_next` at
    temperature 1 with `generator` -> append. Then one forward pass of the policy and one of the
    reference on the whole sequences give, for response token j (sequence position P + j), its
    log-prob from the logits at position P + j - 1 and the value V at position P + j - 1 (the state
    just before the token was chosen). Both models keep the train/eval mode they came in.
    Example: P = 3, n_new = 5 -> sequences (B, 8); response token 0 sits at position 3 and is
    scored by the logits at position 2, with the value at position 2.

    Args:
        policy: the actor-critic being trained.
        reference: the frozen reference GPT (reference(idx) -> (logits, None)).
        prompts: (B, P) int64.
        n_new: response length.
        generator: a seeded torch.Generator for the draws.

    Returns:
        {"sequences": (B, P + n_new) int64, "old_logp": (B, n_new) policy log-probs of the
        response tokens, "ref_logp": (B, n_new) the reference's, "old_values": (B, n_new),
        "mask": (B, n_new) ones}.
    """
    # TODO(w13.rlhf): sample one response per prompt and return what PPO needs, as listed.
    raise NotImplementedError("w13.rlhf: write rollout in exercises/week13_alignment/toy_rlhf.py")


def rlhf_step(
    policy: ActorCritic,
    reference: GPT,
    optimizer,
    prompts: torch.Tensor,
    reward_fn: Callable[[torch.Tensor], torch.Tensor],
    config: ToyRLHFConfig,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One RLHF update: rollout, score, KL-penalised rewards, GAE, whitened advantages, PPO.

    1. r = rollout(policy, reference, prompts, config.n_new, generator);
    2. scores = reward_fn(response tokens (B, n_new));
    3. rewards = kl_penalty_rewards(scores, old_logp, ref_logp, mask, config.kl_coef);
    4. gae on the time-major (n_new, B) transposes, each response one episode (done at its last
       token, last_value 0), config.gamma and config.lam; advantages whitened (ppo.whiten);
    5. ppo_update(evaluate, batch, list(policy.parameters()), optimizer, config.ppo, generator),
       batch = {"old_logp", "old_values", "advantages", "returns", "mask"}, each (B, n_new), and
       evaluate(rows) = one forward pass of the policy (with gradient) on sequences[rows] giving
       logp (n, n_new), values (n, n_new) and logits (n, n_new, V) at the positions rollout
       records: response token j's log-prob and logits from position P + j - 1, its value from
       position P + j - 1. Before the first PPO step, evaluate's logp and values equal the
       rollout's old_logp and old_values.
    The models keep the train/eval mode they came in; the reference is never updated.

    Returns:
        {"reward": mean score, "kl": mean over responses of sum_j (old_logp - ref_logp) (the
        sampled KL to the reference, in nats per response, not per token)} plus ppo_update's
        statistics. Example: 2 responses of 4 tokens with old_logp - ref_logp 0.1 on every token
        of the first and 0.3 on the second -> kl = (0.4 + 1.2) / 2 = 0.8.
    """
    # TODO(w13.rlhf): run one RLHF update (steps 1-5) and return its statistics.
    raise NotImplementedError("w13.rlhf: write rlhf_step in exercises/week13_alignment/toy_rlhf.py")


def train_toy_rlhf(
    config: ToyRLHFConfig,
    updates: int,
    log: bool = False,
    make_optimizer: Callable | None = None,
) -> list[dict]:
    """The outer loop (given): a seeded tiny GPT, its frozen copy as reference, Adam, `updates`
    calls of rlhf_step on prompts of the single token 0. Returns one stats dict per update.

    make_optimizer(params, lr) builds the optimizer (default torch.optim.Adam; the checks pass a
    bare Adam that skips torch.optim's slow first import)."""
    torch.manual_seed(config.seed)
    gpt = GPT(
        GPTConfig(
            block_size=config.n_new + 1,
            vocab_size=config.vocab_size,
            n_layer=config.n_layer,
            n_head=config.n_head,
            n_embd=config.n_embd,
        )
    )
    reference = copy.deepcopy(gpt).eval().requires_grad_(False)
    policy = ActorCritic(gpt)
    optimizer = (make_optimizer or torch.optim.Adam)(list(policy.parameters()), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    prompts = torch.zeros(config.batch_size, 1, dtype=torch.long)

    def reward_fn(responses):
        return target_fraction_reward(responses, config.targets)

    history = []
    for update in range(updates):
        stats = rlhf_step(policy, reference, optimizer, prompts, reward_fn, config, generator)
        history.append(stats)
        if log:
            print(
                f"update {update:3d} | reward {stats['reward']:.3f} | kl {stats['kl']:.3f} | "
                f"steps {stats['steps']} | clip {stats['clip_fraction']:.2f}"
            )
    return history
