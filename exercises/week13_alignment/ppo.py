"""PPO from scratch (Schulman et al. 2017), the RLHF way (Ouyang et al. 2022; Ziegler et al. 2019):
the clipped surrogate, the clipped value loss, an entropy bonus, a per-token KL penalty to a frozen
reference, and the update loop (epochs of shuffled minibatches, early stop on approx-KL).

Every tensor is per token, (B, T), with a 0/1 mask for the tokens that count (the response).
Every "masked mean" below is `masked_mean`'s: the mean over ALL the tokens of the batch whose
mask is 1 (each token weighs the same, whatever its sequence's length), and 0 for an empty mask.
Check: `python tracker.py check w13.ppo`
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of x over the entries where mask is 1 (given).

    An empty mask gives 0, never NaN: the sum (0) is divided by the count clamped to at least 1.
    (Stanford CS336's masked_mean divides by the plain count and gives NaN there; trl clamps as
    here.) Example: x [[1., 2., 3.], [4., 5., 6.]], mask [[1, 1, 0], [0, 0, 0]] -> 1.5; with
    dim=-1 -> [1.5, 0.].

    Args:
        x: values, any shape.
        mask: 0/1 of the same shape.
        dim: None for one mean over every masked entry (a 0-dim tensor); an int for the mean along
            that dim only (dim=-1 of (B, T) gives (B,) per-row means).
    """
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def whiten(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(x - mean) / (std + eps) over the masked entries, 0 elsewhere (given; advantages before PPO)."""
    mean = masked_mean(x, mask)
    std = masked_mean((x - mean) ** 2, mask).sqrt()
    return torch.where(mask.bool(), (x - mean) / (std + eps), torch.zeros_like(x))


def ppo_policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped surrogate loss and the fraction of tokens where the clip is active.

    ratio = exp(logp - old_logp) (new policy over the policy that sampled the tokens);
    per token: max(-A * ratio, -A * clamp(ratio, 1 - clip_eps, 1 + clip_eps)) (the pessimistic
    side of the two); the loss is its masked mean. Example: A = 1, ratio 1.5, eps 0.2 -> -1.2 (no
    credit past 1 + eps); A = -1, ratio 1.5 -> 1.5 (a bad move is never clipped away).

    clip_fraction is the masked mean of "the clipped term is the one taken": -A * clamp(ratio) is
    STRICTLY larger than -A * ratio (equivalently ratio * A > clamp(ratio) * A), so the token gets
    no gradient; a tie (ratio inside the range, or A = 0) is not clipped (trl's GRPOTrainer logs
    the same as clip_ratio/region_mean). It is not the common |ratio - 1| > eps (CleanRL, OpenAI
    baselines), which also counts a token outside the range whose unclipped term is taken (A = 1
    with ratio 0.5, A = -1 with ratio 1.5). Example, eps 0.2: (A, ratio) = (1, 1.5), (1, 0.5),
    (-1, 1.1), (-1, 0.7) -> clipped on the first and the last: 0.5, where |ratio - 1| > eps gives
    0.75.

    Args:
        logp: (B, T) log-probs of the sampled tokens under the policy being trained (with grad).
        old_logp: (B, T) log-probs under the policy that sampled them (constants).
        advantages: (B, T) advantages (constants).
        mask: (B, T) 1 for tokens that count.
        clip_eps: epsilon of the clip range [1 - eps, 1 + eps].

    Returns:
        (loss, clip_fraction): a 0-dim tensor with gradient through logp only, and a detached
        0-dim tensor.
    """
    # TODO(w13.ppo): return the clipped surrogate loss and the clip fraction defined above.
    raise NotImplementedError("w13.ppo: write ppo_policy_loss in exercises/week13_alignment/ppo.py")


def ppo_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
) -> torch.Tensor:
    """The clipped value loss: 0.5 * masked mean of max((V - R)^2, (V_clip - R)^2).

    V_clip = old_values + clamp(values - old_values, -clip_eps, clip_eps): the value may not move
    more than clip_eps from its rollout estimate without paying the larger error.
    Example: V 2.0, old 0.0, R 1.0, eps 0.2 -> V_clip 0.2 -> 0.5 * max(1.0, 0.64) = 0.5.

    Args:
        values: (B, T) current value estimates (with grad).
        old_values: (B, T) the estimates at rollout time (constants).
        returns: (B, T) targets (constants).
        mask: (B, T) 1 for tokens that count.
        clip_eps: the value clip range.

    Returns:
        A scalar with gradient through values only.
    """
    # TODO(w13.ppo): return the clipped value loss defined above.
    raise NotImplementedError("w13.ppo: write ppo_value_loss in exercises/week13_alignment/ppo.py")


