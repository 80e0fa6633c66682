"""Checks for w14.distill: the distillation loss and a short student run.

Oracles: a hand computation (2 classes, numbers below); the identity KL = CE for T = 1 and a
one-hot teacher; the T^2 factor (scaling T changes the soft term as derived); no gradient to the
teacher; a 2-layer-MLP student whose distillation loss falls over 60 steps.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from roadmap.checking import adam, assert_close, generator
from roadmap.impl import load

mod = load("week14_quantization.distill")


def test_known_answer_two_classes():
    """student [0, 0], teacher [ln 3, 0], target 1, T = 1, alpha = 0.5:
    p_t = [3/4, 1/4], p_s = [1/2, 1/2]; KL = 3/4 ln(3/2) + 1/4 ln(1/2); CE = ln 2;
    loss = 0.5 * KL + 0.5 * ln 2."""
    s = torch.zeros(1, 2)
    t = torch.tensor([[math.log(3.0), 0.0]])
    kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    got = mod.distillation_loss(s, t, torch.tensor([1]), temperature=1.0, alpha=0.5)
    assert_close(
        got,
        torch.tensor(0.5 * kl + 0.5 * math.log(2)),
        what="distillation_loss(student [0, 0], teacher [ln 3, 0], target 1, T=1, alpha=0.5)",
        hint="KL(p_teacher || p_student) = sum p_t (log p_t - log p_s): teacher first, summed "
        "over the vocabulary and averaged over the rows",
        atol=1e-6,
    )
    assert got.dim() == 0, f"distillation_loss must return a scalar, got shape {tuple(got.shape)}"


def test_temperature_and_t_squared():
    """T = 2, alpha = 1 on student [0, 0], teacher [2 ln 3, 0]: teacher / T = [ln 3, 0], so the
    soft term is T^2 * KL = 4 * (3/4 ln(3/2) + 1/4 ln(1/2))."""
    s = torch.zeros(1, 2)
    t = torch.tensor([[2 * math.log(3.0), 0.0]])
    kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    got = mod.distillation_loss(s, t, torch.tensor([0]), temperature=2.0, alpha=1.0)
    assert_close(
        got,
        torch.tensor(4 * kl),
        what="distillation_loss(T=2, alpha=1, teacher [2 ln 3, 0])",
        hint="divide BOTH logits by T before the softmax, and multiply the KL by T^2; alpha "
        "weighs the soft term",
        atol=1e-6,
    )


@pytest.mark.parametrize("shape", [(3, 7, 11), (5, 11)])
def test_one_hot_teacher_at_t1_is_cross_entropy(shape):
    """alpha = 1, T = 1, teacher = 1e4 at the target: p_t is one-hot, H(p_t) = 0, so
    KL = -log p_s(target) = CE; averaged over all positions (B*T rows), like F.cross_entropy."""
    logits = torch.randn(*shape, generator=generator(0)) * 3
    targets = torch.randint(0, shape[-1], shape[:-1], generator=generator(1))
    teacher = F.one_hot(targets, shape[-1]).float() * 1e4
    got = mod.distillation_loss(logits, teacher, targets, temperature=1.0, alpha=1.0)
    ce = F.cross_entropy(logits.reshape(-1, shape[-1]), targets.reshape(-1))
    assert_close(
        got,
        ce,
        what=f"distillation_loss(student {shape}, one-hot teacher, T=1, alpha=1)",
        hint="KL summed over the vocabulary, then averaged over the rows (positions), not over "
        "every entry; teacher first in KL",
        atol=1e-4,
    )
    hard = mod.distillation_loss(logits, torch.randn(*shape), targets, temperature=3.0, alpha=0.0)
    assert_close(
        hard,
        ce,
        what=f"distillation_loss(alpha=0) for {shape}",
        hint="(1 - alpha) * CE at temperature 1: alpha weighs the SOFT term",
        atol=1e-5,
    )


def test_teacher_gets_no_gradient_student_does():
    s = torch.randn(4, 6, generator=generator(2), requires_grad=True)
    t = torch.randn(4, 6, generator=generator(3), requires_grad=True)
    mod.distillation_loss(s, t, torch.tensor([0, 1, 2, 3]), 2.0, 0.5).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0, "no gradient reached the student logits"
    assert t.grad is None or t.grad.abs().sum() == 0, (
        "distillation_loss sent a gradient into the teacher's logits: detach them"
    )


class Optimizer:
    """A stand-in optimizer: Adam from roadmap.checking (its step also clears the gradients)."""

    def __init__(self, params, lr):
        self._step = adam(params, lr)

    def zero_grad(self):
        pass

    def step(self):
        self._step()


def test_student_run_lowers_the_loss():
    torch.manual_seed(0)
    V = 11
    teacher = nn.Sequential(nn.Embedding(V, 32), nn.Tanh(), nn.Linear(32, V))
    with torch.no_grad():
        teacher[2].weight.mul_(5)
    student = nn.Sequential(nn.Embedding(V, 8), nn.Linear(8, V))
    x = torch.randint(0, V, (4, 7), generator=generator(4))
    batches = [(x, torch.roll(x, -1, dims=1))]
    t_before = [p.detach().clone() for p in teacher.parameters()]
    opt = Optimizer(student.parameters(), 0.05)
    losses = mod.distill_student(student, teacher, batches, opt, 60, temperature=2.0, alpha=1.0)
    assert len(losses) == 60 and all(isinstance(v, float) for v in losses), (
        f"distill_student must return 60 float losses, got {len(losses)} "
        f"{type(losses[0]).__name__ if losses else ''}"
    )
    assert losses[-1] < 0.5 * losses[0], (
        f"distill_student: loss {losses[0]:.3f} -> {losses[-1]:.3f} in 60 steps, expected to halve"
        "\n  likely cause: zero_grad/step missing, the loss not from the student's logits, or "
        "the temperature and alpha arguments not passed on to distillation_loss (alpha=1 here)"
    )
    assert all(torch.equal(a, b) for a, b in zip(t_before, teacher.parameters())), (
        "distill_student changed the teacher's weights"
    )
    assert student.training and not teacher.training, (
        "after distill_student the student must be in train mode and the teacher in eval mode"
    )


class PlainSGD:
    """Plain SGD over the student's parameters: zero_grad() sets the gradients to None, step()
    moves each parameter by -lr * grad (an accumulated or missing gradient changes the result)."""

    def __init__(self, params, lr: float):
        self.params, self.lr = list(params), lr

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= self.lr * p.grad


def soft_hard_loss(s, t, y, T, alpha):
    """alpha T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) CE(s, y), written with F.kl_div."""
    V = s.shape[-1]
    s, t = s.reshape(-1, V), t.reshape(-1, V)
    kl = F.kl_div(
        F.log_softmax(s / T, -1), F.log_softmax(t / T, -1), log_target=True, reduction="batchmean"
    )
    return alpha * T**2 * kl + (1 - alpha) * F.cross_entropy(s, y.reshape(-1))


def test_student_run_follows_the_batches_and_its_settings():
    """Three batches, 7 steps, T = 3, alpha = 0.3, a teacher with dropout (eval mode makes it
    deterministic) and a student handed over in eval mode: the losses and the final weights equal
    a reference loop that uses batches[i % 3] at step i, both settings, one fresh gradient per
    step; afterwards the student is in train mode."""
    torch.manual_seed(3)
    V = 9
    teacher = nn.Sequential(nn.Embedding(V, 16), nn.Dropout(0.3), nn.Linear(16, V))
    student = nn.Sequential(nn.Embedding(V, 6), nn.Linear(6, V)).eval()
    batches = []
    for seed in (5, 6, 7):
        x = torch.randint(0, V, (3, 4), generator=generator(seed))
        batches.append((x, torch.roll(x, -1, dims=1)))
    ref = [p.detach().clone().requires_grad_() for p in student.parameters()]
    teacher.eval()
    expected = []
    for i in range(7):
        x, y = batches[i % 3]
        with torch.no_grad():
            t_logits = teacher(x)
        s_logits = F.linear(F.embedding(x, ref[0]), ref[1], ref[2])  # the student, ref weights
        loss = soft_hard_loss(s_logits, t_logits, y, 3.0, 0.3)
        grads = torch.autograd.grad(loss, ref)
        with torch.no_grad():
            for p, g in zip(ref, grads):
                p -= 0.1 * g
        expected.append(loss.item())
    teacher.train()
    opt = PlainSGD(student.parameters(), lr=0.1)
    got = mod.distill_student(student, teacher, batches, opt, 7, temperature=3.0, alpha=0.3)
    assert len(got) == 7 and all(abs(a - b) < 1e-5 for a, b in zip(got, expected)), (
        f"distill_student(3 batches, 7 steps, T=3, alpha=0.3) losses {[round(v, 4) for v in got]}, "
        f"expected {[round(v, 4) for v in expected]}\n  likely cause: step i uses "
        "batches[i % len(batches)]; distillation_loss gets the temperature and alpha arguments; "
        "optimizer.zero_grad() before each backward, so each step uses its own gradient; the "
        "teacher runs in eval mode"
    )
    for p, q in zip(student.parameters(), ref):
        assert_close(
            p.detach(),
            q.detach(),
            what="the student's weights after distill_student(3 batches, 7 steps, T=3, alpha=0.3)",
            hint="zero_grad, backward, step once per step, in that order: a zero_grad between "
            "backward and step (or none at all) changes the update",
            atol=1e-5,
        )
    assert student.training, (
        "distill_student left a student that came in eval mode in eval mode\n  likely cause: "
        "put the student in train mode (student.train()) before the loop"
    )
