"""Checks for w14.int8: absmax and zero-point int8, per tensor, per channel, per group.

Oracles: hand-worked examples (the docstrings'), the error bound |w - w_hat| <= scale / 2 derived
in the handout (rounding moves q by at most half a step of size `scale`), integer ranges, and
statistics: per-channel error beats per-tensor error on a weight with one outlier row.
"""

import pytest
import torch

from checks.week14_quantization.support import assert_rounds
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week14_quantization.quantize")

ODD = (7, 36)  # odd rows, channels not a power of two


def weight(seed: int, shape=ODD, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=generator(seed)) * scale


def test_absmax_known_answer():
    """Docstring example: max|w| = 2, scale = 2/127; 0.5 * 63.5 = 31.75 -> 32, -1.5 * 63.5 =
    -95.25 -> -95, 2 -> 127, 0.25 * 63.5 = 15.875 -> 16."""
    w = torch.tensor([[0.5, -1.5], [2.0, 0.25]])
    q, scale = mod.absmax_quantize(w)
    assert q.dtype == torch.int8, f"absmax_quantize must return int8 q, got {q.dtype}"
    assert_close(
        scale, torch.tensor(2 / 127), what="absmax_quantize(w) scale", hint="scale = max|w| / 127"
    )
    assert_close(
        q,
        torch.tensor([[32, -95], [127, 16]], dtype=torch.int8),
        what="absmax_quantize([[0.5, -1.5], [2, 0.25]]) q",
        hint="q = round(w / scale) with scale = max|w| / 127 (not 128, not 255)",
    )


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("magnitude", [1e-4, 1.0, 300.0])
def test_absmax_error_bound_and_range(per_channel, magnitude):
    """|w - q * scale| <= scale / 2 everywhere; |q| <= 127 and the max |q| of each scale's block is
    exactly 127 (the largest magnitude uses the full range)."""
    w = weight(1, scale=magnitude)
    q, scale = mod.absmax_quantize(w, per_channel=per_channel)
    what = f"absmax_quantize(w (7, 36) * {magnitude}, per_channel={per_channel})"
    expected_shape = (7, 1) if per_channel else ()
    assert tuple(scale.shape) == expected_shape, (
        f"{what}: scale shape {tuple(scale.shape)}, expected {expected_shape}\n  likely cause: "
        "per channel means one scale per ROW (output channel): amax over dim 1 with keepdim"
    )
    assert q.dtype == torch.int8 and q.shape == w.shape, f"{what}: q is {q.dtype} {tuple(q.shape)}"
    err = (w - q.float() * scale).abs()
    bound = scale / 2 * (1 + 1e-5)
    assert (err <= bound).all(), (
        f"{what}: max error {err.max().item():.3g} exceeds scale/2 = {scale.max().item() / 2:.3g}"
        "\n  likely cause: truncating instead of rounding, or the wrong scale (max|w| / 127)"
    )
    peak = q.abs().amax(dim=1) if per_channel else q.abs().amax()
    assert (peak == 127).all(), (
        f"{what}: the largest |q| per scale is {peak.tolist()}, expected 127\n  likely cause: "
        "scale = max|w| / 127 maps the largest magnitude to 127; per channel use each row's max"
    )
    assert_rounds(q, w / scale, what=what, hint="use round(w / scale), not floor or trunc")


def test_per_channel_beats_per_tensor_on_an_outlier_row():
    """One row 100x larger inflates the shared scale 100x: the other rows lose ~all precision
    per tensor, while per channel each row keeps its own. Expect a >= 10x lower mean error on the
    ordinary rows (the outlier row's own error is the same either way)."""
    w = weight(2)
    w[3] *= 100
    errors = {}
    for per_channel in (False, True):
        q, scale = mod.absmax_quantize(w, per_channel=per_channel)
        ordinary = [r for r in range(7) if r != 3]
        errors[per_channel] = (w - q.float() * scale)[ordinary].abs().mean().item()
    assert errors[True] * 10 < errors[False], (
        f"absmax_quantize on a weight with one outlier row: per-channel mean error {errors[True]:.3g}"
        f" vs per-tensor {errors[False]:.3g}: expected >= 10x smaller\n  likely cause: per_channel "
        "must give one scale per row (dim 0 = output channel), not per column"
    )