def entropy(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over tokens of the entropy -sum_v p_v log p_v of softmax(logits).

    Written from log_softmax (not torch.distributions): stable for logits near +-1000, and 0 for a
    one-hot distribution. Example: uniform over V tokens -> ln V.

    Args:
        logits: (B, T, V).
        mask: (B, T) 1 for tokens that count.

    Returns:
        A scalar (differentiable).
    """
    # TODO(w13.ppo): return the masked mean entropy, finite even for one-hot logits.
    raise NotImplementedError("w13.ppo: write entropy in exercises/week13_alignment/ppo.py")


def approx_kl(logp: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The k3 estimate of KL(old || new) from sampled tokens: masked mean of (r - 1) - log r,
    r = exp(logp - old_logp). Always >= 0, exactly 0 when the policies agree (Schulman 2020,
    "Approximating KL divergence"). A detached 0-dim tensor.

    Example: logp - old_logp = ln 2 on every token -> (2 - 1) - ln 2 = 0.3069.
    """
    # TODO(w13.ppo): return the k3 estimate of the KL between the two policies, detached.
    raise NotImplementedError("w13.ppo: write approx_kl in exercises/week13_alignment/ppo.py")


def kl_penalty_rewards(
    scores: torch.Tensor,
    logp: torch.Tensor,
    ref_logp: torch.Tensor,
    mask: torch.Tensor,
    kl_coef: float,
) -> torch.Tensor:
    """Per-token RLHF rewards: -kl_coef * (logp - ref_logp) on every response token, and the
    sequence's score added on its LAST response token (the right-most 1 of its mask).

    Summed over a response this is score - kl_coef * log(pi / pi_ref)(response): the reward model's
    opinion minus a sampled estimate of the KL to the reference. Masked-out tokens get 0; a mask
    may start with 0s (left padding, a prompt): the score goes to its right-most 1 all the same.
    Example: score 1, logp - ref_logp = [0.5, -0.5, 0.1], mask [1, 1, 0], kl_coef 0.1
    -> [-0.05, 0.05 + 1, 0]; with mask [0, 1, 1] -> [0, 0.05, -0.01 + 1].

    Args:
        scores: (B,) sequence-level rewards (e.g. of a reward model or a program).
        logp: (B, T) log-probs of the sampled tokens under the policy at rollout time.
        ref_logp: (B, T) log-probs of the same tokens under the frozen reference.
        mask: (B, T) 1 for response tokens (every row has at least one).
        kl_coef: beta of the KL penalty, >= 0.

    Returns:
        (B, T) rewards, no gradient.
    """
    # TODO(w13.ppo): return the KL penalty on every response token, each score on its row's last.
    raise NotImplementedError(
        "w13.ppo: write kl_penalty_rewards in exercises/week13_alignment/ppo.py"
    )


@dataclass
class PPOConfig:
    clip_eps: float = 0.2  # policy ratio clip range
    value_clip_eps: float = 0.2  # value clip range
    vf_coef: float = 0.5  # weight of the value loss
    ent_coef: float = 0.0  # weight of the entropy bonus (subtracted from the loss)
    epochs: int = 4  # passes over the rollout batch
    minibatch_size: int = 16  # rows per optimizer step
    target_kl: float | None = 0.1  # stop when a minibatch's approx-KL is above it (>); None: never
    max_grad_norm: float = 1.0  # gradient clipping by global norm


def ppo_update(
    evaluate: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    batch: dict[str, torch.Tensor],
    params: list[torch.nn.Parameter],
    optimizer,
    config: PPOConfig,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Several epochs of PPO steps on one rollout batch.

    Each epoch draws `perm = torch.randperm(N, generator=generator)` and walks it in consecutive
    slices of config.minibatch_size rows (the last one may be smaller): every row is used once per
    epoch. For each minibatch:
      1. logp, values, logits = evaluate(rows), one forward pass;
      2. kl = approx_kl(logp, old_logp, mask) of those rows; if config.target_kl is not None and
         kl > config.target_kl, stop the whole update here, before this step (the policy already
         moved too far from the one that sampled the batch);
      3. loss = ppo_policy_loss + vf_coef * ppo_value_loss - ent_coef * entropy;
      4. optimizer.zero_grad(); loss.backward(); clip the global grad norm of `params` to
         max_grad_norm; optimizer.step().
    The stop is for kl strictly above target_kl: a minibatch whose kl equals it is stepped on.
    `batch` is read, never modified. Example: N = 10, minibatch_size 4, epochs 3, target_kl None
    -> minibatches of 4, 4 and 2 rows, 3 * 3 = 9 steps.

    Args:
        evaluate: rows (n,) int64 -> (logp (n, T), values (n, T), logits (n, T, V)) of the current
            policy on those rows of the batch, with gradient.
        batch: "old_logp", "old_values", "advantages", "returns", "mask", each (N, T).
        params: the parameters the optimizer updates (for the grad-norm clip).
        optimizer: over params: anything with zero_grad() and step() (a torch.optim optimizer).
        config: the PPO hyper-parameters.
        generator: a seeded torch.Generator for the shuffles.

    Returns:
        {"steps": optimizer steps taken, "stopped_early": 1.0 or 0.0, "approx_kl": the last
        measured kl (the one that stopped the update, if it stopped), "policy_loss", "value_loss",
        "clip_fraction", "entropy": each the mean over the steps taken of that step's value
        (ppo_value_loss without vf_coef, entropy without ent_coef; the minibatch that stopped the
        update is not a step); nan for all four when no step was taken}.
    """
    # TODO(w13.ppo): run the PPO epochs described above and return their statistics.
    raise NotImplementedError("w13.ppo: write ppo_update in exercises/week13_alignment/ppo.py")
