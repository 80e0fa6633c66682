"""Week 14: knowledge distillation: a small student learns the teacher's whole distribution.

The soft targets softmax(teacher / T) carry the teacher's "dark knowledge" (which wrong answers are
almost right); a temperature T > 1 flattens them so that knowledge is visible. Hinton et al. multiply
the soft term by T^2 because its gradients shrink as 1/T^2, so the balance with the hard-label term
stays the same when T changes.

Reference: Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network".
Check: `python tracker.py check w14.distill`
"""

import torch
import torch.nn.functional as F
from torch import nn


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float = 2.0,
    alpha: float = 0.5,
) -> torch.Tensor:
    """alpha * T^2 * KL(p_teacher || p_student) + (1 - alpha) * CE(student_logits, targets).

    p_teacher = softmax(teacher_logits / T), p_student = softmax(student_logits / T), both over the
    last dimension; KL = sum_v p_t (log p_t - log p_s), averaged over all positions (every row of
    the flattened (N, V) logits). CE is the ordinary mean cross-entropy at temperature 1. The
    teacher gets no gradient.

    Args:
        student_logits: (..., V), e.g. (B, T, V).
        teacher_logits: same shape.
        targets: (...) int64 class ids.
        temperature: T > 0.
        alpha: weight of the soft term in [0, 1].

    Returns:
        A scalar tensor. With T = 1, alpha = 1 and a one-hot teacher (a huge logit at the target),
        KL = CE(student, target): the soft loss becomes the hard one.
    """
    V = student_logits.shape[-1]
    s = student_logits.reshape(-1, V)
    t = teacher_logits.detach().reshape(-1, V)
    log_ps = F.log_softmax(s / temperature, dim=-1)
    log_pt = F.log_softmax(t / temperature, dim=-1)
    # subtle: KL(teacher || student) = sum p_t (log p_t - log p_s); mean over rows, not entries
    kl = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1).mean()
    ce = F.cross_entropy(s, targets.reshape(-1))
    return alpha * temperature**2 * kl + (1 - alpha) * ce


def distill_student(
    student: nn.Module,
    teacher: nn.Module,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    optimizer,
    steps: int,
    temperature: float = 2.0,
    alpha: float = 0.5,
) -> list[float]:
    """Train `student` for `steps` optimizer steps on distillation_loss.

    Step i uses batches[i % len(batches)] = (x, y); both models are called as model(x) and must
    return logits (B, T, V) (for the week-05 GPT wrap it: lambda x: gpt(x)[0] inside a Module, see
    the check). The teacher runs in eval mode under torch.no_grad(); the student is put in train
    mode (whatever mode it came in) and left there. `optimizer` is anything with zero_grad() and
    step() over the student's parameters (a torch.optim.AdamW in the project); each step runs
    optimizer.zero_grad(), the backward of that step's distillation_loss (with the temperature and
    alpha given here), then optimizer.step(), so every step uses its own gradient only.
    Example: 3 batches and steps=7 use batches 0, 1, 2, 0, 1, 2, 0.

    Returns:
        the loss of every step (floats), before that step's update.
    """
    teacher.eval()
    student.train()
    losses = []
    for i in range(steps):
        x, y = batches[i % len(batches)]
        with torch.no_grad():
            t_logits = teacher(x)
        loss = distillation_loss(student(x), t_logits, y, temperature, alpha)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