def test_all_zero_tensor_and_row():
    w = torch.zeros(3, 4)
    w[1] = torch.tensor([1.0, -2.0, 0.5, 0.0])
    for per_channel in (False, True):
        q, scale = mod.absmax_quantize(w, per_channel=per_channel)
        back = mod.dequantize(q, scale)
        assert torch.isfinite(back).all(), (
            f"absmax_quantize(w with all-zero rows, per_channel={per_channel}) gave non-finite "
            "values\n  likely cause: a zero max gives scale 0 and 0/0: use scale 1.0 there"
        )
        assert_close(back, w, what="dequantize(absmax_quantize(w))", atol=2 / 254, rtol=0)


def test_affine_known_answer_and_saturation():
    """Docstring example: scale 0.1, zero_point 10: 0 -> 10, 0.5 -> 15, -2.0 -> -20 + 10 = -10
    saturates at 0 and 30.0 -> 310 saturates at 255 (never wraps to 54 or 246)."""
    x = torch.tensor([0.0, 0.5, -2.0, 30.0, 24.4, -0.96])
    q = mod.affine_quantize(x, torch.tensor(0.1), torch.tensor(10, dtype=torch.int32))
    assert q.dtype == torch.uint8, f"affine_quantize must return uint8, got {q.dtype}"
    assert_close(
        q,
        torch.tensor([10, 15, 0, 255, 254, 0], dtype=torch.uint8),
        what="affine_quantize([0, 0.5, -2, 30, 24.4, -0.96], scale=0.1, zero_point=10)",
        hint="q = round(x / scale) + zero_point, then clamp to [0, 255] BEFORE the uint8 cast "
        "(unclamped values wrap around)",
    )


def test_zeropoint_known_answer():
    """Docstring example: range [-1, 1.55], scale = 2.55 / 255 = 0.01, zero_point = round(100) =
    100, q = [0, 100, 255]."""
    q, scale, zp = mod.zeropoint_quantize(torch.tensor([-1.0, 0.0, 1.55]))
    assert_close(scale, torch.tensor(0.01), what="zeropoint_quantize scale", hint="(hi - lo) / 255")
    assert int(zp) == 100, (
        f"zeropoint_quantize([-1, 0, 1.55]): zero_point {int(zp)}, expected round(1 / 0.01) = 100"
        "\n  likely cause: zero_point = round(-lo / scale), no +1 and no floor"
    )
    assert zp.dtype == torch.int32, f"zero_point must be int32, got {zp.dtype}"
    assert_close(
        q,
        torch.tensor([0, 100, 255], dtype=torch.uint8),
        what="zeropoint_quantize([-1, 0, 1.55]) q",
        hint="q = round(w / scale) + zero_point",
    )


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("shift", [0.0, 3.0, -3.0])
def test_zeropoint_error_bound_and_exact_zero(per_channel, shift):
    """|w - (q - zp) * scale| <= scale / 2 (+ float slack) whatever the offset of the data; 0.0
    maps exactly to zero_point; all-positive data (shift 3) still has a range containing 0."""
    w = weight(3) + shift
    q, scale, zp = mod.zeropoint_quantize(w, per_channel=per_channel)
    what = f"zeropoint_quantize(w (7, 36) + {shift}, per_channel={per_channel})"
    expected_shape = (7, 1) if per_channel else ()
    assert tuple(scale.shape) == expected_shape and tuple(zp.shape) == expected_shape, (
        f"{what}: scale {tuple(scale.shape)}, zero_point {tuple(zp.shape)}, expected "
        f"{expected_shape}\n  likely cause: per channel = per row: reduce over dim 1, keepdim"
    )
    lo = (w.amin(dim=1, keepdim=True) if per_channel else w.min()).clamp(max=0)
    hi = (w.amax(dim=1, keepdim=True) if per_channel else w.max()).clamp(min=0)
    assert_close(
        scale,
        (hi - lo) / 255,
        what=f"{what} scale",
        hint="scale = (hi - lo) / 255 with the range widened to contain 0",
    )
    back = mod.dequantize(q, scale, zp)
    err = (w - back).abs()
    assert (err <= scale / 2 * (1 + 1e-4) + 1e-6).all(), (
        f"{what}: max error {err.max().item():.4g} > scale / 2 = {scale.max().item() / 2:.4g}\n"
        "  likely cause: zero_point off by one, q not clamped to [0, 255] before the cast, or "
        "dequantize not subtracting the zero point in int32"
    )
    zero = mod.dequantize(mod.affine_quantize(torch.zeros_like(w), scale, zp), scale, zp)
    assert (zero == 0).all(), (
        f"{what}: 0.0 does not come back as exactly 0.0: q(0) must be zero_point"
    )


