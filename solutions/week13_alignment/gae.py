"""Generalised advantage estimation (Schulman et al. 2016) with episode ends.

A_t = delta_t + gamma * lam * A_{t+1}, delta_t = r_t + gamma * V(s_{t+1}) - V(s_t); an episode
that ends at step t neither bootstraps from the next value nor carries the next advantage back.
Check: `python tracker.py check w13.gae`
"""

import torch


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    last_value: torch.Tensor,
    gamma: float = 0.99,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns of a rollout, time along dim 0.

    For t = T-1 down to 0, with next_value = last_value at t = T-1 and values[t + 1] otherwise, and
    nonterminal = 1 - dones[t]:
        delta_t = rewards[t] + gamma * next_value * nonterminal - values[t]
        A_t     = delta_t + gamma * lam * nonterminal * A_{t+1}     (A_T = 0)
    returns = advantages + values (the lambda-returns, targets of the value function).
    dones[t] = 1 means the episode ended AT step t (rewards[t] was its last reward): step t + 1
    starts a new episode. Example: one step, rewards [1.], values [0.5], dones [1], gamma 0.9
    -> advantages [0.5], returns [1.0].

    Args:
        rewards: (T, ...) float rewards; any trailing dims (e.g. (T, N) for N parallel episodes).
        values: (T, ...) value estimates V(s_t).
        dones: (T, ...) bool or 0/1: the episode ended at this step.
        last_value: (...) V of the state after the last step (ignored where dones[T-1] is 1).
        gamma: discount in [0, 1].
        lam: GAE lambda in [0, 1]; 0 gives the one-step TD error, 1 the Monte-Carlo return minus V.

    Returns:
        (advantages, returns), both (T, ...) like rewards; no gradient flows into `values`, and
        none of the inputs is modified.
    """
    rewards, values = rewards.detach(), values.detach()
    nonterminal = 1.0 - dones.to(rewards.dtype)  # (T, ...)
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])  # A_{t+1}
    next_value = last_value.detach().to(rewards.dtype)
    for t in reversed(range(rewards.size(0))):
        # subtle: an episode end cuts both the bootstrap and the backward flow of the advantage
        delta = rewards[t] + gamma * next_value * nonterminal[t] - values[t]
        running = delta + gamma * lam * nonterminal[t] * running
        advantages[t] = running
        next_value = values[t]
    return advantages, advantages + values
