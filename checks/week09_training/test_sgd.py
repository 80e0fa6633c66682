"""Checks for w09.sgd: SGD with momentum, dampening, Nesterov and coupled weight decay.

Hand-derived first and second steps name the usual mistakes (dampening on the first update, Nesterov
moving along buf, decay after momentum); the oracle for long runs is torch.optim.SGD on a copy of the
same float64 model with the same groups, fed the same batches, its lr rewritten between steps.
"""

import copy

import pytest
import torch
import torch.nn as nn

from roadmap.checking import assert_close, from_scratch
from roadmap.impl import load

from .support import batch, learner_optimizer, tiny_gpt

mod = load("week09_training.sgd")

FORBID = ["torch.optim.SGD", "torch.optim.sgd.sgd"]


def scratch_step(opt, *closure):
    return from_scratch(
        opt.step,
        *closure,
        forbid=FORBID,
        exercise="w09.sgd",
        instead="tensor arithmetic on p, p.grad and state['momentum_buffer']",
    )


def sgd(params, **hyper) -> torch.optim.Optimizer:
    return learner_optimizer(mod.SGD, params, **hyper)


def moves(opt, p: nn.Parameter, grads: list[torch.Tensor]) -> list[torch.Tensor]:
    """p's change at each step, the step fed the next gradient of `grads`."""
    out = []
    for g in grads:
        before = p.detach().clone()
        p.grad = g.clone()
        scratch_step(opt)
        out.append(p.detach() - before)
    return out


def test_plain_sgd_moves_against_the_gradient():
    """momentum 0: p <- p - lr * g at every step; lr=0.1, g = [1, -2, 0.5, 4, 0] then its double."""
    p = nn.Parameter(torch.linspace(-1, 1, 5))
    opt = sgd([p], lr=0.1)
    g = torch.tensor([1.0, -2.0, 0.5, 4.0, 0.0])
    for step, move in enumerate(moves(opt, p, [g, 2 * g]), start=1):
        assert_close(
            move,
            -0.1 * step * g,
            what=f"SGD(lr=0.1).step() with momentum 0, step {step}: the move of p",
            hint="plain SGD moves p by -lr * g (p.add_(g, alpha=-lr)), in place",
            atol=1e-7,
        )


def test_first_update_starts_the_buffer_at_the_gradient_undamped():
    """Hand derivation (the docstring's example): lr=0.1, momentum=0.9, dampening=0.5, g=1 twice.
    Step 1: buf = g = 1 (no dampening on the first update), move -0.1; with dampening it would
    be -0.05. Step 2: buf = 0.9 * 1 + (1 - 0.5) * 1 = 1.4, move -0.14."""
    p = nn.Parameter(torch.zeros(6))
    opt = sgd([p], lr=0.1, momentum=0.9, dampening=0.5)
    first, second = moves(opt, p, [torch.ones(6), torch.ones(6)])
    assert_close(
        first,
        torch.full((6,), -0.1),
        what="SGD(lr=0.1, momentum=0.9, dampening=0.5): the first step's move with g = 1",
        hint="on a parameter's first update the buffer starts as the gradient itself, buf = d "
        "(a copy), with no dampening: torch's first-step rule",
        atol=1e-7,
    )
    assert_close(
        second,
        torch.full((6,), -0.14),
        what="SGD(lr=0.1, momentum=0.9, dampening=0.5): the second step's move with g = 1",
        hint="later updates: buf = momentum * buf + (1 - dampening) * d, the buffer kept in "
        "self.state[p]['momentum_buffer'] between steps; the dampening factor applies from the "
        "second update on",
        atol=1e-7,
    )
    state = opt.state[p]
    assert "momentum_buffer" in state, (
        f"SGD: after two steps self.state[p] has the keys {sorted(state)}; expected "
        "'momentum_buffer'\n  likely cause: keep the velocity in state['momentum_buffer'] (torch's "
        "name: state_dict saves it and a checkpoint loads it)"
    )
    assert_close(
        state["momentum_buffer"],
        torch.full((6,), 1.4),
        what="SGD state['momentum_buffer'] after two steps with g = 1 (momentum 0.9, dampening 0.5)",
        hint="buf is the velocity itself (1 then 0.9 * 1 + 0.5 * 1), not lr * buf",
        atol=1e-7,
    )


