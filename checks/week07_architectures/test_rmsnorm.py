"""Checks for w07.rmsnorm: x / sqrt(mean(x^2) + eps) * weight, no mean subtraction, no bias.

Oracles: hand-computed values; transformers' LlamaRMSNorm and torch.nn.functional.rms_norm with the
same weight (computed before the from-scratch guard switches torch's versions off).
"""

from functools import partial

import pytest
import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week07_architectures.rmsnorm")

LIBRARY = ("torch.nn.functional.rms_norm", "torch.rms_norm", "torch.nn.RMSNorm")
NO_MEAN = (
    "RMSNorm does not subtract the mean (that is LayerNorm): divide x by sqrt(mean(x^2) + eps)"
)


run = partial(
    from_scratch,
    forbid=LIBRARY,
    exercise="w07.rmsnorm",
    instead="x * rsqrt(mean(x^2 over the last dim) + eps) * weight",
)


def test_known_answer():
    """x = [3, 4]: mean(x^2) = (9 + 16) / 2 = 12.5, rms = 3.5355, y = [0.8485, 1.1314].

    The row [6, 8] is twice [3, 4], so it normalises to the same values.
    """
    norm = mod.RMSNorm(2, eps=0.0)
    got = run(norm, torch.tensor([[3.0, 4.0], [6.0, 8.0]]))
    names = sorted(name for name, _ in norm.named_parameters())
    assert names == ["weight"], f"RMSNorm(2) parameters: expected ['weight'], got {names}; no bias"
    assert_close(
        got,
        torch.tensor([[3.0, 4.0], [3.0, 4.0]]) / 12.5**0.5,
        what="RMSNorm(2, eps=0)([[3, 4], [6, 8]])",
        hint=NO_MEAN + "; the mean is over the last dim (each row alone), not over the batch",
    )


def test_constant_vector_is_not_zeroed():
    """[2, 2, 2, 2] has rms 2, so it normalises to ones; a mean-subtracting norm would give zeros."""
    norm = mod.RMSNorm(4, eps=0.0)
    got = run(norm, torch.full((1, 4), 2.0))
    assert_close(got, torch.ones(1, 4), what="RMSNorm(4, eps=0)([2, 2, 2, 2])", hint=NO_MEAN)


@pytest.mark.parametrize("shape,eps,scale", [((2, 7, 37), 1e-5, 1.0), ((1, 3, 8), 1e-6, 1000.0)])
def test_matches_transformers_llama_rmsnorm(shape, eps, scale):
    g = generator(shape[-1])
    x = torch.randn(*shape, generator=g) * scale + 0.7 * scale  # a nonzero mean on purpose
    weight = torch.randn(shape[-1], generator=g)
    ours = mod.RMSNorm(shape[-1], eps=eps)
    with torch.no_grad():
        ours.weight.copy_(weight)
    got = run(ours, x)  # the learner's first: a stub is todo before transformers loads (seconds)
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    oracle = LlamaRMSNorm(shape[-1], eps=eps)
    with torch.no_grad():
        oracle.weight.copy_(weight)
    assert_close(
        got,
        oracle(x),
        what=f"RMSNorm({shape[-1]}, eps={eps})(x {shape})",
        hint=NO_MEAN + "; eps goes inside the square root; multiply by weight last",
    )
    assert_close(
        run(ours, x),
        F.rms_norm(x, (shape[-1],), weight, eps),
        what="RMSNorm vs torch.nn.functional.rms_norm",
    )


def test_bfloat16_model_stays_bfloat16_and_is_accurate():
    """transformers computes in float32 and casts back; so should you (bf16 has 8 bits of mantissa)."""
    x = (torch.randn(2, 5, 64, generator=generator(3)) * 30).to(torch.bfloat16)
    got = run(mod.RMSNorm(64).to(torch.bfloat16), x)
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    assert got.dtype == torch.bfloat16, f"RMSNorm on bf16 input returned {got.dtype}, expected bf16"
    assert_close(
        got,
        LlamaRMSNorm(64, eps=1e-6).to(torch.bfloat16)(x),
        what="RMSNorm(64)(x bf16)",
        atol=2e-2,
        rtol=2e-2,
        hint="compute the mean of squares in float32 (x.float()) and cast the result back",
    )


def test_bfloat16_math_is_done_in_float32():
    """Computed in float32 and rounded once: every output is within half a bf16 step (2^-8
    relative) of the exact float32 answer. Squaring, averaging and rsqrt in bf16 round four times
    and land up to twice as far."""
    x = (torch.randn(4, 8, 256, generator=generator(12)) * 3).to(torch.bfloat16)
    got = run(mod.RMSNorm(256).to(torch.bfloat16), x).float()
    x32 = x.float()
    exact = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + 1e-6)
    rel = ((got - exact).abs() / exact.abs().clamp(min=1e-6)).max().item()
    assert rel <= 2**-8 + 1e-4, (
        f"RMSNorm(256)(x bf16): max relative error {rel:.4f} against the float32 computation, more "
        "than one bf16 rounding (0.0039); likely cause: the mean of squares was computed in bf16: "
        "compute in float32 (x.float()) and cast the result back once"
    )


@pytest.mark.parametrize("eps", [1e-2, 0.25])
def test_configured_eps_inside_the_root_on_near_zero_rows(eps):
    """Rows of +-0.1: mean(x^2) = 0.01, the same order as eps, so eps decides the output.
    y = x / sqrt(0.01 + eps); eps outside the root gives x / (0.1 + eps), a hard-coded 1e-6 x / 0.1.
    """
    x = torch.tensor([[0.1, -0.1, 0.1, -0.1], [-0.1, -0.1, 0.1, 0.1]])
    got = run(mod.RMSNorm(4, eps=eps), x)
    ms = 0.01
    candidates = {
        "eps goes inside the square root: x / sqrt(mean(x^2) + eps), not x / (rms + eps)": x
        / (ms**0.5 + eps),
        "use the configured self.eps, not a hard-coded constant": x / (ms + 1e-6) ** 0.5,
        "use the configured self.eps, not a hard-coded constant (1e-5?)": x / (ms + 1e-5) ** 0.5,
    }
    hint = "y = x / sqrt(mean(x^2) + self.eps) * weight, with the eps given to the constructor"
    for cause, wrong in candidates.items():
        if torch.allclose(got, wrong, atol=1e-4):
            hint = cause
    assert_close(
        got, x / (ms + eps) ** 0.5, what=f"RMSNorm(4, eps={eps})(rows of +-0.1)", hint=hint
    )


def test_output_ignores_the_scale_of_the_input():
    x = torch.randn(3, 11, generator=generator(4))
    norm = mod.RMSNorm(11, eps=1e-12)
    assert_close(
        run(norm, 50.0 * x), run(norm, x), what="RMSNorm(50 x) vs RMSNorm(x)", hint=NO_MEAN
    )
