"""Checks for w09.mixed_precision: amp_train_step with bf16 autocast on CPU and fp16 + GradScaler.

Oracles: a plain float32 step on a copy of the model (equal for dtype=float32; close, within
bf16/fp16 rounding, otherwise), a forward hook that sees the dtype a Linear produced, and SGD (whose
update is proportional to the gradient) to see whether clipping saw scaled or true gradients.
"""

import copy

import pytest
import torch

from roadmap.checking import assert_close, learner_first
from roadmap.impl import load

from .support import batch, tiny_gpt

mod = load("week09_training.precision")


@pytest.fixture(scope="module", autouse=True)
def step_first():
    """The learner's step before any optimizer exists (torch.optim's first one imports
    torch._dynamo, seconds): an untouched stub is todo at once."""
    learner_first(mod.amp_train_step, None, None, None, None)


def fp32_step(model, x, y, lr, clip=0.0):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    _, loss = model(x, y)
    loss.backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item()


def test_float32_is_a_plain_step():
    model = tiny_gpt(seed=1)
    ref = copy.deepcopy(model)
    x, y = batch(1, B=3, T=7)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = mod.amp_train_step(model, opt, x, y, dtype=torch.float32)
    ref_loss = fp32_step(ref, x, y, 0.1)
    assert abs(loss - ref_loss) < 1e-6, (
        f"amp_train_step(dtype=float32) returned loss {loss}, expected {ref_loss}\n  likely "
        "cause: return loss.item() of the loss itself"
    )
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        assert_close(
            p.detach(),
            q.detach(),
            what=f"amp_train_step(dtype=float32) then {name}",
            hint="backward, optimizer.step(), then zero_grad: one plain step",
            atol=1e-6,
        )
        assert p.grad is None, (
            f"amp_train_step left a gradient on {name}\n  likely cause: finish with "
            "optimizer.zero_grad(set_to_none=True)"
        )


def test_bf16_runs_the_matmuls_in_bf16_and_keeps_fp32_weights():
    model = tiny_gpt(seed=2)
    ref = copy.deepcopy(model)
    x, y = batch(2, B=2, T=7)
    seen = []
    model.transformer.h[0].mlp.c_fc.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = mod.amp_train_step(model, opt, x, y, dtype=torch.bfloat16)
    assert seen and seen[0] == torch.bfloat16, (
        f"amp_train_step(dtype=bfloat16): the first block's mlp.c_fc produced {seen[:1]}, "
        "expected torch.bfloat16\n  likely cause: run the forward pass inside torch.autocast("
        "device_type=x.device.type, dtype=dtype)"
    )
    wrong = [n for n, p in model.named_parameters() if p.dtype != torch.float32]
    assert not wrong, (
        f"amp_train_step(dtype=bfloat16) changed parameters to another dtype: {wrong[:3]}\n  "
        "likely cause: never cast the model; autocast casts inside each op, weights stay fp32"
    )
    ref_loss = fp32_step(ref, x, y, 0.1)
    assert abs(loss - ref_loss) < 0.05, (
        f"amp_train_step(bf16) returned loss {loss}, the float32 loss is {ref_loss}"
    )
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        assert_close(
            p.detach(),
            q.detach(),
            what=f"amp_train_step(dtype=bfloat16, SGD lr=0.1) then {name} vs a float32 step",
            hint="one optimizer step on the gradients of the autocast forward pass",
            atol=2e-3,
            rtol=2e-2,
        )


def test_fp16_with_grad_scaler_clips_the_true_gradients():
    """GradScaler(init_scale=1024), fp16 autocast, clip 0.05 (the true norm is ~1): the update must
    equal a float32 step clipped to 0.05; clipping the scaled gradients (norm ~1000) would shrink
    the update 1024-fold. The returned loss is the loss, not loss * 1024."""
    model = tiny_gpt(seed=3)
    ref = copy.deepcopy(model)
    x, y = batch(3, B=3, T=7)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    loss = mod.amp_train_step(model, opt, x, y, dtype=torch.float16, scaler=scaler, grad_clip=0.05)
    ref_loss = fp32_step(ref, x, y, 0.5, clip=0.05)
    assert abs(loss - ref_loss) < 0.05, (
        f"amp_train_step(fp16, scaler) returned {loss}, the float32 loss is {ref_loss}\n  likely "
        "cause: return the unscaled loss.item(), not the scaled loss"
    )
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        assert_close(
            p.detach(),
            q.detach(),
            what=f"amp_train_step(fp16, GradScaler(1024), grad_clip=0.05) then {name}",
            hint="call scaler.unscale_(optimizer) before clipping, so the clip sees the true "
            "gradients; then scaler.step(optimizer) and scaler.update()",
            atol=2e-4,
            rtol=2e-2,
        )
    assert all(p.grad is None for p in model.parameters()), (
        "amp_train_step left gradients behind\n  likely cause: optimizer.zero_grad(set_to_none=True)"
        " at the end"
    )


def test_clip_without_a_scaler():
    """float32, no scaler, grad_clip=0.05 (the true norm is ~1): exactly a float32 step with
    torch.nn.utils.clip_grad_norm_(..., 0.05)."""
    model = tiny_gpt(seed=5)
    ref = copy.deepcopy(model)
    x, y = batch(5, B=3, T=7)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    mod.amp_train_step(model, opt, x, y, dtype=torch.float32, grad_clip=0.05)
    fp32_step(ref, x, y, 0.5, clip=0.05)
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        assert_close(
            p.detach(),
            q.detach(),
            what=f"amp_train_step(dtype=float32, no scaler, grad_clip=0.05) then {name}",
            hint="grad_clip > 0 clips the gradients before the step with or without a scaler "
            "(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip))",
            atol=1e-6,
        )


def test_an_overflow_skips_the_step_and_lowers_the_scale():
    """GradScaler(init_scale=2**40): fp16 gradients overflow to inf. scaler.step skips the update
    (the weights stay as they were) and scaler.update() halves the scale to 2**39; without
    update() the scale would stay 2**40 and every later step would overflow too."""
    model = tiny_gpt(seed=4)
    before = [p.detach().clone() for p in model.parameters()]
    x, y = batch(4, B=3, T=7)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**40)
    loss = mod.amp_train_step(model, opt, x, y, dtype=torch.float16, scaler=scaler)
    assert scaler.get_scale() == 2.0**39, (
        f"after an overflowing fp16 step the GradScaler's scale is {scaler.get_scale():.4g}, "
        f"expected 2**39 = {2.0**39:.4g} (halved)\n  likely cause: call scaler.update() after "
        "scaler.step(optimizer): it lowers the scale after inf/NaN gradients"
    )
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters())), (
        "an fp16 step whose gradients overflowed changed the weights\n  likely cause: step "
        "through scaler.step(optimizer), which skips the update on inf/NaN gradients"
    )
    assert 0 < loss < 10, f"amp_train_step returned {loss}: the unscaled loss is about ln 23 = 3.1"