def test_nesterov_moves_along_the_gradient_plus_the_velocity():
    """Hand derivation: lr=0.1, momentum=0.9, nesterov, g=1 twice. Step 1: buf = 1, d = 1 + 0.9 *
    1 = 1.9, move -0.19 (moving along buf would give -0.1). Step 2: buf = 0.9 + 1 = 1.9, d = 1 +
    0.9 * 1.9 = 2.71, move -0.271."""
    p = nn.Parameter(torch.zeros(4))
    opt = sgd([p], lr=0.1, momentum=0.9, nesterov=True)
    for step, (move, expected) in enumerate(
        zip(moves(opt, p, [torch.ones(4), torch.ones(4)]), (-0.19, -0.271)), start=1
    ):
        assert_close(
            move,
            torch.full((4,), expected),
            what=f"SGD(lr=0.1, momentum=0.9, nesterov=True), step {step} with g = 1: the move",
            hint="Nesterov moves along d + momentum * buf (buf already updated this step), not "
            "along buf itself",
            atol=1e-7,
        )


def test_weight_decay_is_coupled_through_the_buffer():
    """Zero gradients, wd=0.1, lr=0.5, momentum=0.9. Step 1: d = 0.1 p0 = buf, p1 = 0.95 p0.
    Step 2: d = 0.1 * 0.95 p0 = 0.095 p0, buf = 0.9 * 0.1 p0 + 0.095 p0 = 0.185 p0, p2 = (0.95 -
    0.5 * 0.185) p0 = 0.8575 p0. Decay that skips the buffer (decoupled, or added after momentum)
    gives 0.95 ** 2 p0 = 0.9025 p0."""
    p0 = torch.tensor([2.0, -1.0, 0.5, 3.0, -4.0])
    p = nn.Parameter(p0.clone())
    opt = sgd([p], lr=0.5, momentum=0.9, weight_decay=0.1)
    zero = torch.zeros(5)
    first, second = moves(opt, p, [zero, zero])
    assert_close(
        first,
        -0.05 * p0,
        what="SGD(lr=0.5, momentum=0.9, weight_decay=0.1): the first step with a zero gradient",
        hint="coupled weight decay: d = g + wd * p, then p -= lr * d (so the decay is scaled by lr)",
        atol=1e-6,
    )
    assert_close(
        p.detach(),
        0.8575 * p0,
        what="SGD(lr=0.5, momentum=0.9, weight_decay=0.1): p after two steps with zero gradients",
        hint="coupled weight decay goes through the momentum buffer: add wd * p to the gradient "
        "before the buffer update, not after it and not as a separate p *= 1 - lr * wd",
        atol=1e-6,
    )


def test_momentum_zero_ignores_dampening_and_keeps_no_buffer():
    """momentum=0 with dampening=0.3: plain SGD (moves -lr * g; torch ignores dampening there) and
    no 'momentum_buffer' in the state."""
    p = nn.Parameter(torch.zeros(3))
    opt = sgd([p], lr=0.2, momentum=0.0, dampening=0.3)
    g = torch.tensor([1.0, -1.0, 3.0])
    for step, move in enumerate(moves(opt, p, [g, g]), start=1):
        assert_close(
            move,
            -0.2 * g,
            what=f"SGD(lr=0.2, momentum=0, dampening=0.3), step {step}: the move",
            hint="with momentum 0 there is no buffer: d is used as is and dampening is ignored",
            atol=1e-7,
        )
    assert "momentum_buffer" not in opt.state[p], (
        f"SGD(momentum=0): self.state[p] has the keys {sorted(opt.state[p])}; expected no "
        "'momentum_buffer'\n  likely cause: create the buffer only when the group's momentum is not 0"
    )


