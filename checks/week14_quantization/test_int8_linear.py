"""Checks for w14.int8_linear: int8 x int8 -> int32 matmul with per-token and per-channel scales.

Oracles: a hand-worked 1x2 @ 2x1 product; the integer property (y / (x_scale * w_scale) must be an
integer matrix: every product was summed exactly before the rescale); torch's float matmul with an
error bound; nn.Linear for the module.
"""

import torch
from torch import nn

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week14_quantization.int8_linear")


def test_known_answer():
    """x = [[1.0, -0.5]]: x_scale = 1/127, q_x = [127, -64] (-63.5 rounds half-to-even to -64);
    avoid the tie: x = [[1.0, -0.25]] -> q_x = [127, -32] (-31.75 -> -32).
    q_w = [[2, 3]], w_scale = [[0.5]]: acc = 127*2 - 32*3 = 158, y = 158 / 127 * 0.5."""
    y = mod.int8_matmul(
        torch.tensor([[1.0, -0.25]]),
        torch.tensor([[2, 3]], dtype=torch.int8),
        torch.tensor([[0.5]]),
    )
    assert_close(
        y,
        torch.tensor([[158 / 127 * 0.5]]),
        what="int8_matmul([[1, -0.25]], q_w=[[2, 3]], w_scale=[[0.5]])",
        hint="quantise x per row with absmax (scale max|x|/127), int32 q_x @ q_w.T, then multiply "
        "by x_scale and w_scale",
    )


def test_output_is_an_integer_matrix_times_the_scales():
    """The docstring's promise: y / (x_scale * w_scale.T) is an integer matrix (int32 accumulate),
    which a float matmul on dequantised x and W would not give. Tolerance: float32 rescaling
    leaves a relative error of a few 1e-7 of |acc|."""
    x = torch.randn(2, 7, 36, generator=generator(0)) * 3
    q_w = torch.randint(-127, 128, (10, 36), generator=generator(1), dtype=torch.int8)
    w_scale = torch.rand(10, 1, generator=generator(2)) * 0.01 + 1e-3
    y = mod.int8_matmul(x, q_w, w_scale)
    assert tuple(y.shape) == (2, 7, 10), (
        f"int8_matmul((2, 7, 36), (10, 36)): shape {tuple(y.shape)}"
    )
    x_scale = x.abs().amax(-1, keepdim=True) / 127  # (2, 7, 1)
    acc = y.double() / (x_scale.double() * w_scale.double().reshape(1, 1, -1))
    # float32 rescaling leaves a relative error of a few 1e-7: allow 1e-6 * |acc| + 1e-3
    frac = (acc - acc.round()).abs()
    worst = (frac - 1e-6 * acc.abs()).max().item()
    assert worst < 1e-3, (
        f"int8_matmul: y / (x_scale * w_scale) is {frac.max().item():.3f} away from an integer "
        "somewhere\n"
        "  likely cause: x must be quantised per token (absmax over its LAST dim, scale "
        "max|row|/127) and rounded before the matmul; the product is summed in int32"
    )


def test_close_to_the_float_product():
    """Relative error of int8 x int8 on Gaussian data is ~1%: bound 3% of the output's RMS."""
    x = torch.randn(5, 36, generator=generator(3))
    w = torch.randn(12, 36, generator=generator(4))
    scale = w.abs().amax(1, keepdim=True) / 127
    q_w = (w / scale).round().to(torch.int8)
    y = mod.int8_matmul(x, q_w, scale)
    ref = x @ w.T
    rel = ((y - ref).pow(2).mean() / ref.pow(2).mean()).sqrt().item()
    assert rel < 0.03, (
        f"int8_matmul vs x @ w.T: relative RMS error {rel:.3f}, expected < 0.03\n"
        "  likely cause: scales swapped (w_scale is per OUTPUT channel: it multiplies columns of y)"
    )


def test_int8_linear_matches_nn_linear():
    torch.manual_seed(0)
    lin = nn.Linear(36, 20)
    before = lin.weight.detach().clone()
    q = mod.Int8Linear.from_linear(lin)
    assert lin.weight.dtype == torch.float32 and torch.equal(lin.weight.detach(), before), (
        "Int8Linear.from_linear modified the original layer"
    )
    assert q.q_w.dtype == torch.int8 and tuple(q.q_w.shape) == (20, 36), (
        f"Int8Linear.q_w must be (out, in) int8, got {q.q_w.dtype} {tuple(q.q_w.shape)}"
    )
    assert tuple(q.w_scale.shape) == (20, 1), (
        f"Int8Linear.w_scale must be (out, 1), got {tuple(q.w_scale.shape)}\n  likely cause: "
        "per output channel = per row of the (out, in) weight"
    )
    x = torch.randn(3, 7, 36, generator=generator(5))
    with torch.no_grad():
        ref = lin(x)
        got = q(x)
    rel = ((got - ref).pow(2).mean() / ref.pow(2).mean()).sqrt().item()
    assert rel < 0.03, (
        f"Int8Linear(x) vs nn.Linear(x): relative RMS error {rel:.3f} > 0.03\n"
        "  likely cause: bias missing or the weight scales not per row"
    )
    assert "q_w" in dict(q.named_buffers()) and not list(q.parameters()), (
        "Int8Linear keeps q_w, w_scale and bias as buffers, not parameters"
    )


def test_zero_token_and_layer_without_bias():
    """An all-zero row of x (a padding token) gets x_scale 1.0: its output row is exactly 0, not
    NaN; a Linear built with bias=False gives an Int8Linear whose forward adds nothing."""
    x = torch.randn(4, 36, generator=generator(6))
    x[2] = 0.0
    q_w = torch.randint(-127, 128, (10, 36), generator=generator(7), dtype=torch.int8)
    y = mod.int8_matmul(x, q_w, torch.full((10, 1), 0.01))
    assert torch.isfinite(y).all() and torch.equal(y[2], torch.zeros(10)), (
        f"int8_matmul with an all-zero row of x gave {y[2, :3].tolist()}... for that row, expected "
        "zeros\n  likely cause: max|row| / 127 is 0 for an all-zero row: use x_scale 1.0 there"
    )
    torch.manual_seed(1)
    lin = nn.Linear(36, 20, bias=False)
    try:
        q = mod.Int8Linear.from_linear(lin)
        with torch.no_grad():
            got, ref = q(x), lin(x)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - reported with its likely cause
        raise AssertionError(
            f"Int8Linear from nn.Linear(36, 20, bias=False) raised {error!r}\n  likely cause: a "
            "Linear built with bias=False has bias None: keep None and add nothing in forward"
        ) from error
    assert q.bias is None, "Int8Linear.from_linear(Linear(bias=False)).bias must be None"
    rel = ((got - ref).pow(2).mean() / ref.pow(2).mean()).sqrt().item()
    assert rel < 0.03, f"Int8Linear (bias=False) vs nn.Linear: relative RMS error {rel:.3f}"