@pytest.mark.parametrize("group_size", [4, 12, 36])
def test_group_quantize_scales_per_group(group_size):
    """scale[r, g] = max|w[r, g*gs:(g+1)*gs]| / 127, and the error bound holds with each element's
    own group scale."""
    w = weight(4)
    w[2, 5] = 50.0  # one outlier: only its own group's scale may grow
    q, scale = mod.group_quantize(w, group_size)
    groups = w.reshape(7, 36 // group_size, group_size)
    expected = groups.abs().amax(-1) / 127
    assert_close(
        scale,
        expected,
        what=f"group_quantize(w (7, 36), {group_size}) scale",
        hint="one scale per group of consecutive elements of a ROW: reshape (out, in/gs, gs)",
    )
    back = mod.group_dequantize(q, scale)
    err = (w - back).abs().reshape(7, -1, group_size)
    assert (err <= expected.unsqueeze(-1) / 2 * (1 + 1e-5)).all(), (
        f"group_quantize(w, {group_size}): an error exceeds its group's scale / 2\n"
        "  likely cause: q divided by the wrong group's scale (check the reshape order)"
    )
    assert q.dtype == torch.int8, f"group_quantize q must be int8, got {q.dtype}"


def test_group_size_must_divide():
    try:
        mod.group_quantize(torch.randn(3, 10), 4)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - reported with its likely cause
        raise AssertionError(
            f"group_quantize(w (3, 10), group_size=4) raised {error!r}, expected ValueError\n  "
            "likely cause: check that in is a multiple of group_size first and raise ValueError"
        ) from error
    pytest.fail(
        "group_quantize(w (3, 10), group_size=4) did not raise ValueError: 10 is not a multiple "
        "of group_size 4"
    )


def test_all_zero_ranges_and_groups_get_scale_one():
    """Docstrings: a zero-point range of width 0 (all zeros) gets scale 1.0 and zero_point 0; an
    all-zero group gets scale 1.0; nothing divides by zero, and zeros come back as zeros."""
    w = torch.zeros(3, 8)
    w[1] = torch.linspace(-1.0, 2.0, 8)  # rows 0 and 2 stay all zero
    for per_channel, data, zero_rows in ((False, torch.zeros(3, 8), [0, 1, 2]), (True, w, [0, 2])):
        q, scale, zp = mod.zeropoint_quantize(data, per_channel=per_channel)
        s, z = scale.reshape(-1), zp.reshape(-1)
        picked = zero_rows if per_channel else [0]
        assert all(s[r] == 1.0 and z[r] == 0 for r in picked), (
            f"zeropoint_quantize({'rows' if per_channel else 'a tensor'} of zeros, per_channel="
            f"{per_channel}): scale {s.tolist()}, zero_point {z.tolist()}, expected scale 1.0 and "
            "zero_point 0 for a range of width 0\n  likely cause: (hi - lo) / 255 is 0 there "
            "and q = x / 0: give such a range scale 1.0"
        )
        back = mod.dequantize(q, scale, zp)
        assert torch.isfinite(back).all() and torch.equal(back[zero_rows], data[zero_rows]), (
            f"dequantize(zeropoint_quantize(all-zero rows, per_channel={per_channel})) is not 0 "
            "there"
        )
    g = torch.randn(2, 12, generator=generator(7))
    g[1, 4:8] = 0.0  # group 1 of row 1
    q, scale = mod.group_quantize(g, 4)
    assert scale[1, 1] == 1.0, (
        f"group_quantize: the all-zero group's scale is {scale[1, 1].item()}, expected 1.0\n  "
        "likely cause: max|group| / 127 is 0 there: use scale 1.0 (so q is 0, not 0 / 0)"
    )
    back = mod.group_dequantize(q, scale)
    assert torch.isfinite(back).all() and torch.equal(back[1, 4:8], torch.zeros(4)), (
        "group_dequantize(group_quantize(w with an all-zero group)) is not 0 in that group"
    )