def test_parameters_without_grad_are_skipped_and_start_their_own_buffer():
    """a has a gradient at steps 1 and 2, b (wd 0.1, momentum 0.9, dampening 0.5) only at step 2.
    At step 1 b stays put (no decay either) and has no buffer; at step 2 it has its first update:
    buf = d = g + 0.1 * b = 1 + 0.1 = 1.1 undamped, so b moves by -0.1 * 1.1 = -0.11."""
    a, b = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(4))
    opt = sgd([a, b], lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)
    a.grad = torch.ones(3)
    scratch_step(opt)
    assert_close(
        b.detach(),
        torch.ones(4),
        what="SGD.step() on a parameter whose .grad is None",
        hint="skip parameters without a gradient (no weight decay either)",
    )
    assert "momentum_buffer" not in opt.state[b], (
        "SGD.step(): a parameter whose .grad is None got a momentum buffer\n  likely cause: skip "
        "parameters without a gradient before touching their state"
    )
    a.grad, b.grad = torch.ones(3), torch.ones(4)
    scratch_step(opt)
    assert_close(
        b.detach(),
        torch.full((4,), 1 - 0.11),
        what="SGD: b's first update, at the optimizer's second step (b had no grad at step 1)",
        hint="the first-step rule is per parameter: b's buffer starts as its own d = g + wd * p, "
        "undamped, at b's first update, whatever the optimizer's step number",
        atol=1e-7,
    )


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_the_gradient_is_left_as_it_was(wd):
    """Two steps with the same p.grad tensor (a loop that never clears it), momentum 0.9, wd 0 and
    0.1: p.grad still holds g afterwards, and the moves are those of g: d = g + wd * p, buf = d1,
    then 0.9 * d1 + d2. A buffer that is p.grad itself (no copy), or decay added into p.grad in
    place, changes both."""
    p0 = torch.tensor([1.0, -2.0, 0.5])
    g = torch.tensor([0.3, 0.2, -0.4])
    p = nn.Parameter(p0.clone())
    opt = sgd([p], lr=0.1, momentum=0.9, weight_decay=wd)
    p.grad = g.clone()
    scratch_step(opt)
    scratch_step(opt)
    assert_close(
        p.grad,
        g,
        what=f"p.grad after two SGD(momentum=0.9, weight_decay={wd}) steps that share one .grad",
        hint="the step must not write into p.grad: d = g + wd * p is a new tensor, and the first "
        "update's buffer is a copy of d (d.clone()), not the gradient tensor itself",
        atol=1e-7,
    )
    d1 = g + wd * p0
    p1 = p0 - 0.1 * d1
    d2 = g + wd * p1
    expected = p1 - 0.1 * (0.9 * d1 + d2)
    assert_close(
        p.detach(),
        expected,
        what=f"p after two SGD(lr=0.1, momentum=0.9, weight_decay={wd}) steps sharing one .grad",
        hint="the first update's buffer must be a copy of d (d.clone()): a buffer that is the "
        "gradient tensor itself changes when the gradient does",
        atol=1e-6,
    )


def test_step_calls_the_closure_and_returns_its_loss():
    """step(closure): the closure runs first, with gradients enabled, computes loss = sum(p ** 2)
    = 14 and its gradient 2p; lr=0.1 moves p = [1, -2, 3] to 0.8 p."""
    p = nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    opt = sgd([p], lr=0.1)

    def closure():
        p.grad = None
        loss = (p**2).sum()
        loss.backward()
        return loss

    got = scratch_step(opt, closure)
    value = got.detach() if isinstance(got, torch.Tensor) else got
    assert value is not None and float(value) == 14.0, (
        f"SGD.step(closure) returned {got!r}, expected the closure's loss 14.0\n  likely cause: "
        "call the closure first (under torch.enable_grad(): step runs under no_grad) and return "
        "what it returned"
    )
    assert_close(
        p.detach(),
        torch.tensor([0.8, -1.6, 2.4]),
        what="SGD(lr=0.1).step(closure) with the closure's gradient 2p",
        hint="the closure computes the gradients that this step uses",
        atol=1e-6,
    )


COMPARE_AT = (1, 2, 3, 5, 10, 20, 30)  # every step runs in both; these are compared

OPTIONS = {
    "plain": dict(momentum=0.0),
    "momentum": dict(momentum=0.9),
    "dampening": dict(momentum=0.9, dampening=0.3),
    "nesterov": dict(momentum=0.9, nesterov=True),
    "weight_decay": dict(momentum=0.9, weight_decay=0.05),
    "nesterov_weight_decay": dict(momentum=0.8, nesterov=True, weight_decay=0.02),
}

