"""Direct preference optimisation (Rafailov et al. 2023) and IPO (Azar et al. 2023) from log-probs,
and one DPO training step on the week-05 GPT.

DPO's implicit reward of a response is beta * log(pi / pi_ref)(response | prompt); the loss is the
Bradley-Terry loss of those rewards, so no reward model and no sampling are needed.
Check: `python tracker.py check w13.dpo`
"""

import torch
import torch.nn.functional as F

from .logprobs import sequence_logprobs


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The DPO loss and the implicit rewards.

    h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected) per pair;
    loss = mean of -(1 - label_smoothing) * log sigmoid(beta * h) - label_smoothing * log sigmoid(-beta * h)
    (label_smoothing = eps: the labels are assumed flipped with probability eps, "conservative DPO";
    eps = 0 is plain DPO). Stable for |beta * h| near 1000. When the policy equals the reference,
    h = 0 and the loss is ln 2 whatever beta and eps.
    Example: policy - reference = +1.5 on chosen and -0.5 on rejected, beta 0.5 -> h = 2, loss
    -log sigmoid(1) = 0.3133, chosen_rewards [0.75], rejected_rewards [-0.25].

    Args:
        policy_chosen_logps, policy_rejected_logps: (B,) log pi(response | prompt), summed over the
            response tokens (logprobs.sequence_logprobs), with gradient.
        ref_chosen_logps, ref_rejected_logps: (B,) the same under the frozen reference.
        beta: the KL strength; larger keeps the policy closer to the reference.
        label_smoothing: eps in [0, 0.5).

    Returns:
        (loss, chosen_rewards, rejected_rewards): the scalar loss (gradient through the policy
        log-probs only) and the detached (B,) implicit rewards beta * (policy - ref) of each side.
    """
    # TODO(w13.dpo): return the DPO loss and both implicit rewards, finite for any margin.
    raise NotImplementedError("w13.dpo: write dpo_loss in exercises/week13_alignment/dpo.py")


def ipo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
) -> torch.Tensor:
    """IPO: mean of (h - 1 / (2 beta))^2 with h as in dpo_loss.

    A squared loss with its minimum at the margin h = 1 / (2 beta), so the margin cannot grow
    without bound as in DPO. trl's loss_type="ipo" applies it to per-token mean log-probs
    (sequence_logprobs(..., average=True)). Example: h = 0, beta 0.5 -> 1.0.

    Returns:
        A scalar, gradient through the policy log-probs only.
    """
    # TODO(w13.dpo): return the IPO loss defined above.
    raise NotImplementedError("w13.dpo: write ipo_loss in exercises/week13_alignment/dpo.py")


def dpo_step(
    policy: torch.nn.Module,
    reference: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    optimizer,
    beta: float = 0.1,
) -> dict[str, float]:
    """One DPO optimisation step on a batch of preference pairs.

    Log-probs with sequence_logprobs (summed) of the policy (with gradient) and of the reference
    (under torch.no_grad), chosen and rejected; dpo_loss; optimizer.zero_grad(); backward; step.
    The models are week-05 GPTs: model(idx) -> (logits, None). The batch is not modified, the
    reference's weights stay as they are, and both models keep their train/eval mode.
    Example: at the first step, when the policy is a copy of the reference, "loss" is ln 2 =
    0.6931, "margin" 0.0 and "accuracy" 0.0 (no pair is strictly above 0 yet).

    Args:
        policy: the model being trained.
        reference: the frozen reference (not updated).
        batch: "chosen_ids", "chosen_mask", "rejected_ids", "rejected_mask", each (B, T):
            prompt + response right-padded ids, and 1 at the response tokens.
        optimizer: over the policy's parameters: anything with zero_grad() and step().
        beta: DPO's beta.

    Returns:
        {"loss": the loss before the step, "margin": mean chosen_rewards - rejected_rewards,
        "accuracy": fraction of pairs with chosen_rewards > rejected_rewards}.
    """
    # TODO(w13.dpo): take one DPO step on the batch and return its statistics.
    raise NotImplementedError("w13.dpo: write dpo_step in exercises/week13_alignment/dpo.py")
