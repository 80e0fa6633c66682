"""Checks for w09.clip: clip_grad_norm against torch.nn.utils.clip_grad_norm_ on copied gradients.

Hand example (the docstring's): grads [3, 0] and [4] have global norm 5; max_norm 1 scales both by
1 / (5 + 1e-6): [0.6, 0], [0.8].
"""

import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week09_training.clip")

FORBID = [
    "torch.nn.utils.clip_grad_norm_",
    "torch.nn.utils.clip_grad_norm",
    "torch.nn.utils.clip_grads_with_norm_",
    "torch.nn.utils.get_total_norm",
    "torch.nn.utils.clip_grad.clip_grad_norm_",
]


def clip(params, max_norm):
    return from_scratch(
        mod.clip_grad_norm,
        params,
        max_norm,
        forbid=FORBID,
        exercise="w09.clip",
        instead="sum of squares over every gradient, sqrt, one scale factor",
    )


def params_with_grads(seed: int, scale: float, shapes=((7, 3), (5,), (2, 3, 4))):
    g = generator(seed)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(torch.randn(shape, generator=g))
        p.grad = torch.randn(shape, generator=g) * scale
        params.append(p)
    return params


def test_hand_example():
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    total = clip([a, b], 1.0)
    assert isinstance(total, torch.Tensor) and total.dim() == 0, (
        f"clip_grad_norm returned {total!r}; expected a 0-dim float32 tensor (as "
        "torch.nn.utils.clip_grad_norm_ returns), not a Python float or a list"
    )
    assert_close(
        torch.as_tensor(total),
        torch.tensor(5.0),
        what="clip_grad_norm(grads [3, 0] and [4], 1.0) return value",
        hint="return the global norm BEFORE clipping: sqrt of the sum of squares of all grads",
    )
    assert_close(
        torch.cat([a.grad, b.grad]),
        torch.tensor([0.6, 0.0, 0.8]),
        what="clip_grad_norm(grads [3, 0] and [4], 1.0): the clipped gradients",
        hint="one global scale max_norm / (total + 1e-6) for every tensor (not per tensor)",
    )


def test_matches_torch_when_clipping():
    """Large gradients (norm ~ 40) clipped to 0.5: grads and return value equal torch's."""
    ours, ref = params_with_grads(1, 5.0), params_with_grads(1, 5.0)
    total = clip(ours, 0.5)
    expected = torch.nn.utils.clip_grad_norm_(ref, 0.5)
    assert_close(
        torch.as_tensor(total).float(),
        expected,
        what="clip_grad_norm(3 tensors, max_norm=0.5) return value",
        hint="return the norm measured before clipping, not after (which would be max_norm); "
        "the global L2 norm: sqrt of the sum of g ** 2 over all gradients",
        rtol=1e-5,
    )
    for p, q in zip(ours, ref):
        assert_close(
            p.grad,
            q.grad,
            what=f"clip_grad_norm(..., max_norm=0.5): gradient of shape {tuple(p.shape)}",
            hint="scale every gradient by the same global factor max_norm / (total + 1e-6)",
            rtol=1e-5,
            atol=1e-7,
        )


def test_small_gradients_are_left_alone():
    """Norm ~ 0.04 < max_norm 1: the gradients are unchanged (never scaled up)."""
    ours = params_with_grads(2, 0.005)
    before = [p.grad.clone() for p in ours]
    total = clip(iter(ours), 1.0)  # a one-shot iterator, like model.parameters()
    expected = torch.sqrt(sum((b**2).sum() for b in before))
    assert_close(
        torch.as_tensor(total).float(),
        expected,
        what="clip_grad_norm(iter(params), 1.0) return value (a generator as input)",
        hint="iterate `parameters` once (it may be a generator); the L2 norm is the sqrt of the "
        "sum of squares",
        rtol=1e-5,
    )
    for p, b in zip(ours, before):
        assert_close(
            p.grad,
            b,
            what="clip_grad_norm(...) when the norm is below max_norm",
            hint="never scale up: the factor is min(1, max_norm / (total + 1e-6))",
        )


def test_parameters_without_grad_are_skipped():
    a = torch.nn.Parameter(torch.ones(3))
    b = torch.nn.Parameter(torch.ones(2))
    a.grad = torch.tensor([0.0, 6.0, 8.0])
    total = clip([b, a], 5.0)
    assert b.grad is None, "clip_grad_norm gave a gradient to a parameter that had none"
    assert abs(float(total) - 10.0) < 1e-5, (
        f"clip_grad_norm([no grad, grad [0, 6, 8]], 5) returned {float(total)}, expected 10.0\n"
        "  likely cause: skip parameters whose .grad is None; L2 norm of [0, 6, 8] is 10"
    )
    assert_close(
        a.grad,
        torch.tensor([0.0, 3.0, 4.0]),
        what="clip_grad_norm([no grad, grad [0, 6, 8]], 5.0)",
        hint="scale by 5 / (10 + 1e-6)",
    )


def test_the_1e6_matters_for_tiny_gradients():
    """Grads [3e-6, 0] and [4e-6] (total 5e-6), max_norm 2e-6: the factor is 2e-6 / (5e-6 + 1e-6)
    = 1/3, as torch.nn.utils.clip_grad_norm_ gives; without the 1e-6 it would be 0.4."""
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3e-6, 0.0]), torch.tensor([4e-6])
    total = clip([a, b], 2e-6)
    assert abs(float(total) - 5e-6) < 1e-11, (
        f"clip_grad_norm returned {float(total)}, expected 5e-6"
    )
    assert_close(
        torch.cat([a.grad, b.grad]),
        torch.tensor([1e-6, 0.0, 4e-6 / 3]),
        what="clip_grad_norm(grads [3e-6, 0] and [4e-6], max_norm=2e-6)",
        hint="the factor is min(1, max_norm / (total + 1e-6)): keep the 1e-6, it decides the "
        "result when the norm itself is tiny",
        atol=1e-12,
        rtol=1e-5,
    )


def test_no_gradient_at_all_returns_zero():
    params = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))]
    try:
        total = clip(params, 1.0)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - reported with its likely cause
        raise AssertionError(
            f"clip_grad_norm(parameters none of which has a grad, 1.0) raised {error!r}\n  likely "
            "cause: when no parameter has a grad, return tensor(0.) (the sum over an empty list "
            "is the int 0, and torch.sqrt(0) fails)"
        ) from error
    assert isinstance(total, torch.Tensor) and float(total) == 0.0, (
        f"clip_grad_norm(parameters none of which has a grad) returned {total!r}, expected "
        "tensor(0.)\n  likely cause: when no parameter has a grad, return a zero tensor (the sum "
        "over an empty list is the int 0, and torch.sqrt(0) fails)"
    )
    assert all(p.grad is None for p in params), "clip_grad_norm gave a gradient to a parameter"
