"""GRPO's group-relative advantage (Shao et al. 2024, DeepSeekMath): no value function; each
sample's advantage is its reward standardised among the samples drawn for the same prompt.

Check: `pytest checks/week13_alignment/test_grpo.py`
"""

import torch


def group_relative_advantages(
    rewards: torch.Tensor, group_size: int, eps: float = 1e-4
) -> torch.Tensor:
    """(r - group mean) / (group std + eps), each group being group_size CONSECUTIVE samples.

    The std is the sample standard deviation (Bessel-corrected, divide by G - 1), as in trl's
    GRPOTrainer; a group whose rewards are all equal gets advantages 0 (it teaches nothing).
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
    # TODO(w13.grpo): view as (N / G, G); subtract each row's mean, divide by its
    #   sample std (G - 1) + eps; flatten back.
    raise NotImplementedError(
        "w13.grpo: write group_relative_advantages in exercises/week13_alignment/grpo.py"
    )
