"""GRPO (Shao et al. 2024, DeepSeekMath): no value function; each sample's advantage is its reward
standardised among the samples drawn for the same prompt, and the policy loss is PPO's clipped
surrogate with that one advantage on every token of the sample.

How the per-token losses are averaged is a choice with consequences (Liu et al. 2025, Dr. GRPO; Yu
et al. 2025, DAPO): over every response token of the batch (each token weighs the same, so long
answers weigh more), or per sequence first (each answer weighs the same, so a token of a short
answer weighs more: the original GRPO, and Stanford CS336's assignment). `grpo_policy_loss` does
both, `loss_type="token"` by default.
Check: `python tracker.py check w13.grpo`
"""

import torch

from .ppo import masked_mean

LOSS_TYPES = ("token", "sequence")


def group_relative_advantages(
    rewards: torch.Tensor, group_size: int, eps: float = 1e-4
) -> torch.Tensor:
    """(r - group mean) / (group std + eps), each group being group_size CONSECUTIVE samples.

    The std is the sample standard deviation (Bessel-corrected, divide by G - 1), as in trl's
    GRPOTrainer; a group whose rewards are all equal gets advantages 0 (it teaches nothing).
    `rewards` is not modified.
    Example: rewards [1, 0, 0, 1, 5, 5], group_size 2 -> groups [1, 0], [0, 1], [5, 5]; std of
    [1, 0] = 0.7071 -> [0.7070, -0.7070, -0.7070, 0.7070, 0, 0].

    Args:
        rewards: (N,) float, N a multiple of group_size; samples of prompt i are
            rewards[i * G : (i + 1) * G].
        group_size: G >= 2.
        eps: added to the std, so equal rewards do not divide by zero.

    Returns:
        (N,) advantages, same order as rewards.
    """
    # TODO(w13.grpo): return each sample's reward standardised within its group.
    raise NotImplementedError(
        "w13.grpo: write group_relative_advantages in exercises/week13_alignment/grpo.py"
    )


def grpo_policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    loss_type: str = "token",
) -> torch.Tensor:
    """GRPO's clipped policy loss: one advantage per sequence, on every one of its response tokens.

    Per token, as in PPO: max(-A * ratio, -A * clamp(ratio, 1 - clip_eps, 1 + clip_eps)) with
    ratio = exp(logp - old_logp) and A = advantages[b] for every token of row b. Then:
      - loss_type "token": the mean over ALL the response tokens of the batch (masked_mean): a row
        of 3 tokens weighs three times a row of 1 (trl's loss_type "bnpo"; DAPO's token-level loss).
      - loss_type "sequence": each row's mean over its own response tokens, then the mean over the
        B rows (the original GRPO; CS336's; trl's loss_type "grpo"). A row without response tokens
        counts as 0 in that mean (masked_mean's convention; CS336 would give NaN).
    Both are 0 for an all-zero mask. (Dr. GRPO divides the sum by a constant instead, B times the
    longest allowed response.)
    Example: ratio 1 everywhere, advantages [2., -1.], mask [[1, 0, 0], [1, 1, 1]] -> per-token
    losses [[-2], [1, 1, 1]]; "token": (-2 + 3) / 4 = 0.25; "sequence": (-2 + 1) / 2 = -0.5.

    Args:
        logp: (B, T) log-probs of the sampled tokens under the policy being trained (with grad).
        old_logp: (B, T) log-probs under the policy that sampled them (constants).
        advantages: (B,) one advantage per row (group_relative_advantages), constants.
        mask: (B, T) 1 at response tokens.
        clip_eps: epsilon of the clip range [1 - eps, 1 + eps].
        loss_type: "token" or "sequence".

    Returns:
        A 0-dim tensor with gradient through logp only.

    Raises:
        ValueError: loss_type is neither "token" nor "sequence".
    """
    # TODO(w13.grpo): return the clipped loss, averaged over tokens as loss_type says.
    raise NotImplementedError(
        "w13.grpo: write grpo_policy_loss in exercises/week13_alignment/grpo.py"
    )