HINT = (
    "compare each line with the docstring's update: d = g + wd * p first; buf = d (a copy) on "
    "a parameter's first update, then momentum * buf + (1 - dampening) * d; Nesterov moves along "
    "d + momentum * buf; lr read from the group at every step"
)


def lr_at(step: int, lr: float) -> float:
    """The check's schedule: lr falls linearly to lr / 2 over the run (written into the groups)."""
    return lr * (1 - step / 60)


def run_both(groups_fn, steps: int = 30, seed: int = 0, set_to_none: bool = True, **hyper):
    """Train two float64 copies of one tiny GPT for `steps` steps on the same batches: ours and
    torch.optim.SGD, built with the same groups and hyper-parameters; yields after each step."""
    ours = tiny_gpt(seed=seed, n_layer=1).double()
    ref = copy.deepcopy(ours)
    opt = sgd(groups_fn(ours), **hyper)
    ref_opt = torch.optim.SGD(groups_fn(ref), **hyper)
    base_lrs = [g["lr"] for g in ref_opt.param_groups]
    for step in range(1, steps + 1):
        for o in (opt, ref_opt):  # a scheduler writes each group's lr before the step
            for group, lr in zip(o.param_groups, base_lrs):
                group["lr"] = lr_at(step, lr)
        x, y = batch(seed * 1000 + step, B=3, T=7)
        for model, o in ((ours, opt), (ref, ref_opt)):
            o.zero_grad(set_to_none=set_to_none)
            model(x, y)[1].backward()
        scratch_step(opt)
        ref_opt.step()
        yield step, ours, ref


def compare(ours, ref, what: str) -> None:
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        assert_close(
            p.detach(),
            q.detach(),
            what=f"{what}: parameter {name}",
            hint=HINT,
            atol=1e-9,
            rtol=1e-9,
        )


@pytest.mark.parametrize("options", list(OPTIONS), ids=list(OPTIONS))
def test_matches_torch_sgd_over_30_steps(options):
    """30 steps of a 1-layer GPT (float64), one group, lr 0.1 falling to 0.05 between steps: equal
    to torch.optim.SGD with the same options (compared after the steps in COMPARE_AT)."""
    hyper = OPTIONS[options]
    for step, ours, ref in run_both(lambda m: m.parameters(), lr=0.1, **hyper):
        if step in COMPARE_AT:
            compare(ours, ref, f"SGD vs torch.optim.SGD ({hyper}) after step {step}")


def three_groups(model: nn.Module) -> list[dict]:
    """Matrices, embeddings and the rest, each with its own lr, momentum, dampening, nesterov and
    weight decay (all different from the constructor's defaults)."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    params = list(model.parameters())
    matrices = [p for p in params if p.dim() >= 2 and id(p) not in embeddings]
    tables = [p for p in params if id(p) in embeddings]
    rest = [p for p in params if p.dim() < 2]
    return [
        {
            "params": matrices,
            "lr": 0.2,
            "momentum": 0.9,
            "dampening": 0.0,
            "nesterov": True,
            "weight_decay": 0.01,
        },
        {"params": tables, "lr": 0.05, "momentum": 0.7, "dampening": 0.4},
        {"params": rest, "lr": 0.3, "momentum": 0.0, "weight_decay": 0.1},
    ]


def test_each_group_uses_its_own_options():
    """Three groups (Nesterov with decay; momentum 0.7 with dampening 0.4; plain SGD with decay)
    over defaults that differ from all of them, each group's lr rewritten between steps, and
    zero_grad(set_to_none=False) (the same .grad tensors are zeroed and refilled every step):
    30 steps equal torch.optim.SGD with the same groups."""
    defaults = dict(lr=0.01, momentum=0.5, dampening=0.1, weight_decay=0.0)
    for step, ours, ref in run_both(three_groups, set_to_none=False, **defaults):
        if step in COMPARE_AT:
            compare(ours, ref, f"SGD vs torch.optim.SGD with three param groups after step {step}")
